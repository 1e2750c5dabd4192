// The whole configuration, read from the environment once at start: the shared settings, and one
// RouteConfig per route (ROUTES=a,b; ROUTE_<NAME>_X falling back to X). Every problem of every part and
// route is reported together, each naming its variable; the daemon exits non-zero before touching the
// network. Without ROUTES there is one route, `default`, configured by today's variables.
import { readFileSync } from 'node:fs';
import { ConfigError } from './core/errors.ts';
import { DEFAULT_ROUTE, nameProblems, ROUTE_NAME, routePrefix, routeView, unknownVariables } from './config/route-env.ts';
import { parseVars, v, type Env, type VarSpecs } from './config/vars.ts';
import { parseDeliveryConfig, deliveryVars, DELIVERY_DEFAULTS, type DeliveryConfig } from './delivery/config.ts';
import { SINKS, findSink } from './sinks/index.ts';
import type { AnySinkDefinition } from './delivery/sink.ts';
import { enrichVars, isLookupVariable, parseEnrichConfig, type EnrichConfig } from './enrich/config.ts';
import { parseSchemaRegistryConfig, schemaRegistryVars, type SchemaRegistryConfig } from './source/decode/registry-config.ts';
import { usesRegistry } from './source/decode/formats.ts';
import { KAFKA_ROUTE_VARS, kafkaVars, parseKafkaConfig, type KafkaSourceConfig } from './source/kafka/config.ts';
import { parseWebhookConfig, webhookVars, type WebhookConfig } from './webhook/config.ts';
import { parseServerTls, serverTlsVars, type ServerTls } from './http/server-tls.ts';
import { trustedProxies, trustedProxyProblem } from './http/client-address.ts';
import type { BlockList } from 'node:net';
import { watchedFiles } from './config/watched-file.ts';

export const appVars = {
  ROUTES: v.list({
    doc: 'Route names, comma-separated (lower-case letters, digits, `-`): each route reads the topics in its own consumer group (`<KAFKA_GROUP_ID>.<name>`) with its own query and sinks, configured by `ROUTE_<NAME>_<VARIABLE>` falling back to `<VARIABLE>` (docs/routes.md). Unset: one route, `default`, with today\'s variables and group.',
    required: false,
    item: (s) => (ROUTE_NAME.test(s) ? undefined : `route name ${JSON.stringify(s)} must be lower-case letters, digits and '-'`),
  }),
  SINKS: v.list({
    doc: `Sinks every record is delivered to, comma-separated: ${SINKS.map((s) => s.type).join(', ')}. Required unless WEBHOOK_PRODUCTS is set (an instance with only the webhook joins no consumer group). Per route.`,
    required: false,
    item: (s) => (findSink(s) ? undefined : `unknown sink ${JSON.stringify(s)} (known: ${SINKS.map((d) => d.type).join(', ')})`),
  }),
  QUERY: v.optionalString({ doc: "Filter/transform query, e.g. `* | where severity in ('high','critical')` (docs/query.md). Default `*`. Per route; the webhook uses the unprefixed one." }),
  QUERY_FILE: v.optionalString({ doc: 'File holding the query (instead of QUERY). Per route.' }),
  INFLIGHT_MAX_RECORDS: v.int({ doc: 'Records read but not yet committed, per instance, shared out equally among the routes that do not set their own (ROUTE_<NAME>_INFLIGHT_MAX_RECORDS, taken from this total); partitions pause beyond it. Bounds memory and the duplicates after a crash.', default: 20_000, min: 1 }),
  INFLIGHT_MAX_BYTES: v.bytes({ doc: 'Bytes read but not yet committed, per instance; shared out among the routes like INFLIGHT_MAX_RECORDS.', default: 64 * 1024 * 1024, min: 1024 }),
  RATE_LIMIT: v.number({ doc: 'Records per second a route takes from Kafka at most, per instance (backpressure: the route reads slower, nothing is dropped); 0 = unlimited. Per route.', default: 0, min: 0 }),
  DRAIN_TIMEOUT: v.duration({ doc: 'On revoke, pause and shutdown: how long in-flight records may take to deliver before commit.', default: 20_000, min: 0 }),
  SHUTDOWN_TIMEOUT: v.duration({ doc: 'SIGTERM to exit, at most (set terminationGracePeriodSeconds above it).', default: 30_000, min: 1000 }),
  HTTP_HOST: v.string({ doc: 'Address of the HTTP server (/metrics, /healthz, /readyz).', default: '0.0.0.0' }),
  HTTP_PORT: v.int({ doc: 'Port of the HTTP server; 0 picks a free port.', default: 8080, min: 0, max: 65535 }),
  ...serverTlsVars,
  METRICS_PORT: v.int({ doc: 'A second, plain HTTP listener on HTTP_HOST for /metrics, /healthz and /readyz; HTTP_PORT then serves only the webhook and /healthz (expose it through an Ingress, keep metrics inside the cluster). Unset: everything on HTTP_PORT. 0 picks a free port.', min: 0, max: 65535, required: false }),
  HTTP_TRUSTED_PROXIES: v.list({ doc: 'Addresses or CIDR blocks of the proxies in front of the HTTP server (the Ingress controller, a load balancer), comma-separated: only a connection from one of them has its X-Forwarded-For believed for the client address (per-address limits, logs). Unset: the connection\'s own address.', default: [], item: (s) => (trustedProxyProblem(s)) }),
  SECRETS_RELOAD_INTERVAL: v.duration({ doc: 'How often files named by *_FILE secrets and HTTP_TLS_* are checked for a new content (Kubernetes updates mounted Secrets in place; cert-manager renews certificates): a new value is used for the next request or connection; one that is unreadable or empty is reported and the previous one kept.', default: 10_000, min: 1000 }),
  LOG_LEVEL: v.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, { doc: 'Log level.', default: 'info' }),
  INSTANCE_ID: v.string({ doc: 'Name of this instance in logs (defaults to the host name).', default: '' }),
};

/** App variables a route may set for itself. */
const APP_ROUTE_VARS = ['SINKS', 'QUERY', 'QUERY_FILE', 'INFLIGHT_MAX_RECORDS', 'INFLIGHT_MAX_BYTES', 'RATE_LIMIT'] as const;
const routeAppVars = Object.fromEntries(APP_ROUTE_VARS.map((k) => [k, appVars[k]])) as Pick<typeof appVars, (typeof APP_ROUTE_VARS)[number]>;

export interface SinkSetup {
  readonly definition: AnySinkDefinition;
  readonly config: unknown;
  readonly delivery: DeliveryConfig;
}

/** One route: its consumer group over its topics, its query, its sinks, its share of the in-flight budget. */
export interface RouteConfig {
  name: string;
  kafka: KafkaSourceConfig;
  query: string;
  sinks: SinkSetup[];
  inflightMaxRecords: number;
  inflightMaxBytes: number;
  /** Records/s per instance; 0 = unlimited. */
  rateLimit: number;
}

export interface AppConfig {
  /** The shared Kafka settings (the unprefixed view): brokers, TLS/SASL, the webhook's and control topic. */
  kafka: KafkaSourceConfig;
  /** The unprefixed QUERY: the webhook's. */
  query: string;
  /** Empty for a webhook-only instance (no SINKS): it joins no consumer group. */
  routes: RouteConfig[];
  /** True when ROUTES is set (names and metrics say `route`; groups are `<KAFKA_GROUP_ID>.<name>`). */
  routed: boolean;
  /** The pull webhook, when WEBHOOK_PRODUCTS is set. */
  webhook: WebhookConfig | undefined;
  /** The schema registry (SCHEMA_REGISTRY_URL), shared by every route. */
  schemaRegistry: SchemaRegistryConfig | undefined;
  /** Lookup tables and MaxMind databases, shared by every route's query and the webhook's. */
  enrich: EnrichConfig;
  inflightMaxRecords: number;
  inflightMaxBytes: number;
  drainTimeoutMs: number;
  shutdownTimeoutMs: number;
  httpHost: string;
  httpPort: number;
  /** HTTPS on HTTP_PORT (HTTP_TLS_*); undefined: plain HTTP. */
  httpTls: ServerTls | undefined;
  /** A second listener for /metrics and the probes (METRICS_PORT). */
  metricsPort: number | undefined;
  /** HTTP_TRUSTED_PROXIES. */
  trustedProxies: BlockList | undefined;
  secretsReloadMs: number;
  logLevel: string;
  instanceId: string;
  /** Variables with a logstream prefix that nothing reads (logged at start, printed by check-config). */
  warnings: string[];
}

function collect<T>(problems: string[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems);
    else throw err;
    return undefined;
  }
}

const present = (v: string | undefined): boolean => v !== undefined && v.trim() !== '';

function readQuery(p: { QUERY?: string | undefined; QUERY_FILE?: string | undefined }, problems: string[]): string {
  if (p.QUERY !== undefined && p.QUERY_FILE !== undefined) {
    problems.push('QUERY and QUERY_FILE are both set: set only one');
    return '*';
  }
  if (p.QUERY_FILE !== undefined) {
    try {
      return readFileSync(p.QUERY_FILE, 'utf8');
    } catch (err) {
      problems.push(`QUERY_FILE: cannot read ${JSON.stringify(p.QUERY_FILE)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      return '*';
    }
  }
  return p.QUERY ?? '*';
}

/** Every sink's own variables and its shared delivery variables. */
function sinkVarSpecs(def: AnySinkDefinition): VarSpecs {
  return { ...def.vars, ...deliveryVars(def.envPrefix, { ...DELIVERY_DEFAULTS, ...def.deliveryDefaults }) };
}

/** Names with their `_FILE` forms for secrets. */
function namesOf(specs: VarSpecs): string[] {
  return Object.entries(specs).flatMap(([name, s]) => (s.secret ? [name, `${name}_FILE`] : [name]));
}

/** Every variable a route may set as ROUTE_<NAME>_X. */
export const PER_ROUTE_VARS: ReadonlySet<string> = new Set([...APP_ROUTE_VARS, ...KAFKA_ROUTE_VARS, ...SINKS.flatMap((d) => namesOf(sinkVarSpecs(d)))]);

/** Every variable logstream reads. */
const KNOWN_VARS: ReadonlySet<string> = new Set([...PER_ROUTE_VARS, ...namesOf(appVars), ...namesOf(kafkaVars), ...namesOf(webhookVars), ...namesOf(schemaRegistryVars), ...namesOf(enrichVars)]);

/** First words of logstream's variable names: an unknown variable starting with one is reported. */
const PREFIXES = [...new Set([...KNOWN_VARS].filter((n) => !n.startsWith('ROUTE')).map((n) => n.split('_')[0]!)), 'ROUTES'];

/** What route `name` sees of the environment (the environment itself without ROUTES). */
function viewOf(env: Env, name: string, routed: boolean): { view: Env; origin: Map<string, string> } {
  if (!routed) return { view: env, origin: new Map() };
  const { env: view, origin } = routeView(env, name, PER_ROUTE_VARS);
  // A route's group defaults to <KAFKA_GROUP_ID>.<name>, so each route keeps its own offsets.
  if (!origin.has('KAFKA_GROUP_ID')) view['KAFKA_GROUP_ID'] = `${(env['KAFKA_GROUP_ID'] ?? '').trim() || 'logstream'}.${name}`;
  return { view, origin };
}

/**
 * The Kafka side of every route (group, topics, dead-letter topic) and the shared connection, without
 * the sinks: what the operator commands (`routes`, `reset-offsets --route`, `dead-letters replay`) need.
 */
export function loadRouteKafka(env: Env): { kafka: KafkaSourceConfig; routed: boolean; routes: Array<{ name: string; kafka: KafkaSourceConfig }> } {
  const problems: string[] = [];
  const names = collect(problems, () => parseVars({ ROUTES: appVars.ROUTES }, env).ROUTES);
  const routed = names !== undefined;
  const kafka = collect(problems, () => parseKafkaConfig(env, { consuming: false }));
  const routes: Array<{ name: string; kafka: KafkaSourceConfig }> = [];
  for (const name of names ?? [DEFAULT_ROUTE]) {
    const { view, origin } = viewOf(env, name, routed);
    const own: string[] = [];
    const k = collect(own, () => parseKafkaConfig(view, { consuming: false }));
    problems.push(...(routed ? nameProblems(own, name, origin, PER_ROUTE_VARS) : own));
    if (k) routes.push({ name, kafka: k });
  }
  if (problems.length > 0 || !kafka) throw new ConfigError([...new Set(problems)]);
  return { kafka, routed, routes };
}

/** One route's configuration from its view of the environment; problems name what the user wrote. */
function loadRoute(env: Env, name: string, routed: boolean, problems: string[]): Omit<RouteConfig, 'inflightMaxRecords' | 'inflightMaxBytes'> & { ownInflight: { records?: number; bytes?: number } } | undefined {
  const { view, origin } = viewOf(env, name, routed);
  // Files the route names itself are watched under the name the user wrote (ROUTE_SIEM_HEC_TOKEN_FILE).
  return watchedFiles.namedAs(origin, () => loadRouteView(view, origin, name, routed, problems));
}

function loadRouteView(view: Env, origin: ReadonlyMap<string, string>, name: string, routed: boolean, problems: string[]): ReturnType<typeof loadRoute> {
  const own: string[] = [];
  const kafka = collect(own, () => parseKafkaConfig(view));
  if (kafka?.startFrom.kind === 'group' && kafka.startFrom.groupId === kafka.groupId) own.push(`KAFKA_START_FROM: group:${kafka.groupId} is this route's own group (KAFKA_GROUP_ID); name the group to start from`);
  const app = collect(own, () => parseVars(routeAppVars, view));
  const query = app ? readQuery(app, own) : '*';
  const types = app?.SINKS ?? [];
  if (app && types.length === 0) own.push(routed ? `${routePrefix(name)}SINKS: route ${name} has no sinks (set ${routePrefix(name)}SINKS, or SINKS for every route)` : 'SINKS: is required but not set (or set WEBHOOK_PRODUCTS for an instance that only serves the webhook)');
  const sinks: SinkSetup[] = [];
  for (const type of new Set(types)) {
    const definition = findSink(type)!;
    const config = collect(own, () => definition.parseConfig(view));
    const delivery = collect(own, () => parseDeliveryConfig(definition.envPrefix, view, definition.deliveryDefaults));
    if (config !== undefined && delivery !== undefined) sinks.push({ definition, config, delivery });
  }
  problems.push(...(routed ? nameProblems(own, name, origin, PER_ROUTE_VARS) : own));
  if (!kafka || !app || own.length > 0) return undefined;
  return {
    name,
    kafka,
    query,
    sinks,
    rateLimit: app.RATE_LIMIT,
    ownInflight: {
      ...(origin.has('INFLIGHT_MAX_RECORDS') ? { records: app.INFLIGHT_MAX_RECORDS } : {}),
      ...(origin.has('INFLIGHT_MAX_BYTES') ? { bytes: app.INFLIGHT_MAX_BYTES } : {}),
    },
  };
}

/**
 * The instance's in-flight totals, shared out: a route that sets its own limit takes it from the total;
 * the others share the rest equally. So memory does not grow with the number of routes, and a stuck
 * route holds at most its share.
 */
function shareOut(total: number, own: Array<number | undefined>, variable: string, routeNames: string[], problems: string[]): number[] {
  const fixed = own.reduce<number>((a, b) => a + (b ?? 0), 0);
  const others = own.filter((o) => o === undefined).length;
  const each = others === 0 ? 0 : Math.floor((total - fixed) / others);
  if (others > 0 && each < 1) {
    problems.push(`${variable}: the routes' own limits (${fixed} in all) leave nothing of the instance's ${total} for route(s) ${routeNames.filter((_, i) => own[i] === undefined).join(', ')}: raise ${variable} or set theirs`);
  }
  return own.map((o) => o ?? each);
}

export function loadConfig(env: Env): AppConfig {
  const problems: string[] = [];
  const app = collect(problems, () => parseVars(appVars, env));
  const routeNames = app?.ROUTES;
  const routed = routeNames !== undefined;
  if (routeNames && new Set(routeNames).size !== routeNames.length) problems.push('ROUTES: a route is named twice');
  const webhook = collect(problems, () => parseWebhookConfig(env));
  const httpTls = app ? parseServerTls(app, problems) : undefined;
  const proxies = app ? trustedProxies(app.HTTP_TRUSTED_PROXIES) : undefined;
  const metricsPort = app?.METRICS_PORT as number | undefined;
  if (app && metricsPort !== undefined && metricsPort !== 0 && metricsPort === app.HTTP_PORT) problems.push(`METRICS_PORT: ${metricsPort} is HTTP_PORT too; choose another port (or unset it to serve everything on HTTP_PORT)`);
  const schemaRegistry = collect(problems, () => parseSchemaRegistryConfig(env));
  const enrich = collect(problems, () => parseEnrichConfig(env));
  const webhookOn = present(env['WEBHOOK_PRODUCTS']);
  // Without ROUTES and without SINKS, an instance may serve only the webhook.
  const consuming = routed || present(env['ROUTES']) || present(env['SINKS']) || !webhookOn;
  const kafka = collect(problems, () => parseKafkaConfig(env, { consuming: consuming && !present(env['ROUTES']) }));
  const query = app ? readQuery(app, problems) : '*';
  // ROUTES set but unreadable (reported above): its routes cannot be checked.
  const routesUnreadable = !routed && present(env['ROUTES']);
  const names = routesUnreadable ? [] : (routeNames ?? (consuming ? [DEFAULT_ROUTE] : []));
  const loaded = names.map((n) => loadRoute(env, n, routed, problems));
  // LOOKUP_<NAME>_* are checked by parseEnrichConfig.
  const unknown = unknownVariables(Object.fromEntries(Object.entries(env).filter(([n]) => !isLookupVariable(n))), routeNames, KNOWN_VARS, PER_ROUTE_VARS, PREFIXES);
  if (!routesUnreadable) problems.push(...unknown.errors);
  const routes: RouteConfig[] = [];
  if (app && loaded.every((r) => r !== undefined)) {
    const records = shareOut(app.INFLIGHT_MAX_RECORDS, loaded.map((r) => r.ownInflight.records), 'INFLIGHT_MAX_RECORDS', names, problems);
    const bytes = shareOut(app.INFLIGHT_MAX_BYTES, loaded.map((r) => r.ownInflight.bytes), 'INFLIGHT_MAX_BYTES', names, problems);
    loaded.forEach(({ ownInflight: _, ...r }, i) => routes.push({ ...r, inflightMaxRecords: records[i]!, inflightMaxBytes: bytes[i]! }));
    checkAcrossRoutes(routes, problems);
  }
  if (!schemaRegistry && problems.every((p) => !p.startsWith('SCHEMA_REGISTRY'))) {
    const sources = [...(webhookOn && kafka ? [{ name: undefined, k: kafka }] : []), ...routes.map((r) => ({ name: r.name, k: r.kafka }))];
    for (const { name, k } of sources) {
      const prefix = name !== undefined && routed ? routePrefix(name) : '';
      if (usesRegistry(k.valueFormat)) problems.push(`${prefix}KAFKA_VALUE_FORMAT: ${k.valueFormat} reads schemas from a registry: set SCHEMA_REGISTRY_URL`);
      if (usesRegistry(k.keyFormat)) problems.push(`${prefix}KAFKA_KEY_FORMAT: ${k.keyFormat} reads schemas from a registry: set SCHEMA_REGISTRY_URL`);
    }
  }
  if (problems.length > 0 || !kafka || !app || !enrich) throw new ConfigError([...new Set(problems)]);
  return {
    kafka,
    query,
    routes,
    routed,
    webhook,
    schemaRegistry,
    enrich,
    inflightMaxRecords: app.INFLIGHT_MAX_RECORDS,
    inflightMaxBytes: app.INFLIGHT_MAX_BYTES,
    drainTimeoutMs: app.DRAIN_TIMEOUT,
    shutdownTimeoutMs: app.SHUTDOWN_TIMEOUT,
    httpHost: app.HTTP_HOST,
    httpPort: app.HTTP_PORT,
    httpTls,
    metricsPort,
    trustedProxies: proxies,
    secretsReloadMs: app.SECRETS_RELOAD_INTERVAL,
    logLevel: app.LOG_LEVEL,
    instanceId: app.INSTANCE_ID,
    warnings: unknown.warnings,
  };
}

/** Two routes in one group would share offsets; a route's dead letters read by another would loop. */
function checkAcrossRoutes(routes: readonly RouteConfig[], problems: string[]): void {
  const groups = new Map<string, string>();
  for (const r of routes) {
    const other = groups.get(r.kafka.groupId);
    if (other) problems.push(`${routePrefix(r.name)}KAFKA_GROUP_ID: routes ${other} and ${r.name} are both in group ${r.kafka.groupId}; each route needs its own consumer group`);
    groups.set(r.kafka.groupId, r.name);
    for (const s of routes) {
      if (s !== r && s.kafka.topics.includes(r.kafka.dlqTopic)) problems.push(`KAFKA_DLQ_TOPIC (route ${r.name}): ${r.kafka.dlqTopic} is a topic route ${s.name} reads (dead letters would be read again)`);
    }
  }
}
