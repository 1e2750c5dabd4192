/**
 * A real SQS-compatible server, ElasticMQ (https://github.com/softwaremill/elasticmq), for the SQS
 * sink's tests and benchmark. Library and CLI, on the pattern of scripts/kafka-broker.ts.
 *
 * The jars come from Maven Central through scripts/elasticmq/pom.xml and are cached in
 * <repo>/.cache/elasticmq/<version>/libs; the server runs as a child `java` process (Java 17+) bound to
 * 127.0.0.1 only, with everything in one data directory:
 *
 *   <dataDir>/elasticmq.conf   generated config (Typesafe Config), rewritten at every start
 *   <dataDir>/elasticmq.out    JVM stdout/stderr (logback, INFO)
 *
 * Queues live in memory: a restart (start again with the same port) brings back the configured queues,
 * empty. ElasticMQ's own persistence (H2 messages-storage) is not used because it is not durable: it
 * acknowledges a message before writing it (SIGKILL lost 10 of 520 and 147 of 3 700 acknowledged messages
 * here) and keeps acknowledging during its SIGTERM shutdown without writing (39 of 210 lost).
 *
 * What ElasticMQ 1.7.1 does (checked against @aws-sdk/client-sqs 3.1169, AWS JSON 1.0 protocol, which
 * ElasticMQ serves since 1.4.0): SendMessageBatch, GetQueueAttributes, CreateQueue, ReceiveMessage,
 * DeleteMessageBatch all work. With sqs-limits = strict it enforces SQS's character set (a bad entry
 * fails alone: SenderFault, InvalidAttributeValue "InvalidMessageContents"), 10 entries per call and
 * 1 MiB per message and per call (a whole-call 400 "MessageTooLong"). It does NOT keep the
 * MaximumMessageSize queue attribute (accepted and ignored, never returned; see its
 * UnsupportedAttributeNames), so a smaller per-queue limit cannot be tested against it. A raw U+FFFF
 * inside the JSON request breaks its JSON parser (spray-json uses U+FFFF as its end-of-input marker:
 * spray/spray-json#254); SQS does not allow U+FFFF anyway. A failed bind is logged but the JVM keeps
 * running, so start() watches the log for it.
 *
 * CLI:
 *   node scripts/elasticmq.ts fetch [--version V]
 *   node scripts/elasticmq.ts start [--version V] [--port N] [--data-dir D] [--queue NAME]...
 *     (a NAME ending in .fifo is a FIFO queue) prints SQS_ENDPOINT=… and one SQS_QUEUE_URL=… per queue,
 *     and runs until SIGINT/SIGTERM.
 *
 * Env: LOGSTREAM_ELASTICMQ_VERSION overrides DEFAULT_ELASTICMQ_VERSION.
 */
import { fileTail, startSupervised, type PeerProcess } from './supervised-child.ts';
import { err, out, portArg, runMain } from './cli.ts';
import { serveUntilSignal } from './serve-until-signal.ts';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { freePort } from './kafka-broker.ts';
import { peerVersion } from './peer-version.ts';

export const DEFAULT_ELASTICMQ_VERSION = '1.7.1';
/** ElasticMQ's fixed account id: queue URLs are <endpoint>/000000000000/<name>. */
export const ELASTICMQ_ACCOUNT = '000000000000';

const REPO_ROOT = resolve(import.meta.dirname, '..');
const POM = join(REPO_ROOT, 'scripts', 'elasticmq', 'pom.xml');
const COMPLETE_MARKER = '.logstream-complete';
const BIND_FAILED = 'Cannot start SQS rest server';

const resolveVersion = (version?: string): string => peerVersion({ what: 'ElasticMQ', envVar: 'LOGSTREAM_ELASTICMQ_VERSION', fallback: DEFAULT_ELASTICMQ_VERSION }, version);

/**
 * Makes sure the ElasticMQ jars are in .cache/elasticmq/<version>/libs and returns that dir. Maven
 * runs only when the cache lacks its completion marker; it copies into a temp dir renamed into place.
 */
export async function ensureElasticMqJars(version?: string): Promise<string> {
  const v = resolveVersion(version);
  const cache = join(REPO_ROOT, '.cache', 'elasticmq', v);
  const libs = join(cache, 'libs');
  if (existsSync(join(libs, COMPLETE_MARKER))) return libs;
  await mkdir(cache, { recursive: true });
  const tmp = await mkdtemp(join(cache, 'libs.tmp-'));
  try {
    const args = ['-B', '-q', '-Dstyle.color=never', '-f', POM, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`, `-Delasticmq.version=${v}`];
    try {
      await promisify(execFile)('mvn', args, { cwd: REPO_ROOT, timeout: 15 * 60_000, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      const out = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
      throw new Error(`mvn ${args.join(' ')} failed while fetching ElasticMQ ${v}: ${e.message}\n${out}`);
    }
    const jars = (await readdir(tmp)).filter((f) => f.endsWith('.jar'));
    if (!jars.some((j) => j.startsWith('elasticmq-server_2.13-'))) throw new Error(`mvn did not produce elasticmq-server_2.13-${v}.jar (got: ${jars.join(', ')})`);
    await writeFile(join(tmp, COMPLETE_MARKER), `${v}\n${jars.sort().join('\n')}\n`);
    if (existsSync(libs) && !existsSync(join(libs, COMPLETE_MARKER))) await rm(libs, { recursive: true, force: true }); // an interrupted copy
    try {
      await rename(tmp, libs);
    } catch (err) {
      if (!existsSync(join(libs, COMPLETE_MARKER))) throw err; // else another process won the race
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return libs;
}

export interface QueueSpec {
  /** Default: true when the name ends in .fifo. */
  fifo?: boolean;
  /** Seconds a received message stays invisible (default 30). */
  visibilityTimeoutS?: number;
}

export interface ElasticMqOptions {
  version?: string;
  /** Port on 127.0.0.1; default a free one. Pass the previous port to restart "the same" server. */
  port?: number;
  /** Default: a fresh temp dir. */
  dataDir?: string;
  /** Queues created from the config at start. */
  queues?: Record<string, QueueSpec>;
  heapMb?: number;
  startTimeoutMs?: number;
}

/** stop(): SIGTERM, SIGKILL after 20 s; kill(): SIGKILL; both idempotent. */
export interface ElasticMqServer extends PeerProcess {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  port: number;
  version: string;
  dataDir: string;
  /** <dataDir>/elasticmq.out */
  logFile: string;
  queueUrl(name: string): string;
}

const hocon = (s: string): string => JSON.stringify(s);

function configText(port: number, opts: ElasticMqOptions): string {
  const queues = Object.entries(opts.queues ?? {}).map(([name, q]) => {
    const fifo = q.fifo ?? name.endsWith('.fifo');
    return `  ${hocon(name)} { fifo = ${fifo}, contentBasedDeduplication = false, defaultVisibilityTimeout = ${q.visibilityTimeoutS ?? 30} seconds }`;
  });
  const lines = [
    '# Generated by scripts/elasticmq.ts; rewritten at every start.',
    'include classpath("application.conf")',
    `node-address { protocol = http, host = "127.0.0.1", port = ${port}, context-path = "" }`,
    `rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }`,
    // The statistics UI would take the fixed port 9325: off, so several servers can run at once.
    'rest-stats { enabled = false }',
    'generate-node-address = false',
    `aws { region = "elasticmq", accountId = "${ELASTICMQ_ACCOUNT}" }`,
    `queues {\n${queues.join('\n')}\n}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** The configured queues are listed by the API: the server is up and has created (restored) them. */
async function answers(endpoint: string, queues: readonly string[]): Promise<boolean> {
  try {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues' },
      body: '{}',
      signal: AbortSignal.timeout(2000),
    });
    if (res.status !== 200) return false;
    const urls = ((await res.json()) as { QueueUrls?: string[] }).QueueUrls ?? [];
    return queues.every((q) => urls.some((u) => u.endsWith(`/${q}`)));
  } catch {
    return false;
  }
}

export async function startElasticMq(opts: ElasticMqOptions = {}): Promise<ElasticMqServer> {
  const version = resolveVersion(opts.version);
  const libs = await ensureElasticMqJars(version);
  const dataDir = resolve(opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'logstream-elasticmq-'))));
  await mkdir(dataDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const confFile = join(dataDir, 'elasticmq.conf');
  const logFile = join(dataDir, 'elasticmq.out');
  await writeFile(confFile, configText(port, opts));

  const heap = opts.heapMb ?? 512;
  const queueNames = Object.keys(opts.queues ?? {});
  const proc = await startSupervised({
    what: `ElasticMQ ${version}`,
    command: 'java',
    args: [`-Xmx${heap}m`, '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true', `-Dconfig.file=${confFile}`, '-cp', `${libs}/*`, 'org.elasticmq.server.Main'],
    cwd: dataDir,
    logFile,
    truncateLog: true,
    where: endpoint,
    ready: () => answers(endpoint, queueNames),
    failed: () => (fileTail(logFile, 200).includes(BIND_FAILED) ? `could not bind 127.0.0.1:${port}` : undefined),
    startTimeoutMs: opts.startTimeoutMs ?? 60_000,
    pollMs: 200,
  });
  const { pid, exited, stop, kill } = proc;
  return {
    endpoint,
    port,
    version,
    dataDir,
    logFile,
    pid,
    exited,
    queueUrl: (name) => `${endpoint}/${ELASTICMQ_ACCOUNT}/${name}`,
    stop,
    kill,
  };
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
      'data-dir': { type: 'string' },
      queue: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const cmd = positionals[0];
  if (values.help || (cmd !== 'fetch' && cmd !== 'start')) {
    err('usage: node scripts/elasticmq.ts fetch [--version V]\n       node scripts/elasticmq.ts start [--version V] [--port N] [--data-dir D] [--queue NAME]...');
    return values.help ? 0 : 2;
  }
  const t0 = Date.now();
  if (cmd === 'fetch') {
    const libs = await ensureElasticMqJars(values.version);
    err(`elasticmq ${resolveVersion(values.version)} jars ready in ${libs} (${Date.now() - t0} ms)`);
    return 0;
  }
  const port = portArg('port', values.port);
  const server = await startElasticMq({
    ...(values.version ? { version: values.version } : {}),
    ...(port ? { port } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    queues: Object.fromEntries((values.queue ?? []).map((q) => [q, {}])),
  });
  err(`elasticmq ${server.version} ready in ${Date.now() - t0} ms, pid ${server.pid}, data dir ${server.dataDir}, log ${server.logFile}`);
  out(`SQS_ENDPOINT=${server.endpoint}`);
  for (const q of values.queue ?? []) out(`SQS_QUEUE_URL=${server.queueUrl(q)}`);
  return serveUntilSignal('elasticmq', server, err);
}

if (import.meta.main) runMain(main);
