// Runs one logstream daemon (`node src/main.ts run`, file, Splunk HEC or syslog sink) over a topic that
// already holds `records` records and measures it from spawn until the group's committed offsets
// cover the topic: wall time, CPU seconds and peak RSS of the daemon (from /proc, read at that
// moment, before SIGTERM). Then stops it and verifies the clean exit and, for the file sink, the
// output file (for HEC and syslog the caller checks its receiver). Problems (lost records, a bad exit, a stall)
// are collected in `problems`, never hidden.
// With `instances: n` it starts n daemons at once in the same consumer group (each with its own
// output file, log and HTTP port): wall runs from the first spawn until the group's committed offsets
// cover the topic, CPU is the sum of the daemons, peak RSS is kept per daemon (and the largest of them
// as `peakRssBytes`); the file sink's outputs must hold every record exactly once across all files.
// startLogstreamDaemon() is the spawner underneath, for benchmarks that drive a daemon themselves.
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, openSync, closeSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseDockerfile, stageSettings } from '../../scripts/docker-build-check.ts';
import { freePort } from '../../scripts/kafka-broker.ts';
import type { BenchAdmin } from './kafka.ts';
import { readPeakRssBytes, readProcessCpu } from './proc.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const NODE = join(REPO_ROOT, 'node_modules', '.bin', 'node');
const POLL_MS = 200;
const STALL_MS = 120_000;
const EXIT_TIMEOUT_MS = 30_000;

/** Where the daemon ships to: a file in `workDir` (default), a Splunk HEC endpoint, or a syslog
 *  receiver (`url` tls://, tcp:// or udp://; `caFile` the CA to trust for tls://). Everything else
 *  of the syslog sink stays at its defaults (RFC 5424, octet counting, SYSLOG_CONFIRM_DELAY); a form
 *  POST URL (form_post: FORMPOST_PRODUCT=web, every other setting at its default). */
export type LogstreamSink =
  | { kind: 'file' }
  | { kind: 'splunk_hec'; url: string; token: string; gzip: boolean; gzipLevel?: number }
  | { kind: 'syslog'; url: string; caFile?: string }
  | { kind: 'form_post'; url: string }
  /** s3: SINKS=s3 and the S3_* / AWS_* variables given (bench/lib/s3.ts). */
  | { kind: 's3'; env: Record<string, string> }
  /** sqs: SINKS=sqs and the SQS_* / AWS_* variables given (bench/lib/sqs.ts). */
  | { kind: 'sqs'; env: Record<string, string> };

export interface LogstreamRunOptions {
  /** Short name, used for the group id and file names. */
  name: string;
  bootstrap: string;
  topic: string;
  /** Records in the topic: done when the committed offsets sum to this. */
  records: number;
  /** Records that pass the query: the lines the file sink must have written (not checked here for
   *  other sinks; the caller checks what their receiver got). */
  expectedLines: number;
  query?: string;
  /** Where the output file and the daemon's log go. */
  workDir: string;
  admin: BenchAdmin;
  /** When set, the daemon runs with --cpu-prof into this directory. */
  cpuProfDir?: string;
  /** Default { kind: 'file' }. */
  sink?: LogstreamSink;
  /** More daemon environment, applied last (experiments, e.g. INFLIGHT_MAX_RECORDS); none by default.
   *  An undefined value removes a variable this file sets (e.g. KAFKA_COMMIT_INTERVAL: back to the default). */
  env?: Record<string, string | undefined>;
  /** Daemons started together in the same consumer group (default 1). */
  instances?: number;
  /** The checkout whose src/main.ts runs (default: this one); an A/B baseline is another worktree. */
  root?: string;
  /** Polled every 20 ms until true: the first record has reached the sink (gives `startupS`).
   *  Default for the file sink: the output file is not empty; none for other sinks. */
  outputStarted?: () => boolean | Promise<boolean>;
}

export interface ProgressSample {
  tS: number;
  committed: number;
  cpuS: number;
}

/** One daemon of a multi-instance run (runs with `instances` > 1 only). */
export interface LogstreamInstanceRun {
  name: string;
  userS: number;
  sysS: number;
  peakRssBytes: number;
  exitCode: number | null;
  exitAfterSigtermS: number | undefined;
  /** Lines of this instance's output file (file sink). */
  outputLines: number | undefined;
  /** logstream_sink_sent_events_total of this instance. */
  sentEvents: number | undefined;
}

export interface LogstreamRun {
  /** Daemons in the group (1 unless `instances` was given). */
  instances: number;
  /** Spawn (of the first daemon) → committed offsets cover the topic. */
  wallS: number;
  /** Spawn → first byte in the output file (other sinks: `outputStarted` first true). */
  startupS: number | undefined;
  /** First byte in the output file (or `outputStarted`) → done. */
  fromFirstRecordS: number | undefined;
  /** Spawn → sent + filtered (from /metrics) reached `records`, before the last commit. */
  deliveredS: number | undefined;
  /** CPU of all the daemons together. */
  userS: number;
  sysS: number;
  /** VmHWM of the daemon (with several: of the largest one; each is in `perInstance`). */
  peakRssBytes: number;
  /** Counters summed over the daemons. */
  metrics: Record<string, number>;
  /** Lines of the file sink's output (all files); undefined for other sinks. */
  outputLines: number | undefined;
  /** File sink with several daemons: records (recordNumber) found more than once across the files. */
  duplicateRecords?: number;
  perInstance?: LogstreamInstanceRun[];
  exitCode: number | null;
  exitAfterSigtermS: number | undefined;
  /** Log lines at warn level or above (the first 20) and how many there were. */
  warnings: string[];
  warningCount: number;
  timeline: ProgressSample[];
  cpuProfile: string | undefined;
  problems: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** BENCH_DAEMON_ENV: settings for every daemon of the run, e.g. "INFLIGHT_MAX_BYTES=32MiB HEC_CONCURRENCY=4"
 *  (space-separated NAME=value), to try a default without changing it. */
function extraDaemonEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (process.env['BENCH_DAEMON_ENV'] ?? '').split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`BENCH_DAEMON_ENV: expected NAME=value, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** The glibc allocator settings (MALLOC_*) the image of the checkout at `root` runs with (its
 *  Dockerfile's last stage ENV): a daemon here runs as it would in a pod. */
function imageAllocatorEnv(root: string): Record<string, string> {
  const file = join(root, 'Dockerfile');
  if (!existsSync(file)) return {};
  const df = parseDockerfile(readFileSync(file, 'utf8'));
  const env = stageSettings(df, df.stages.at(-1)!).env;
  return Object.fromEntries([...env].filter(([k]) => k.startsWith('MALLOC_')));
}

/** The daemon's environment (no other variable of this process is passed on). */
function daemonEnv(o: DaemonOptions, httpPort: number, outFile: string, groupId: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    KAFKA_BROKERS: o.bootstrap,
    KAFKA_TOPICS: o.topic,
    KAFKA_GROUP_ID: groupId,
    KAFKA_START_FROM: 'earliest',
    KAFKA_COMMIT_INTERVAL: '1s',
    // A port picked here rather than 0: at LOG_LEVEL=warn the daemon does not log the port it got.
    HTTP_PORT: String(httpPort),
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // BENCH_DAEMON_NODE_OPTIONS: run the daemons as a pod would, e.g. with the Helm chart's heap cap
    // (--max-old-space-size=665 for a 1Gi limit), to measure RSS under it.
    ...(process.env['BENCH_DAEMON_NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['BENCH_DAEMON_NODE_OPTIONS'] } : {}),
  };
  const sink = o.sink ?? { kind: 'file' };
  if (sink.kind === 'file') {
    env['SINKS'] = 'file';
    env['FILE_PATH'] = outFile;
    env['FILE_MAX_BYTES'] = '0';
  } else if (sink.kind === 'form_post') {
    env['SINKS'] = 'form_post';
    env['FORMPOST_URL'] = sink.url;
    env['FORMPOST_PRODUCT'] = 'web';
  } else if (sink.kind === 's3') {
    Object.assign(env, sink.env, { SINKS: 's3' });
  } else if (sink.kind === 'sqs') {
    Object.assign(env, sink.env, { SINKS: 'sqs' });
  } else if (sink.kind === 'syslog') {
    env['SINKS'] = 'syslog';
    env['SYSLOG_URL'] = sink.url;
    if (sink.caFile !== undefined) env['SYSLOG_TLS_CA_FILE'] = sink.caFile;
  } else {
    env['SINKS'] = 'splunk_hec';
    env['HEC_URLS'] = sink.url;
    env['HEC_TOKEN'] = sink.token;
    env['HEC_GZIP'] = String(sink.gzip);
    if (sink.gzipLevel !== undefined) env['HEC_GZIP_LEVEL'] = String(sink.gzipLevel);
  }
  if (o.query !== undefined) env['QUERY'] = o.query;
  const out: NodeJS.ProcessEnv = { ...imageAllocatorEnv(o.root ?? REPO_ROOT), ...env, ...o.env, ...extraDaemonEnv() };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** Sums of the counters of a Prometheus text exposition, by metric name (all label sets added). */
export function parseCounters(text: string, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1]! in out) out[m[1]!]! += Number(m[2]);
  }
  return out;
}

const COUNTERS = [
  'logstream_source_received_events_total',
  'logstream_query_filtered_events_total',
  'logstream_sink_sent_events_total',
  'logstream_sink_sent_bytes_total',
  'logstream_sink_errors_total',
  'logstream_sink_retries_total',
  'logstream_dead_letter_events_total',
  'logstream_query_errors_total',
  'logstream_rebalances_total',
] as const;

/** The daemon's /metrics (Prometheus text) on `port`, or undefined when it does not answer within 2 s. */
export async function scrapeMetricsText(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/** The counters `names` from the daemon's /metrics (parseCounters), or undefined when it does not answer. */
export async function scrapeCounters(port: number, names: readonly string[]): Promise<Record<string, number> | undefined> {
  const text = await scrapeMetricsText(port);
  return text === undefined ? undefined : parseCounters(text, names);
}

/** Newline count of a file, streamed. */
export async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

/** The first `max` lines must be JSON objects; with the severity filter, only high/critical ones. */
async function checkSample(file: string, filtered: boolean, max = 1000): Promise<string | undefined> {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let i = 0;
  try {
    for await (const line of rl) {
      if (++i > max) break;
      let rec: { severity?: unknown };
      try {
        rec = JSON.parse(line) as { severity?: unknown };
      } catch {
        return `output line ${i} is not JSON: ${line.slice(0, 200)}`;
      }
      if (filtered && rec.severity !== 'high' && rec.severity !== 'critical') {
        return `output line ${i} has severity ${JSON.stringify(rec.severity)} although the query keeps only high/critical`;
      }
    }
  } finally {
    rl.close();
  }
  return undefined;
}

/** Log lines at warn level or above (the first 20, each cut at 500 characters) and how many there were. */
export async function warnLines(logFile: string): Promise<{ lines: string[]; count: number }> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const lines: string[] = [];
  let count = 0;
  for (const l of text.split('\n')) {
    if (l.trim() === '') continue;
    let level = 50; // a non-JSON line on stderr (a stack trace, a Node warning) counts as a problem
    try {
      level = Number((JSON.parse(l) as { level?: unknown }).level ?? 50);
    } catch {
      // keep 50
    }
    if (level >= 40) {
      count++;
      if (lines.length < 20) lines.push(l.slice(0, 500));
    }
  }
  return { lines, count };
}

/** `name` made safe for file names and group ids. */
export function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** The file the sink of run `name` writes. */
export function outputFile(workDir: string, name: string): string {
  return join(workDir, `${slug(name)}.jsonl`);
}

/** The name of daemon `k` (0-based) of a run of `instances` daemons: the run's own name when alone. */
export function instanceName(name: string, k: number, instances = 1): string {
  return instances === 1 ? name : `${name} i${k + 1}`;
}

/** The files the file sinks of run `name` write, one per daemon. */
export function outputFiles(workDir: string, name: string, instances = 1): string[] {
  return Array.from({ length: instances }, (_, k) => outputFile(workDir, instanceName(name, k, instances)));
}

/** What one daemon needs; `groupId` defaults to a new group named after `name`. */
export type DaemonOptions = Pick<LogstreamRunOptions, 'name' | 'bootstrap' | 'topic' | 'query' | 'workDir' | 'cpuProfDir' | 'sink' | 'env' | 'root'> & { groupId?: string };

/** A running `node src/main.ts run` child (log on its stderr/stdout to `logFile`). */
export interface LogstreamDaemon {
  readonly name: string;
  readonly pid: number;
  readonly httpPort: number;
  readonly groupId: string;
  /** The file sink's output (whatever the sink, the path it would write). */
  readonly outFile: string;
  readonly logFile: string;
  /** The environment it runs with: holds the sink's secrets, never print it. */
  readonly env: NodeJS.ProcessEnv;
  /** performance.now() just before the spawn. */
  readonly spawnedAt: number;
  /** The exit code (-1 for a signal) once it has exited; undefined while it runs. */
  readonly exitCode: number | null | undefined;
  /** performance.now() at the exit. */
  readonly exitedAt: number | undefined;
  /** Set when the spawn itself failed. */
  readonly spawnError: string | undefined;
  readonly exited: Promise<void>;
  /** The counters of COUNTERS from /metrics, or undefined when it does not answer. */
  metrics(): Promise<Record<string, number> | undefined>;
  /** SIGTERM, SIGKILL after EXIT_TIMEOUT_MS; `afterS` is SIGTERM → exit (undefined when it had exited already). */
  stop(): Promise<{ afterS: number | undefined; killed: boolean }>;
}

/** Spawns one daemon with the bench environment (daemonEnv) and returns at once. */
export async function startLogstreamDaemon(o: DaemonOptions): Promise<LogstreamDaemon> {
  const httpPort = await freePort();
  const outFile = outputFile(o.workDir, o.name);
  const logFile = join(o.workDir, `${slug(o.name)}.log`);
  const groupId = o.groupId ?? `logstream-bench-${slug(o.name)}-${Date.now()}`;
  const env = daemonEnv(o, httpPort, outFile, groupId);
  const nodeArgs = o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [];
  const logFd = openSync(logFile, 'w');
  const spawnedAt = performance.now();
  const child = spawn(NODE, [...nodeArgs, 'src/main.ts', 'run'], { cwd: o.root ?? REPO_ROOT, env, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let exitCode: number | null | undefined;
  let exitedAt: number | undefined;
  let spawnError: string | undefined;
  const exited = new Promise<void>((r) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      exitedAt = performance.now();
      r();
    });
    child.once('error', (err) => {
      spawnError = `cannot spawn ${NODE}: ${err.message}`;
      exitCode = null;
      exitedAt = performance.now();
      r();
    });
  });
  return {
    name: o.name,
    pid: child.pid ?? 0,
    httpPort,
    groupId,
    outFile,
    logFile,
    env,
    spawnedAt,
    get exitCode() {
      return exitCode;
    },
    get exitedAt() {
      return exitedAt;
    },
    get spawnError() {
      return spawnError;
    },
    exited,
    metrics: () => scrapeCounters(httpPort, COUNTERS),
    async stop() {
      if (exitCode !== undefined) {
        await exited;
        return { afterS: undefined, killed: false };
      }
      const sigtermAt = performance.now();
      child.kill('SIGTERM');
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, EXIT_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      return { afterS: (exitedAt! - sigtermAt) / 1000, killed };
    },
  };
}

/** CPU seconds of a process, or `fallback` once it is gone. */
function cpuOr(pid: number, fallback: { userS: number; sysS: number }): { userS: number; sysS: number } {
  try {
    return readProcessCpu(pid);
  } catch {
    return fallback;
  }
}

/**
 * With several daemons (file sink): every recordNumber (bench/lib/records.ts) across all files, so a
 * record written by two instances (a rebalance that re-delivered) is found. `records` bounds the
 * numbers; `missing` counts the numbers in [0, records) never seen (meaningful without a query).
 */
async function recordNumbers(files: readonly string[], records: number): Promise<{ duplicates: number; missing: number; unknown: number }> {
  const seen = new Uint8Array(records);
  let duplicates = 0;
  let unknown = 0;
  const key = '"recordNumber":';
  for (const f of files) {
    if (!existsSync(f)) continue;
    const rl = createInterface({ input: createReadStream(f, { highWaterMark: 4 * 1024 * 1024 }), crlfDelay: Infinity });
    for await (const line of rl) {
      if (line === '') continue;
      const at = line.indexOf(key);
      const n = at === -1 ? Number.NaN : Number.parseInt(line.slice(at + key.length, at + key.length + 12), 10);
      if (!Number.isInteger(n) || n < 0 || n >= records) unknown++;
      else if (seen[n]) duplicates++;
      else seen[n] = 1;
    }
  }
  let missing = 0;
  for (let i = 0; i < records; i++) if (!seen[i]) missing++;
  return { duplicates, missing, unknown };
}

function sumCounters(all: ReadonlyArray<Record<string, number> | undefined>): Record<string, number> {
  const got = all.filter((m): m is Record<string, number> => m !== undefined);
  if (got.length === 0) return {};
  const out: Record<string, number> = {};
  for (const m of got) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export async function runLogstream(o: LogstreamRunOptions): Promise<LogstreamRun> {
  const problems: string[] = [];
  const n = o.instances ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`instances must be a positive integer, got ${n}`);
  const groupId = `logstream-bench-${slug(o.name)}-${Date.now()}`;
  const daemons: LogstreamDaemon[] = [];
  for (let k = 0; k < n; k++) {
    const { cpuProfDir, ...rest } = o;
    // Only the first daemon is profiled.
    daemons.push(await startLogstreamDaemon({ ...rest, ...(k === 0 && cpuProfDir !== undefined ? { cpuProfDir } : {}), name: instanceName(o.name, k, n), groupId }));
  }
  const who = (d: LogstreamDaemon): string => (n === 1 ? 'logstream' : `logstream ${d.name}`);
  const t0 = daemons[0]!.spawnedAt;
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const running = (): boolean => daemons.every((d) => d.exitCode === undefined);

  const isFile = (o.sink ?? { kind: 'file' }).kind === 'file';
  const outputStarted = o.outputStarted ?? (isFile ? () => daemons.some((d) => existsSync(d.outFile) && statSync(d.outFile).size > 0) : undefined);
  let startupS: number | undefined;
  let probing = false;
  const firstByteWatch = setInterval(() => {
    if (probing || startupS !== undefined || !outputStarted) return;
    probing = true;
    // An async probe (an HTTP call) must not overlap itself; a failing one just counts as "not yet".
    void Promise.resolve()
      .then(outputStarted)
      .then(
        (started) => {
          if (started && startupS === undefined) {
            startupS = elapsed();
            clearInterval(firstByteWatch);
          }
        },
        () => undefined,
      )
      .finally(() => {
        probing = false;
      });
  }, 20);

  const timeline: ProgressSample[] = [];
  let doneS: number | undefined;
  let deliveredS: number | undefined;
  const zero = { userS: 0, sysS: 0 };
  let cpus = daemons.map(() => zero);
  let peaks = daemons.map(() => 0);
  let lastCommitted = -1;
  let lastProgressS = 0;
  const cpuSum = (list: ReadonlyArray<{ userS: number; sysS: number }>): number => list.reduce((a, c) => a + c.userS + c.sysS, 0);
  try {
    for (;;) {
      const gone = daemons.find((d) => d.exitCode !== undefined);
      if (gone) {
        problems.push(gone.spawnError ?? `${who(gone)} exited early (code ${gone.exitCode}) after ${elapsed().toFixed(1)} s; see its log`);
        break;
      }
      const committed = await o.admin.committedSum(groupId, o.topic).catch(() => lastCommitted);
      if (deliveredS === undefined) {
        const all = await Promise.all(daemons.map((d) => d.metrics()));
        if (all.every((m) => m !== undefined)) {
          const m = sumCounters(all);
          if (m['logstream_sink_sent_events_total']! + m['logstream_query_filtered_events_total']! >= o.records) deliveredS = elapsed();
        }
      }
      const now = elapsed();
      if (committed >= o.records && running()) {
        doneS = now;
        cpus = daemons.map((d) => readProcessCpu(d.pid));
        peaks = daemons.map((d) => readPeakRssBytes(d.pid));
        timeline.push({ tS: now, committed, cpuS: cpuSum(cpus) });
        break;
      }
      if (timeline.length === 0 || now - timeline[timeline.length - 1]!.tS >= 1) {
        if (running()) cpus = daemons.map((d, k) => cpuOr(d.pid, cpus[k]!));
        timeline.push({ tS: now, committed, cpuS: cpuSum(cpus) });
      }
      if (committed !== lastCommitted) {
        lastCommitted = committed;
        lastProgressS = now;
      } else if (now - lastProgressS > STALL_MS / 1000) {
        problems.push(`no commit progress for ${STALL_MS / 1000} s (committed ${committed} of ${o.records})`);
        break;
      }
      await sleep(POLL_MS);
    }
  } finally {
    clearInterval(firstByteWatch);
  }

  const perMetrics = await Promise.all(daemons.map((d) => d.metrics()));
  const metrics = sumCounters(perMetrics);
  const stops = await Promise.all(daemons.map((d) => d.stop()));
  for (const [k, d] of daemons.entries()) {
    if (stops[k]!.killed) problems.push(`${who(d)} did not exit within ${EXIT_TIMEOUT_MS / 1000} s of SIGTERM; killed`);
    if (d.exitCode !== 0) problems.push(`${who(d)} exit code ${d.exitCode ?? null} (expected 0 after SIGTERM)`);
  }
  const afters = stops.map((s) => s.afterS).filter((x): x is number => x !== undefined);
  const exitAfterSigtermS = afters.length === daemons.length ? Math.max(...afters) : undefined;

  let outputLines: number | undefined;
  let perLines: number[] | undefined;
  let duplicateRecords: number | undefined;
  if (isFile) {
    perLines = await Promise.all(daemons.map(async (d) => (existsSync(d.outFile) ? countLines(d.outFile) : 0)));
    outputLines = perLines.reduce((a, b) => a + b, 0);
    if (outputLines !== o.expectedLines) {
      const what = n === 1 ? 'output file has' : `the ${n} output files have`;
      problems.push(`${what} ${outputLines} lines, expected ${o.expectedLines} (${outputLines < o.expectedLines ? 'records LOST' : 'duplicates'})`);
    }
    if (n > 1) {
      const ids = await recordNumbers(daemons.map((d) => d.outFile), o.records);
      duplicateRecords = ids.duplicates;
      if (ids.duplicates > 0) problems.push(`${ids.duplicates} records written more than once across the ${n} output files`);
      if (ids.unknown > 0) problems.push(`${ids.unknown} output lines without a recordNumber in [0, ${o.records})`);
      if (o.query === undefined && ids.missing > 0) problems.push(`${ids.missing} records in no output file (records LOST)`);
    }
    for (const [k, d] of daemons.entries()) {
      const bad = perLines[k]! > 0 ? await checkSample(d.outFile, o.query !== undefined) : undefined;
      if (bad) problems.push(n === 1 ? bad : `${d.name}: ${bad}`);
    }
  }
  const warnLists = await Promise.all(daemons.map((d) => warnLines(d.logFile)));
  const warnings = warnLists.flatMap((w, k) => (n === 1 ? w.lines : w.lines.map((l) => `[${daemons[k]!.name}] ${l}`))).slice(0, 20);
  const warningCount = warnLists.reduce((a, w) => a + w.count, 0);

  let cpuProfile: string | undefined;
  if (o.cpuProfDir && existsSync(o.cpuProfDir)) {
    const f = readdirSync(o.cpuProfDir).find((name) => name.endsWith('.cpuprofile'));
    if (f) cpuProfile = join(o.cpuProfDir, f);
  }

  const badExit = daemons.find((d) => d.exitCode !== 0);
  const run: LogstreamRun = {
    instances: n,
    wallS: doneS ?? Number.NaN,
    startupS,
    fromFirstRecordS: doneS !== undefined && startupS !== undefined ? doneS - startupS : undefined,
    deliveredS,
    userS: cpus.reduce((a, c) => a + c.userS, 0),
    sysS: cpus.reduce((a, c) => a + c.sysS, 0),
    peakRssBytes: Math.max(...peaks),
    metrics,
    outputLines,
    exitCode: badExit ? (badExit.exitCode ?? null) : 0,
    exitAfterSigtermS,
    warnings,
    warningCount,
    timeline,
    cpuProfile,
    problems,
  };
  if (duplicateRecords !== undefined) run.duplicateRecords = duplicateRecords;
  if (n > 1) {
    run.perInstance = daemons.map((d, k) => ({
      name: d.name,
      userS: cpus[k]!.userS,
      sysS: cpus[k]!.sysS,
      peakRssBytes: peaks[k]!,
      exitCode: d.exitCode ?? null,
      exitAfterSigtermS: stops[k]!.afterS,
      outputLines: perLines?.[k],
      sentEvents: perMetrics[k]?.['logstream_sink_sent_events_total'],
    }));
  }
  return run;
}
