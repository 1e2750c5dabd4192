/**
 * A real S3 server, MinIO (https://github.com/minio/minio), for the S3 sink's tests and benchmark.
 * Library and CLI, on the pattern of scripts/kafka-broker.ts and scripts/elasticmq.ts.
 *
 * MinIO publishes no release binaries to a registry we use, so it is built from the Go module proxy:
 * `GOBIN=<repo>/.cache/minio/bin go install github.com/minio/minio@<version>` (Go ≥ 1.24 on PATH; the
 * build takes several minutes on 2 cores and is done once: an existing binary is reused). The proxy
 * resolves `latest` to a pseudo-version of the master branch and refuses MinIO's RELEASE.* tags, so the
 * version is pinned to that pseudo-version. The server runs as a child process bound to 127.0.0.1 only,
 * with everything in one directory:
 *
 *   <dataDir>/data        the single drive (buckets and objects; kept across restart())
 *   <dataDir>/minio.out   server stdout/stderr
 *
 * CLI:
 *   node scripts/minio.ts fetch
 *   node scripts/minio.ts start [--port N] [--console-port N] [--data-dir D] [--bucket NAME]...
 *     prints S3_ENDPOINT=…, AWS_ACCESS_KEY_ID=…, AWS_SECRET_ACCESS_KEY=… and runs until SIGINT/SIGTERM.
 *
 * Env: LOGSTREAM_MINIO_VERSION overrides DEFAULT_MINIO_VERSION (a new version builds a new binary).
 */
import { answers200, startSupervised, type PeerProcess } from './supervised-child.ts';
import { err, out, portArg, runMain } from './cli.ts';
import { serveUntilSignal } from './serve-until-signal.ts';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { goInstallOnce } from './go-build.ts';
import { freePort } from './kafka-broker.ts';
import { GO_MODULE_VERSION, peerVersion } from './peer-version.ts';

export const DEFAULT_MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';
export const MINIO_MODULE = 'github.com/minio/minio';
/** Root credentials of the test server (MinIO wants a password of at least 8 characters). */
export const MINIO_ROOT_USER = 'logstream-minio';
export const MINIO_ROOT_PASSWORD = 'logstream-minio-secret-never-logged';

const REPO_ROOT = resolve(import.meta.dirname, '..');

const resolveVersion = (version?: string): string => peerVersion({ what: 'MinIO module', envVar: 'LOGSTREAM_MINIO_VERSION', fallback: DEFAULT_MINIO_VERSION, pattern: GO_MODULE_VERSION }, version);

/** <repo>/.cache/minio/bin for the default version, bin-<version> for another one. */
function binDir(version: string): string {
  return join(REPO_ROOT, '.cache', 'minio', version === DEFAULT_MINIO_VERSION ? 'bin' : `bin-${version}`);
}

/**
 * Makes sure the minio binary of `version` exists and returns its path. Builds it with `go install`
 * into a temp GOBIN renamed into place, so an interrupted or concurrent build never leaves half a
 * binary; progress (packages compiled) goes to `progress` every 30 s.
 */
export async function ensureMinio(version?: string, progress: (line: string) => void = err): Promise<string> {
  const v = resolveVersion(version);
  return goInstallOnce({ module: MINIO_MODULE, version: v, name: 'minio', bin: join(binDir(v), 'minio'), cwd: REPO_ROOT, progress });
}

export interface MinioOptions {
  version?: string;
  /** S3 API port on 127.0.0.1; default a free one. Pass the previous port to restart "the same" server. */
  port?: number;
  consolePort?: number;
  /** Default: a fresh temp dir. Reuse it to keep buckets and objects across a restart. */
  dataDir?: string;
  /** MINIO_SITE_REGION: the region the server says it is in (and checks signatures against). */
  region?: string;
  /** MINIO_KMS_SECRET_KEY (`<name>:<base64 32 bytes>`): a built-in KMS key, needed for SSE-S3 / SSE-KMS. */
  kmsSecretKey?: string;
  /** More MINIO_* settings, e.g. MINIO_API_REQUESTS_MAX to make it throttle (429 TooManyRequests). */
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

/** stop(): SIGTERM, SIGKILL after 20 s; kill(): SIGKILL; both idempotent. */
export interface MinioServer extends PeerProcess {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  port: number;
  consolePort: number;
  version: string;
  dataDir: string;
  /** <dataDir>/minio.out */
  logFile: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export async function startMinio(opts: MinioOptions = {}): Promise<MinioServer> {
  const version = resolveVersion(opts.version);
  const bin = await ensureMinio(version);
  const dataDir = resolve(opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'logstream-minio-'))));
  await mkdir(join(dataDir, 'data'), { recursive: true });
  const port = opts.port ?? (await freePort());
  const consolePort = opts.consolePort ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const logFile = join(dataDir, 'minio.out');
  const proc = await startSupervised({
    what: 'minio',
    command: bin,
    args: ['server', join(dataDir, 'data'), '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
    cwd: dataDir,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: dataDir,
      MINIO_ROOT_USER,
      MINIO_ROOT_PASSWORD,
      MINIO_UPDATE: 'off',
      MINIO_BROWSER: 'off',
      ...(opts.region ? { MINIO_SITE_REGION: opts.region } : {}),
      ...(opts.kmsSecretKey ? { MINIO_KMS_SECRET_KEY: opts.kmsSecretKey } : {}),
      ...opts.env,
    },
    logFile,
    where: endpoint,
    ready: () => answers200(`${endpoint}/minio/health/live`),
    startTimeoutMs: opts.startTimeoutMs ?? 60_000,
  });
  const { pid, exited, stop, kill } = proc;
  return { endpoint, port, consolePort, version, dataDir, logFile, pid, accessKeyId: MINIO_ROOT_USER, secretAccessKey: MINIO_ROOT_PASSWORD, exited, stop, kill };
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
      'console-port': { type: 'string' },
      'data-dir': { type: 'string' },
      bucket: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const cmd = positionals[0];
  if (values.help || (cmd !== 'fetch' && cmd !== 'start')) {
    err('usage: node scripts/minio.ts fetch [--version V]\n       node scripts/minio.ts start [--version V] [--port N] [--console-port N] [--data-dir D] [--bucket NAME]...');
    return values.help ? 0 : 2;
  }
  const t0 = Date.now();
  if (cmd === 'fetch') {
    const bin = await ensureMinio(values.version);
    err(`minio ${resolveVersion(values.version)} ready: ${bin} (${Date.now() - t0} ms)`);
    return 0;
  }
  const port = portArg('port', values.port);
  const consolePort = portArg('console-port', values['console-port']);
  const server = await startMinio({
    ...(values.version ? { version: values.version } : {}),
    ...(port ? { port } : {}),
    ...(consolePort ? { consolePort } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  });
  if ((values.bucket ?? []).length > 0) {
    const { CreateBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
    const s3 = new S3Client({ region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } });
    for (const b of values.bucket ?? []) await s3.send(new CreateBucketCommand({ Bucket: b }));
    s3.destroy();
  }
  err(`minio ready in ${Date.now() - t0} ms, pid ${server.pid}, data dir ${server.dataDir}, log ${server.logFile}`);
  out(`S3_ENDPOINT=${server.endpoint}\nAWS_ACCESS_KEY_ID=${server.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${server.secretAccessKey}`);
  return serveUntilSignal('minio', server, err);
}

if (import.meta.main) runMain(main);
