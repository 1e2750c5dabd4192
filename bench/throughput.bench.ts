// Throughput benchmark: one local broker, one 4-partition topic of N ~1 KiB JSON security records,
// read end to end by
//   (a) kcat -C (librdkafka, values to /dev/null): the reference,
//   (a') rsyslog imkafka → file (bench/lib/rsyslog-kafka.ts): another shipper doing the file job, a
//       private rsyslogd whose Kafka input (librdkafka, a consumer group) writes every value as one
//       line; wall from its spawn until the file holds N lines, CPU and peak RSS of rsyslogd; exactly N
//       lines of exactly the values' bytes, else a problem. A reference for speed only: imkafka commits
//       offsets on librdkafka's auto-commit schedule, not after the write.
//   (a'') Benthos 4.27 (bench/lib/benthos.ts; built from the Go module proxy by scripts/benthos.ts, the
//       last release under github.com/benthosdev/benthos/v4: the proxy refuses Redpanda Connect,
//       github.com/redpanda-data/connect/v4), the same jobs as logstream's: kafka_franz → file (exactly
//       N lines of exactly the values' bytes) and kafka_franz → http_client to the HEC receiver process
//       ({"event": record} envelopes, batches of 1000 / 2 MiB / 200 ms, 8 in flight, gzip; checked as
//       logstream's HEC runs: exactly N indexed, only 200 replies); wall from its spawn until the file
//       holds N lines / the receiver has indexed N events, CPU and peak RSS of benthos. Also a speed
//       reference: kafka_franz commits offsets (of records its output acknowledged) on its own timer,
//       commit_period 5 s. Skipped with a note when the binary cannot be built (no Go, the proxy
//       refusing).
//   (b) logstream → file sink,
//   (c) logstream → file sink with QUERY="* | where severity in ('high','critical')" (drops ~half),
//   (d) logstream → Splunk HEC, HEC_GZIP=true (level 6), and
//   (e) the same with HEC_GZIP=false; the HEC receiver (test/support/hec, count-only) runs in its
//       own process, one per run, and its counters are checked after the run: every record indexed
//       exactly once, only 200 replies;
//   (f) logstream → syslog over TLS (RFC 5425, RFC 5424 messages, octet counting, every syslog
//       setting at its default) to bench/lib/syslog-discard-server.ts, a receiver process that only
//       counts frames and discards them (logstream's cost alone), and
//   (g) the same to a real rsyslogd (test/support/rsyslog.ts), which writes one JSON line per
//       message; its output lines are counted. Either receiver must end up with exactly N messages:
//       fewer is a failure, more is one too unless logstream retried (reconnected), and then the
//       duplicates are reported;
//   (h) logstream → form POST (multipart/form-data, 20 rows per POST, every setting at its default)
//       to the busboy receiver of test/support/form-receiver in its own process (--count-only: it
//       still checks every body strictly); it must end up with exactly N rows, no POST over 20 rows,
//       only 200 replies;
//   (i), (j) logstream → S3 (a real MinIO, bench/lib/s3.ts), JSON lines and gzip: every object is read back,
//       each record must be in exactly one object, in the Log Stream key layout, within the limits;
//   (k) logstream file and (l) logstream → HEC gzip with 2 instances: two daemons in one consumer
//       group over the same topic (bench/lib/logstream.ts `instances`), each writing its own file /
//       both shipping to one HEC receiver; wall from the first spawn until the group's committed
//       offsets cover the topic, CPU of both daemons summed, peak RSS per daemon; checked as the
//       1-instance runs are (file: every record in exactly one line across both files, by recordNumber;
//       HEC: exactly N indexed);
//   (m) logstream → HEC with HEC_GZIP_LEVEL=1 (the other gzip rows use the default level, 6): CPU against
//       bytes on the wire (the receiver's compression ratio), for choosing the default level;
//   (m') the HEC jobs (no gzip, level 1, level 6) with (c)'s `where` query: the jobs the efficiency
//       targets are set for (a query that filters on a field, never only `*`);
//   ([kafkajs]) the main file and HEC jobs again on the fallback client, KAFKA_CLIENT=kafkajs;
//   (n) logstream → SQS (a real ElasticMQ, bench/lib/sqs.ts, every SQS setting at its default) on its own
//       topic of BENCH_SQS_RECORDS (default 100 000) records, with kcat measured on that topic too: every
//       message is received back, each record exactly once.
// Everything is measured (wall, CPU, peak RSS), nothing asserted on time; lost or duplicated records,
// an unclean exit, a non-200 HEC reply or a stall are reported as problems (the entry exits non-zero
// on any).
//
// Alone: node bench/throughput.bench.ts   (env BENCH_RECORDS, BENCH_RECORD_BYTES, BENCH_CPU_PROF=1,
//        BENCH_BASELINE_ROOT=<another checkout>: each logstream run again from there, right after (A/B),
//        BENCH_RUNS=hec,form: only the logstream runs (and the rsyslog imkafka and Benthos references)
//        whose name contains one of these, case-insensitive, e.g. "2 instances", "imkafka", "benthos";
//        kcat always runs)
// Needs (Debian): apt-get install kcat rsyslog rsyslog-openssl rsyslog-gnutls rsyslog-kafka, Java 17+
// and Maven for the broker (scripts/kafka-broker.ts), Go (≥ 1.23) for MinIO (bench/lib/s3.ts) and
// Benthos (scripts/benthos.ts).
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Broker } from '../scripts/kafka-broker.ts';
import { formatProfileSummary, summariseCpuProfile, type ProfileSummary } from './lib/cpuprofile.ts';
import { BenchKafka, formatTopicLine, type ProduceFigures } from './lib/bench-kafka.ts';
import type { BenchAdmin } from './lib/kafka.ts';
import { kcatConsumeAll, requireKcat } from './lib/kcat.ts';
import { HecProcess } from '../test/support/hec/process.ts';
import type { HecStats } from '../test/support/hec/receiver.ts';
import { REPO_ROOT, outputFiles, runLogstream, slug, type LogstreamRun, type LogstreamSink, type ProgressSample } from './lib/logstream.ts';
import { readPeakRssBytes, readProcessCpu } from './lib/proc.ts';
import type { GeneratedFile } from './lib/records.ts';
import { imkafkaUnavailable, runRsyslogImkafka, type ImkafkaRunInfo } from './lib/rsyslog-kafka.ts';
import { BENTHOS_HEC_BATCH, BENTHOS_INFLIGHT_RECORDS, runBenthos, type BenthosOutput, type BenthosRunInfo } from './lib/benthos.ts';
import { DEFAULT_BENTHOS_VERSION, ensureBenthos } from '../scripts/benthos.ts';
import { startSyslogReceiver, type SyslogReceiver, type SyslogReceiverCounts, type SyslogReceiverKind } from './lib/syslog-receivers.ts';
import { fmt, formatTable } from './lib/table.ts';
import { formatFormPostRuns, startFormPostReceiver, type FormPostRunInfo } from './lib/form-post.ts';
import { formatS3Runs, startS3Bench, type S3RunInfo } from './lib/s3.ts';
import { formatSqsRuns, prepareSqsTopic, sqsRecordCount, startSqsBench, SQS_TOPIC, type SqsRunInfo } from './lib/sqs.ts';
import { stopReceiver } from './lib/stop-receiver.ts';
import { filterWords, isSelected } from './lib/name-filter.ts';

export const SEVERITY_QUERY = "* | where severity in ('high','critical')";
const PARTITIONS = 4;
const TOPIC = 'bench-security-logs';
const MB = 1e6;
/** Alibaba SLS's stated figure (the seed): "10 MB/s per consumer at ~20 % of one core". */
export const SLS_STATED = { mbPerSec: 10, shareOfOneCore: 0.2 } as const;
/** What that is per CPU-second: 10 / 0.2 = 50 MB. */
export const SLS_MB_PER_CPU_S = SLS_STATED.mbPerSec / SLS_STATED.shareOfOneCore;
const IMKAFKA_RUN = 'rsyslog imkafka → file (reference)';
/** "4.27" of v4.27.0 (LOGSTREAM_BENTHOS_VERSION may name another). */
const BENTHOS_LABEL = `Benthos ${(process.env['LOGSTREAM_BENTHOS_VERSION'] ?? DEFAULT_BENTHOS_VERSION).replace(/^v/, '').split('.').slice(0, 2).join('.')}`;
const BENTHOS_FILE_RUN = `${BENTHOS_LABEL} kafka → file`;
const BENTHOS_HEC_RUN = `${BENTHOS_LABEL} kafka → HEC, gzip`;

export interface ThroughputOptions {
  records: number;
  recordBytes: number;
  /** Broker JVM heap, default 2048 MB. */
  heapMb?: number;
  /** Only the logstream runs whose name contains one of these (lower case); all when undefined. */
  runs?: string[];
  /** A second checkout (e.g. `git worktree add /tmp/base HEAD~1`, node_modules linked) whose daemon runs
   *  each selected logstream run again right after this one's: before/after in the same run. */
  baselineRoot?: string;
  /** Profile the daemon of the first selected run again with --cpu-prof; the profile is copied to `resultsDir`. */
  cpuProfile?: boolean;
  resultsDir?: string;
  log?: (line: string) => void;
}

export interface RunRow {
  name: string;
  wallS: number;
  mbPerSec: number;
  recordsPerSec: number;
  ratioToKcat: number;
  cpuS: number;
  userS: number;
  sysS: number;
  cpuSPer100MB: number;
  mbPerCpuS: number;
  /** Shippers (logstream, rsyslog imkafka): mbPerCpuS / SLS_MB_PER_CPU_S. */
  vsSls?: number;
  /** Multi-instance runs: the largest daemon's peak RSS (each daemon's in peakRssMbPerInstance). */
  peakRssMb: number;
  /** Daemons in the group (multi-instance runs only). */
  instances?: number;
  peakRssMbPerInstance?: number[];
  /** The rsyslog imkafka reference only: what it wrote. */
  imkafka?: ImkafkaRunInfo;
  /** The Benthos references only: what it delivered, its counters and exit. */
  benthos?: BenthosRunInfo;
  /** logstream only: spawn → first output byte, and the rate measured from that byte on. */
  startupS?: number;
  mbPerSecFromFirstRecord?: number;
  /** logstream only: records/s over 5 s windows between the first and the last commit. */
  steadyRecordsPerSec?: { min: number; median: number; max: number };
  logstream?: Omit<LogstreamRun, 'timeline'> & { timeline: ProgressSample[] };
  profile?: ProfileSummary;
  /** HEC runs only: what the receiver process counted, and its own cost. */
  hec?: HecRunInfo;
  /** Syslog runs only: what the receiver counted, and its own cost. */
  syslog?: SyslogRunInfo;
  /** Form POST runs only: what the receiver counted, and its own cost. */
  formPost?: FormPostRunInfo;
  /** S3 runs only: what was read back from MinIO, and its cost. */
  s3?: S3RunInfo;
  /** SQS runs only: what was received back from ElasticMQ, and its cost. */
  sqs?: SqsRunInfo;
  problems: string[];
}

export interface SyslogRunInfo {
  receiver: SyslogReceiverKind;
  expected: number;
  /** Messages the receiver ended up with (discard: complete frames; rsyslog: output lines). */
  received: number;
  /** received - expected when positive (logstream retried after a broken connection). */
  duplicates: number;
  /** expected - received when positive. */
  missing: number;
  /** discard: sum of MSG-LEN received; rsyslog: size of its JSON-lines output file. */
  receiverBytes: number;
  /** Framed bytes logstream counted as delivered (logstream_sink_sent_bytes_total). */
  sentBytes: number;
  /** TLS connections the receiver accepted (discard only). */
  connections: number | undefined;
  /** logstream retried, or the receiver saw more than one connection. */
  reconnected: boolean;
  reconnectEvidence: string[];
  /** logstream's exit → the receiver had all `expected` messages (rsyslog: in its output file). */
  drainS: number | undefined;
  /** Receiver CPU (user+sys) from just before logstream was spawned until it had settled. */
  receiverCpuS: number;
  receiverPeakRssMb: number;
  receiverExit: string;
  sinkRetries: number;
  sinkErrors: number;
  receiverLog?: string;
}

export interface HecRunInfo {
  gzip: boolean;
  /** Requests by route (event, health, ...) and by HTTP status ("dropped" = closed without a reply). */
  requests: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  eventsIndexed: number;
  eventsDiscarded: number;
  /** Request bodies as sent (compressed when gzip) and after gunzip. */
  bytesReceived: number;
  bytesDecoded: number;
  /** bytesDecoded / bytesReceived. */
  compressionRatio: number;
  /** Receiver CPU (user+sys) from just before logstream was spawned until it exited. */
  receiverCpuS: number;
  receiverPeakRssMb: number;
  receiverExit: { code: number | null; signal: string | null };
  /** From logstream's /metrics at the end of the run. */
  sinkRetries: number;
  sinkErrors: number;
  receiverStderr?: string;
}

export interface ThroughputResult {
  kafkaVersion: string;
  /** The SLS reference the rows are compared with (vsSls). */
  sls: { statedMbPerSec: number; statedShareOfOneCore: number; mbPerCpuS: number };
  topic: { partitions: number; records: number; recordBytes: number; valueBytes: number; highOrCritical: number };
  generateS: number;
  produce: ProduceFigures;
  runs: RunRow[];
  notes: string[];
  problems: string[];
}

interface Measurement {
  wallS: number;
  userS: number;
  sysS: number;
  peakRssBytes: number;
}

function toRow(name: string, m: Measurement, topic: GeneratedFile, kcatMbPerSec: number | undefined): RunRow {
  const mb = topic.valueBytes / MB;
  const cpuS = m.userS + m.sysS;
  const mbPerSec = mb / m.wallS;
  return {
    name,
    wallS: m.wallS,
    mbPerSec,
    recordsPerSec: topic.records / m.wallS,
    ratioToKcat: kcatMbPerSec ? mbPerSec / kcatMbPerSec : 1,
    cpuS,
    userS: m.userS,
    sysS: m.sysS,
    cpuSPer100MB: cpuS / (mb / 100),
    mbPerCpuS: mb / cpuS,
    peakRssMb: m.peakRssBytes / MB,
    problems: [],
  };
}

/** Records/s over `windowS`-second windows strictly between the first commit and completion. */
export function steadyRates(timeline: readonly ProgressSample[], total: number, windowS = 5): RunRow['steadyRecordsPerSec'] {
  const mid = timeline.filter((s) => s.committed > 0 && s.committed < total);
  const rates: number[] = [];
  let from = mid[0];
  for (const s of mid) {
    if (from && s.tS - from.tS >= windowS) {
      rates.push((s.committed - from.committed) / (s.tS - from.tS));
      from = s;
    }
  }
  if (rates.length === 0) return undefined;
  rates.sort((a, b) => a - b);
  return { min: rates[0]!, median: rates[Math.floor(rates.length / 2)]!, max: rates[rates.length - 1]! };
}

/** The daemon on the fallback kafkajs adapter instead of the default client (@platformatic/kafka). */
const KAFKAJS = { KAFKA_CLIENT: 'kafkajs' };

interface LogstreamCase {
  name: string;
  query?: string;
  expectedLines: number;
  /** Ship to a HEC receiver process instead of the file sink. */
  hec?: { gzip: boolean; gzipLevel?: number };
  /** Ship over syslog TLS to this receiver instead of the file sink. */
  syslog?: { receiver: SyslogReceiverKind };
  /** POST multipart forms to a form receiver process instead of the file sink. */
  formPost?: boolean;
  /** Write objects to a MinIO instead of the file sink. */
  s3?: { gzip: boolean; manifests?: boolean };
  /** Send to an ElasticMQ queue instead of the file sink (reads ctx.topicName). */
  sqs?: boolean;
  /** Daemons in the same consumer group (default 1). */
  instances?: number;
  /** More daemon environment (e.g. KAFKA_CLIENT). */
  env?: Record<string, string>;
  /** Run the daemon of this checkout instead (BENCH_BASELINE_ROOT: the A/B baseline). */
  root?: string;
}

/** Stops a run's HEC receiver, records its exit (and stderr) in `info`, and returns what went wrong. */
async function stopHecReceiver(hec: HecProcess, info: HecRunInfo | undefined): Promise<string[]> {
  const { exit, problems } = await stopReceiver(hec, 'HEC receiver');
  if (info) {
    info.receiverExit = { code: exit.code, signal: exit.signal };
    if (hec.stderr.trim() !== '') info.receiverStderr = hec.stderr.slice(-5000);
  }
  return problems;
}

/** The checks of a HEC run against the receiver's counters: every record once, only 200s. */
export function hecProblems(s: HecStats, expected: number): string[] {
  const problems: string[] = [];
  if (s.eventsIndexed !== expected) {
    problems.push(`HEC receiver indexed ${s.eventsIndexed} events, expected ${expected} (${s.eventsIndexed < expected ? 'records LOST' : 'duplicates'})`);
  }
  const bad = Object.entries(s.byStatus).filter(([status, n]) => status !== '200' && n > 0);
  if (bad.length > 0) problems.push(`HEC receiver sent non-200 replies: ${bad.map(([status, n]) => `${n} × ${status}`).join(', ')} (codes ${JSON.stringify(s.byCode)})`);
  if (s.droppedConnections > 0) problems.push(`HEC receiver dropped ${s.droppedConnections} connections`);
  if (s.eventsDiscarded > 0) problems.push(`HEC receiver discarded ${s.eventsDiscarded} events`);
  return problems;
}

/** What a HEC run's row shows of the receiver's counters (the receiver's exit is filled in later). */
function hecRunInfo(s: HecStats, o: { gzip: boolean; receiverCpuS: number; receiverPeakRssMb: number; sinkRetries: number; sinkErrors: number }): HecRunInfo {
  return {
    gzip: o.gzip,
    requests: s.requests,
    byRoute: s.byRoute,
    byStatus: s.byStatus,
    eventsIndexed: s.eventsIndexed,
    eventsDiscarded: s.eventsDiscarded,
    bytesReceived: s.bytesReceived,
    bytesDecoded: s.bytesDecoded,
    compressionRatio: s.bytesDecoded / s.bytesReceived,
    receiverCpuS: o.receiverCpuS,
    receiverPeakRssMb: o.receiverPeakRssMb,
    receiverExit: { code: null, signal: null },
    sinkRetries: o.sinkRetries,
    sinkErrors: o.sinkErrors,
  };
}

const SYSLOG_SETTLE_QUIET_MS = 1_000;
const SYSLOG_SETTLE_STALL_MS = 15_000;
const SYSLOG_SETTLE_MAX_MS = 600_000;

/**
 * After logstream's exit nothing more is sent, but rsyslog may still be writing its queue out: polls
 * the receiver until it holds at least `expected` messages and has been quiet for a second (more may
 * still arrive: duplicates), or gives up after 15 s without progress.
 */
async function settleSyslog(rcv: SyslogReceiver, expected: number): Promise<{ counts: SyslogReceiverCounts; drainS: number | undefined }> {
  const t0 = performance.now();
  let counts = await rcv.counts();
  let changedAt = t0;
  let reachedAt = counts.messages >= expected ? t0 : undefined;
  for (;;) {
    const now = performance.now();
    if (reachedAt !== undefined && now - changedAt >= SYSLOG_SETTLE_QUIET_MS) break;
    if (now - changedAt >= SYSLOG_SETTLE_STALL_MS || now - t0 >= SYSLOG_SETTLE_MAX_MS) break;
    await new Promise((r) => setTimeout(r, 100));
    const c = await rcv.counts();
    if (c.messages !== counts.messages) changedAt = performance.now();
    counts = c;
    if (reachedAt === undefined && c.messages >= expected) reachedAt = performance.now();
  }
  return { counts, drainS: reachedAt === undefined ? undefined : (reachedAt - t0) / 1000 };
}

/** Evidence that logstream reconnected (and so may legitimately have sent a batch twice). */
function reconnectEvidence(r: LogstreamRun, connections: number | undefined): string[] {
  const out: string[] = [];
  const retries = r.metrics['logstream_sink_retries_total'] ?? 0;
  const errors = r.metrics['logstream_sink_errors_total'] ?? 0;
  if (retries > 0) out.push(`logstream_sink_retries_total ${retries}`);
  if (errors > 0) out.push(`logstream_sink_errors_total ${errors}`);
  const lines = r.warnings.filter((w) => /send failed|sending the batch again|connection|ECONNRESET|EPIPE/i.test(w));
  if (lines.length > 0) out.push(`${lines.length} warn line(s) about the connection in logstream's log`);
  if (connections !== undefined && connections > 1) out.push(`the receiver accepted ${connections} connections`);
  return out;
}

async function logstreamRow(
  c: LogstreamCase,
  ctx: { broker: Broker; admin: BenchAdmin; workDir: string; topic: GeneratedFile; topicName?: string; kcatMbPerSec: number; opts: ThroughputOptions },
  profile: boolean,
): Promise<RunRow> {
  const cpuProfDir = profile ? join(ctx.workDir, `prof-${slug(c.name)}`) : undefined;
  const token = randomUUID();
  // One receiver process per run, so its counters and CPU time are this run's alone.
  const hec = c.hec ? await HecProcess.start(['--port', '0', '--host', '127.0.0.1', '--token', token, '--count-only']) : undefined;
  const syslogDir = join(ctx.workDir, `rsyslog-${slug(c.name)}`);
  const syslog = c.syslog ? await startSyslogReceiver(c.syslog.receiver, syslogDir) : undefined;
  const form = c.formPost ? await startFormPostReceiver() : undefined;
  const s3 = c.s3 ? await startS3Bench(c.s3) : undefined;
  let s3Info: S3RunInfo | undefined;
  const sqs = c.sqs ? await startSqsBench() : undefined;
  let sqsInfo: SqsRunInfo | undefined;
  let r: LogstreamRun;
  let hecInfo: HecRunInfo | undefined;
  let syslogInfo: SyslogRunInfo | undefined;
  let formInfo: FormPostRunInfo | undefined;
  const receiverIssues: string[] = [];
  try {
    let sink: LogstreamSink = { kind: 'file' };
    let outputStarted: (() => Promise<boolean>) | undefined;
    let cpuBefore = { userS: 0, sysS: 0 };
    if (hec && c.hec) {
      sink = { kind: 'splunk_hec', url: hec.url, token, gzip: c.hec.gzip, ...(c.hec.gzipLevel === undefined ? {} : { gzipLevel: c.hec.gzipLevel }) };
      outputStarted = async () => (await hec.stats()).eventsIndexed > 0;
      cpuBefore = readProcessCpu(hec.proc.pid!);
    }
    if (syslog) {
      sink = { kind: 'syslog', url: syslog.url, caFile: syslog.caFile };
      outputStarted = async () => (await syslog.counts()).messages > 0;
      cpuBefore = readProcessCpu(syslog.pid);
    }
    if (form) {
      sink = { kind: 'form_post', url: form.url };
      outputStarted = form.outputStarted;
    }
    if (s3) {
      sink = s3.sink;
      outputStarted = s3.outputStarted;
    }
    if (sqs) {
      sink = sqs.sink;
      outputStarted = sqs.outputStarted;
    }
    r = await runLogstream({
      name: c.name,
      bootstrap: ctx.broker.bootstrap,
      topic: ctx.topicName ?? TOPIC,
      records: ctx.topic.records,
      expectedLines: c.expectedLines,
      ...(c.query !== undefined ? { query: c.query } : {}),
      workDir: ctx.workDir,
      admin: ctx.admin,
      ...(cpuProfDir ? { cpuProfDir } : {}),
      sink,
      ...(outputStarted ? { outputStarted } : {}),
      ...(c.instances !== undefined ? { instances: c.instances } : {}),
      ...(c.env ? { env: c.env } : {}),
      ...(c.root ? { root: c.root } : {}),
    });
    if (hec && c.hec) {
      // logstream has exited (or was killed): nothing more can arrive.
      const cpuAfter = readProcessCpu(hec.proc.pid!);
      const receiverPeakRssMb = readPeakRssBytes(hec.proc.pid!) / MB;
      const s = await hec.stats();
      receiverIssues.push(...hecProblems(s, c.expectedLines));
      hecInfo = hecRunInfo(s, {
        gzip: c.hec.gzip,
        receiverCpuS: cpuAfter.userS + cpuAfter.sysS - cpuBefore.userS - cpuBefore.sysS,
        receiverPeakRssMb,
        sinkRetries: r.metrics['logstream_sink_retries_total'] ?? Number.NaN,
        sinkErrors: r.metrics['logstream_sink_errors_total'] ?? Number.NaN,
      });
    }
    if (syslog && c.syslog) {
      // logstream has exited: nothing more is sent; rsyslog may still be writing.
      const { counts, drainS } = await settleSyslog(syslog, c.expectedLines);
      const cpuAfter = readProcessCpu(syslog.pid);
      const receiverPeakRssMb = readPeakRssBytes(syslog.pid) / MB;
      const evidence = reconnectEvidence(r, counts.connections);
      const received = counts.messages;
      const expected = c.expectedLines;
      syslogInfo = {
        receiver: c.syslog.receiver,
        expected,
        received,
        duplicates: Math.max(0, received - expected),
        missing: Math.max(0, expected - received),
        receiverBytes: counts.bytes,
        sentBytes: r.metrics['logstream_sink_sent_bytes_total'] ?? Number.NaN,
        connections: counts.connections,
        reconnected: evidence.length > 0,
        reconnectEvidence: evidence,
        drainS,
        receiverCpuS: cpuAfter.userS + cpuAfter.sysS - cpuBefore.userS - cpuBefore.sysS,
        receiverPeakRssMb,
        receiverExit: '',
        sinkRetries: r.metrics['logstream_sink_retries_total'] ?? Number.NaN,
        sinkErrors: r.metrics['logstream_sink_errors_total'] ?? Number.NaN,
      };
      if (received < expected) receiverIssues.push(`syslog receiver (${c.syslog.receiver}) got ${received} messages, expected ${expected}: ${expected - received} records LOST`);
      else if (received > expected && evidence.length === 0) receiverIssues.push(`syslog receiver (${c.syslog.receiver}) got ${received} messages, expected ${expected}: ${received - expected} duplicates although logstream never reconnected`);
      receiverIssues.push(...(await syslog.issues()));
    }
    if (form) {
      // logstream has exited (or was killed): nothing more can arrive.
      const done = await form.finish(c.expectedLines, r.metrics);
      formInfo = done.info;
      receiverIssues.push(...done.problems);
    }
    if (s3) {
      const done = await s3.finish(c.expectedLines, r.metrics);
      s3Info = done.info;
      receiverIssues.push(...done.problems);
    }
    if (sqs) {
      const done = await sqs.finish(c.expectedLines, r.metrics);
      sqsInfo = done.info;
      receiverIssues.push(...done.problems);
    }
  } finally {
    if (s3) await s3.stop();
    if (sqs) await sqs.stop();
    if (form) receiverIssues.push(...(await form.stop(formInfo)));
    if (hec) {
      receiverIssues.push(...(await stopHecReceiver(hec, hecInfo)));
    }
    if (syslog) {
      const stopped = await syslog.stop();
      receiverIssues.push(...stopped.problems);
      if (syslogInfo) {
        syslogInfo.receiverExit = stopped.exit;
        if (stopped.log !== '') syslogInfo.receiverLog = stopped.log.slice(-5000);
      }
      await rm(syslogDir, { recursive: true, force: true });
    }
  }
  for (const f of outputFiles(ctx.workDir, c.name, c.instances)) await rm(f, { force: true });
  const row = toRow(profile ? `${c.name} (cpu-prof)` : c.name, r, ctx.topic, ctx.kcatMbPerSec);
  row.vsSls = row.mbPerCpuS / SLS_MB_PER_CPU_S;
  if (r.perInstance) {
    row.instances = r.instances;
    row.peakRssMbPerInstance = r.perInstance.map((i) => i.peakRssBytes / MB);
  }
  if (hecInfo) row.hec = hecInfo;
  if (syslogInfo) row.syslog = syslogInfo;
  if (formInfo) row.formPost = formInfo;
  if (s3Info) row.s3 = s3Info;
  if (sqsInfo) row.sqs = sqsInfo;
  if (r.startupS !== undefined) row.startupS = r.startupS;
  if (r.fromFirstRecordS !== undefined) row.mbPerSecFromFirstRecord = ctx.topic.valueBytes / MB / r.fromFirstRecordS;
  const steady = steadyRates(r.timeline, ctx.topic.records);
  if (steady) row.steadyRecordsPerSec = steady;
  row.logstream = r;
  row.problems = [...r.problems, ...receiverIssues].map((p) => `${c.name}: ${p}`);
  if (r.cpuProfile) {
    row.profile = summariseCpuProfile(r.cpuProfile);
    if (ctx.opts.resultsDir) {
      await mkdir(ctx.opts.resultsDir, { recursive: true });
      const dest = join(ctx.opts.resultsDir, `${slug(c.name)}-${basename(r.cpuProfile)}`);
      await copyFile(r.cpuProfile, dest);
      r.cpuProfile = dest;
    }
  }
  return row;
}

/** The first line of an error (go's output follows it) and its last lines, for a note. */
function briefError(msg: string): string {
  const lines = msg.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const text = lines.length <= 4 ? lines.join(' | ') : `${lines[0]} | … | ${lines.slice(-3).join(' | ')}`;
  return text.length > 800 ? `${text.slice(0, 800)}…` : text;
}

interface BenthosCtx {
  broker: Broker;
  admin: BenchAdmin;
  workDir: string;
  topic: GeneratedFile;
  kcatMbPerSec: number;
  opts: ThroughputOptions;
  notes: string[];
  log: (line: string) => void;
}

/** (a'') The Benthos references that BENCH_RUNS selects; none, with a note, when Benthos cannot be built. */
async function benthosRows(ctx: BenthosCtx): Promise<RunRow[]> {
  const wanted = [BENTHOS_FILE_RUN, BENTHOS_HEC_RUN].filter((name) => isSelected(name, ctx.opts.runs));
  if (wanted.length === 0) return [];
  let bin: string;
  try {
    bin = await ensureBenthos(undefined, ctx.log);
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    ctx.notes.push(`${wanted.join(' and ')} skipped: Benthos cannot be built here (scripts/benthos.ts, Go ≥ 1.23 and the Go module proxy): ${briefError(msg)}`);
    return [];
  }
  const rows: RunRow[] = [];
  for (const name of wanted) {
    ctx.log(`(a'') ${name} ...`);
    rows.push(await benthosRow(name, bin, ctx));
  }
  return rows;
}

async function benthosRow(name: string, bin: string, ctx: BenthosCtx): Promise<RunRow> {
  const { topic } = ctx;
  const dir = join(ctx.workDir, `benthos-${slug(name)}`);
  const token = randomUUID();
  const issues: string[] = [];
  let hec: HecProcess | undefined;
  let hecInfo: HecRunInfo | undefined;
  let r: Awaited<ReturnType<typeof runBenthos>> | undefined;
  try {
    // Its own receiver process, as logstream's HEC runs have: its counters and CPU are this run's alone.
    if (name === BENTHOS_HEC_RUN) hec = await HecProcess.start(['--port', '0', '--host', '127.0.0.1', '--token', token, '--count-only']);
    const h = hec;
    const output: BenthosOutput = h ? { kind: 'hec', url: h.url, token, delivered: async () => (await h.stats()).eventsIndexed } : { kind: 'file' };
    const cpuBefore = h ? readProcessCpu(h.proc.pid!) : undefined;
    r = await runBenthos({ bin, bootstrap: ctx.broker.bootstrap, topic: TOPIC, partitions: PARTITIONS, records: topic.records, valueBytes: topic.valueBytes, dir, admin: ctx.admin, output });
    if (h && cpuBefore) {
      // benthos has exited (or was killed): nothing more can arrive.
      const cpuAfter = readProcessCpu(h.proc.pid!);
      const receiverPeakRssMb = readPeakRssBytes(h.proc.pid!) / MB;
      const s = await h.stats();
      issues.push(...hecProblems(s, topic.records));
      hecInfo = hecRunInfo(s, {
        gzip: true,
        receiverCpuS: cpuAfter.userS + cpuAfter.sysS - cpuBefore.userS - cpuBefore.sysS,
        receiverPeakRssMb,
        sinkRetries: Number.NaN,
        sinkErrors: r.info.metrics.outputError ?? Number.NaN,
      });
    }
  } catch (err) {
    // Not a number to show: say exactly why.
    issues.push(`did not run: ${(err as Error)?.message ?? String(err)}`);
  } finally {
    if (hec) {
      issues.push(...(await stopHecReceiver(hec, hecInfo)));
    }
    await rm(dir, { recursive: true, force: true });
  }
  const nan = { wallS: Number.NaN, userS: Number.NaN, sysS: Number.NaN, peakRssBytes: Number.NaN };
  const row = toRow(name, r ?? nan, topic, ctx.kcatMbPerSec);
  row.vsSls = row.mbPerCpuS / SLS_MB_PER_CPU_S;
  if (r) {
    row.benthos = r.info;
    if (r.info.startupS !== undefined && Number.isFinite(r.wallS)) {
      row.startupS = r.info.startupS;
      row.mbPerSecFromFirstRecord = topic.valueBytes / MB / (r.wallS - r.info.startupS);
    }
  }
  if (hecInfo) row.hec = hecInfo;
  row.problems = [...(r?.problems ?? []), ...issues].map((p) => `${name}: ${p}`);
  return row;
}

export async function runThroughputBench(opts: ThroughputOptions): Promise<ThroughputResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[bench] ${l}\n`));
  requireKcat();
  const notes: string[] = [];
  const workDir = await mkdtemp(join(tmpdir(), 'logstream-bench-'));
  const kafka = new BenchKafka(log);
  try {
    const { broker, admin, topic, generateS, produce } = await kafka.startWithRecords({ topic: TOPIC, partitions: PARTITIONS, records: opts.records, recordBytes: opts.recordBytes, heapMb: opts.heapMb, workDir });

    log('(a) kcat -C ...');
    const kcatRow = toRow('kcat -C (reference)', await kcatConsumeAll(broker.bootstrap, TOPIC), topic, undefined);
    const runs: RunRow[] = [kcatRow];

    if (isSelected(IMKAFKA_RUN, opts.runs)) {
      const why = imkafkaUnavailable();
      if (why) notes.push(`${IMKAFKA_RUN} skipped: ${why}.`);
      else {
        log(`(a') ${IMKAFKA_RUN} ...`);
        const dir = join(workDir, 'rsyslog-imkafka');
        try {
          const r = await runRsyslogImkafka({ bootstrap: broker.bootstrap, topic: TOPIC, records: topic.records, valueBytes: topic.valueBytes, recordBytes: opts.recordBytes, dir, admin });
          const row = toRow(IMKAFKA_RUN, r, topic, kcatRow.mbPerSec);
          row.vsSls = row.mbPerCpuS / SLS_MB_PER_CPU_S;
          row.imkafka = r.info;
          if (r.info.startupS !== undefined) {
            row.startupS = r.info.startupS;
            row.mbPerSecFromFirstRecord = topic.valueBytes / MB / (r.wallS - r.info.startupS);
          }
          row.problems = r.problems.map((p) => `${IMKAFKA_RUN}: ${p}`);
          runs.push(row);
        } catch (err) {
          // Not a number to show: say exactly why.
          const msg = (err as Error)?.message ?? String(err);
          runs.push({ ...toRow(`${IMKAFKA_RUN}`, { wallS: Number.NaN, userS: Number.NaN, sysS: Number.NaN, peakRssBytes: Number.NaN }, topic, kcatRow.mbPerSec), problems: [`${IMKAFKA_RUN}: did not run: ${msg}`] });
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    }

    runs.push(...(await benthosRows({ broker, admin, workDir, topic, kcatMbPerSec: kcatRow.mbPerSec, opts, notes, log })));

    if (!existsSync(join(REPO_ROOT, 'src', 'query', 'index.ts'))) {
      notes.push('logstream runs (b) to (h) skipped: src/query/index.ts does not exist yet, and the daemon cannot start without the query engine.');
    } else {
      const ctx = { broker, admin, workDir, topic, kcatMbPerSec: kcatRow.mbPerSec, opts };
      const cases: LogstreamCase[] = [
        { name: 'logstream file', expectedLines: topic.records },
        { name: 'logstream file+query', query: SEVERITY_QUERY, expectedLines: topic.highOrCritical },
        { name: 'logstream → HEC gzip', expectedLines: topic.records, hec: { gzip: true } },
        { name: 'logstream → HEC no gzip', expectedLines: topic.records, hec: { gzip: false } },
        { name: 'logstream → syslog TLS (discard)', expectedLines: topic.records, syslog: { receiver: 'discard' } },
        { name: 'logstream → syslog TLS (rsyslog)', expectedLines: topic.records, syslog: { receiver: 'rsyslog' } },
        { name: 'logstream → form POST', expectedLines: topic.records, formPost: true },
        { name: 'logstream → S3 (MinIO)', expectedLines: topic.records, s3: { gzip: false } },
        { name: 'logstream → S3 gzip (MinIO)', expectedLines: topic.records, s3: { gzip: true } },
        { name: 'logstream → S3 + signed manifests (MinIO)', expectedLines: topic.records, s3: { gzip: false, manifests: true } },
        { name: 'logstream file, 2 instances', expectedLines: topic.records, instances: 2 },
        { name: 'logstream → HEC gzip, 2 instances', expectedLines: topic.records, hec: { gzip: true }, instances: 2 },
        { name: 'logstream → HEC gzip level 1', expectedLines: topic.records, hec: { gzip: true, gzipLevel: 1 } },
        // The jobs of the efficiency targets: a query that filters on a field (where), never only `*`.
        { name: 'logstream → HEC no gzip, where', query: SEVERITY_QUERY, expectedLines: topic.highOrCritical, hec: { gzip: false } },
        { name: 'logstream → HEC gzip level 1, where', query: SEVERITY_QUERY, expectedLines: topic.highOrCritical, hec: { gzip: true, gzipLevel: 1 } },
        { name: 'logstream → HEC gzip, where', query: SEVERITY_QUERY, expectedLines: topic.highOrCritical, hec: { gzip: true } },
        // The same jobs on the fallback Kafka client (KAFKA_CLIENT=kafkajs), side by side.
        { name: 'logstream file [kafkajs]', expectedLines: topic.records, env: KAFKAJS },
        { name: 'logstream file+query [kafkajs]', query: SEVERITY_QUERY, expectedLines: topic.highOrCritical, env: KAFKAJS },
        { name: 'logstream → HEC no gzip [kafkajs]', expectedLines: topic.records, hec: { gzip: false }, env: KAFKAJS },
        { name: 'logstream → HEC gzip [kafkajs]', expectedLines: topic.records, hec: { gzip: true }, env: KAFKAJS },
        { name: 'logstream → HEC gzip level 1 [kafkajs]', expectedLines: topic.records, hec: { gzip: true, gzipLevel: 1 }, env: KAFKAJS },
        { name: 'logstream file, 2 instances [kafkajs]', expectedLines: topic.records, instances: 2, env: KAFKAJS },
      ];
      const selected = (c: LogstreamCase): boolean => isSelected(c.name, opts.runs);
      for (const [i, c] of cases.entries()) {
        if (!selected(c)) continue;
        log(`(${String.fromCharCode(98 + i)}) ${c.name} ...`);
        runs.push(await logstreamRow(c, ctx, false));
        // A/B: the same run from the baseline checkout right after, on the same topic and machine state.
        if (opts.baselineRoot) {
          log(`(${String.fromCharCode(98 + i)}) ${c.name} (baseline) ...`);
          runs.push(await logstreamRow({ ...c, name: `${c.name} (baseline)`, root: opts.baselineRoot }, ctx, false));
        }
      }
      const sqsCase: LogstreamCase = { name: 'logstream → SQS (ElasticMQ)', expectedLines: sqsRecordCount(topic.records), sqs: true };
      if (isSelected(sqsCase.name, opts.runs)) {
        log(`(${String.fromCharCode(98 + cases.length)}) ${sqsCase.name}, on ${SQS_TOPIC} (${sqsCase.expectedLines} records) with kcat -C on it first ...`);
        const sqsTopic = await prepareSqsTopic(broker.bootstrap, admin, workDir, sqsCase.expectedLines, opts.recordBytes, PARTITIONS);
        const sqsKcat = toRow(`kcat -C (reference, ${SQS_TOPIC})`, await kcatConsumeAll(broker.bootstrap, SQS_TOPIC), sqsTopic, undefined);
        runs.push(sqsKcat, await logstreamRow(sqsCase, { ...ctx, topic: sqsTopic, topicName: SQS_TOPIC, kcatMbPerSec: sqsKcat.mbPerSec }, false));
      }
      // The first run BENCH_RUNS selected (all: the file run) again, under the profiler.
      const profiled = cases.find(selected);
      if (opts.cpuProfile && profiled) {
        log(`${profiled.name} again under --cpu-prof ...`);
        runs.push(await logstreamRow(profiled, ctx, true));
      }
    }
    return {
      kafkaVersion: broker.version,
      sls: { statedMbPerSec: SLS_STATED.mbPerSec, statedShareOfOneCore: SLS_STATED.shareOfOneCore, mbPerCpuS: SLS_MB_PER_CPU_S },
      topic: { partitions: PARTITIONS, records: topic.records, recordBytes: opts.recordBytes, valueBytes: topic.valueBytes, highOrCritical: topic.highOrCritical },
      generateS,
      produce,
      runs,
      notes,
      problems: runs.flatMap((r) => r.problems),
    };
  } finally {
    await kafka.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The human-readable report of a run. */
export function formatThroughput(r: ThroughputResult): string {
  const out: string[] = [];
  out.push(formatTopicLine(r.topic, r.kafkaVersion));
  out.push(
    `generate: ${fmt(r.generateS)} s; produce (kcat -P, uncompressed): ${fmt(r.produce.wallS)} s = ${fmt(r.produce.mbPerSec)} MB/s, ` +
      `${fmt(r.produce.recordsPerSec, 0)} records/s, ${fmt(r.produce.cpuS)} CPU s`,
  );
  out.push('');
  out.push(
    formatTable(
      ['run', 'wall s', 'MB/s', 'records/s', 'vs kcat', 'CPU s', 'CPU s/100 MB', 'MB/CPU s', 'peak RSS MB'],
      r.runs.map((x) => [
        x.problems.length > 0 ? `${x.name} [FAILED]` : x.name,
        x.wallS,
        x.mbPerSec,
        fmt(x.recordsPerSec, 0),
        fmt(x.ratioToKcat, 2),
        x.cpuS,
        fmt(x.cpuSPer100MB, 2),
        x.mbPerCpuS,
        x.peakRssMbPerInstance ? x.peakRssMbPerInstance.map((v) => fmt(v, 0)).join(' / ') : fmt(x.peakRssMb, 0),
      ]),
    ),
  );
  out.push(
    'MB = 10^6 bytes of record values; logstream times run from process spawn to the group\'s committed offsets covering the topic; ' +
      'the references\' (rsyslog imkafka, Benthos) from their spawn until their output (file, HEC receiver) holds every record.',
  );
  out.push('CPU and RSS are logstream\'s own (rsyslog imkafka: rsyslogd\'s; Benthos: benthos\'s); the receivers\' (HEC, syslog; on the same cores) are in the tables below.');
  if (r.runs.some((x) => x.peakRssMbPerInstance)) {
    out.push(
      '"2 instances": wall from spawning the first daemon until the group\'s committed offsets cover the topic; CPU s (and MB/CPU s) = both daemons together; ' +
        'peak RSS MB = each daemon\'s own peak, "instance 1 / instance 2", not a sum.',
    );
  }
  const sls = r.sls ?? { statedMbPerSec: SLS_STATED.mbPerSec, statedShareOfOneCore: SLS_STATED.shareOfOneCore, mbPerCpuS: SLS_MB_PER_CPU_S };
  out.push(
    `Alibaba SLS's stated figure, "${fmt(sls.statedMbPerSec, 0)} MB/s per consumer at ~${fmt(sls.statedShareOfOneCore * 100, 0)} % of one core", ` +
      `is ${fmt(sls.mbPerCpuS, 0)} MB per CPU-second:`,
  );
  for (const x of r.runs) {
    if (x.vsSls === undefined || !Number.isFinite(x.vsSls)) continue;
    out.push(`  ${x.name}: ${fmt(x.mbPerCpuS, 1)} MB per CPU-second = ${fmt(x.vsSls, 2)}× SLS's stated ${fmt(sls.mbPerCpuS, 0)}`);
  }
  const hecRuns = r.runs.filter((x) => x.hec);
  if (hecRuns.length > 0) {
    out.push('');
    out.push(
      formatTable(
        ['HEC receiver', 'requests', 'events indexed', 'non-200', 'MB received', 'MB decoded', 'gzip ratio', 'B/event', 'recv CPU s', 'recv RSS MB', 'retries', 'sink errors'],
        hecRuns.map((x) => {
          const h = x.hec!;
          const non200 = Object.entries(h.byStatus).reduce((n, [status, k]) => n + (status === '200' ? 0 : k), 0);
          return [
            x.name,
            fmt(h.requests, 0),
            fmt(h.eventsIndexed, 0),
            fmt(non200, 0),
            fmt(h.bytesReceived / MB, 1),
            fmt(h.bytesDecoded / MB, 1),
            `${fmt(h.compressionRatio, 2)} : 1`,
            fmt(h.bytesDecoded / Math.max(1, h.eventsIndexed), 0),
            fmt(h.receiverCpuS, 1),
            fmt(h.receiverPeakRssMb, 0),
            fmt(h.sinkRetries, 0),
            fmt(h.sinkErrors, 0),
          ];
        }),
      ),
    );
    out.push('MB received = request bodies as sent (gzip); decoded = after gunzip (HEC event envelopes); B/event = decoded bytes per indexed event.');
    out.push('The receiver (test/support/hec, --count-only: still parses and checks every event) is its own Node process; its CPU is counted from the shipper\'s spawn until the shipper exited.');
    if (hecRuns.some((x) => x.benthos)) out.push('Benthos: retries "-" (http_client retries internally, no counter), sink errors = its output_error counter.');
    for (const x of hecRuns) if (x.hec!.receiverStderr) out.push('', `${x.name}: HEC receiver stderr:`, ...x.hec!.receiverStderr.split('\n').map((l) => `  ${l}`));
  }
  const syslogRuns = r.runs.filter((x) => x.syslog);
  if (syslogRuns.length > 0) {
    out.push('');
    out.push(
      formatTable(
        ['syslog receiver', 'received', 'expected', 'duplicates', 'MB sent', 'B/msg sent', 'recv MB', 'conns', 'drain s', 'recv CPU s', 'recv CPU s/100 MB', 'recv RSS MB', 'retries', 'sink errors'],
        syslogRuns.map((x) => {
          const s = x.syslog!;
          return [
            x.name,
            fmt(s.received, 0),
            fmt(s.expected, 0),
            fmt(s.duplicates, 0),
            fmt(s.sentBytes / MB, 1),
            fmt(s.sentBytes / Math.max(1, s.expected), 0),
            fmt(s.receiverBytes / MB, 1),
            s.connections === undefined ? '-' : fmt(s.connections, 0),
            fmt(s.drainS, 2),
            fmt(s.receiverCpuS, 1),
            fmt(s.receiverCpuS / (r.topic.valueBytes / MB / 100), 2),
            fmt(s.receiverPeakRssMb, 0),
            fmt(s.sinkRetries, 0),
            fmt(s.sinkErrors, 0),
          ];
        }),
      ),
    );
    out.push('MB sent = octet-counted frames logstream counted as delivered; recv MB = discard: syslog messages received (frames without MSG-LEN SP), rsyslog: its JSON-lines output file.');
    out.push('received = discard: complete frames; rsyslog: lines in its output file. conns = TLS connections accepted (discard only). drain s = logstream\'s exit → the receiver holding every message.');
    out.push('recv CPU runs from logstream\'s spawn until the receiver had settled (rsyslog: written out); per 100 MB of record values. Receivers: bench/lib/syslog-discard-server.ts (count and discard), rsyslogd 8.2302 (test/support/rsyslog.ts: imtcp TLS, lmnsd_ossl, mmpstrucdata, JSON omfile).');
    for (const x of syslogRuns) {
      const s = x.syslog!;
      if (s.reconnected) out.push('', `${x.name}: logstream reconnected (${s.reconnectEvidence.join('; ')}); duplicates ${s.duplicates}`);
      if (s.receiverLog) out.push('', `${x.name}: receiver log:`, ...s.receiverLog.split('\n').map((l) => `  ${l}`));
    }
  }
  const imk = r.runs.find((x) => x.imkafka);
  if (imk) {
    const i = imk.imkafka!;
    out.push('');
    out.push(
      formatTable(
        ['rsyslog imkafka → file', 'lines', 'expected', 'extra', 'missing', 'MB written', 'verbatim', 'start s', 'committed at done', 'committed after exit', 'exit s'],
        [[
          `rsyslogd ${i.rsyslogVersion}`,
          fmt(i.lines, 0),
          fmt(i.expected, 0),
          fmt(i.extra, 0),
          fmt(i.missing, 0),
          fmt(i.outputBytes / MB, 1),
          i.outputBytes === i.expectedBytes ? 'yes' : `no (${fmt(i.expectedBytes / MB, 1)} expected)`,
          fmt(i.startupS, 2),
          i.committedAtDone === undefined ? '-' : fmt(i.committedAtDone, 0),
          i.committedAfterExit === undefined ? '-' : fmt(i.committedAfterExit, 0),
          fmt(i.exitAfterSigtermS, 2),
        ]],
      ),
    );
    out.push(
      'A private rsyslogd (imkafka → omfile, template "%rawmsg%\\n", everything else at its defaults); wall from its spawn until its file held every record; ' +
        'verbatim = the file is exactly the values plus one newline each. imkafka commits on librdkafka\'s auto-commit timer (what was polled into ' +
        'rsyslog\'s in-memory queue, written or not): a reference for speed, not for delivery guarantees (logstream commits only after delivery).',
    );
    if (i.log) out.push('', 'rsyslogd (imkafka) log:', ...i.log.split('\n').map((l) => `  ${l}`));
  }
  out.push(...formatBenthosRuns(r.runs));
  out.push(...formatFormPostRuns(r.runs));
  out.push(...formatS3Runs(r.runs));
  out.push(...formatSqsRuns(r.runs));
  const ls = r.runs.filter((x) => x.logstream);
  if (ls.length > 0) {
    out.push('');
    out.push(
      formatTable(
        ['logstream detail', 'start s', 'MB/s from 1st rec', 'steady rec/s min/med/max', 'delivered s', 'exit s', 'warn lines'],
        ls.map((x) => [
          x.name,
          fmt(x.startupS, 2),
          x.mbPerSecFromFirstRecord,
          x.steadyRecordsPerSec ? `${fmt(x.steadyRecordsPerSec.min, 0)} / ${fmt(x.steadyRecordsPerSec.median, 0)} / ${fmt(x.steadyRecordsPerSec.max, 0)}` : '-',
          fmt(x.logstream!.deliveredS, 2),
          fmt(x.logstream!.exitAfterSigtermS, 2),
          String(x.logstream!.warningCount),
        ]),
      ),
    );
    out.push('start s: spawn → first record in the output file, first event indexed by the HEC receiver, or first message at the syslog receiver.');
    const multi = ls.filter((x) => x.logstream!.perInstance);
    if (multi.length > 0) {
      out.push('');
      out.push(
        formatTable(
          ['instances', 'daemon', 'CPU s', 'peak RSS MB', 'records shipped', 'exit s'],
          multi.flatMap((x) =>
            x.logstream!.perInstance!.map((i) => [
              x.name,
              i.name.slice(x.name.length).trim(),
              i.userS + i.sysS,
              fmt(i.peakRssBytes / MB, 0),
              fmt(i.outputLines ?? i.sentEvents, 0),
              fmt(i.exitAfterSigtermS, 2),
            ]),
          ),
        ),
      );
      out.push('records shipped: lines of the daemon\'s own output file (file sink) or its logstream_sink_sent_events_total (HEC); the split follows the partitions each daemon owned.');
      for (const x of multi) {
        const dup = x.logstream!.duplicateRecords;
        if (dup !== undefined) out.push(`${x.name}: ${fmt(dup, 0)} records in more than one output file.`);
      }
    }
    for (const x of ls) {
      if (x.logstream!.warnings.length > 0) out.push('', `${x.name}: warn+ log lines:`, ...x.logstream!.warnings.map((w) => `  ${w}`));
      if (x.profile) out.push('', `${x.name}:`, formatProfileSummary(x.profile));
    }
  }
  for (const n of r.notes) out.push('', `note: ${n}`);
  return out.join('\n');
}

/** The Benthos references' detail table and the note on what they are. */
function formatBenthosRuns(runs: readonly RunRow[]): string[] {
  const bt = runs.filter((x) => x.benthos);
  if (bt.length === 0) return [];
  const out: string[] = [''];
  out.push(
    formatTable(
      ['Benthos reference', 'delivered', 'expected', 'extra', 'missing', 'MB written', 'verbatim', 'start s', 'committed at done', 'committed after exit', 'output_sent', 'output_error', 'exit s'],
      bt.map((x) => {
        const b = x.benthos!;
        return [
          x.name,
          fmt(b.delivered, 0),
          fmt(b.expected, 0),
          fmt(b.extra, 0),
          fmt(b.missing, 0),
          b.outputBytes === undefined ? '-' : fmt(b.outputBytes / MB, 1),
          b.outputBytes === undefined ? '-' : b.outputBytes === b.expectedBytes ? 'yes' : `no (${fmt((b.expectedBytes ?? Number.NaN) / MB, 1)} expected)`,
          fmt(b.startupS, 2),
          b.committedAtDone === undefined ? '-' : fmt(b.committedAtDone, 0),
          b.committedAfterExit === undefined ? '-' : fmt(b.committedAfterExit, 0),
          b.metrics.outputSent === undefined ? '-' : fmt(b.metrics.outputSent, 0),
          b.metrics.outputError === undefined ? '-' : fmt(b.metrics.outputError, 0),
          fmt(b.exitAfterSigtermS, 2),
        ];
      }),
    ),
  );
  const hb = BENTHOS_HEC_BATCH;
  out.push(
    `Benthos ${bt[0]!.benthos!.version} (scripts/benthos.ts, built from the Go module proxy): input kafka_franz (a consumer group, from the oldest offset, ` +
      `checkpoint_limit ${fmt(bt[0]!.benthos!.checkpointLimit, 0)} per partition: at most ${fmt(BENTHOS_INFLIGHT_RECORDS, 0)} records in flight, logstream's INFLIGHT_MAX_RECORDS default); ` +
      'output file (codec lines) or http_client to the HEC receiver (mapping root.event = this; batches of ' +
      `${hb.count} records / ${fmt(hb.byteSize / 2 ** 20, 0)} MiB / ${hb.period}, archive lines + compress gzip level ${hb.gzipLevel}, max_in_flight ${hb.maxInFlight}); everything else at its defaults. ` +
      'delivered = lines in its file / events the HEC receiver indexed; verbatim = the file is exactly the values plus one newline each; ' +
      'output_sent/output_error = its own counters when the output was complete.',
  );
  out.push(
    'Benthos\'s kafka_franz commits offsets on its own schedule, like rsyslog imkafka: it marks an offset once its output has acknowledged the record ' +
      'and commits the marks every commit_period (5 s) and at shutdown, so its rows are timed until the output holds every record, not (as logstream\'s) ' +
      'until the group\'s commits cover the topic: a speed reference.',
  );
  for (const x of bt) if (x.benthos!.log) out.push('', `${x.name}: benthos log:`, ...x.benthos!.log.split('\n').map((l) => `  ${l}`));
  return out;
}

export function benchOptionsFromEnv(env: NodeJS.ProcessEnv): ThroughputOptions {
  const int = (name: string, dflt: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    return n;
  };
  const runs = filterWords(env['BENCH_RUNS']);
  return {
    records: int('BENCH_RECORDS', 1_000_000),
    recordBytes: int('BENCH_RECORD_BYTES', 1024),
    cpuProfile: env['BENCH_CPU_PROF'] === '1',
    ...(env['BENCH_BASELINE_ROOT'] ? { baselineRoot: env['BENCH_BASELINE_ROOT'] } : {}),
    ...(runs ? { runs } : {}),
    resultsDir: join(REPO_ROOT, 'bench', 'results'),
  };
}

if (import.meta.main) {
  try {
    const r = await runThroughputBench(benchOptionsFromEnv(process.env));
    process.stdout.write(`${formatThroughput(r)}\n`);
    if (r.problems.length > 0) {
      process.stderr.write(`\nBENCHMARK FAILED:\n${r.problems.map((p) => `  - ${p}`).join('\n')}\n`);
      process.exitCode = 1;
    }
  } catch (err) {
    process.stderr.write(`throughput benchmark failed: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
