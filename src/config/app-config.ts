// The whole configuration, read from the environment once at start. Every problem of every group is
// reported together, each naming its variable; the daemon exits non-zero before touching the network.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.ts';
import { parseDeliveryConfig, type DeliveryConfig } from '../delivery/config.ts';
import { SINKS, findSink } from '../sinks/index.ts';
import type { AnySinkDefinition } from '../sinks/types.ts';
import { parseKafkaConfig, type KafkaSourceConfig } from '../source/kafka/config.ts';
import { parseWebhookConfig, type WebhookConfig } from '../webhook/config.ts';
import { parseVars, v, type Env } from './vars.ts';

export const appVars = {
  SINKS: v.list({
    doc: `Sinks every record is delivered to, comma-separated: ${SINKS.map((s) => s.type).join(', ')}. Required unless WEBHOOK_PRODUCTS is set (an instance with only the webhook joins no consumer group).`,
    required: false,
    item: (s) => (findSink(s) ? undefined : `unknown sink ${JSON.stringify(s)} (known: ${SINKS.map((d) => d.type).join(', ')})`),
  }),
  QUERY: v.optionalString({ doc: "Filter/transform query, e.g. `* | where severity in ('high','critical')` (docs/query.md). Default `*`." }),
  QUERY_FILE: v.optionalString({ doc: 'File holding the query (instead of QUERY).' }),
  INFLIGHT_MAX_RECORDS: v.int({ doc: 'Records read but not yet acknowledged by every sink, per instance; partitions pause beyond it. Bounds duplicates after a crash.', default: 20_000, min: 1 }),
  INFLIGHT_MAX_BYTES: v.bytes({ doc: 'Bytes read but not yet acknowledged, per instance.', default: 64 * 1024 * 1024, min: 1024 }),
  DRAIN_TIMEOUT: v.duration({ doc: 'On revoke and shutdown: how long in-flight records may take to deliver before commit.', default: 20_000, min: 0 }),
  SHUTDOWN_TIMEOUT: v.duration({ doc: 'SIGTERM to exit, at most (set terminationGracePeriodSeconds above it).', default: 30_000, min: 1000 }),
  HTTP_HOST: v.string({ doc: 'Address of the HTTP server (/metrics, /healthz, /readyz).', default: '0.0.0.0' }),
  HTTP_PORT: v.int({ doc: 'Port of the HTTP server; 0 picks a free port.', default: 8080, min: 0, max: 65535 }),
  LOG_LEVEL: v.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, { doc: 'Log level.', default: 'info' }),
  INSTANCE_ID: v.string({ doc: 'Name of this instance in logs (defaults to the host name).', default: '' }),
};

export interface SinkSetup {
  readonly definition: AnySinkDefinition;
  readonly config: unknown;
  readonly delivery: DeliveryConfig;
}

export interface AppConfig {
  kafka: KafkaSourceConfig;
  query: string;
  sinks: SinkSetup[];
  /** The pull webhook, when WEBHOOK_PRODUCTS is set. */
  webhook: WebhookConfig | undefined;
  inflightMaxRecords: number;
  inflightMaxBytes: number;
  drainTimeoutMs: number;
  shutdownTimeoutMs: number;
  httpHost: string;
  httpPort: number;
  logLevel: string;
  instanceId: string;
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

export function loadConfig(env: Env): AppConfig {
  const problems: string[] = [];
  const webhook = collect(problems, () => parseWebhookConfig(env));
  const sinksSet = (env['SINKS'] ?? '').trim() !== '';
  const webhookOn = (env['WEBHOOK_PRODUCTS'] ?? '').trim() !== '';
  if (!sinksSet && !webhookOn) problems.push('SINKS: is required but not set (or set WEBHOOK_PRODUCTS for an instance that only serves the webhook)');
  const kafka = collect(problems, () => parseKafkaConfig(env, { consuming: sinksSet || !webhookOn }));
  const app = collect(problems, () => parseVars(appVars, env));
  let query = '*';
  if (app) {
    if (app.QUERY !== undefined && app.QUERY_FILE !== undefined) problems.push('QUERY and QUERY_FILE are both set: set only one');
    else if (app.QUERY_FILE !== undefined) {
      query = collect(problems, () => {
        try {
          return readFileSync(app.QUERY_FILE!, 'utf8');
        } catch (err) {
          throw new ConfigError([`QUERY_FILE: cannot read ${JSON.stringify(app.QUERY_FILE)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`]);
        }
      }) ?? '*';
    } else if (app.QUERY !== undefined) query = app.QUERY;
  }
  // Sink variables are checked even when other variables are wrong, so that one run shows every problem.
  const sinkTypes = app?.SINKS ?? collect([], () => parseVars({ SINKS: appVars.SINKS }, env).SINKS) ?? [];
  const sinks: SinkSetup[] = [];
  for (const type of new Set(sinkTypes)) {
    const definition = findSink(type)!;
    const config = collect(problems, () => definition.parseConfig(env));
    const delivery = collect(problems, () => parseDeliveryConfig(definition.envPrefix, env, definition.deliveryDefaults));
    if (config !== undefined && delivery !== undefined) sinks.push({ definition, config, delivery });
  }
  if (problems.length > 0 || !kafka || !app) throw new ConfigError(problems);
  return {
    kafka,
    query,
    sinks,
    webhook,
    inflightMaxRecords: app.INFLIGHT_MAX_RECORDS,
    inflightMaxBytes: app.INFLIGHT_MAX_BYTES,
    drainTimeoutMs: app.DRAIN_TIMEOUT,
    shutdownTimeoutMs: app.SHUTDOWN_TIMEOUT,
    httpHost: app.HTTP_HOST,
    httpPort: app.HTTP_PORT,
    logLevel: app.LOG_LEVEL,
    instanceId: app.INSTANCE_ID,
  };
}
