/**
 * Benthos (https://github.com/benthosdev/benthos, now Redpanda Connect): another log shipper, the
 * reference the throughput benchmark runs next to logstream (bench/lib/benthos.ts: kafka_franz → file
 * and kafka_franz → http_client). Library and CLI, on the pattern of scripts/minio.ts and
 * scripts/toxiproxy.ts.
 *
 * v4.27.0 is the last release under github.com/benthosdev/benthos/v4 (later ones are
 * github.com/redpanda-data/connect/v4, which the Go module proxy refuses here: 403). It is built from
 * the Go module proxy, once, but not with `go install module@version`: that asks the proxy for the
 * module's @v/list (a deprecation check), which is refused (403). Instead, in a temp module directory
 * under <repo>/.cache/benthos/ (removed afterwards; nothing of it is kept or committed):
 *
 *   go.mod: module benthosbuild / go 1.22
 *   GOFLAGS=-mod=mod go get github.com/benthosdev/benthos/v4@v4.27.0
 *   GOFLAGS=-mod=mod go build -v -ldflags '-checklinkname=0 -X …/internal/cli.Version=4.27.0' \
 *       -o <tmp>/benthos github.com/benthosdev/benthos/v4/cmd/benthos
 *
 * and the binary is renamed into <repo>/.cache/benthos/v4.27.0/bin/benthos (an existing binary is
 * reused; an interrupted or concurrent build never leaves half a binary). -checklinkname=0: a
 * dependency (parquet-go) go:linknames runtime.aeskeysched, which the linker of Go ≥ 1.23 refuses
 * otherwise; so Go ≥ 1.23 on PATH. A cold build takes ~12 min on 2 cores (a warm Go cache: ~1 min).
 *
 * CLI:
 *   node scripts/benthos.ts fetch [--version V]    builds the binary if needed, prints its path
 *
 * Env: LOGSTREAM_BENTHOS_VERSION overrides DEFAULT_BENTHOS_VERSION (a new version builds a new binary).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runGo } from './go-build.ts';
import { err, out, runMain } from './cli.ts';
import { peerVersion } from './peer-version.ts';

export const DEFAULT_BENTHOS_VERSION = 'v4.27.0';
export const BENTHOS_MODULE = 'github.com/benthosdev/benthos/v4';
const BENTHOS_MAIN = `${BENTHOS_MODULE}/cmd/benthos`;

const REPO_ROOT = resolve(import.meta.dirname, '..');

const resolveVersion = (version?: string): string => peerVersion({ what: 'Benthos v4 module', envVar: 'LOGSTREAM_BENTHOS_VERSION', fallback: DEFAULT_BENTHOS_VERSION, pattern: /^v4\.[0-9A-Za-z.+_-]+$/ }, version);

/** <repo>/.cache/benthos/<version>/bin/benthos */
export function benthosBinary(version?: string): string {
  return join(REPO_ROOT, '.cache', 'benthos', resolveVersion(version), 'bin', 'benthos');
}

/**
 * Makes sure the benthos binary of `version` exists and returns its path; builds it (see the header)
 * when it does not, with progress every 30 s to `progress`. Throws with go's output when it cannot
 * (no Go on PATH, the proxy refusing the module, a failed build).
 */
export async function ensureBenthos(version?: string, progress: (line: string) => void = err): Promise<string> {
  const v = resolveVersion(version);
  const bin = benthosBinary(v);
  if (existsSync(bin)) return bin;
  const cache = join(REPO_ROOT, '.cache', 'benthos');
  await mkdir(cache, { recursive: true });
  const tmp = await mkdtemp(join(cache, 'build.tmp-'));
  const t0 = Date.now();
  try {
    writeFileSync(join(tmp, 'go.mod'), 'module benthosbuild\n\ngo 1.22\n');
    // -mod=mod: go.sum is written by `go get` in the temp module and may be completed by `go build`.
    const env = { GOFLAGS: `${process.env['GOFLAGS'] ?? ''} -mod=mod -buildvcs=false`.trim() };
    progress(`building Benthos ${v} from the Go module proxy (${BENTHOS_MODULE}@${v}; once: ~12 min on 2 cores with a cold Go cache)…`);
    await runGo(['get', `${BENTHOS_MODULE}@${v}`], { cwd: tmp, env, what: `benthos ${v}`, progress });
    const ldflags = `-checklinkname=0 -X ${BENTHOS_MODULE}/internal/cli.Version=${v.slice(1)}`;
    await runGo(['build', '-v', `-ldflags=${ldflags}`, '-o', join(tmp, 'benthos'), BENTHOS_MAIN], { cwd: tmp, env, what: `benthos ${v}`, progress });
    if (!existsSync(join(tmp, 'benthos'))) throw new Error(`go build ${BENTHOS_MAIN} produced no binary in ${tmp}`);
    await mkdir(dirname(bin), { recursive: true });
    if (!existsSync(bin)) await rename(join(tmp, 'benthos'), bin); // else another build won the race
    progress(`benthos ${v} built in ${Math.round((Date.now() - t0) / 1000)} s: ${bin}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return bin;
}

// ---------------------------------------------------------------------------------------------
// CLI

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      version: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals[0] !== 'fetch' || positionals.length !== 1) {
    err('usage: node scripts/benthos.ts fetch [--version V]');
    return values.help ? 0 : 2;
  }
  const t0 = Date.now();
  const bin = await ensureBenthos(values.version, err);
  err(`benthos ${resolveVersion(values.version)} ready: ${bin} (${Date.now() - t0} ms)`);
  out(bin);
  return 0;
}

if (import.meta.main) runMain(main);
