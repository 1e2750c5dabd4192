/**
 * Runs the helm binary built by `node scripts/helm.ts fetch` (.ci/run does it) on helm/logstream, and
 * turns rendered manifests into objects. No YAML parser is among the project's packages, so helm
 * itself converts: the rendered YAML goes into a throwaway chart whose template applies sprig's
 * `fromYaml` to each document and prints the list with `toJson`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { helmPath, kubeValidatePath } from '../../scripts/helm.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const CHART = join(REPO_ROOT, 'helm', 'logstream');
export const FULL_VALUES = join(CHART, 'ci', 'full-values.yaml');
/** helm built with `go install` has no Kubernetes version linked in (it says v1.20): pass a current one. */
export const KUBE_VERSION = '1.31.0';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [key: string]: unknown;
}

/** The helm binary; throws (the test fails, it never skips) when it has not been built. */
export function helmBin(): string {
  const bin = helmPath();
  if (!existsSync(bin)) {
    throw new Error(`helm is not built (${bin} is missing): run \`node_modules/.bin/node scripts/helm.ts fetch\` (.ci/run does it)`);
  }
  return bin;
}

export interface HelmResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function helm(args: string[]): HelmResult {
  const r = spawnSync(helmBin(), args, { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 60_000, env: { ...process.env, HELM_CACHE_HOME: join(tmpdir(), 'logstream-helm-cache'), HELM_CONFIG_HOME: join(tmpdir(), 'logstream-helm-config'), HELM_DATA_HOME: join(tmpdir(), 'logstream-helm-data') } });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` of the chart with extra args (-f, --set …); the raw result (it may fail). */
export function template(args: string[] = [], release = 'ls'): HelmResult {
  return helm(['template', release, CHART, '--namespace', 'siem', '--kube-version', KUBE_VERSION, ...args]);
}

/** `helm template` that must succeed, parsed into objects. */
export function render(args: string[] = [], release = 'ls'): K8sObject[] {
  const r = template(args, release);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
  return parseManifests(r.stdout);
}

const CONVERTER = `{{- $docs := list }}
{{- range regexSplit "(?m)^---[ \\t]*$" (.Files.Get "in.yaml") -1 }}
{{- $d := fromYaml . }}
{{- if $d }}{{ $docs = append $docs $d }}{{ end }}
{{- end }}
items: {{ toJson $docs }}
`;

/** Multi-document YAML (helm output) to objects, by helm's own YAML parser (see the header). */
export function parseManifests(yaml: string): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'logstream-yaml2json-'));
  try {
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: yaml2json\nversion: 0.0.1\n');
    writeFileSync(join(dir, 'templates', 'out.yaml'), CONVERTER);
    writeFileSync(join(dir, 'in.yaml'), yaml);
    const r = helm(['template', 'x', dir]);
    if (r.code !== 0) throw new Error(`YAML to JSON conversion failed:\n${r.stderr}`);
    const line = r.stdout.split('\n').find((l) => l.startsWith('items: '));
    if (line === undefined) throw new Error(`YAML to JSON conversion printed no items:\n${r.stdout.slice(0, 2000)}`);
    const items = JSON.parse(line.slice('items: '.length)) as Array<Record<string, unknown>>;
    for (const it of items) {
      if (typeof it['Error'] === 'string') throw new Error(`rendered YAML does not parse: ${it['Error']}`);
    }
    return items as K8sObject[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function one(objs: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0]!;
}

/**
 * Strict typed decoding of rendered manifests into the k8s.io/api types (test/helm/kube-validate,
 * built by `node scripts/helm.ts fetch`): one line per object, VALID / INVALID / SKIPPED (custom resources).
 */
export function kubeValidate(yaml: string): HelmResult {
  const bin = kubeValidatePath();
  if (!existsSync(bin)) throw new Error(`kube-validate is not built (${bin} is missing): run \`node_modules/.bin/node scripts/helm.ts fetch\` (.ci/run does it)`);
  const r = spawnSync(bin, [], { input: yaml, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
