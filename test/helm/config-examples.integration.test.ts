/**
 * The Helm values examples in config/helm/ must keep working with the chart: `helm lint --strict` and
 * `helm template` with each (so values.schema.json and the chart's render-time checks pass), every
 * built-in object decoding strictly into the Kubernetes types, and the environment the chart renders
 * (ConfigMap + the chart's Secret, with the files of the secret mount provided under a temp dir as the
 * pod would have them) passing logstream's own validation without a warning, resolving to what each
 * example promises. Needs the helm binary: `node scripts/helm.ts fetch` (as chart.integration.test.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type AppConfig } from '../../src/app-config.ts';
import { compileRouteQuery } from '../../src/pipeline/route.ts';
import { CONFIG_DIR, QUERIES_DIR, materialise } from '../support/config-examples.ts';
import { makeNodeTestPki } from '../support/node-pki.ts';
import type { TestPki } from '../support/pki.ts';
import { CHART, KUBE_VERSION, helm, helmBin, kubeValidate, one, parseManifests, template, type K8sObject } from './helm-support.ts';

const HELM_DIR = join(CONFIG_DIR, 'helm');
const EXAMPLES = readdirSync(HELM_DIR).filter((f) => f.endsWith('.yaml')).sort();
const MOUNT = '/etc/logstream/secrets/';

/** A query file of config/queries/ without its comments: what a values file inlines as QUERY. */
const inlineQuery = (file: string): string =>
  readFileSync(join(QUERIES_DIR, file), 'utf8').split('\n').filter((l) => !l.startsWith('--') && l.trim() !== '').map((l) => l.trim()).join(' ');

/** The container's environment as envFrom gives it: the ConfigMap, then the chart's env Secret. */
function renderedEnv(objs: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = { ...one(objs, 'ConfigMap', 'ls-logstream').data };
  const secret = objs.find((o) => o.kind === 'Secret' && o.metadata.name === 'ls-logstream-env');
  for (const [k, v] of Object.entries(secret?.data ?? {})) env[k] = Buffer.from(v, 'base64').toString();
  return env;
}

const sinkTypes = (cfg: AppConfig) => cfg.routes.map((r) => [r.name, r.kafka.groupId, r.sinks.map((s) => s.definition.type)]);

/** What each example must render and resolve to. Every config/helm/*.yaml needs an entry. */
const EXPECT: Record<string, (objs: K8sObject[], cfg: AppConfig) => void> = {
  'splunk-hec-keda.yaml': (objs, cfg) => {
    expect(sinkTypes(cfg)).toEqual([['default', 'logstream-splunk', ['splunk_hec']]]);
    expect(cfg.routes[0]!.query).toBe(inlineQuery('severity.spl'));
    const hec = cfg.routes[0]!.sinks[0]!.config as { ack: { enabled: boolean } };
    expect(hec.ack.enabled).toBe(true);
    expect(cfg.kafka.security.sasl?.mechanism).toBe('scram-sha-512');
    const so = one(objs, 'ScaledObject');
    expect(so.spec.maxReplicaCount).toBe(12);
    expect(so.spec.triggers).toHaveLength(1);
    expect(so.spec.triggers[0].metadata).toMatchObject({ consumerGroup: 'logstream-splunk', topic: 'security-logs', excludePersistentLag: 'true', sasl: 'scram_sha512', tls: 'enable' });
    expect(so.spec.triggers[0].authenticationRef).toEqual({ name: 'logstream-kafka-auth' });
    expect(one(objs, 'Deployment').spec.replicas).toBeUndefined();
  },
  'routes-archive-siem.yaml': (objs, cfg) => {
    expect(cfg.routed).toBe(true);
    expect(sinkTypes(cfg)).toEqual([
      ['archive', 'logstream.archive', ['s3']],
      ['siem', 'logstream.siem', ['splunk_hec']],
    ]);
    const [archive, siem] = cfg.routes;
    expect(archive!.query).toBe('*');
    expect(siem!.query).toBe(inlineQuery('severity.spl'));
    expect(siem!.rateLimit).toBe(5000);
    const cm = one(objs, 'ConfigMap', 'ls-logstream');
    expect(cm.data!['ROUTE_SIEM_HEC_TOKEN_FILE']).toBe(`${MOUNT}hec-token`);
    // `SINKS: null` removes the chart's default SINKS=stdout: no route falls back to it
    expect(cm.data!['SINKS']).toBeUndefined();
    expect(one(objs, 'ServiceAccount').metadata.annotations!['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::/);
  },
  'syslog-static-membership.yaml': (objs, cfg) => {
    expect(sinkTypes(cfg)).toEqual([['default', 'logstream-qradar', ['syslog']]]);
    expect(cfg.kafka.client).toBe('platformatic');
    const sts = one(objs, 'StatefulSet');
    expect(sts.spec.replicas).toBe(3);
    const env = (sts.spec.template.spec.containers as Array<{ env: unknown[] }>)[0]!.env;
    expect(env).toContainEqual({ name: 'KAFKA_GROUP_INSTANCE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
  },
};

let pki: TestPki;
let scratch: string;
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'logstream-helm-examples-'));
  pki = await makeNodeTestPki(join(scratch, 'pki'), 'helm examples');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Fails (never skips) with "run node scripts/helm.ts fetch" when helm is missing.
beforeEach(() => {
  helmBin();
});

describe('config/helm/*.yaml', () => {
  it('there are examples, and each has its expectations below', () => {
    expect(EXAMPLES).toEqual(expect.arrayContaining(['splunk-hec-keda.yaml', 'routes-archive-siem.yaml']));
    expect(EXAMPLES.filter((f) => !(f in EXPECT))).toEqual([]);
  });

  describe.each(EXAMPLES)('%s', (file) => {
    const values = join(HELM_DIR, file);
    let rendered: string | undefined;
    let objs: K8sObject[];
    beforeEach(() => {
      if (rendered !== undefined) return; // rendered once per example
      const r = template(['-f', values]);
      if (r.code !== 0) throw new Error(`helm template -f config/helm/${file} failed (${r.code}):\n${r.stderr}`);
      rendered = r.stdout;
      objs = parseManifests(rendered);
    });

    it('passes helm lint --strict (values.schema.json, the chart\'s checks)', () => {
      const r = helm(['lint', '--strict', CHART, '--kube-version', KUBE_VERSION, '-f', values]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    });

    it('renders objects that decode strictly into the Kubernetes types', () => {
      const v = kubeValidate(rendered!);
      expect(v.code, v.stdout + v.stderr).toBe(0);
      expect(v.stdout).toMatch(/^VALID apps\/v1 (Deployment|StatefulSet)\//m);
      expect(v.stdout).not.toMatch(/^INVALID/m);
    });

    it('renders an environment logstream accepts without a warning (files of the secret mount provided), resolving as promised', () => {
      const env = renderedEnv(objs);
      const { env: mounted, problems } = materialise(env, join(scratch, file), pki, MOUNT);
      expect(problems).toEqual([]);
      const cfg = loadConfig(mounted);
      expect(cfg.warnings).toEqual([]);
      for (const r of cfg.routes) compileRouteQuery(r, cfg.routed);
      EXPECT[file]!(objs, cfg);
    });
  });
});
