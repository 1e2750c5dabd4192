/**
 * The Helm chart (helm/logstream): `helm lint` and `helm template` with the default values and with
 * ci/full-values.yaml (everything on), and the rendered manifests checked for what a platform team
 * relies on: hardened pods, probes, a grace period above SHUTDOWN_TIMEOUT, env from the ConfigMap and
 * Secrets, secret files, routes (ROUTE_<NAME>_* env that loadConfig accepts, one KEDA trigger per
 * route group), the V8 heap below the memory limit, PDB, topology spread, autoscaling capped at the
 * partition count, and values.schema.json rejecting bad values. Needs the helm binary: `node
 * scripts/helm.ts fetch` (the `tools` project, vitest.config.ts); values-schema.test.ts checks the
 * schema against the code without it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { configReference } from '../../src/config-reference.ts';
import { parseEnrichConfig } from '../../src/enrich/config.ts';
import { Enrichment } from '../../src/enrich/enrichment.ts';
import { loadConfig, PER_ROUTE_VARS, type AppConfig } from '../../src/app-config.ts';
import { CHART, FULL_VALUES, KUBE_VERSION, helm, helmBin, kubeValidate, one, render, template, type K8sObject } from './helm-support.ts';

/** "30s" / "30000ms" / "2m" to seconds (the duration forms logstream accepts). */
function seconds(d: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  const n = Number(m[1]);
  return m[2] === 's' ? n : m[2] === 'm' ? n * 60 : n / 1000;
}

function container(dep: K8sObject) {
  const cs = dep.spec.template.spec.containers as Array<Record<string, any>>;
  expect(cs).toHaveLength(1);
  return cs[0]!;
}

function expectSubset(labels: Record<string, string>, selector: Record<string, string>): void {
  expect(Object.keys(selector).length).toBeGreaterThan(0);
  for (const [k, v] of Object.entries(selector)) expect(labels[k], k).toBe(v);
}

const MOUNT = '/etc/logstream/secrets';
const scratch = mkdtempSync(join(tmpdir(), 'logstream-chart-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let scratchFiles = 0;

/** A values file in the scratch directory, for values --set cannot express (maps of routes). */
function valuesFile(yaml: string): string {
  const path = join(scratch, `values-${++scratchFiles}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

/** The container's environment as envFrom gives it: the ConfigMap, then the chart's env Secret. */
function renderedEnv(objs: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = { ...one(objs, 'ConfigMap', 'ls-logstream').data };
  const secret = objs.find((o) => o.kind === 'Secret' && o.metadata.name === 'ls-logstream-env');
  for (const [k, v] of Object.entries(secret?.data ?? {})) env[k] = Buffer.from(v, 'base64').toString();
  return env;
}

/**
 * `env` with every path under the secret mount pointing at a real file, so loadConfig reads them as in
 * the pod: the content of the chart's files Secret, or a placeholder for a file of existingSecretFiles.
 */
function withMountedFiles(env: Record<string, string>, objs: K8sObject[]): Record<string, string> {
  const files = objs.find((o) => o.kind === 'Secret' && o.metadata.name === 'ls-logstream-files')?.data ?? {};
  const dir = mkdtempSync(join(scratch, 'secrets-'));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (!v.startsWith(`${MOUNT}/`)) {
      out[k] = v;
      continue;
    }
    const name = basename(v);
    const path = join(dir, name);
    writeFileSync(path, files[name] !== undefined ? Buffer.from(files[name], 'base64') : `placeholder of existingSecretFiles ${name}`);
    out[k] = path;
  }
  return out;
}

/** Variable names logstream documents (the README's generated tables). */
const KNOWN = new Set([...configReference().matchAll(/^\| `([A-Z][A-Z0-9_]*)`/gm)].map((m) => m[1]!));

/** Names in `env` that no part of logstream reads: not documented, not a secret's _FILE form, not ROUTE_<NAME>_<per-route var>. */
function unknownNames(env: Record<string, string>): string[] {
  const routes = (env['ROUTES'] ?? '').split(',').filter(Boolean);
  const prefixes = routes.map((r) => `ROUTE_${r.toUpperCase().replace(/-/g, '_')}_`);
  const secretFile = (name: string) => name.endsWith('_FILE') && KNOWN.has(name.slice(0, -'_FILE'.length));
  const lookupVar = (name: string) => /^LOOKUP_[A-Z0-9_]+_(FILE|FORMAT|KEY|MATCH)$/.test(name);
  const routeVar = (name: string) => prefixes.some((p) => name.startsWith(p) && PER_ROUTE_VARS.has(name.slice(p.length)));
  return Object.keys(env).filter((k) => !KNOWN.has(k) && !secretFile(k) && !routeVar(k) && !lookupVar(k));
}

/** The values of every Secret (src/config/secret.ts) inside a parsed configuration. */
function revealed(value: unknown, seen = new Set<unknown>()): string[] {
  if (value === null || typeof value !== 'object' || seen.has(value)) return [];
  seen.add(value);
  if (typeof (value as { reveal?: unknown }).reveal === 'function') return [(value as { reveal(): string }).reveal()];
  return Object.values(value).flatMap((v) => revealed(v, seen));
}

interface Trigger {
  type: string;
  metadata: Record<string, string>;
  authenticationRef?: { name: string };
}
const triggers = (objs: K8sObject[]): Trigger[] => one(objs, 'ScaledObject').spec.triggers as Trigger[];

// Every test fails (never skips) with "run node scripts/helm.ts fetch" when helm is missing: the
// check and the renders run in beforeEach (memoized), whose failure fails the test itself.
beforeEach(() => {
  helmBin();
});

describe('helm lint', () => {
  it.each([
    ['default values', [] as string[]],
    ['full values', ['-f', FULL_VALUES]],
  ])('passes with %s (--strict)', (_name, args) => {
    const r = helm(['lint', '--strict', CHART, '--kube-version', KUBE_VERSION, ...args]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });
});

describe('helm template with default values', () => {
  let objs: K8sObject[];
  let dep: K8sObject;
  let cm: K8sObject;
  beforeEach(() => {
    if (dep !== undefined) return; // rendered once per block
    objs = render();
    dep = one(objs, 'Deployment');
    cm = one(objs, 'ConfigMap');
  });

  it('renders the expected objects and nothing optional', () => {
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    expect(dep.spec.replicas).toBe(2);
  });

  it('runs non-root, read-only root filesystem, no privilege escalation, all capabilities dropped, seccomp RuntimeDefault', () => {
    const pod = dep.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    const sc = container(dep)['securityContext'];
    expect(sc.runAsNonRoot).toBe(true);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.privileged).toBe(false);
    expect(sc.capabilities.drop).toEqual(['ALL']);
    expect(sc.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(pod.automountServiceAccountToken).toBe(false);
    // the only writable place: an emptyDir on /tmp
    const tmp = (pod.volumes as Array<Record<string, any>>).find((v) => v['name'] === 'tmp');
    expect(tmp?.['emptyDir']).toBeDefined();
    expect(container(dep)['volumeMounts']).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });

  it('has resources, liveness /healthz and readiness /readyz on the HTTP port', () => {
    const c = container(dep);
    expect(c['resources'].requests.cpu).toBeDefined();
    // measured peak RSS of one route at full rate is 490-575 MB: the limit must leave room above it
    expect(c['resources'].requests.memory).toBe('512Mi');
    expect(c['resources'].limits.memory).toBe('1Gi');
    expect(c['livenessProbe'].httpGet).toEqual({ path: '/healthz', port: 'http', scheme: 'HTTP' });
    expect(c['readinessProbe'].httpGet).toEqual({ path: '/readyz', port: 'http', scheme: 'HTTP' });
    expect(c['ports']).toEqual([{ name: 'http', containerPort: Number(cm.data!['HTTP_PORT']), protocol: 'TCP' }]);
  });

  it('caps the V8 heap at 65% of the memory limit (NODE_OPTIONS), leaving the rest for memory outside the heap', () => {
    expect(container(dep)['env']).toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=665 --max-semi-space-size=8' }]);
  });

  it('keeps Kubernetes service-link variables (KAFKA_PORT for a Service named kafka) out of the container', () => {
    expect(dep.spec.template.spec.enableServiceLinks).toBe(false);
  });

  it('without routes renders no ROUTES and no ROUTE_* variable: one route, default, on KAFKA_GROUP_ID', () => {
    expect(Object.keys(cm.data!).filter((k) => k.startsWith('ROUTE'))).toEqual([]);
    const cfg = loadConfig(renderedEnv(objs));
    expect(cfg.routed).toBe(false);
    expect(cfg.routes.map((r) => [r.name, r.kafka.groupId])).toEqual([['default', 'logstream']]);
  });

  it('sets terminationGracePeriodSeconds above SHUTDOWN_TIMEOUT, and DRAIN_TIMEOUT below it', () => {
    const grace = dep.spec.template.spec.terminationGracePeriodSeconds as number;
    const shutdown = seconds(cm.data!['SHUTDOWN_TIMEOUT']!);
    expect(shutdown).toBe(30);
    expect(grace).toBe(45);
    expect(grace).toBeGreaterThan(shutdown);
    expect(seconds(cm.data!['DRAIN_TIMEOUT']!)).toBeLessThan(shutdown);
  });

  it('takes env from the ConfigMap (the `config` values) and has checksum annotations that change with the config', () => {
    expect(container(dep)['envFrom']).toEqual([{ configMapRef: { name: cm.metadata.name } }]);
    expect(cm.data).toMatchObject({ KAFKA_BROKERS: 'kafka:9092', KAFKA_TOPICS: 'logs', SINKS: 'stdout' });
    const ann = dep.spec.template.metadata.annotations as Record<string, string>;
    expect(ann['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
    expect(ann['checksum/secret']).toMatch(/^[0-9a-f]{64}$/);
    const changed = one(render(['--set', 'config.LOG_LEVEL=debug']), 'Deployment').spec.template.metadata.annotations;
    expect(changed['checksum/config']).not.toBe(ann['checksum/config']);
    const secretChanged = one(render(['--set', 'secretEnv.HEC_TOKEN=x']), 'Deployment').spec.template.metadata.annotations;
    expect(secretChanged['checksum/secret']).not.toBe(ann['checksum/secret']);
  });

  it('lookups: a ConfigMap mounted as a directory (updated in place, no restart), LOOKUP_* variables, extra volumes', () => {
    const values = valuesFile(
      ['lookups:', '  assets:', '    match: cidr', '    content: |', '      network,owner', '      10.0.0.0/8,it-ops', '  teams:', '    format: jsonl', '    key: email', '    content: |', '      {"email": "a@example.com", "team": "red"}',
        'extraVolumes: [{name: geoip, emptyDir: {}}]', 'extraVolumeMounts: [{name: geoip, mountPath: /var/lib/geoip}]'].join('\n'),
    );
    const withLookups = render(['-f', values]);
    const tables = one(withLookups, 'ConfigMap', 'ls-logstream-lookups');
    expect(Object.keys(tables.data!).sort()).toEqual(['assets.csv', 'teams.jsonl']);
    const env = renderedEnv(withLookups);
    expect(env).toMatchObject({
      LOOKUP_ASSETS_FILE: '/etc/logstream/lookups/assets.csv',
      LOOKUP_ASSETS_MATCH: 'cidr',
      LOOKUP_TEAMS_FILE: '/etc/logstream/lookups/teams.jsonl',
      LOOKUP_TEAMS_FORMAT: 'jsonl',
      LOOKUP_TEAMS_KEY: 'email',
    });
    const d = one(withLookups, 'Deployment');
    const mounts = container(d)['volumeMounts'] as Array<Record<string, unknown>>;
    // A subPath mount would never see an update of the ConfigMap.
    expect(mounts.find((m) => m.name === 'lookups')).toEqual({ name: 'lookups', mountPath: '/etc/logstream/lookups', readOnly: true });
    expect(mounts.find((m) => m.name === 'geoip')).toEqual({ name: 'geoip', mountPath: '/var/lib/geoip' });
    const volumes = d.spec.template.spec.volumes as Array<Record<string, unknown>>;
    expect(volumes.find((v) => v.name === 'lookups')).toEqual({ name: 'lookups', configMap: { name: 'ls-logstream-lookups' } });
    expect(volumes.find((v) => v.name === 'geoip')).toEqual({ name: 'geoip', emptyDir: {} });
    // A new table content does not restart the pods: logstream reads the updated file itself.
    const changedTable = render(['-f', values, '--set', 'lookups.assets.content=network\\,owner\n10.0.0.0/8\\,platform\n']);
    expect(one(changedTable, 'ConfigMap', 'ls-logstream-lookups').data!['assets.csv']).not.toBe(tables.data!['assets.csv']);
    expect(one(changedTable, 'Deployment').spec.template.metadata.annotations).toEqual(d.spec.template.metadata.annotations);
    // What the chart renders is what logstream reads: the settings parse and the tables load.
    const dir = mkdtempSync(join(scratch, 'lookups-'));
    for (const [name, content] of Object.entries(tables.data!)) writeFileSync(join(dir, name), content);
    const cfg = parseEnrichConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace('/etc/logstream/lookups', dir)])));
    const e = new Enrichment(cfg);
    expect(e.table('assets')!.current().match('10.9.9.9')).toEqual({ owner: 'it-ops' });
    expect(e.table('teams')!.current().match('a@example.com')).toEqual({ team: 'red' });
    expect(unknownNames(env)).toEqual([]);
  });

  it('has a Service port "http" selecting the pods, a PDB with maxUnavailable 1, and topology spread over zones and nodes', () => {
    const podLabels = dep.spec.template.metadata.labels as Record<string, string>;
    const svc = one(objs, 'Service');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
    expectSubset(podLabels, svc.spec.selector);
    const pdb = one(objs, 'PodDisruptionBudget');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expectSubset(podLabels, pdb.spec.selector.matchLabels);
    const tsc = dep.spec.template.spec.topologySpreadConstraints as Array<Record<string, any>>;
    expect(tsc.map((t) => t['topologyKey']).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const t of tsc) {
      expect(t['maxSkew']).toBe(1);
      expectSubset(podLabels, t['labelSelector'].matchLabels);
    }
    expect(dep.spec.template.spec.serviceAccountName).toBe(one(objs, 'ServiceAccount').metadata.name);
  });
});

describe('helm template with full values', () => {
  let objs: K8sObject[];
  let dep: K8sObject;
  let cm: K8sObject;
  beforeEach(() => {
    if (dep !== undefined) return; // rendered once per block
    objs = render(['-f', FULL_VALUES]);
    dep = one(objs, 'Deployment');
    cm = one(objs, 'ConfigMap', 'ls-logstream');
  });

  it('renders every optional object', () => {
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'ConfigMap', 'ConfigMap', 'Deployment', 'PodDisruptionBudget', 'PrometheusRule', 'ScaledObject', 'Secret', 'Secret', 'Service', 'ServiceAccount', 'ServiceMonitor']);
  });

  it('takes env from the ConfigMap, the chart Secret and the existingSecret; secret values are not in the ConfigMap', () => {
    expect(container(dep)['envFrom']).toEqual([
      { configMapRef: { name: 'ls-logstream' } },
      { secretRef: { name: 'ls-logstream-env' } },
      { secretRef: { name: 'logstream-webhook-keys' } },
    ]);
    const secret = one(objs, 'Secret', 'ls-logstream-env');
    expect(Buffer.from(secret.data!['HEC_TOKEN']!, 'base64').toString()).toBe('00000000-0000-0000-0000-000000000000');
    expect(JSON.stringify(cm)).not.toContain('00000000-0000-0000-0000-000000000000');
    expect(cm.data!['INFLIGHT_MAX_RECORDS']).toBe('50000'); // numbers become strings
    // a values file's numbers are floats to helm: large ones must not turn into 1.34217728e+08
    expect(cm.data!['INFLIGHT_MAX_BYTES']).toBe('134217728');
    expect(cm.data!['ROUTE_ARCHIVE_INFLIGHT_MAX_BYTES']).toBe('33554432');
    expect(container(dep)['env']).toEqual([
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=665 --max-semi-space-size=8' },
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ]);
  });

  it('every variable the chart sets is one logstream knows, and the whole environment (secret files mounted) passes its validation', () => {
    const env = renderedEnv(objs);
    expect(unknownNames(env)).toEqual([]);
    const cfg = loadConfig(withMountedFiles(env, objs));
    expect(cfg.warnings).toEqual([]);
    expect(cfg.routed).toBe(true);
    const siem = cfg.routes.find((r) => r.name === 'siem')!;
    expect(siem.query).toBe("* | where severity in ('high','critical')");
    expect(siem.kafka.topics).toEqual(['security-logs']);
    expect(siem.sinks.map((s) => s.definition.type)).toEqual(['splunk_hec']);
    // the token comes from the route's secret file, not from the global HEC_TOKEN
    expect(revealed(siem.sinks[0]!.config)).toEqual(['11111111-1111-1111-1111-111111111111']);
    expect(revealed(cfg.routes.find((r) => r.name === 'archive')!.sinks[0]!.config)).toEqual([]);
    const archive = cfg.routes.find((r) => r.name === 'archive')!;
    expect(archive.kafka.topics).toEqual(['security-logs', 'audit-logs']);
    expect(archive.inflightMaxBytes).toBe(32 * 1024 * 1024);
    expect(siem.inflightMaxBytes).toBe(96 * 1024 * 1024);
  });

  it('mounts secretFiles and existingSecretFiles read-only where the *_FILE settings point', () => {
    const mount = (container(dep)['volumeMounts'] as Array<Record<string, any>>).find((m) => m['name'] === 'secret-files');
    expect(mount).toEqual({ name: 'secret-files', mountPath: '/etc/logstream/secrets', readOnly: true });
    const vol = (dep.spec.template.spec.volumes as Array<Record<string, any>>).find((v) => v['name'] === 'secret-files');
    expect(vol?.['projected'].sources).toEqual([{ secret: { name: 'ls-logstream-files' } }, { secret: { name: 'logstream-kafka-tls' } }]);
    const files = one(objs, 'Secret', 'ls-logstream-files');
    expect(Object.keys(files.data!)).toEqual(['sasl-password', 'siem-hec-token']);
    for (const k of ['KAFKA_SASL_PASSWORD_FILE', 'KAFKA_TLS_CA_FILE']) expect(cm.data![k]!.startsWith('/etc/logstream/secrets/')).toBe(true);
    expect(cm.data!['ROUTE_SIEM_HEC_TOKEN_FILE']).toBe('/etc/logstream/secrets/siem-hec-token');
    expect(JSON.stringify(cm)).not.toContain('11111111-1111-1111-1111-111111111111');
  });

  it('keeps the grace period above the configured SHUTDOWN_TIMEOUT', () => {
    expect(cm.data!['SHUTDOWN_TIMEOUT']).toBe('40s');
    expect(cm.data!['DRAIN_TIMEOUT']).toBe('25s');
    expect(dep.spec.template.spec.terminationGracePeriodSeconds).toBe(60);
  });

  it('scales with a KEDA ScaledObject on each route group\'s lag, capped at the partition count, and leaves replicas to it', () => {
    const so = one(objs, 'ScaledObject');
    expect(so.apiVersion).toBe('keda.sh/v1alpha1');
    expect(so.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: dep.metadata.name });
    expect(so.spec.maxReplicaCount).toBeLessThanOrEqual(12);
    expect(so.spec.minReplicaCount).toBe(2);
    // one trigger per route, on the group and first topic logstream itself derives for it
    const cfg = loadConfig(withMountedFiles(renderedEnv(objs), objs));
    expect(triggers(objs).map((t) => [t.metadata['consumerGroup'], t.metadata['topic']])).toEqual(cfg.routes.map((r) => [r.kafka.groupId, r.kafka.topics[0]]));
    expect(triggers(objs).map((t) => t.metadata['consumerGroup'])).toEqual(['logstream-prod.archive', 'logstream-prod-siem']);
    for (const t of triggers(objs)) {
      expect(t.type).toBe('kafka');
      expect(t.metadata).toMatchObject({ bootstrapServers: cm.data!['KAFKA_BROKERS'], lagThreshold: '5000', excludePersistentLag: 'true', allowIdleConsumers: 'false', sasl: 'scram_sha512', tls: 'enable' });
      expect(t.authenticationRef).toEqual({ name: 'logstream-kafka-auth' });
    }
    expect(dep.spec.replicas).toBeUndefined();
  });

  it('without routes has one KEDA trigger on KAFKA_GROUP_ID, also leaving out lag that does not move', () => {
    const objs = render(['--set', 'keda.enabled=true']);
    // maxReplicaCount 0 means "the partition count"
    expect(one(objs, 'ScaledObject').spec.maxReplicaCount).toBe(6);
    expect(triggers(objs)).toHaveLength(1);
    expect(triggers(objs)[0]!.metadata).toMatchObject({ consumerGroup: 'logstream', topic: 'logs', excludePersistentLag: 'true', offsetResetPolicy: 'earliest' });
    const off = triggers(render(['--set', 'keda.enabled=true', '--set', 'keda.excludePersistentLag=false']));
    expect(off[0]!.metadata['excludePersistentLag']).toBe('false');
    const own = triggers(render(['--set', 'keda.enabled=true', '--set', 'keda.consumerGroup=other', '--set', 'keda.topic=t2']));
    expect(own[0]!.metadata).toMatchObject({ consumerGroup: 'other', topic: 't2' });
  });

  it('has a ServiceMonitor scraping port http /metrics of the Service, and a PrometheusRule with the alerts', () => {
    const sm = one(objs, 'ServiceMonitor');
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.metadata.labels!['release']).toBe('kube-prometheus-stack');
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }]);
    expectSubset(one(objs, 'Service').metadata.labels!, sm.spec.selector.matchLabels);
    const rule = one(objs, 'PrometheusRule');
    const alerts = (rule.spec.groups as Array<{ rules: Array<{ alert: string; expr: string }> }>).flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(expect.arrayContaining([
      'LogstreamConsumerLagHigh', 'LogstreamDeadLetters', 'LogstreamSinkErrors', 'LogstreamSinkUnhealthy', 'LogstreamInstanceNotReady', 'LogstreamPartitionsUnowned', 'LogstreamCommitErrors', 'LogstreamSchemaRegistryDown', 'LogstreamEnrichmentReloadFailed',
    ]));
    // the job label of the ServiceMonitor's series is the Service name
    for (const a of alerts.filter((x) => x.expr.includes('logstream_'))) expect(a.expr, a.alert).toContain('job="ls-logstream"');
    expect(alerts.find((a) => a.alert === 'LogstreamPartitionsUnowned')!.expr).toMatch(/< 12 unless on \(namespace, job, route\)/);
  });

  it('ships the Grafana dashboard in a ConfigMap labelled grafana_dashboard: "1"', () => {
    const d = one(objs, 'ConfigMap', 'ls-logstream-dashboards');
    expect(d.metadata.labels!['grafana_dashboard']).toBe('1');
    expect(d.data!['logstream.json']).toBe(readFileSync(join(CHART, 'dashboards', 'logstream.json'), 'utf8'));
  });
});

describe('routes', () => {
  // names with '-' and a route without settings of its own; one own group, one secret of each kind
  const ROUTES_VALUES = `
config:
  KAFKA_BROKERS: "kafka:9092"
  KAFKA_TOPICS: "logs, audit"
  KAFKA_GROUP_ID: "shipper"
  KAFKA_START_FROM: latest
  SINKS: stdout
secretFiles:
  siem-hec-token: "22222222-2222-2222-2222-222222222222"
keda:
  enabled: true
routes:
  archive: {}
  siem:
    config:
      SINKS: splunk_hec
      QUERY: "* | where severity == 'critical'"
      HEC_URLS: "https://siem.example.com:8088"
      KAFKA_TOPICS: audit
      KAFKA_START_FROM: earliest
    secretFileRefs:
      HEC_TOKEN: siem-hec-token
  soc-forms:
    config:
      SINKS: form_post
      KAFKA_GROUP_ID: soc-forms-v2
      FORMPOST_URL: "https://soc.example.com/upload"
      FORMPOST_PRODUCT: firewall
      RATE_LIMIT: 250
    secretEnv:
      FORMPOST_AUTH_VALUE: "Bearer not-a-real-token"
`;
  let objs: K8sObject[];
  let cm: K8sObject;
  beforeEach(() => {
    if (objs !== undefined) return; // rendered once per block
    objs = render(['-f', valuesFile(ROUTES_VALUES)]);
    cm = one(objs, 'ConfigMap', 'ls-logstream');
  });

  it('renders ROUTES and each route\'s variables as ROUTE_<NAME>_<VAR> (upper-cased, - to _)', () => {
    expect(cm.data!['ROUTES']).toBe('archive,siem,soc-forms');
    expect(cm.data).toMatchObject({
      ROUTE_SIEM_SINKS: 'splunk_hec',
      ROUTE_SIEM_QUERY: "* | where severity == 'critical'",
      ROUTE_SIEM_KAFKA_TOPICS: 'audit',
      ROUTE_SOC_FORMS_KAFKA_GROUP_ID: 'soc-forms-v2',
      ROUTE_SOC_FORMS_RATE_LIMIT: '250',
    });
    expect(Object.keys(cm.data!).filter((k) => k.startsWith('ROUTE_ARCHIVE_'))).toEqual([]);
    expect(unknownNames(renderedEnv(objs))).toEqual([]);
  });

  it('points secretFileRefs at the mounted secret files (ROUTE_<NAME>_<VAR>_FILE) and puts secretEnv in the Secret, never in the ConfigMap', () => {
    expect(cm.data!['ROUTE_SIEM_HEC_TOKEN_FILE']).toBe(`${MOUNT}/siem-hec-token`);
    const dep = one(objs, 'Deployment');
    expect(container(dep)['volumeMounts']).toContainEqual({ name: 'secret-files', mountPath: MOUNT, readOnly: true });
    expect(Object.keys(one(objs, 'Secret', 'ls-logstream-files').data!)).toEqual(['siem-hec-token']);
    const env = one(objs, 'Secret', 'ls-logstream-env');
    expect(Buffer.from(env.data!['ROUTE_SOC_FORMS_FORMPOST_AUTH_VALUE']!, 'base64').toString()).toBe('Bearer not-a-real-token');
    // a route's secretEnv alone creates the Secret and its envFrom
    expect(container(dep)['envFrom']).toContainEqual({ secretRef: { name: 'ls-logstream-env' } });
    expect(JSON.stringify(cm)).not.toContain('not-a-real-token');
    expect(JSON.stringify(cm)).not.toContain('22222222');
  });

  it('is an environment loadConfig accepts, with the routes, groups, queries and secrets the values say', () => {
    const cfg: AppConfig = loadConfig(withMountedFiles(renderedEnv(objs), objs));
    expect(cfg.warnings).toEqual([]);
    expect(cfg.routes.map((r) => [r.name, r.kafka.groupId, r.kafka.topics])).toEqual([
      ['archive', 'shipper.archive', ['logs', 'audit']],
      ['siem', 'shipper.siem', ['audit']],
      ['soc-forms', 'soc-forms-v2', ['logs', 'audit']],
    ]);
    const [archive, siem, forms] = cfg.routes;
    expect(archive!.sinks.map((x) => x.definition.type)).toEqual(['stdout']);
    expect(siem!.query).toBe("* | where severity == 'critical'");
    expect(revealed(siem!.sinks[0]!.config)).toEqual(['22222222-2222-2222-2222-222222222222']);
    expect(revealed(forms!.sinks[0]!.config)).toContain('Bearer not-a-real-token');
    expect(forms!.rateLimit).toBe(250);
  });

  it('gives KEDA one trigger per route group, each excluding persistent lag, with the route\'s first topic and start position', () => {
    const cfg = loadConfig(withMountedFiles(renderedEnv(objs), objs));
    const t = triggers(objs);
    expect(t.map((x) => x.metadata['consumerGroup'])).toEqual(cfg.routes.map((r) => r.kafka.groupId));
    expect(t.map((x) => [x.metadata['consumerGroup'], x.metadata['topic'], x.metadata['offsetResetPolicy']])).toEqual([
      ['shipper.archive', 'logs', 'latest'],
      ['shipper.siem', 'audit', 'earliest'],
      ['soc-forms-v2', 'logs', 'latest'],
    ]);
    for (const x of t) expect(x.metadata['excludePersistentLag']).toBe('true');
  });

  it('every built-in object decodes strictly', () => {
    const r = template(['-f', valuesFile(ROUTES_VALUES)]);
    expect(r.code, r.stderr).toBe(0);
    const v = kubeValidate(r.stdout);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).not.toMatch(/^INVALID/m);
  });

  it.each([
    ['ROUTES in config', ['--set', 'config.ROUTES=a'], /config\.ROUTES is set by the chart/],
    ['a ROUTE_ variable in secretEnv', ['--set', 'secretEnv.ROUTE_A_HEC_TOKEN=x'], /secretEnv\.ROUTE_A_HEC_TOKEN: per-route settings go under routes/],
    ['keda.consumerGroup with routes', ['--set', 'routes.a.config.SINKS=stdout', '--set', 'keda.consumerGroup=g'], /keda\.consumerGroup names one group/],
    ['a secret file that is not mounted', ['--set', 'routes.a.secretFileRefs.HEC_TOKEN=tok'], /routes\.a\.secretFileRefs\.HEC_TOKEN: file "tok" is not in secretFiles/],
    ['a variable in config and secretEnv', ['--set', 'routes.a.config.HEC_URLS=u', '--set', 'routes.a.secretEnv.HEC_URLS=v'], /routes\.a: HEC_URLS is set in both config and secretEnv/],
    ['a secret both inline and as a file', ['--set', 'routes.a.secretEnv.HEC_TOKEN=t', '--set', 'secretFiles.tok=t', '--set', 'routes.a.secretFileRefs.HEC_TOKEN=tok'], /routes\.a: HEC_TOKEN is set in both secretEnv and secretFileRefs/],
    ['two routes in one group', ['--set', 'routes.a.config.KAFKA_GROUP_ID=logstream.b', '--set', 'routes.b.config.SINKS=stdout'], /routes a and b are both in consumer group logstream\.b/],
  ])('fails the render: %s', (_name, args, message) => {
    const r = template(args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('a secret file may be in existingSecretFiles, which the chart cannot list', () => {
    const c = one(render(['--set', 'existingSecretFiles=mine', '--set', 'routes.a.secretFileRefs.HEC_TOKEN=tok']), 'ConfigMap', 'ls-logstream');
    expect(c.data!['ROUTE_A_HEC_TOKEN_FILE']).toBe(`${MOUNT}/tok`);
  });
});

// The schema's route definitions against the code, without helm: values-schema.test.ts.
describe('values.schema.json for routes (helm applies it)', () => {
  it.each([
    ['an upper-case route name', ['--set', 'routes.SIEM.config.SINKS=stdout'], /'SIEM' does not match pattern/],
    ['an underscore in a route name', ['--set', 'routes.my_route.config.SINKS=stdout'], /'my_route' does not match pattern/],
    ['a shared variable in a route', ['--set', 'routes.a.config.KAFKA_BROKERS=x'], /'KAFKA_BROKERS' does not match pattern/],
    ['an unknown key in a route', ['--set', 'routes.a.env.SINKS=stdout'], /additional properties 'env' not allowed/],
    ['secretFileRefs of a variable without a _FILE form', ['--set', 'routes.a.secretFileRefs.HEC_URLS=f'], /value must be one of 'QUERY', 'HEC_TOKEN'/],
    ['a secret file name with a slash', ['--set', 'routes.a.secretFileRefs.HEC_TOKEN=a/b'], /secretFileRefs\/HEC_TOKEN/],
  ])('rejects %s', (_name, args, message) => {
    const r = template(args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    expect(r.stderr).toMatch(message);
  });
});

describe('V8 heap (NODE_OPTIONS) from the memory limit', () => {
  const nodeOptions = (args: string[]) => {
    const env = (container(one(render(args), 'Deployment'))['env'] ?? []) as Array<{ name: string; value?: string }>;
    return env.filter((e) => e.name === 'NODE_OPTIONS').map((e) => e.value);
  };

  it.each([
    ['2Gi', ['--set', 'resources.limits.memory=2Gi'], '--max-old-space-size=1331 --max-semi-space-size=8'],
    ['1500M (decimal)', ['--set', 'resources.limits.memory=1500M'], '--max-old-space-size=929 --max-semi-space-size=8'],
    ['a share of 50%', ['--set', 'heap.percentOfMemoryLimit=50'], '--max-old-space-size=512 --max-semi-space-size=8'],
    ['an explicit size', ['--set', 'heap.maxOldSpaceSizeMiB=700'], '--max-old-space-size=700 --max-semi-space-size=8'],
    ['V8’s own young generation', ['--set', 'heap.maxSemiSpaceSizeMiB=0'], '--max-old-space-size=665'],
  ])('derives it: %s', (_name, args, flag) => {
    expect(nodeOptions(args)).toEqual([flag]);
  });

  it('sets none without a memory limit, and leaves NODE_OPTIONS the user sets alone', () => {
    expect(nodeOptions(['--set', 'resources.limits.memory=null'])).toEqual([]);
    expect(nodeOptions(['--set', 'config.NODE_OPTIONS=--max-old-space-size=300'])).toEqual([]);
    expect(one(render(['--set', 'config.NODE_OPTIONS=--max-old-space-size=300']), 'ConfigMap').data!['NODE_OPTIONS']).toBe('--max-old-space-size=300');
    expect(nodeOptions(['--set', 'extraEnv[0].name=NODE_OPTIONS', '--set', 'extraEnv[0].value=--max-old-space-size=400'])).toEqual(['--max-old-space-size=400']);
  });

  it('fails the render when the heap is not below the limit', () => {
    const r = template(['--set', 'heap.maxOldSpaceSizeMiB=1024']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/heap\.maxOldSpaceSizeMiB \(1024\) must be below resources\.limits\.memory/);
  });
});

describe('PrometheusRule per route', () => {
  type Rule = { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> };
  let rules: Rule[];
  beforeEach(() => {
    if (rules !== undefined) return;
    const rule = one(render(['-f', FULL_VALUES]), 'PrometheusRule');
    rules = (rule.spec.groups as Array<{ rules: Rule[] }>).flatMap((g) => g.rules);
  });
  const byName = (name: string) => rules.find((r) => r.alert === name)!;

  it('aggregates every logstream pipeline metric by route (the topic retention gauge, the schema registry gauge and the enrichment reloads, shared by the routes, have none)', () => {
    for (const r of rules.filter((x) => x.expr.includes('logstream_'))) {
      const clauses = [...r.expr.matchAll(/by \(([^)]*)\) \(([^{]*)\{/g)];
      expect(clauses.length, r.alert).toBeGreaterThan(0);
      for (const [, labels, head] of clauses) {
        if (['logstream_topic_retention_seconds', 'logstream_schema_registry_up', 'logstream_enrichment_reloads_total'].some((m) => head!.includes(m))) continue;
        expect(labels!.split(/,\s*/), `${r.alert}: by (${labels})`).toContain('route');
      }
    }
  });

  it('gives every alert a severity, a summary and a description', () => {
    for (const r of rules) {
      expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels['severity']);
      expect(r.annotations['summary'], r.alert).toBeTruthy();
      expect(r.annotations['description'], r.alert).toBeTruthy();
    }
  });

  it('alerts on records lost to retention (critical), counting a series born with its first loss', () => {
    const r = byName('LogstreamRecordsLostToRetention');
    expect(r.labels['severity']).toBe('critical');
    expect(r.expr).toMatch(/^sum by \(namespace, job, route, topic\) \(increase\(logstream_retention_skipped_records_total\{[^}]*\}\[15m\]\)\) > 0 or /);
    expect(r.expr).toMatch(/logstream_retention_skipped_records_total\{[^}]*\} unless logstream_retention_skipped_records_total\{[^}]*\} offset 15m/);
  });

  it('alerts when the oldest unacknowledged record nears the topic retention, ignoring unlimited retention', () => {
    const r = byName('LogstreamOldestRecordNearRetention');
    expect(r.expr).toMatch(/^max by \(namespace, job, route, topic\) \(logstream_oldest_unacknowledged_age_seconds\{[^}]*\}\) > on \(namespace, job, topic\) group_left 0\.75 \* max by \(namespace, job, topic\) \(logstream_topic_retention_seconds\{[^}]*\} > 0\)$/);
    // --set keeps 0.5 a string: a values file makes it the number the schema wants
    const other = one(render(['-f', FULL_VALUES, '-f', valuesFile('prometheusRule:\n  retentionWarningRatio: 0.5\n')]), 'PrometheusRule');
    expect(JSON.stringify(other.spec)).toContain('group_left 0.5 * max by');
  });

  it('alerts on a failed route, a route stuck not running, a long pause and late delivery (freshness p99)', () => {
    expect(byName('LogstreamRouteFailed').expr).toContain('max_over_time(logstream_route_state{');
    expect(byName('LogstreamRouteFailed').expr).toContain('state="failed"}[15m]');
    expect(byName('LogstreamRouteFailed').labels['severity']).toBe('critical');
    expect(byName('LogstreamRouteNotRunning').expr).toContain('state=~"starting|pausing|stopped"');
    expect(byName('LogstreamRouteNotRunning').for).toBe('15m');
    expect(byName('LogstreamRoutePaused').for).toBe('4h');
    expect(byName('LogstreamFreshnessHigh').expr).toMatch(/^histogram_quantile\(0\.99, sum by \(namespace, job, route, sink, le\) \(rate\(logstream_sink_freshness_seconds_bucket\{[^}]*\}\[10m\]\)\)\) > 900$/);
  });

  it('keeps routes paused on purpose out of the lag and partition alerts', () => {
    for (const name of ['LogstreamConsumerLagHigh', 'LogstreamPartitionsUnowned']) {
      expect(byName(name).expr, name).toMatch(/unless on \(namespace, job, route\) \(max by \(namespace, job, route\) \(logstream_route_state\{[^}]*state="paused"\}\) == 1\)$/);
    }
  });
});

describe('autoscaling alternatives and render-time checks', () => {
  it('renders an autoscaling/v2 HPA on CPU capped at the partition count', () => {
    const objs = render(['--set', 'autoscaling.enabled=true', '--set', 'kafka.partitions=8']);
    const hpa = one(objs, 'HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.maxReplicas).toBe(8);
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expect(objs.some((o) => o.kind === 'ScaledObject')).toBe(false);
    expect(one(objs, 'Deployment').spec.replicas).toBeUndefined();
  });

  it.each([
    ['KEDA and HPA both on', ['--set', 'keda.enabled=true', '--set', 'autoscaling.enabled=true'], /mutually exclusive/],
    ['KEDA max above the partitions', ['--set', 'keda.enabled=true', '--set', 'keda.maxReplicaCount=7'], /keda\.maxReplicaCount \(7\) is above kafka\.partitions \(6\)/],
    ['HPA max above the partitions', ['--set', 'autoscaling.enabled=true', '--set', 'autoscaling.maxReplicas=9'], /autoscaling\.maxReplicas \(9\) is above kafka\.partitions \(6\)/],
    ['grace period not above SHUTDOWN_TIMEOUT', ['--set', 'shutdown.terminationGracePeriodSeconds=30'], /terminationGracePeriodSeconds \(30\) must be above/],
    ['drain not below shutdown', ['--set', 'shutdown.drainTimeoutSeconds=30'], /drainTimeoutSeconds \(30\) must be below/],
    ['SHUTDOWN_TIMEOUT in config', ['--set', 'config.SHUTDOWN_TIMEOUT=10s'], /config\.SHUTDOWN_TIMEOUT is set by the chart/],
  ])('fails the render: %s', (_name, args, message) => {
    const r = template(args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

describe('helm template with static membership', () => {
  const args = ['--set', 'staticMembership.enabled=true', '--set', 'autoscaling.enabled=true'];

  it('runs a StatefulSet (stable pod names) with KAFKA_GROUP_INSTANCE_ID from the pod name, scaled by the HPA, and the environment passes validation', () => {
    const objs = render(args);
    expect(objs.some((o) => o.kind === 'Deployment')).toBe(false);
    const sts = one(objs, 'StatefulSet');
    expect(sts.spec.serviceName).toBe(one(objs, 'Service').metadata.name);
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(container(sts).env).toContainEqual({ name: 'KAFKA_GROUP_INSTANCE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(one(objs, 'HorizontalPodAutoscaler').spec.scaleTargetRef).toMatchObject({ kind: 'StatefulSet', name: sts.metadata.name });
    const cfg = loadConfig({ ...renderedEnv(objs), KAFKA_GROUP_INSTANCE_ID: 'ls-logstream-0' });
    expect(cfg.kafka).toMatchObject({ client: 'platformatic', groupInstanceId: 'ls-logstream-0' });
    const v = kubeValidate(template(args).stdout);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^VALID apps\/v1 StatefulSet\//m);
  });

  it('refuses static membership on kafkajs, and a hand-set KAFKA_GROUP_INSTANCE_ID (every pod would share it)', () => {
    const kafkajs = template([...args, '--set', 'config.KAFKA_CLIENT=kafkajs']);
    expect(kafkajs.code).not.toBe(0);
    expect(kafkajs.stderr).toMatch(/staticMembership.enabled does not work with config.KAFKA_CLIENT: kafkajs/);
    const shared = template([...args, '--set', 'config.KAFKA_GROUP_INSTANCE_ID=one']);
    expect(shared.code).not.toBe(0);
    expect(shared.stderr).toMatch(/KAFKA_GROUP_INSTANCE_ID is set by the chart/);
  });

  it('renders KAFKA_GROUP_PROTOCOL=consumer as the app reads it, and refuses it on kafkajs', () => {
    const objs = render(['--set', 'config.KAFKA_GROUP_PROTOCOL=consumer']);
    expect(loadConfig(renderedEnv(objs)).kafka).toMatchObject({ client: 'platformatic', groupProtocol: 'consumer' });
    const kafkajs = template(['--set', 'config.KAFKA_GROUP_PROTOCOL=consumer', '--set', 'config.KAFKA_CLIENT=kafkajs']);
    expect(kafkajs.code).not.toBe(0);
    expect(kafkajs.stderr).toMatch(/config.KAFKA_GROUP_PROTOCOL: consumer does not work with config.KAFKA_CLIENT: kafkajs/);
  });
});

describe('Kubernetes types (strict decoding into k8s.io/api, test/helm/kube-validate)', () => {
  it.each([
    ['default values', [] as string[], 5],
    ['full values', ['-f', FULL_VALUES], 9],
    ['HPA', ['--set', 'autoscaling.enabled=true'], 6],
  ])('every built-in object of %s decodes strictly', (_name, args, builtIn) => {
    const r = template(args);
    expect(r.code, r.stderr).toBe(0);
    const v = kubeValidate(r.stdout);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout.match(/^VALID /gm)?.length).toBe(builtIn);
    expect(v.stdout).not.toMatch(/^INVALID/m);
  });

  it('catches an unknown field and a wrong type', () => {
    const v = kubeValidate('apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  portz: []\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\nspec:\n  replicas: "2"\n');
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/INVALID v1 Service\/a: .*unknown field "portz"/);
    expect(v.stdout).toMatch(/INVALID apps\/v1 Deployment\/b: .*replicas/);
  });
});

describe('values.schema.json', () => {
  it.each([
    ['replicaCount "two"', ['--set-string', 'replicaCount=two'], /replicaCount.*got string, want integer/],
    ['replicaCount 0', ['--set', 'replicaCount=0'], /replicaCount.*minimum/],
    ['an unknown top-level key', ['--set', 'replicas=3'], /additional properties 'replicas' not allowed/],
    ['an unknown key in keda', ['--set', 'keda.maxReplicas=3'], /additional properties 'maxReplicas' not allowed/],
    ['an empty image repository', ['--set', 'image.repository='], /image\/repository/],
    ['a bad pullPolicy', ['--set', 'image.pullPolicy=Sometimes'], /pullPolicy/],
    ['a bad service type', ['--set', 'service.type=Ingress'], /service\/type/],
    ['a bad resources shape', ['--set', 'resources.requests.gpu=1'], /additional properties 'gpu' not allowed/],
    ['a bad quantity', ['--set', 'resources.limits.memory=lots'], /resources\/limits\/memory/],
    ['a config value that is a map', ['--set', 'config.SINKS.a=b'], /config\/SINKS/],
    ['an env name that is not a variable name', ['--set', 'config.bad-name=x'], /'bad-name' does not match pattern/],
    ['a relative mount path', ['--set', 'secretFilesMountPath=secrets'], /secretFilesMountPath/],
    ['kafka.partitions 0', ['--set', 'kafka.partitions=0'], /kafka\/partitions/],
  ])('rejects %s', (_name, args, message) => {
    const r = template(args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    expect(r.stderr).toMatch(message);
  });
});

describe('exposing the webhook: HTTPS, METRICS_PORT, Ingress and NetworkPolicy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-chart-expose-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const values = (yaml: string): string => {
    const f = join(dir, `v${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(f, yaml);
    return f;
  };
  const exposed = `
https: true
metricsPort: 9090
config:
  HTTP_TLS_CERT_FILE: /etc/logstream/secrets/tls.crt
  HTTP_TLS_KEY_FILE: /etc/logstream/secrets/tls.key
  HTTP_TLS_CLIENT_CA_FILE: /etc/logstream/secrets/ca.crt
  WEBHOOK_PRODUCTS: web=logs-web
existingSecretFiles: logstream-webhook-tls
serviceMonitor: { enabled: true }
ingress:
  enabled: true
  className: nginx
  host: logs.example.com
  passthrough: true
  annotations: { nginx.ingress.kubernetes.io/ssl-passthrough: "true" }
networkPolicy:
  enabled: true
  webhookFrom: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: ingress-nginx } } }]
  metricsFrom: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: monitoring } } }]
  kafkaEgress: [{ to: [{ ipBlock: { cidr: 10.20.0.0/16 } }], ports: [{ port: 9093, protocol: TCP }] }]
  sinkEgress: [{ to: [{ ipBlock: { cidr: 203.0.113.0/24 } }], ports: [{ port: 8088, protocol: TCP }] }]
`;

  it('serves the webhook on "http" (HTTPS) and metrics and probes on "metrics" (plain), each its own Service port', () => {
    const objs = render(['-f', values(exposed)]);
    const dep = one(objs, 'Deployment');
    const c = container(dep);
    expect(c['ports']).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
    expect(c['livenessProbe'].httpGet).toEqual({ path: '/healthz', port: 'metrics', scheme: 'HTTP' });
    expect(c['readinessProbe'].httpGet).toEqual({ path: '/readyz', port: 'metrics', scheme: 'HTTP' });
    expect(one(objs, 'ConfigMap', 'ls-logstream').data!['METRICS_PORT']).toBe('9090');
    expect(one(objs, 'Service').spec.ports).toEqual([
      { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' },
      { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    expect(one(objs, 'ServiceMonitor').spec.endpoints[0]).toMatchObject({ port: 'metrics', path: '/metrics' });
    // The rendered environment is one logstream accepts (the TLS files are checked at start, not here).
    const r = kubeValidate(template(['-f', values(exposed)]).stdout);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toContain('INVALID');
  });

  it('routes only the webhook path through the Ingress; passthrough leaves TLS to logstream', () => {
    const objs = render(['-f', values(exposed)]);
    const ing = one(objs, 'Ingress');
    expect(ing.spec.ingressClassName).toBe('nginx');
    expect(ing.spec.tls).toBeUndefined();
    expect(ing.spec.rules).toEqual([{ host: 'logs.example.com', http: { paths: [{ path: '/v1/logstream', pathType: 'Prefix', backend: { service: { name: 'ls-logstream', port: { name: 'http' } } } }] } }]);
    expect(ing.metadata.annotations).toEqual({ 'nginx.ingress.kubernetes.io/ssl-passthrough': 'true' });
    // Terminated at the Ingress with a cert-manager certificate, re-encrypted to logstream.
    const terminated = one(render(['-f', values(exposed), '--set', 'ingress.passthrough=false', '--set', 'ingress.tls.secretName=logs-tls']), 'Ingress');
    expect(terminated.spec.tls).toEqual([{ hosts: ['logs.example.com'], secretName: 'logs-tls' }]);
    expect(terminated.metadata.annotations!['nginx.ingress.kubernetes.io/backend-protocol']).toBe('HTTPS');
  });

  it('a NetworkPolicy: the webhook from the ingress controller, metrics from Prometheus; egress only to DNS, Kafka and the sinks', () => {
    const np = one(render(['-f', values(exposed)]), 'NetworkPolicy');
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toEqual([
      { ports: [{ port: 'http', protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }] },
      { ports: [{ port: 'metrics', protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
    ]);
    expect(np.spec.egress).toEqual([
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] },
      { to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ port: 9093, protocol: 'TCP' }] },
      { to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 8088, protocol: 'TCP' }] },
    ]);
  });

  it('refuses what cannot work: no Kafka egress (a NetworkPolicy cannot name hosts), mutual TLS without metricsPort, passthrough without https, https without the files', () => {
    const fails = (args: string[], message: RegExp): void => {
      const r = template(['-f', values(exposed), ...args]);
      expect(r.code, r.stdout.slice(0, 200)).not.toBe(0);
      expect(r.stderr).toMatch(message);
    };
    fails(['--set', 'networkPolicy.kafkaEgress=null'], /networkPolicy\.kafkaEgress is empty: list the Kafka brokers' addresses/);
    fails(['--set', 'metricsPort=0'], /HTTP_TLS_CLIENT_CA_FILE \(mutual TLS\) needs metricsPort/);
    fails(['--set', 'https=false'], /ingress\.passthrough forwards TLS to logstream: set https: true/);
    const r = template(['--set', 'https=true']);
    expect(r.stderr).toMatch(/https: true needs config\.HTTP_TLS_CERT_FILE/);
    // HTTPS on the one port: the probes and the scrape speak HTTPS.
    const single = render(['--set', 'https=true', '--set', 'config.HTTP_TLS_CERT_FILE=/s/tls.crt', '--set', 'config.HTTP_TLS_KEY_FILE=/s/tls.key', '--set', 'serviceMonitor.enabled=true']);
    expect(container(one(single, 'Deployment'))['readinessProbe'].httpGet).toEqual({ path: '/readyz', port: 'http', scheme: 'HTTPS' });
    expect(one(single, 'ServiceMonitor').spec.endpoints[0]).toMatchObject({ port: 'http', scheme: 'https' });
  });
});
