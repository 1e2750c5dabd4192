/**
 * The files the config/ examples name (secrets, TLS material, queries under /etc/logstream/…), made
 * real for a test: every such path is mapped to a file under a temp directory that holds what the pod's
 * mount would hold — a dummy secret of the right shape, a certificate of a throw-away PKI
 * (test/support/node-pki.ts), the query from config/queries/ — without changing what the example says.
 * Used by test/config/examples.test.ts (the env files) and test/helm/config-examples.integration.test.ts
 * (the Helm values examples, whose secretFileRefs and *_FILE settings point under the chart's mount).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { appVars } from '../../src/app-config.ts';
import { routePrefix } from '../../src/config/route-env.ts';
import type { VarSpecs } from '../../src/config/vars.ts';
import { SINKS } from '../../src/sinks/index.ts';
import { schemaRegistryVars } from '../../src/source/decode/registry-config.ts';
import { kafkaVars } from '../../src/source/kafka/config.ts';
import { webhookVars } from '../../src/webhook/config.ts';
import type { TestPki } from './pki.ts';

export const CONFIG_DIR = resolve(import.meta.dirname, '..', '..', 'config');
export const QUERIES_DIR = join(CONFIG_DIR, 'queries');
/** A query file of config/queries without its comments and its leading `*`: `| …`, to append to another query. */
export function queryTail(file: string): string {
  const text = readFileSync(join(QUERIES_DIR, file), 'utf8');
  return text.split('\n').filter((l) => !l.startsWith('--')).join('\n').trim().replace(/^\*\s*/, '');
}

/** Where the examples' files live, as a Kubernetes mount (the chart's secretFilesMountPath) has them. */
export const EXAMPLE_ROOT = '/etc/logstream/';

/** Every secret variable logstream reads (given in the examples only as NAME_FILE). */
export const SECRET_VARS: ReadonlySet<string> = new Set(
  [appVars, kafkaVars, webhookVars, schemaRegistryVars, ...SINKS.map((s) => s.vars)].flatMap((specs: VarSpecs) => Object.entries(specs).filter(([, s]) => s.secret).map(([name]) => name)),
);

/** Dummy secrets: the right shape for their variable, recognisable if they ever leak into output. */
export const DUMMY = {
  HEC_TOKEN: '00000000-dumm-y0he-ctok-en0000000000',
  KAFKA_SASL_PASSWORD: 'dummy-kafka-sasl-password',
  SCHEMA_REGISTRY_PASSWORD: 'dummy-schema-registry-password',
  FORMPOST_URL: 'https://collectors.example.com/receiver/v1/http/dummyFormPostUrlToken0000',
  FORMPOST_AUTH_VALUE: 'Bearer dummy-formpost-token',
  FORMPOST_HEADERS: '{"X-Tenant":"dummy-tenant"}',
} as const;

/** The variable's name without its route prefix (ROUTE_SIEM_HEC_TOKEN_FILE → HEC_TOKEN_FILE). */
export function baseName(name: string, env: Readonly<Record<string, string>>): string {
  const routes = (env['ROUTES'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of routes) {
    const p = routePrefix(r);
    if (name.startsWith(p)) return name.slice(p.length);
  }
  return name;
}

/** The webhook key hashes of WEBHOOK_PRODUCTS (one per product), as WEBHOOK_KEYS(_FILE) lists them. */
function webhookKeys(env: Readonly<Record<string, string>>): string {
  const products = (env['WEBHOOK_PRODUCTS'] ?? '').split(',').map((p) => p.split('=')[0]!.trim()).filter(Boolean);
  return products.map((p) => `${p}=sha256:${createHash('sha256').update(`dummy webhook key of ${p}`).digest('hex')}`).join('\n') + '\n';
}

/**
 * What the file named by `variable` (route prefix removed) holds in a deployment, or an Error saying
 * that the test does not know (a new *_FILE variable in an example: add it here).
 */
export function exampleFileContent(variable: string, path: string, env: Readonly<Record<string, string>>, pki: TestPki): string | Buffer | Error {
  if (variable === 'QUERY_FILE') {
    const query = join(QUERIES_DIR, basename(path));
    if (!existsSync(query)) return new Error(`${variable}=${path}: the examples' queries are config/queries/*.spl, and config/queries/${basename(path)} does not exist`);
    return readFileSync(query);
  }
  if (variable.endsWith('_TLS_CA_FILE')) return readFileSync(pki.caFile);
  if (variable.endsWith('_TLS_CERT_FILE')) return readFileSync(pki.clientCertFile);
  if (variable.endsWith('_TLS_KEY_FILE')) return readFileSync(pki.clientKeyFile);
  if (variable === 'WEBHOOK_KEYS_FILE') return webhookKeys(env);
  const secret = variable.endsWith('_FILE') ? variable.slice(0, -'_FILE'.length) : '';
  if (secret in DUMMY) return `${DUMMY[secret as keyof typeof DUMMY]}\n`;
  return new Error(`${variable}=${path}: test/support/config-examples.ts does not know what this file holds; add it to exampleFileContent`);
}

/**
 * `env` with every path under /etc/logstream/ replaced by a file under `root` holding what the
 * deployment's file would hold. Problems (a path outside /etc/logstream/, a file the test cannot make,
 * one path wanted with two contents) are returned, not thrown, so a test reports all of them.
 */
export function materialise(env: Readonly<Record<string, string>>, root: string, pki: TestPki, mountRoot = EXAMPLE_ROOT): { env: Record<string, string>; problems: string[]; files: Map<string, { variable: string; content: string | Buffer }> } {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  const files = new Map<string, { variable: string; content: string | Buffer }>();
  for (const [name, value] of Object.entries(env)) {
    if (!value.startsWith('/')) {
      out[name] = value;
      continue;
    }
    if (!value.startsWith(mountRoot)) {
      problems.push(`${name}=${value}: files in the examples live under ${mountRoot} (as a Kubernetes mount has them)`);
      out[name] = value;
      continue;
    }
    const variable = baseName(name, env);
    const content = exampleFileContent(variable, value, env, pki);
    if (content instanceof Error) {
      problems.push(content.message);
      out[name] = value;
      continue;
    }
    const seen = files.get(value);
    if (seen && !Buffer.from(seen.content).equals(Buffer.from(content))) problems.push(`${name} and ${seen.variable} name the same file ${value} but need different contents`);
    else files.set(value, { variable: name, content });
    const local = join(root, value.slice(1));
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, content);
    out[name] = local;
  }
  return { env: out, problems, files };
}
