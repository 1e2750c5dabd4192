// Throughput benchmark: one local broker, one 4-partition topic of N ~1 KiB JSON security records,
// read end to end by
//   (a) kcat -C (librdkafka, values to /dev/null): the reference,
//   (b) logstream → file sink,
//   (c) logstream → file sink with QUERY="* | where severity in ('high','critical')" (drops ~half).
// Everything is measured (wall, CPU, peak RSS), nothing asserted on time; lost or duplicated records,
// an unclean exit or a stall are reported as problems (the entry exits non-zero on any).
//
// Alone: node bench/throughput.bench.ts   (env BENCH_RECORDS, BENCH_RECORD_BYTES, BENCH_CPU_PROF=1)
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DEFAULT_KAFKA_VERSION, silenceKafkajsTimeoutWarning, startBroker, type Broker } from '../scripts/kafka-broker.ts';
import { formatProfileSummary, summariseCpuProfile, type ProfileSummary } from './lib/cpuprofile.ts';
import { connectAdmin, type BenchAdmin } from './lib/kafka.ts';
import { kcatConsumeAll, kcatProduceFile, requireKcat } from './lib/kcat.ts';
import { REPO_ROOT, outputFile, runLogstream, slug, type LogstreamRun, type ProgressSample } from './lib/logstream.ts';
import { writeRecordsFile, type GeneratedFile } from './lib/records.ts';
import { fmt, formatTable } from './lib/table.ts';

export const SEVERITY_QUERY = "* | where severity in ('high','critical')";
const PARTITIONS = 4;
const TOPIC = 'bench-security-logs';
const MB = 1e6;

export interface ThroughputOptions {
  records: number;
  recordBytes: number;
  /** Broker JVM heap, default 2048 MB. */
  heapMb?: number;
  /** Profile the daemon of run (b) with --cpu-prof; the profile is copied to `resultsDir`. */
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
  peakRssMb: number;
  /** logstream only: spawn → first output byte, and the rate measured from that byte on. */
  startupS?: number;
  mbPerSecFromFirstRecord?: number;
  /** logstream only: records/s over 5 s windows between the first and the last commit. */
  steadyRecordsPerSec?: { min: number; median: number; max: number };
  logstream?: Omit<LogstreamRun, 'timeline'> & { timeline: ProgressSample[] };
  profile?: ProfileSummary;
  problems: string[];
}

export interface ThroughputResult {
  kafkaVersion: string;
  topic: { partitions: number; records: number; recordBytes: number; valueBytes: number; highOrCritical: number };
  generateS: number;
  produce: { wallS: number; mbPerSec: number; recordsPerSec: number; cpuS: number };
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

interface LogstreamCase {
  name: string;
  query?: string;
  expectedLines: number;
}

async function logstreamRow(
  c: LogstreamCase,
  ctx: { broker: Broker; admin: BenchAdmin; workDir: string; topic: GeneratedFile; kcatMbPerSec: number; opts: ThroughputOptions },
  profile: boolean,
): Promise<RunRow> {
  const cpuProfDir = profile ? join(ctx.workDir, `prof-${slug(c.name)}`) : undefined;
  const r = await runLogstream({
    name: c.name,
    bootstrap: ctx.broker.bootstrap,
    topic: TOPIC,
    records: ctx.topic.records,
    expectedLines: c.expectedLines,
    ...(c.query !== undefined ? { query: c.query } : {}),
    workDir: ctx.workDir,
    admin: ctx.admin,
    ...(cpuProfDir ? { cpuProfDir } : {}),
  });
  await rm(outputFile(ctx.workDir, c.name), { force: true });
  const row = toRow(profile ? `${c.name} (cpu-prof)` : c.name, r, ctx.topic, ctx.kcatMbPerSec);
  if (r.startupS !== undefined) row.startupS = r.startupS;
  if (r.fromFirstRecordS !== undefined) row.mbPerSecFromFirstRecord = ctx.topic.valueBytes / MB / r.fromFirstRecordS;
  const steady = steadyRates(r.timeline, ctx.topic.records);
  if (steady) row.steadyRecordsPerSec = steady;
  row.logstream = r;
  row.problems = r.problems.map((p) => `${c.name}: ${p}`);
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

export async function runThroughputBench(opts: ThroughputOptions): Promise<ThroughputResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[bench] ${l}\n`));
  requireKcat();
  silenceKafkajsTimeoutWarning();
  const notes: string[] = [];
  const workDir = await mkdtemp(join(tmpdir(), 'logstream-bench-'));
  let broker: Broker | undefined;
  let admin: BenchAdmin | undefined;
  try {
    log(`starting Kafka ${process.env['LOGSTREAM_KAFKA_VERSION'] ?? DEFAULT_KAFKA_VERSION} ...`);
    broker = await startBroker({ heapMb: opts.heapMb ?? 2048 });
    admin = await connectAdmin(broker.bootstrap);
    await admin.createTopic(TOPIC, PARTITIONS);

    log(`generating ${opts.records} records of ${opts.recordBytes} bytes ...`);
    const t = performance.now();
    const topic = writeRecordsFile(join(workDir, 'records.jsonl'), opts.records, opts.recordBytes);
    const generateS = (performance.now() - t) / 1000;

    log(`producing with kcat (${fmt(topic.valueBytes / MB, 0)} MB) ...`);
    const p = await kcatProduceFile(broker.bootstrap, TOPIC, topic.path);
    await rm(topic.path, { force: true });
    const inTopic = await admin.endOffsetSum(TOPIC);
    if (inTopic !== topic.records) throw new Error(`the topic holds ${inTopic} records after producing ${topic.records}`);
    const produce = { wallS: p.wallS, mbPerSec: topic.valueBytes / MB / p.wallS, recordsPerSec: topic.records / p.wallS, cpuS: p.userS + p.sysS };

    log('(a) kcat -C ...');
    const kcatRow = toRow('kcat -C (reference)', await kcatConsumeAll(broker.bootstrap, TOPIC), topic, undefined);
    const runs: RunRow[] = [kcatRow];

    if (!existsSync(join(REPO_ROOT, 'src', 'query', 'index.ts'))) {
      notes.push('logstream runs (b) and (c) skipped: src/query/index.ts does not exist yet, and the daemon cannot start without the query engine.');
    } else {
      const ctx = { broker, admin, workDir, topic, kcatMbPerSec: kcatRow.mbPerSec, opts };
      const cases: LogstreamCase[] = [
        { name: 'logstream file', expectedLines: topic.records },
        { name: 'logstream file+query', query: SEVERITY_QUERY, expectedLines: topic.highOrCritical },
      ];
      for (const c of cases) {
        log(`(${c.query ? 'c' : 'b'}) ${c.name} ...`);
        runs.push(await logstreamRow(c, ctx, false));
      }
      if (opts.cpuProfile) {
        log(`${cases[0]!.name} again under --cpu-prof ...`);
        runs.push(await logstreamRow(cases[0]!, ctx, true));
      }
    }
    return {
      kafkaVersion: broker.version,
      topic: { partitions: PARTITIONS, records: topic.records, recordBytes: opts.recordBytes, valueBytes: topic.valueBytes, highOrCritical: topic.highOrCritical },
      generateS,
      produce,
      runs,
      notes,
      problems: runs.flatMap((r) => r.problems),
    };
  } finally {
    await admin?.close().catch(() => undefined);
    if (broker) {
      log('stopping Kafka ...');
      await broker.stop();
      await rm(broker.dataDir, { recursive: true, force: true });
    }
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The human-readable report of a run. */
export function formatThroughput(r: ThroughputResult): string {
  const out: string[] = [];
  const t = r.topic;
  out.push(
    `topic: ${t.records.toLocaleString('en-US')} records × ${t.recordBytes} B in ${t.partitions} partitions = ${fmt(t.valueBytes / MB, 0)} MB of values; ` +
      `${fmt((100 * t.highOrCritical) / t.records)} % high/critical; Kafka ${r.kafkaVersion}`,
  );
  out.push(
    `generate: ${fmt(r.generateS)} s; produce (kcat -P, uncompressed): ${fmt(r.produce.wallS)} s = ${fmt(r.produce.mbPerSec)} MB/s, ` +
      `${fmt(r.produce.recordsPerSec, 0)} records/s, ${fmt(r.produce.cpuS)} CPU s`,
  );
  out.push('');
  out.push(
    formatTable(
      ['run', 'wall s', 'MB/s', 'records/s', 'vs kcat', 'CPU s', 'CPU s/100 MB', 'MB/CPU s', 'peak RSS MB'],
      r.runs.map((x) => [x.name, x.wallS, x.mbPerSec, fmt(x.recordsPerSec, 0), fmt(x.ratioToKcat, 2), x.cpuS, fmt(x.cpuSPer100MB, 2), x.mbPerCpuS, fmt(x.peakRssMb, 0)]),
    ),
  );
  out.push('MB = 10^6 bytes of record values; logstream times run from process spawn to the group\'s committed offsets covering the topic.');
  out.push('Alibaba\'s reference, "10 MB/s per consumer at ~20 % of one core", is 50 MB per CPU second.');
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
    for (const x of ls) {
      if (x.logstream!.warnings.length > 0) out.push('', `${x.name}: warn+ log lines:`, ...x.logstream!.warnings.map((w) => `  ${w}`));
      if (x.profile) out.push('', `${x.name}:`, formatProfileSummary(x.profile));
    }
  }
  for (const n of r.notes) out.push('', `note: ${n}`);
  return out.join('\n');
}

export function benchOptionsFromEnv(env: NodeJS.ProcessEnv): ThroughputOptions {
  const int = (name: string, dflt: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    return n;
  };
  return {
    records: int('BENCH_RECORDS', 1_000_000),
    recordBytes: int('BENCH_RECORD_BYTES', 1024),
    cpuProfile: env['BENCH_CPU_PROF'] === '1',
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
