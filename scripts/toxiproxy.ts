/**
 * Toxiproxy (https://github.com/Shopify/toxiproxy): a TCP proxy whose connections can be given network
 * faults through an HTTP API (latency, bandwidth limits, cut connections…), for the network fault
 * scenarios (test/faults/network.faults.test.ts; the typed API client is test/support/toxiproxy.ts).
 * Library and CLI, on the pattern of scripts/minio.ts.
 *
 * It is built from the Go module proxy, once:
 * `go install github.com/Shopify/toxiproxy/v2/cmd/server@<version>` (Go ≥ 1.24 on PATH; a minute or two
 * on 2 cores with a cold module cache) into <repo>/.cache/toxiproxy/<version>/bin/toxiproxy-server (the
 * module's binary is called `server`; an existing binary is reused). The server runs as a child process
 * with its API on 127.0.0.1 and a free port; the proxies it is told to create listen wherever the API
 * call says (127.0.0.1:0 in the tests). Its log (zerolog JSON) goes to <dir>/toxiproxy.out.
 *
 * CLI:
 *   node scripts/toxiproxy.ts fetch [--version V]
 *   node scripts/toxiproxy.ts start [--version V] [--port N]
 *     prints TOXIPROXY_URL=http://127.0.0.1:<port> and runs until SIGINT/SIGTERM.
 *
 * Env: LOGSTREAM_TOXIPROXY_VERSION overrides DEFAULT_TOXIPROXY_VERSION (a new version builds a new binary).
 */
import { answers200, startSupervised, type PeerProcess } from './supervised-child.ts';
import { err, out, portArg, runMain } from './cli.ts';
import { serveUntilSignal } from './serve-until-signal.ts';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { goInstallOnce } from './go-build.ts';
import { freePort } from './kafka-broker.ts';
import { GO_MODULE_VERSION, peerVersion } from './peer-version.ts';

export const DEFAULT_TOXIPROXY_VERSION = 'v2.12.0';
export const TOXIPROXY_MODULE = 'github.com/Shopify/toxiproxy/v2/cmd/server';

const REPO_ROOT = resolve(import.meta.dirname, '..');

const resolveVersion = (version?: string): string => peerVersion({ what: 'toxiproxy module', envVar: 'LOGSTREAM_TOXIPROXY_VERSION', fallback: DEFAULT_TOXIPROXY_VERSION, pattern: GO_MODULE_VERSION }, version);

/** <repo>/.cache/toxiproxy/<version>/bin/toxiproxy-server */
export function toxiproxyBinary(version?: string): string {
  return join(REPO_ROOT, '.cache', 'toxiproxy', resolveVersion(version), 'bin', 'toxiproxy-server');
}

/**
 * Makes sure the toxiproxy server binary of `version` exists and returns its path (built with
 * `go install` into a temp GOBIN renamed into place, so an interrupted or concurrent build never leaves
 * half a binary; progress goes to `progress`).
 */
export async function ensureToxiproxy(version?: string, progress: (line: string) => void = err): Promise<string> {
  const v = resolveVersion(version);
  return goInstallOnce({ module: TOXIPROXY_MODULE, version: v, name: 'server', bin: toxiproxyBinary(v), cwd: REPO_ROOT, progress });
}

export interface ToxiproxyOptions {
  version?: string;
  /** API port on 127.0.0.1; default a free one. */
  port?: number;
  /** Where toxiproxy.out goes; default a fresh temp dir. */
  dir?: string;
  /** toxiproxy's LOG_LEVEL (trace, debug, info, warn, error); default info. */
  logLevel?: string;
  startTimeoutMs?: number;
}

/** stop(): SIGTERM, SIGKILL after 10 s; kill(): SIGKILL; both idempotent. */
export interface ToxiproxyServer extends PeerProcess {
  /** http://127.0.0.1:<port>: the HTTP API. */
  url: string;
  port: number;
  version: string;
  /** <dir>/toxiproxy.out */
  logFile: string;
}

/** Starts a toxiproxy server (building it first if needed) and waits until its API answers. */
export async function startToxiproxy(opts: ToxiproxyOptions = {}): Promise<ToxiproxyServer> {
  const version = resolveVersion(opts.version);
  const bin = await ensureToxiproxy(version);
  const dir = resolve(opts.dir ?? (await mkdtemp(join(tmpdir(), 'logstream-toxiproxy-'))));
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(dir, 'toxiproxy.out');
  const proc = await startSupervised({
    what: 'toxiproxy',
    command: bin,
    args: ['-host', '127.0.0.1', '-port', String(port)],
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '', HOME: dir, LOG_LEVEL: opts.logLevel ?? 'info' },
    logFile,
    where: url,
    ready: () => answers200(`${url}/version`),
    startTimeoutMs: opts.startTimeoutMs ?? 30_000,
    graceMs: 10_000,
  });
  return { url, port, version, logFile, pid: proc.pid, exited: proc.exited, stop: proc.stop, kill: proc.kill };
}

// ---------------------------------------------------------------------------------------------
// CLI

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      version: { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const cmd = positionals[0];
  if (values.help || (cmd !== 'fetch' && cmd !== 'start')) {
    err('usage: node scripts/toxiproxy.ts fetch [--version V]\n       node scripts/toxiproxy.ts start [--version V] [--port N]');
    return values.help ? 0 : 2;
  }
  const t0 = Date.now();
  if (cmd === 'fetch') {
    const bin = await ensureToxiproxy(values.version, err);
    err(`toxiproxy ${resolveVersion(values.version)} ready: ${bin} (${Date.now() - t0} ms)`);
    return 0;
  }
  const port = portArg('port', values.port);
  const server = await startToxiproxy({ ...(values.version ? { version: values.version } : {}), ...(port ? { port } : {}) });
  err(`toxiproxy ready in ${Date.now() - t0} ms, pid ${server.pid}, log ${server.logFile}`);
  out(`TOXIPROXY_URL=${server.url}`);
  return serveUntilSignal('toxiproxy', server, err);
}

if (import.meta.main) runMain(main);
