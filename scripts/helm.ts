/**
 * Helm (https://helm.sh), for the chart's tests (`helm lint`, `helm template` of helm/logstream).
 * Library and CLI, on the pattern of scripts/minio.ts.
 *
 * Helm is built from the Go module proxy:
 * `GOBIN=<repo>/.cache/helm/bin go install helm.sh/helm/v3/cmd/helm@<version>` (Go on PATH; the build
 * takes a few minutes on 2 cores and is done once: an existing binary is reused).
 *
 * `fetch` also builds test/helm/kube-validate (a small Go program: strict decoding of rendered
 * manifests into the k8s.io/api types, from the Go module proxy too) into
 * .cache/helm/bin/kube-validate-<hash of its sources>.
 *
 * CLI:
 *   node scripts/helm.ts fetch     builds helm and kube-validate if missing
 *   node scripts/helm.ts path      prints helm's path (exit 1 if it is not built)
 *
 * Env: LOGSTREAM_HELM_VERSION overrides DEFAULT_HELM_VERSION (a new version builds a new binary).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { goInstallOnce, runGo } from './go-build.ts';
import { err, out, runMain } from './cli.ts';
import { GO_MODULE_VERSION, peerVersion } from './peer-version.ts';

export const DEFAULT_HELM_VERSION = 'v3.22.0';
export const HELM_MODULE = 'helm.sh/helm/v3/cmd/helm';

const REPO_ROOT = resolve(import.meta.dirname, '..');

const resolveVersion = (version?: string): string => peerVersion({ what: 'helm module', envVar: 'LOGSTREAM_HELM_VERSION', fallback: DEFAULT_HELM_VERSION, pattern: GO_MODULE_VERSION }, version);

/** <repo>/.cache/helm/bin for the default version, bin-<version> for another one. */
function binDir(version: string): string {
  return join(REPO_ROOT, '.cache', 'helm', version === DEFAULT_HELM_VERSION ? 'bin' : `bin-${version}`);
}

/** Path of the helm binary of `version` (it may not exist yet: see ensureHelm). */
export function helmPath(version?: string): string {
  return join(binDir(resolveVersion(version)), 'helm');
}

/**
 * Makes sure the helm binary of `version` exists and returns its path. Builds it with `go install`
 * into a temp GOBIN renamed into place, so an interrupted or concurrent build never leaves half a
 * binary; progress goes to `progress` every 30 s.
 */
export async function ensureHelm(version?: string, progress: (line: string) => void = err): Promise<string> {
  const v = resolveVersion(version);
  return goInstallOnce({ module: HELM_MODULE, version: v, name: 'helm', bin: join(binDir(v), 'helm'), cwd: REPO_ROOT, progress });
}

const KUBE_VALIDATE_SRC = join(REPO_ROOT, 'test', 'helm', 'kube-validate');

/** Path of the kube-validate binary of the current sources (it may not exist yet: see ensureKubeValidate). */
export function kubeValidatePath(): string {
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go']) h.update(readFileSync(join(KUBE_VALIDATE_SRC, f)));
  return join(REPO_ROOT, '.cache', 'helm', 'bin', `kube-validate-${h.digest('hex').slice(0, 12)}`);
}

/** Builds test/helm/kube-validate with `go build` (modules from the Go module proxy) unless built. */
export async function ensureKubeValidate(progress: (line: string) => void = err): Promise<string> {
  const bin = kubeValidatePath();
  if (existsSync(bin)) return bin;
  await mkdir(join(REPO_ROOT, '.cache', 'helm', 'bin'), { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}`;
  const t0 = Date.now();
  progress(`building kube-validate (k8s.io/api types) with go build…`);
  try {
    await runGo(['build', '-o', tmp, '.'], { cwd: KUBE_VALIDATE_SRC, what: 'kube-validate', progress });
    if (!existsSync(tmp)) throw new Error(`go build of kube-validate produced no binary at ${tmp}`);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await rename(tmp, bin);
  progress(`kube-validate built in ${Math.round((Date.now() - t0) / 1000)} s: ${bin}`);
  return bin;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { version: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const cmd = positionals[0];
  if (values.help || (cmd !== 'fetch' && cmd !== 'path')) {
    err('usage: node scripts/helm.ts fetch|path [--version vX.Y.Z]');
    return values.help ? 0 : 2;
  }
  if (cmd === 'path') {
    const bin = helmPath(values.version);
    if (!existsSync(bin)) {
      err(`helm is not built: run node scripts/helm.ts fetch`);
      return 1;
    }
    out(bin);
    return 0;
  }
  const t0 = Date.now();
  const bin = await ensureHelm(values.version);
  err(`helm ${resolveVersion(values.version)} ready: ${bin} (${Date.now() - t0} ms)`);
  const kv = await ensureKubeValidate();
  err(`kube-validate ready: ${kv}`);
  return 0;
}

if (import.meta.main) runMain(main);
