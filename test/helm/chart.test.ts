/**
 * The Helm chart (helm/logstream): `helm lint` and `helm template` with the default values and with
 * ci/full-values.yaml (everything on), and the rendered manifests checked for what a platform team
 * relies on: hardened pods, probes, a grace period above SHUTDOWN_TIMEOUT, env from the ConfigMap and
 * Secrets, secret files, PDB, topology spread, autoscaling capped at the partition count, and
 * values.schema.json rejecting bad values. Needs the helm binary: `node scripts/helm.ts fetch`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { configReference } from '../../src/config-reference.ts';
import { loadConfig } from '../../src/app-config.ts';
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
    expect(c['resources'].requests.memory).toBeDefined();
    expect(c['resources'].limits.memory).toBeDefined();
    expect(c['livenessProbe'].httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c['readinessProbe'].httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c['ports']).toEqual([{ name: 'http', containerPort: Number(cm.data!['HTTP_PORT']), protocol: 'TCP' }]);
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
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'ConfigMap', 'Deployment', 'PodDisruptionBudget', 'PrometheusRule', 'ScaledObject', 'Secret', 'Secret', 'Service', 'ServiceAccount', 'ServiceMonitor']);
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
    expect(container(dep)['env']).toEqual([{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }]);
  });

  it('every variable the chart sets is one logstream knows, and the whole environment passes its validation', () => {
    const known = new Set([...configReference().matchAll(/^\| `([A-Z][A-Z0-9_]*)`/gm)].map((m) => m[1]!));
    const secret = one(objs, 'Secret', 'ls-logstream-env');
    const env: Record<string, string> = { ...cm.data };
    for (const [k, v] of Object.entries(secret.data ?? {})) env[k] = Buffer.from(v, 'base64').toString();
    const secretFile = (name: string) => name.endsWith('_FILE') && known.has(name.slice(0, -'_FILE'.length));
    expect(Object.keys(env).filter((k) => !known.has(k) && !secretFile(k))).toEqual([]);
    // the mounted files do not exist here: check everything else by leaving the file settings out
    const withoutFiles = Object.fromEntries(Object.entries(env).filter(([k]) => !k.endsWith('_FILE')));
    expect(() => loadConfig({ ...withoutFiles, KAFKA_SASL_PASSWORD: 'x' })).not.toThrow();
  });

  it('mounts secretFiles and existingSecretFiles read-only where the *_FILE settings point', () => {
    const mount = (container(dep)['volumeMounts'] as Array<Record<string, any>>).find((m) => m['name'] === 'secret-files');
    expect(mount).toEqual({ name: 'secret-files', mountPath: '/etc/logstream/secrets', readOnly: true });
    const vol = (dep.spec.template.spec.volumes as Array<Record<string, any>>).find((v) => v['name'] === 'secret-files');
    expect(vol?.['projected'].sources).toEqual([{ secret: { name: 'ls-logstream-files' } }, { secret: { name: 'logstream-kafka-tls' } }]);
    const files = one(objs, 'Secret', 'ls-logstream-files');
    expect(Object.keys(files.data!)).toEqual(['sasl-password']);
    for (const k of ['KAFKA_SASL_PASSWORD_FILE', 'KAFKA_TLS_CA_FILE']) expect(cm.data![k]!.startsWith('/etc/logstream/secrets/')).toBe(true);
  });

  it('keeps the grace period above the configured SHUTDOWN_TIMEOUT', () => {
    expect(cm.data!['SHUTDOWN_TIMEOUT']).toBe('40s');
    expect(cm.data!['DRAIN_TIMEOUT']).toBe('25s');
    expect(dep.spec.template.spec.terminationGracePeriodSeconds).toBe(60);
  });

  it('scales with a KEDA ScaledObject on the group lag, capped at the partition count, and leaves replicas to it', () => {
    const so = one(objs, 'ScaledObject');
    expect(so.apiVersion).toBe('keda.sh/v1alpha1');
    expect(so.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: dep.metadata.name });
    expect(so.spec.maxReplicaCount).toBeLessThanOrEqual(12);
    expect(so.spec.minReplicaCount).toBe(2);
    expect(so.spec.triggers).toHaveLength(1);
    const t = so.spec.triggers[0];
    expect(t.type).toBe('kafka');
    expect(t.metadata).toMatchObject({ bootstrapServers: cm.data!['KAFKA_BROKERS'], consumerGroup: 'logstream-prod', topic: 'security-logs', lagThreshold: '5000', sasl: 'scram_sha512', tls: 'enable' });
    expect(t.authenticationRef).toEqual({ name: 'logstream-kafka-auth' });
    expect(dep.spec.replicas).toBeUndefined();
    // maxReplicaCount 0 means "the partition count"
    const dflt = one(render(['--set', 'keda.enabled=true']), 'ScaledObject');
    expect(dflt.spec.maxReplicaCount).toBe(6);
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
      'LogstreamConsumerLagHigh', 'LogstreamDeadLetters', 'LogstreamSinkErrors', 'LogstreamSinkUnhealthy', 'LogstreamInstanceNotReady', 'LogstreamPartitionsUnowned', 'LogstreamCommitErrors',
    ]));
    // the job label of the ServiceMonitor's series is the Service name
    for (const a of alerts.filter((x) => x.expr.includes('logstream_'))) expect(a.expr, a.alert).toContain('job="ls-logstream"');
    expect(alerts.find((a) => a.alert === 'LogstreamPartitionsUnowned')!.expr).toMatch(/< 12$/);
  });

  it('ships the Grafana dashboard in a ConfigMap labelled grafana_dashboard: "1"', () => {
    const d = one(objs, 'ConfigMap', 'ls-logstream-dashboards');
    expect(d.metadata.labels!['grafana_dashboard']).toBe('1');
    expect(d.data!['logstream.json']).toBe(readFileSync(join(CHART, 'dashboards', 'logstream.json'), 'utf8'));
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

describe('Kubernetes types (strict decoding into k8s.io/api, test/helm/kube-validate)', () => {
  it.each([
    ['default values', [] as string[], 5],
    ['full values', ['-f', FULL_VALUES], 8],
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
