/**
 * A real, single-node Apache Kafka broker (KRaft, combined broker+controller) for
 * logstream's tests, benchmarks and demo. Library and CLI.
 *
 * The broker jars come from Maven Central through scripts/kafka/pom.xml and are
 * cached in <repo>/.cache/kafka/<version>/libs; the broker itself runs as a child
 * `java` process (Java 17+ on PATH) with all its state in one data directory:
 *
 *   <dataDir>/server.properties   generated config (ports live here, so a restart reuses them)
 *   <dataDir>/kafka-logs/         log.dirs (KRaft metadata + topic data, meta.properties)
 *   <dataDir>/logs/server.log     broker log (log4j2, scripts/kafka/log4j2.yaml)
 *   <dataDir>/broker.out          JVM stdout/stderr
 *   <dataDir>/broker.pid          pid of the running broker
 *
 * CLI:
 *   node scripts/kafka-broker.ts fetch [--version V]
 *   node scripts/kafka-broker.ts start [--version V] [--port N] [--controller-port N]
 *                                      [--data-dir D] [--heap-mb N]
 *     prints `KAFKA_BROKERS=127.0.0.1:<port>` and runs until SIGINT/SIGTERM.
 *
 * Env: LOGSTREAM_KAFKA_VERSION overrides DEFAULT_KAFKA_VERSION.
 */
import { serveUntilSignal } from './serve-until-signal.ts';
import { err, out, portArg, runMain } from './cli.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { connectKafka } from '../src/source/kafka/connect.ts';
import { createLogger } from '../src/telemetry/logger.ts';
import { peerVersion } from './peer-version.ts';

/**
 * Newest Kafka release whose full kafkajs 2.2.4 round trip (admin createTopics, producer
 * send, consumer group consume + commitOffsets, admin fetchOffsets,
 * fetchTopicOffsetsByTimestamp, group hand-over to a second consumer) works.
 */
export const DEFAULT_KAFKA_VERSION: string = '4.4.0';

const REPO_ROOT = resolve(import.meta.dirname, '..');
const POM = join(REPO_ROOT, 'scripts', 'kafka', 'pom.xml');
const LOG4J2_CONFIG = join(REPO_ROOT, 'scripts', 'kafka', 'log4j2.yaml');
const COMPLETE_MARKER = '.logstream-complete';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

const resolveVersion = (version?: string): string => peerVersion({ what: 'Kafka', envVar: 'LOGSTREAM_KAFKA_VERSION', fallback: DEFAULT_KAFKA_VERSION }, version);

/** <repo>/.cache/kafka/<version> */
export function kafkaCacheDir(version?: string): string {
  return join(REPO_ROOT, '.cache', 'kafka', resolveVersion(version));
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    }
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ code, signal, output });
    });
  });
}

function tailLines(text: string, n: number): string {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n).join('\n');
}

/**
 * Makes sure the broker jars for `version` are in the cache; returns the libs dir.
 * Runs Maven only when the cache is not complete (no marker file); a complete cache
 * costs one existsSync. Safe against concurrent callers: Maven copies into a private
 * temp dir that is renamed into place atomically.
 */
export async function ensureKafkaJars(version?: string): Promise<string> {
  const v = resolveVersion(version);
  const cache = kafkaCacheDir(v);
  const libs = join(cache, 'libs');
  if (existsSync(join(libs, COMPLETE_MARKER))) return libs;

  await mkdir(cache, { recursive: true });
  const tmp = await mkdtemp(join(cache, 'libs.tmp-'));
  try {
    const args = [
      '-B',
      '-q',
      '-Dstyle.color=never',
      '-f',
      POM,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${tmp}`,
      `-Dkafka.version=${v}`,
    ];
    const res = await run('mvn', args, { timeoutMs: 15 * 60_000 });
    if (res.code !== 0) {
      throw new Error(
        `mvn ${args.join(' ')} failed (exit ${res.code ?? res.signal}) while fetching Kafka ${v} jars:\n${tailLines(res.output, 40)}`,
      );
    }
    const jars = (await readdir(tmp)).filter((f) => f.endsWith('.jar'));
    if (!jars.some((j) => j.startsWith('kafka_2.13-'))) {
      throw new Error(`mvn did not produce kafka_2.13-${v}.jar in ${tmp} (got: ${jars.join(', ')})`);
    }
    await writeFile(join(tmp, COMPLETE_MARKER), `${v}\n${jars.sort().join('\n')}\n`);
    if (existsSync(libs) && !existsSync(join(libs, COMPLETE_MARKER))) {
      // Leftover of an older, interrupted layout: replace it.
      await rm(libs, { recursive: true, force: true });
    }
    try {
      await rename(tmp, libs);
    } catch (err) {
      // Another process won the race; its copy is as good as ours.
      if (!existsSync(join(libs, COMPLETE_MARKER))) throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return libs;
}

export interface BrokerOptions {
  /** Kafka version; default: env LOGSTREAM_KAFKA_VERSION or DEFAULT_KAFKA_VERSION. */
  version?: string;
  /** PLAINTEXT port on 127.0.0.1; default: from an existing <dataDir>/server.properties, else a free port. */
  port?: number;
  /** CONTROLLER port on 127.0.0.1; same defaulting as `port`. */
  controllerPort?: number;
  /** How a free port is chosen (default freePort()); a test hands out a taken one first. */
  choosePort?: () => Promise<number>;
  /** Default: a fresh temp dir under os.tmpdir(). Reusing a dir restarts the same "cluster". */
  dataDir?: string;
  /** JVM -Xmx in MB, default 1024. */
  heapMb?: number;
  /** Extra/overriding server.properties entries. Kept across restarts on the same dataDir. */
  extraProps?: Record<string, string>;
  /** How long to wait for the broker to answer, default 60 000 ms. */
  startTimeoutMs?: number;
  /** A SASL_SSL listener beside the plaintext one: TLS with this PEM certificate and key (PKCS#8),
   *  SCRAM-SHA-256 and SCRAM-SHA-512 enabled, these users created when the data dir is formatted
   *  (Kafka's own StorageTool --add-scram). Only for a fresh data dir. */
  saslSsl?: { certFile: string; keyFile: string; scramUsers: ReadonlyArray<{ mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; name: string; password: string }> };
}

export interface Broker {
  /** "127.0.0.1:<port>" */
  bootstrap: string;
  /** "127.0.0.1:<port>" of the SASL_SSL listener, when one was asked for. */
  saslSslBootstrap?: string;
  port: number;
  controllerPort: number;
  version: string;
  dataDir: string;
  /** <dataDir>/logs/server.log */
  logFile: string;
  pid: number;
  /** Resolves when the JVM exits (for whatever reason). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (controlled shutdown), SIGKILL after 30 s. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, then wait for the exit. Idempotent. */
  kill(): Promise<void>;
}

/** Picks a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolvePromise(port) : reject(new Error('could not get a free port'))));
    });
  });
}

function parseProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (m && m[1] !== undefined) props.set(m[1], m[2] ?? '');
  }
  return props;
}

function listenerPort(listeners: string | undefined, name: string): number | undefined {
  if (listeners === undefined) return undefined;
  for (const l of listeners.split(',')) {
    const m = /^\s*([A-Za-z0-9_]+):\/\/[^,]*:(\d+)\s*$/.exec(l);
    if (m && m[1] === name) return Number(m[2]);
  }
  return undefined;
}

/** Kafka's Uuid.toString(): 16 random bytes, base64url without padding (22 chars). */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function formatProperties(props: Map<string, string>): string {
  const lines = ['# Generated by scripts/kafka-broker.ts; rewritten at every start.'];
  for (const [k, v] of props) lines.push(`${k}=${v.replace(/\\/g, '\\\\')}`);
  return `${lines.join('\n')}\n`;
}

function readTail(file: string, fromByte: number, maxLines: number): string {
  try {
    const buf = readFileSync(file);
    return tailLines(buf.subarray(Math.min(fromByte, buf.length)).toString('utf8'), maxLines);
  } catch {
    return '';
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // A zombie (exited, not reaped yet) still answers kill(0).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A broker left over by a crashed run on the same dataDir would hold the ports and the log-dir lock. */
async function killStaleBroker(pidFile: string, propsFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return;
  }
  if (!cmdline.includes('kafka.Kafka') || !cmdline.includes(propsFile)) return;
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100);
}

// Children that must not outlive this process.
const liveBrokers = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveBrokers) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/**
 * Kills the broker if this process dies without running its 'exit' handlers
 * (SIGKILL, an unhandled signal): a tiny `sh` that blocks reading a pipe from us
 * and kills the JVM when the pipe closes, i.e. when we are gone.
 */
function spawnWatchdog(pid: number): ChildProcess | undefined {
  try {
    const dog = spawn('sh', ['-c', `read _ignored; kill -9 ${pid} 2>/dev/null`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    dog.on('error', () => {});
    dog.stdin?.on('error', () => {});
    dog.unref();
    (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return dog;
  } catch {
    return undefined;
  }
}

async function waitUntilReady(
  bootstrap: string,
  child: ChildProcess,
  deadline: number,
  hasExited: () => boolean,
): Promise<void> {
  let lastError = 'no attempt';
  const quiet = createLogger({ level: 'silent' });
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error('exited');
    // A listTopics answer proves the broker answers metadata requests.
    const admin = (await connectKafka({ brokers: [bootstrap], clientId: 'logstream-broker-probe', connectionTimeoutMs: 1000, retries: 0, logger: quiet })).admin();
    try {
      await admin.listTopics();
      return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    } finally {
      await admin.close();
    }
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('exited');
    await sleep(250);
  }
  throw new Error(`timed out: ${lastError}`);
}

/** Starts a broker (formatting the data dir first if needed) and waits until it answers. */
/** How many times a start is tried when a port chosen for it was taken before the broker bound it. */
const PORT_TAKEN_ATTEMPTS = 3;

/** The broker could not bind a port this start had chosen as free: another process took it meanwhile
 *  (tests beside each other pick free ports too). Retriable with other ports. */
class PortTakenError extends Error {}

export async function startBroker(opts: BrokerOptions = {}): Promise<Broker> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBrokerOnce(opts);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= PORT_TAKEN_ATTEMPTS) throw err;
      process.stderr.write(`[kafka-broker] ${err.message.split('\n')[0]}; starting again with other ports (attempt ${attempt + 1} of ${PORT_TAKEN_ATTEMPTS})\n`);
    }
  }
}

async function startBrokerOnce(opts: BrokerOptions): Promise<Broker> {
  const version = resolveVersion(opts.version);
  const libs = await ensureKafkaJars(version);
  const dataDir = resolve(opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'logstream-kafka-'))));
  await mkdir(dataDir, { recursive: true });
  const propsFile = join(dataDir, 'server.properties');
  const logDirs = join(dataDir, 'kafka-logs');
  const appLogDir = join(dataDir, 'logs');
  const logFile = join(appLogDir, 'server.log');
  const outFile = join(dataDir, 'broker.out');
  const pidFile = join(dataDir, 'broker.pid');
  await mkdir(appLogDir, { recursive: true });

  await killStaleBroker(pidFile, propsFile);

  const existing = existsSync(propsFile) ? parseProperties(await readFile(propsFile, 'utf8')) : new Map<string, string>();
  // Ports of an earlier start on this dataDir are kept (a restart keeps its address); only a start that
  // chose its ports itself may choose others when one was taken.
  const portsOfEarlierStart = existing.has('listeners');
  const choosePort = opts.choosePort ?? freePort;
  const port = opts.port || listenerPort(existing.get('listeners'), 'PLAINTEXT') || (await choosePort());
  let controllerPort = opts.controllerPort || listenerPort(existing.get('listeners'), 'CONTROLLER') || (await choosePort());
  while (controllerPort === port) controllerPort = await choosePort();

  const saslPort = opts.saslSsl ? listenerPort(existing.get('listeners'), 'SASL_SSL') || (await choosePort()) : undefined;
  const saslProps: Record<string, string> = {};
  if (opts.saslSsl && saslPort !== undefined) {
    // One PEM file with the key and the certificate: Kafka's PEM keystore.
    const pem = join(dataDir, 'sasl-ssl-keystore.pem');
    await writeFile(pem, `${await readFile(opts.saslSsl.keyFile, 'utf8')}\n${await readFile(opts.saslSsl.certFile, 'utf8')}`);
    Object.assign(saslProps, {
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': pem,
      'ssl.client.auth': 'none',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
      'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    });
  }
  const sasl = saslPort === undefined ? '' : `,SASL_SSL://127.0.0.1:${saslPort}`;
  const base: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${sasl}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}${sasl}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': `PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${sasl ? ',SASL_SSL:SASL_SSL' : ''}`,
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': logDirs,
    'num.partitions': '1',
    'auto.create.topics.enable': 'true',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '4',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '4',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    // After an unclean stop (kill()), the restarted broker cannot register until the
    // controller expires the old incarnation's session (default 9 s); keep that short.
    'broker.heartbeat.interval.ms': '500',
    'broker.session.timeout.ms': '4000',
    'group.initial.rebalance.delay.ms': '0',
    'group.min.session.timeout.ms': '3000',
    // Consumer-protocol groups (KIP-848, KAFKA_GROUP_PROTOCOL=consumer): the broker sets their
    // heartbeat interval and session timeout (defaults 5 s and 45 s, and no less). Here 1 s and 10 s,
    // as the tests' classic groups use, so a rebalance or a failover is not waited out for seconds.
    'group.consumer.min.heartbeat.interval.ms': '500',
    'group.consumer.heartbeat.interval.ms': '1000',
    'group.consumer.min.session.timeout.ms': '3000',
    'group.consumer.session.timeout.ms': '10000',
    'log.retention.hours': '87600',
    // Retention is checked every 2 s (Kafka's default: 5 min), so a test topic with a tiny retention.ms
    // really loses its old segments while a test waits (records lost to retention, docs/routes.md).
    'log.retention.check.interval.ms': '2000',
    ...saslProps,
  };
  // Base settings, then the previous file's values (so extraProps of an earlier start on this
  // dataDir stay; ports/paths are always regenerated), then this call's extraProps.
  const regenerated = new Set(['listeners', 'advertised.listeners', 'controller.quorum.voters', 'log.dirs']);
  const props = new Map<string, string>(Object.entries(base));
  for (const [k, v] of existing) if (!regenerated.has(k)) props.set(k, v);
  for (const [k, v] of Object.entries(opts.extraProps ?? {})) props.set(k, v);
  await writeFile(propsFile, formatProperties(props));

  const classpath = `${libs}/*`;
  const logProps = [`-Dlog4j2.configurationFile=${LOG4J2_CONFIG}`, `-Dkafka.logs.dir=${appLogDir}`];

  // Format only once: meta.properties marks a formatted log dir (restart keeps cluster id + data).
  if (!existsSync(join(logDirs, 'meta.properties'))) {
    const clusterId = newClusterId();
    const res = await run(
      'java',
      [
        '-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto', '-cp', classpath, ...logProps,
        'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile,
        ...(opts.saslSsl?.scramUsers ?? []).flatMap((u) => ['--add-scram', `${u.mechanism}=[name=${u.name},password=${u.password}]`]),
      ],
      { timeoutMs: 120_000 },
    );
    if (res.code !== 0) {
      throw new Error(`kafka StorageTool format failed (exit ${res.code ?? res.signal}):\n${tailLines(res.output, 40)}`);
    }
  }

  const heapMb = opts.heapMb ?? 1024;
  const logOffset = fileSize(logFile);
  const outFd = openSync(outFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(
      'java',
      [
        `-Xmx${heapMb}m`,
        `-Xms${Math.min(heapMb, 256)}m`,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:+ExitOnOutOfMemoryError',
        '-Djava.awt.headless=true',
        ...logProps,
        '-cp',
        classpath,
        'kafka.Kafka',
        propsFile,
      ],
      { cwd: dataDir, stdio: ['ignore', outFd, outFd] },
    );
  } finally {
    closeSync(outFd);
  }

  const spawnError = await new Promise<Error | undefined>((r) => {
    child.once('spawn', () => r(undefined));
    child.once('error', (err) => r(err));
  });
  if (spawnError || child.pid === undefined) {
    throw new Error(`cannot start java: ${spawnError?.message ?? 'no pid'}`);
  }
  const pid = child.pid;
  child.unref();
  liveBrokers.add(child);
  installExitHook();
  const watchdog = spawnWatchdog(pid);

  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      liveBrokers.delete(child);
      watchdog?.kill('SIGKILL');
      try {
        rmSync(pidFile, { force: true });
      } catch {
        // best effort
      }
      r(exitInfo);
    });
  });
  await writeFile(pidFile, `${pid}\n`);

  const describeFailure = (): string => {
    const thisRun = readTail(logFile, logOffset, Number.MAX_SAFE_INTEGER);
    // ERROR/FATAL lines plus the exception lines right after them (not the stack frames).
    const errors: string[] = [];
    let inError = false;
    for (const l of thisRun.split('\n')) {
      if (/^\[[^\]]*\] (ERROR|FATAL) /.test(l)) {
        inError = true;
        errors.push(l);
      } else if (inError && !l.startsWith('[') && !/^\s+at /.test(l) && !/^\s+\.\.\. \d+ more/.test(l)) {
        errors.push(l);
      } else if (l.startsWith('[')) {
        inError = false;
      }
      if (errors.length >= 30) break;
    }
    return [
      `--- ${outFile} ---`,
      readTail(outFile, 0, 30),
      `--- ERROR lines of ${logFile} (this run) ---`,
      errors.join('\n'),
      `--- last lines of ${logFile} ---`,
      tailLines(thisRun, 25),
    ].join('\n');
  };

  const bootstrap = `127.0.0.1:${port}`;
  try {
    await waitUntilReady(bootstrap, child, Date.now() + (opts.startTimeoutMs ?? START_TIMEOUT_MS), () => exitInfo !== undefined);
  } catch (err) {
    if (exitInfo === undefined) {
      child.kill('SIGKILL');
      await exited;
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`Kafka ${version} broker on ${bootstrap} did not become ready (${why}); killed it.\n${describeFailure()}`);
    }
    const info = await exited;
    const failure = describeFailure();
    const message = `Kafka ${version} broker on ${bootstrap} exited during startup (code ${info.code}, signal ${info.signal}).\n${failure}`;
    const taken = /failed to bind to [^:\s]+:(\d+): Address already in use/.exec(failure);
    const chosenHere = [opts.port ? undefined : port, opts.controllerPort ? undefined : controllerPort, saslPort];
    if (taken && !portsOfEarlierStart && chosenHere.includes(Number(taken[1]))) {
      // The next attempt must not read these ports back from the file as an earlier start's.
      props.delete('listeners');
      await writeFile(propsFile, formatProperties(props));
      throw new PortTakenError(`port ${taken[1]} was taken before the broker bound it\n${message}`);
    }
    throw new Error(message);
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitInfo !== undefined) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), STOP_TIMEOUT_MS);
        }),
      ]);
      if (timer) clearTimeout(timer);
      if (timedOut) {
        child.kill('SIGKILL');
        await exited;
      }
    })();
    return stopping;
  };
  let killing: Promise<void> | undefined;
  const kill = (): Promise<void> => {
    killing ??= (async () => {
      if (exitInfo === undefined) child.kill('SIGKILL');
      // Keep the event loop alive while waiting (the child handle is unref'd).
      const keepAlive = setInterval(() => {}, 1000);
      try {
        await exited;
      } finally {
        clearInterval(keepAlive);
      }
    })();
    return killing;
  };

  return { bootstrap, ...(saslPort === undefined ? {} : { saslSslBootstrap: `127.0.0.1:${saslPort}` }), port, controllerPort, version, dataDir, logFile, pid, exited, stop, kill };
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
      'controller-port': { type: 'string' },
      'data-dir': { type: 'string' },
      'heap-mb': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const cmd = positionals[0];
  if (values.help || (cmd !== 'fetch' && cmd !== 'start')) {
    err(
      'usage: node scripts/kafka-broker.ts fetch [--version V]\n' +
        '       node scripts/kafka-broker.ts start [--version V] [--port N] [--controller-port N] [--data-dir D] [--heap-mb N]',
    );
    return values.help ? 0 : 2;
  }
  const version = resolveVersion(values.version);
  if (cmd === 'fetch') {
    const t0 = Date.now();
    const libs = await ensureKafkaJars(version);
    err(`kafka ${version} jars ready in ${libs} (${Date.now() - t0} ms)`);
    return 0;
  }

  const t0 = Date.now();
  const opts: BrokerOptions = { version };
  const port = portArg('port', values.port);
  const controllerPort = portArg('controller-port', values['controller-port']);
  const heapMb = values['heap-mb'] === undefined ? undefined : Number(values['heap-mb']);
  if (heapMb !== undefined && !(Number.isInteger(heapMb) && heapMb >= 64)) throw new Error(`--heap-mb must be a whole number of MB (64 or more), got ${JSON.stringify(values['heap-mb'])}`);
  if (port !== undefined) opts.port = port;
  if (controllerPort !== undefined) opts.controllerPort = controllerPort;
  if (heapMb !== undefined) opts.heapMb = heapMb;
  if (values['data-dir'] !== undefined) opts.dataDir = values['data-dir'];
  const broker = await startBroker(opts);
  err(`kafka ${broker.version} ready in ${Date.now() - t0} ms, pid ${broker.pid}, data dir ${broker.dataDir}, log ${broker.logFile}`);
  out(`KAFKA_BROKERS=${broker.bootstrap}`);

  return serveUntilSignal('kafka broker', broker, err);
}

if (import.meta.main) {
  runMain(main);
}

