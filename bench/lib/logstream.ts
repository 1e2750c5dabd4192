// Runs one logstream daemon (`node src/main.ts run`, file, Splunk HEC or syslog sink) over a topic that
// already holds `records` records and measures it from spawn until the group's committed offsets
// cover the topic: wall time, CPU seconds and peak RSS of the daemon (from /proc, read at that
// moment, before SIGTERM). Then stops it and verifies the clean exit and, for the file sink, the
// output file (for HEC and syslog the caller checks its receiver). Problems (lost records, a bad exit, a stall)
// are collected in `problems`, never hidden.
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, openSync, closeSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
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
  /** More daemon environment, applied last (experiments, e.g. INFLIGHT_MAX_RECORDS); none by default. */
  env?: Record<string, string>;
  /** Polled every 20 ms until true: the first record has reached the sink (gives `startupS`).
   *  Default for the file sink: the output file is not empty; none for other sinks. */
  outputStarted?: () => boolean | Promise<boolean>;
}

export interface ProgressSample {
  tS: number;
  committed: number;
  cpuS: number;
}

export interface LogstreamRun {
  /** Spawn → committed offsets cover the topic. */
  wallS: number;
  /** Spawn → first byte in the output file (other sinks: `outputStarted` first true). */
  startupS: number | undefined;
  /** First byte in the output file (or `outputStarted`) → done. */
  fromFirstRecordS: number | undefined;
  /** Spawn → sent + filtered (from /metrics) reached `records`, before the last commit. */
  deliveredS: number | undefined;
  userS: number;
  sysS: number;
  peakRssBytes: number;
  metrics: Record<string, number>;
  /** Lines of the file sink's output; undefined for other sinks. */
  outputLines: number | undefined;
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

function daemonEnv(o: LogstreamRunOptions, httpPort: number, outFile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    KAFKA_BROKERS: o.bootstrap,
    KAFKA_TOPICS: o.topic,
    KAFKA_GROUP_ID: `logstream-bench-${slug(o.name)}-${Date.now()}`,
    KAFKA_START_FROM: 'earliest',
    KAFKA_COMMIT_INTERVAL: '1s',
    // A port picked here rather than 0: at LOG_LEVEL=warn the daemon does not log the port it got.
    HTTP_PORT: String(httpPort),
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
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
  return { ...env, ...o.env };
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

async function scrape(port: number): Promise<Record<string, number> | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? parseCounters(await res.text(), COUNTERS) : undefined;
  } catch {
    return undefined;
  }
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

async function warnLines(logFile: string): Promise<{ lines: string[]; count: number }> {
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

export async function runLogstream(o: LogstreamRunOptions): Promise<LogstreamRun> {
  const problems: string[] = [];
  const httpPort = await freePort();
  const outFile = outputFile(o.workDir, o.name);
  const logFile = join(o.workDir, `${slug(o.name)}.log`);
  const env = daemonEnv(o, httpPort, outFile);
  const groupId = env['KAFKA_GROUP_ID']!;
  const nodeArgs = o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [];

  const logFd = openSync(logFile, 'w');
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const child = spawn(NODE, [...nodeArgs, 'src/main.ts', 'run'], { cwd: REPO_ROOT, env, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let exitCode: number | null | undefined;
  let exitedAtS: number | undefined;
  const exited = new Promise<void>((r) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      exitedAtS = elapsed();
      r();
    });
    child.once('error', (err) => {
      problems.push(`cannot spawn ${NODE}: ${err.message}`);
      exitCode = null;
      r();
    });
  });
  const pid = child.pid ?? 0;

  const isFile = (o.sink ?? { kind: 'file' }).kind === 'file';
  const outputStarted = o.outputStarted ?? (isFile ? () => existsSync(outFile) && statSync(outFile).size > 0 : undefined);
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
  let cpu = { userS: 0, sysS: 0 };
  let peakRssBytes = 0;
  let lastCommitted = -1;
  let lastProgressS = 0;
  try {
    for (;;) {
      if (exitCode !== undefined) {
        problems.push(`logstream exited early (code ${exitCode}) after ${elapsed().toFixed(1)} s; see its log`);
        break;
      }
      const committed = await o.admin.committedSum(groupId, o.topic).catch(() => lastCommitted);
      if (deliveredS === undefined) {
        const m = await scrape(httpPort);
        if (m && m['logstream_sink_sent_events_total']! + m['logstream_query_filtered_events_total']! >= o.records) deliveredS = elapsed();
      }
      const now = elapsed();
      if (committed >= o.records && exitCode === undefined) {
        doneS = now;
        cpu = readProcessCpu(pid);
        peakRssBytes = readPeakRssBytes(pid);
        timeline.push({ tS: now, committed, cpuS: cpu.userS + cpu.sysS });
        break;
      }
      if (timeline.length === 0 || now - timeline[timeline.length - 1]!.tS >= 1) {
        const c = exitCode === undefined ? readProcessCpu(pid) : cpu;
        timeline.push({ tS: now, committed, cpuS: c.userS + c.sysS });
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

  const metrics = (await scrape(httpPort)) ?? {};
  let exitAfterSigtermS: number | undefined;
  if (exitCode === undefined) {
    const sigtermAt = elapsed();
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      problems.push(`logstream did not exit within ${EXIT_TIMEOUT_MS / 1000} s of SIGTERM; killed`);
      child.kill('SIGKILL');
    }, EXIT_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    exitAfterSigtermS = exitedAtS! - sigtermAt;
  } else {
    await exited;
  }
  if (exitCode !== 0) problems.push(`logstream exit code ${exitCode} (expected 0 after SIGTERM)`);

  let outputLines: number | undefined;
  if (isFile) {
    outputLines = existsSync(outFile) ? await countLines(outFile) : 0;
    if (outputLines !== o.expectedLines) {
      problems.push(`output file has ${outputLines} lines, expected ${o.expectedLines} (${outputLines < o.expectedLines ? 'records LOST' : 'duplicates'})`);
    }
    const bad = outputLines > 0 ? await checkSample(outFile, o.query !== undefined) : undefined;
    if (bad) problems.push(bad);
  }
  const warn = await warnLines(logFile);

  let cpuProfile: string | undefined;
  if (o.cpuProfDir && existsSync(o.cpuProfDir)) {
    const f = readdirSync(o.cpuProfDir).find((n) => n.endsWith('.cpuprofile'));
    if (f) cpuProfile = join(o.cpuProfDir, f);
  }

  return {
    wallS: doneS ?? Number.NaN,
    startupS,
    fromFirstRecordS: doneS !== undefined && startupS !== undefined ? doneS - startupS : undefined,
    deliveredS,
    userS: cpu.userS,
    sysS: cpu.sysS,
    peakRssBytes,
    metrics,
    outputLines,
    exitCode: exitCode ?? null,
    exitAfterSigtermS,
    warnings: warn.lines,
    warningCount: warn.count,
    timeline,
    cpuProfile,
    problems,
  };
}
