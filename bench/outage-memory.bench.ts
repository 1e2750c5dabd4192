// Memory under a sink outage: does one logstream instance stay bounded while its only sink refuses
// connections for minutes and records keep coming?
//
// One local broker, a 4-partition topic, one HEC receiver process (test/support/hec, --count-only),
// one logstream instance (SINKS=splunk_hec, HEC_GZIP=true; every other logstream setting at its
// default, LOG_LEVEL=warn) and, in this process, a producer writing ~1 KiB JSON security records
// (bench/lib/records.ts) at a steady BENCH_OUTAGE_RATE (default 5 000 records/s ≈ 5 MB/s, a send
// every 100 ms, bench/lib/rate-producer.ts) for the whole run. Phases:
//   warm-up   BENCH_OUTAGE_WARMUP_S (default 60) s, healthy;
//   outage    BENCH_OUTAGE_S (default 300) s: the receiver stops listening (POST /_control
//             {op:'restart', downMs}: it closes its listener and every connection, and listens again on
//             the same port afterwards, counters kept); connections to it are refused, which is probed;
//   recovery  the receiver is back, until logstream has caught up: the consumer lag (end offsets −
//             committed) is back to at most the largest lag of the warm-up's second half (the steady
//             state: what one commit interval and the batching hold back), or BENCH_OUTAGE_RECOVERY_CAP_S
//             (default max(120, 2 × outage));
//   drain     the producer stops; until the committed offsets cover everything produced (cap 120 s).
// Every second: logstream's RSS (VmRSS from /proc/<pid>/status), CPU, its in-flight gauges, the
// group's committed offsets, the topic's end offsets and the receiver's eventsIndexed (while it is up).
// In the end the receiver must have indexed every produced record: fewer is a problem (lost); more is
// reported (duplicates: a batch whose connection was cut after the receiver had indexed it is sent
// again; at-least-once allows that).
//
// "Stays flat" is judged by numbers: a problem only if the largest RSS sample during the outage exceeds
// the RSS at the end of the warm-up by more than RSS_HEADROOM_MB (256). Why 256 MB: what logstream
// holds during an outage is bounded by its caps (src/app-config.ts, src/delivery/config.ts,
// src/sinks/splunk-hec/index.ts, src/source/kafka/config.ts; the values in effect are read from
// loadConfig() with the daemon's own environment and printed): INFLIGHT_MAX_RECORDS 20 000 and
// INFLIGHT_MAX_BYTES 64 MiB of records read but not acknowledged (partitions pause beyond them: Kafka
// is the buffer), HEC batches of at most 1 000 records / 2 MiB with 8 in flight, fetches of 1 MiB per
// partition. With 1 KiB records the record cap binds (≈ 20 MB of values); even at the 64 MiB byte cap,
// with JS object overhead, encoded batch copies and V8's heap slack, that is well under 256 MB. More
// than that during the outage means memory grows with the outage, not with the caps. The RSS slope over
// the outage's second half (least squares, MB/min) is reported as well.
//
// Alone: node bench/outage-memory.bench.ts   (env BENCH_OUTAGE_S, BENCH_OUTAGE_WARMUP_S,
//        BENCH_OUTAGE_RATE, BENCH_OUTAGE_RECOVERY_CAP_S, BENCH_RECORD_BYTES)
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/app-config.ts';
import { connectKafka } from '../src/source/kafka/connect.ts';
import { createLogger } from '../src/telemetry/logger.ts';
import { HecProcess } from '../test/support/hec/process.ts';
import type { HecStats } from '../test/support/hec/receiver.ts';
import { BenchKafka } from './lib/bench-kafka.ts';
import { scrapeCounters, startLogstreamDaemon, type LogstreamDaemon } from './lib/logstream.ts';
import { readPeakRssBytes, readProcessCpu } from './lib/proc.ts';
import { startRateProducer, type RateProducer, type RateProducerResult } from './lib/rate-producer.ts';
import { makeRecordFactory } from './lib/records.ts';
import { stopReceiver } from './lib/stop-receiver.ts';
import { fmt, formatTable } from './lib/table.ts';

const TOPIC = 'bench-outage';
const PARTITIONS = 4;
const MB = 1e6;
const MiB = 1024 * 1024;
/** Allowed RSS growth during the outage over the end of the warm-up (see the header). */
export const RSS_HEADROOM_MB = 256;
const DRAIN_CAP_S = 120;
const RECORD_POOL = 10_000;

export type OutagePhase = 'warm-up' | 'outage' | 'recovery' | 'drain';

export interface OutageSample {
  /** Seconds since logstream was spawned. */
  tS: number;
  phase: OutagePhase;
  rssMb: number | undefined;
  cpuS: number | undefined;
  /** Records the producer had written (acknowledged). */
  produced: number;
  /** Sum of the topic's end offsets. */
  endOffsets: number | undefined;
  /** Sum of the group's committed offsets. */
  committed: number | undefined;
  /** The receiver's eventsIndexed; undefined while it is down. */
  indexed: number | undefined;
  inflightRecords: number | undefined;
  inflightBytes: number | undefined;
}

export interface OutageOptions {
  outageS: number;
  warmupS: number;
  ratePerSec: number;
  recordBytes: number;
  recoveryCapS: number;
  log?: (line: string) => void;
}

export interface OutagePhaseRow {
  phase: OutagePhase;
  fromS: number;
  toS: number;
  rssStartMb: number | undefined;
  rssMaxMb: number | undefined;
  rssEndMb: number | undefined;
  /** endOffsets − committed at the phase's last sample. */
  lagEnd: number | undefined;
  inflightRecordsMax: number | undefined;
}

export interface OutageResult {
  params: OutageOptions & { partitions: number; hecGzip: true };
  /** The logstream limits in effect (loadConfig() on the daemon's environment). */
  caps: {
    inflightMaxRecords: number;
    inflightMaxBytes: number;
    hecBatchMaxRecords: number;
    hecBatchMaxBytes: number;
    hecConcurrency: number;
    hecRetryMaxMs: number;
    kafkaMaxBytesPerPartition: number;
    kafkaCommitIntervalMs: number;
  };
  producer: RateProducerResult;
  /** Measured: the receiver's listener closed → listening again. */
  receiverDownS: number | undefined;
  /** TCP connects to the receiver's port during the outage: refused / tried. */
  refusedProbes: { refused: number; tried: number };
  phases: OutagePhaseRow[];
  rssEndWarmupMb: number | undefined;
  rssMaxOutageMb: number | undefined;
  rssEndOutageMb: number | undefined;
  rssMaxMb: number | undefined;
  /** VmHWM of logstream before it was stopped (includes peaks between samples). */
  peakRssMb: number | undefined;
  /** Least-squares slope of RSS over the outage's second half. */
  rssSlopeLastHalfMbPerMin: number | undefined;
  rssThresholdMb: number | undefined;
  lagEndOutage: number | undefined;
  /** The largest lag of the warm-up's second half: "caught up" means back to at most this. */
  lagSteadyMax: number | undefined;
  /** Receiver back → the first sample with more events indexed than when it came back (delivery
   *  resumed: includes the wait for logstream's next retry, whose delay had grown up to HEC_RETRY_MAX). */
  resumedS: number | undefined;
  /** Receiver back → lag ≤ lagSteadyMax. */
  catchUpS: number | undefined;
  /** Receiver back → committed ≥ the end offsets when it came back (the outage's backlog delivered). */
  backlogDrainedS: number | undefined;
  produced: number;
  indexed: number | undefined;
  lost: number;
  duplicates: number;
  sinkRetries: number | undefined;
  sinkErrors: number | undefined;
  logstreamExit: string;
  warnings: string[];
  samples: OutageSample[];
  notes: string[];
  problems: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function readRssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** true when a TCP connect to 127.0.0.1:port is refused (nothing listening). */
function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 2000);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code === 'ECONNREFUSED');
    });
  });
}

async function hecStats(hec: HecProcess): Promise<HecStats | undefined> {
  try {
    const r = await fetch(`${hec.url}/_stats`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? ((await r.json()) as HecStats) : undefined;
  } catch {
    return undefined;
  }
}

const GAUGES = ['logstream_inflight_records', 'logstream_inflight_bytes', 'logstream_sink_retries_total', 'logstream_sink_errors_total'] as const;

/** Least-squares slope of y over x. */
function slope(points: ReadonlyArray<{ x: number; y: number }>): number | undefined {
  if (points.length < 2) return undefined;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? undefined : num / den;
}

const maxOf = (xs: ReadonlyArray<number | undefined>): number | undefined => {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length ? Math.max(...v) : undefined;
};

export async function runOutageBench(opts: OutageOptions): Promise<OutageResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[outage] ${l}\n`));
  const problems: string[] = [];
  const notes: string[] = [];
  const workDir = await mkdtemp(join(tmpdir(), 'logstream-bench-outage-'));
  const benchKafka = new BenchKafka(log);
  let hec: HecProcess | undefined;
  let daemon: LogstreamDaemon | undefined;
  let steady: RateProducer | undefined;
  let producerResult: RateProducerResult | undefined;
  const kafkaClients: Array<{ disconnect(): Promise<void> }> = [];
  try {
    log('starting Kafka ...');
    const { broker, admin } = await benchKafka.start({ heapMb: 1024, topic: TOPIC, partitions: PARTITIONS });
    const token = randomUUID();
    hec = await HecProcess.start(['--port', '0', '--host', '127.0.0.1', '--token', token, '--count-only']);

    const make = makeRecordFactory(opts.recordBytes, 7);
    const pool = Array.from({ length: RECORD_POOL }, (_, i) => make(i).line);
    const kafka = await connectKafka({ brokers: [broker.bootstrap], clientId: 'bench-outage', logger: createLogger({ level: 'silent' }) });
    const producer = kafka.producer();
    await producer.connect();
    kafkaClients.push(producer);
    steady = startRateProducer({ producer, topic: TOPIC, partitions: PARTITIONS, ratePerSec: opts.ratePerSec, value: (i) => pool[i % RECORD_POOL]!, tickMs: 100, maxBatch: 2000 });

    daemon = await startLogstreamDaemon({
      name: 'outage HEC gzip',
      bootstrap: broker.bootstrap,
      topic: TOPIC,
      workDir,
      sink: { kind: 'splunk_hec', url: hec.url, token, gzip: true },
      // logstream's default commit interval (the bench helper shortens it for its own runs)
      env: { KAFKA_COMMIT_INTERVAL: undefined },
    });
    const d = daemon;
    const cfg = loadConfig(d.env);
    const hecSetup = cfg.routes[0]!.sinks[0]!;
    const caps: OutageResult['caps'] = {
      inflightMaxRecords: cfg.inflightMaxRecords,
      inflightMaxBytes: cfg.inflightMaxBytes,
      hecBatchMaxRecords: hecSetup.delivery.batchMaxRecords,
      hecBatchMaxBytes: hecSetup.delivery.batchMaxBytes,
      hecConcurrency: hecSetup.delivery.concurrency,
      hecRetryMaxMs: hecSetup.delivery.retryMaxMs,
      kafkaMaxBytesPerPartition: cfg.kafka.maxBytesPerPartition,
      kafkaCommitIntervalMs: cfg.kafka.commitIntervalMs,
    };
    const t0 = d.spawnedAt;
    const elapsed = (): number => (performance.now() - t0) / 1000;
    const hecProc = hec;

    let phase: OutagePhase = 'warm-up';
    const samples: OutageSample[] = [];
    const sampleOnce = async (): Promise<OutageSample> => {
      const tS = elapsed();
      const rss = readRssBytes(d.pid);
      let cpuS: number | undefined;
      try {
        const c = readProcessCpu(d.pid);
        cpuS = c.userS + c.sysS;
      } catch {
        cpuS = undefined;
      }
      const [committed, endOffsets, stats, gauges] = await Promise.all([
        admin.committedSum(d.groupId, TOPIC).catch(() => undefined),
        admin.endOffsetSum(TOPIC).catch(() => undefined),
        hecStats(hecProc),
        scrapeCounters(d.httpPort, GAUGES),
      ]);
      const s: OutageSample = {
        tS,
        phase,
        rssMb: rss === undefined ? undefined : rss / MB,
        cpuS,
        produced: steady?.produced ?? 0,
        endOffsets,
        committed,
        indexed: stats?.eventsIndexed,
        inflightRecords: gauges?.['logstream_inflight_records'],
        inflightBytes: gauges?.['logstream_inflight_bytes'],
      };
      samples.push(s);
      return s;
    };
    // One sample a second, on a fixed grid; `until` is checked after every sample.
    const sampleUntil = async (until: (s: OutageSample) => boolean | Promise<boolean>): Promise<OutageSample> => {
      for (;;) {
        if (d.exitCode !== undefined) throw new Error(`logstream exited (code ${d.exitCode}) during the ${phase} phase; log: ${d.logFile}`);
        const s = await sampleOnce();
        if (await until(s)) return s;
        const next = Math.ceil(elapsed() + 1e-3);
        await sleep(Math.max(0, (next - elapsed()) * 1000));
      }
    };
    const lagOf = (s: OutageSample): number | undefined => (s.endOffsets !== undefined && s.committed !== undefined ? s.endOffsets - s.committed : undefined);

    log(`warm-up ${opts.warmupS} s at ${opts.ratePerSec} records/s ...`);
    await sampleUntil((s) => s.tS >= opts.warmupS);

    log(`outage: the HEC receiver stops listening for ${opts.outageS} s ...`);
    phase = 'outage';
    const outageFromS = elapsed();
    await hecProc.control({ op: 'restart', downMs: opts.outageS * 1000, keepState: true });
    // The receiver replies first and then closes: wait until its port refuses connections.
    let downAtS: number | undefined;
    for (let i = 0; i < 50 && downAtS === undefined; i++) {
      if (await connectRefused(hecProc.port)) downAtS = elapsed();
      else await sleep(100);
    }
    if (downAtS === undefined) problems.push('the HEC receiver still accepted connections 5 s after it was told to stop listening');
    const refusedProbes = { refused: downAtS === undefined ? 0 : 1, tried: 1 };
    let backAtS: number | undefined;
    const probeEveryS = Math.max(5, Math.floor(opts.outageS / 10));
    let nextProbeS = (downAtS ?? outageFromS) + probeEveryS;
    await sampleUntil(async (s) => {
      if (hecProc.proc.exitCode !== null || hecProc.proc.signalCode !== null) throw new Error(`the HEC receiver exited during the outage: ${hecProc.stderr.slice(-2000)}`);
      if (s.indexed !== undefined && s.tS > (downAtS ?? outageFromS + opts.outageS) + 1) {
        backAtS = s.tS;
        return true;
      }
      // Probe that it refuses, a few times over the outage (not in its last second).
      if (s.tS >= nextProbeS && s.tS < (downAtS ?? outageFromS) + opts.outageS - 1) {
        nextProbeS += probeEveryS;
        refusedProbes.tried++;
        if (await connectRefused(hecProc.port)) refusedProbes.refused++;
      }
      return s.tS > outageFromS + opts.outageS + 60;
    });
    if (backAtS === undefined) throw new Error(`the HEC receiver did not listen again within 60 s after its ${opts.outageS} s outage: ${hecProc.stderr.slice(-2000)}`);
    const backS: number = backAtS;
    if (refusedProbes.refused !== refusedProbes.tried) problems.push(`only ${refusedProbes.refused} of ${refusedProbes.tried} connects during the outage were refused`);
    const receiverDownS = downAtS === undefined ? undefined : backS - downAtS;
    // The last outage sample is the one before the receiver answered again.
    const lastOutage = [...samples].reverse().find((s) => s.phase === 'outage' && s.indexed === undefined);
    samples[samples.length - 1]!.phase = 'recovery';
    phase = 'recovery';
    log(`receiver back after ${fmt(receiverDownS, 1)} s; recovery ...`);

    const warmSecondHalf = samples.filter((s) => s.phase === 'warm-up' && s.tS >= opts.warmupS / 2);
    const lagSteadyMax = maxOf(warmSecondHalf.map(lagOf));
    const backlog = lastOutage?.endOffsets;
    let catchUpS: number | undefined;
    let backlogDrainedS: number | undefined;
    let resumedS: number | undefined;
    const indexedAtReturn = samples[samples.length - 1]!.indexed;
    const recoveryCapAt = backS + opts.recoveryCapS;
    await sampleUntil((s) => {
      const lag = lagOf(s);
      if (resumedS === undefined && s.indexed !== undefined && indexedAtReturn !== undefined && s.indexed > indexedAtReturn) resumedS = s.tS - backS;
      if (backlogDrainedS === undefined && backlog !== undefined && s.committed !== undefined && s.committed >= backlog) backlogDrainedS = s.tS - backS;
      if (catchUpS === undefined && lag !== undefined && lagSteadyMax !== undefined && lag <= lagSteadyMax) catchUpS = s.tS - backS;
      return catchUpS !== undefined || s.tS >= recoveryCapAt;
    });
    if (catchUpS === undefined) problems.push(`logstream had not caught up ${opts.recoveryCapS} s after the receiver returned (lag ${lagOf(samples[samples.length - 1]!)} records, steady state ≤ ${lagSteadyMax})`);

    log('drain: producer stopped, waiting for the committed offsets to cover the topic ...');
    phase = 'drain';
    producerResult = await steady.stop();
    steady = undefined;
    if (producerResult.error) problems.push(`producer failed: ${producerResult.error}`);
    if (producerResult.achievedPerSec < 0.95 * opts.ratePerSec) {
      notes.push(`the producer achieved ${fmt(producerResult.achievedPerSec, 0)} records/s, below the ${opts.ratePerSec} asked for (longest send ${fmt(producerResult.maxSendMs, 0)} ms)`);
    }
    const produced = await admin.endOffsetSum(TOPIC);
    if (produced !== producerResult.produced) notes.push(`the topic holds ${produced} records, the producer counted ${producerResult.produced} acknowledged`);
    const drainFromS = elapsed();
    const last = await sampleUntil((s) => (s.committed !== undefined && s.committed >= produced) || s.tS >= drainFromS + DRAIN_CAP_S);
    if ((last.committed ?? 0) < produced) problems.push(`committed offsets ${last.committed} < produced ${produced} ${DRAIN_CAP_S} s after the producer stopped`);

    const peakRssMb = (() => {
      try {
        return readPeakRssBytes(d.pid) / MB;
      } catch {
        return undefined;
      }
    })();
    const gauges = await scrapeCounters(d.httpPort, GAUGES);
    const stopped = await d.stop();
    const logstreamExit = stopped.killed ? 'killed after SIGTERM' : String(d.exitCode);
    if (stopped.killed) problems.push('logstream did not exit within 30 s of SIGTERM; killed');
    else if (d.exitCode !== 0) problems.push(`logstream exit code ${d.exitCode} (expected 0 after SIGTERM)`);
    // logstream has exited: nothing more can arrive.
    const stats = await hecStats(hecProc);
    const indexed = stats?.eventsIndexed;
    if (indexed === undefined) problems.push('could not read the HEC receiver\'s counters at the end');
    const lost = indexed === undefined ? 0 : Math.max(0, produced - indexed);
    const duplicates = indexed === undefined ? 0 : Math.max(0, indexed - produced);
    if (lost > 0) problems.push(`the HEC receiver indexed ${indexed} of ${produced} produced records: ${lost} LOST`);
    if (stats && stats.eventsDiscarded > 0) problems.push(`the HEC receiver discarded ${stats.eventsDiscarded} events`);
    const non200 = stats ? Object.entries(stats.byStatus).filter(([k, n]) => k !== '200' && n > 0) : [];
    if (non200.length > 0) notes.push(`HEC replies other than 200: ${non200.map(([k, n]) => `${n} × ${k}`).join(', ')} ("dropped" = connections the receiver closed in the outage)`);

    // phases and RSS figures
    const phaseNames: OutagePhase[] = ['warm-up', 'outage', 'recovery', 'drain'];
    const phases: OutagePhaseRow[] = phaseNames.flatMap((p) => {
      const ss = samples.filter((s) => s.phase === p);
      if (ss.length === 0) return [];
      return [{
        phase: p,
        fromS: ss[0]!.tS,
        toS: ss[ss.length - 1]!.tS,
        rssStartMb: ss[0]!.rssMb,
        rssMaxMb: maxOf(ss.map((s) => s.rssMb)),
        rssEndMb: ss[ss.length - 1]!.rssMb,
        lagEnd: lagOf(ss[ss.length - 1]!),
        inflightRecordsMax: maxOf(ss.map((s) => s.inflightRecords)),
      }];
    });
    const warm = phases.find((p) => p.phase === 'warm-up');
    const out = phases.find((p) => p.phase === 'outage');
    const outSamples = samples.filter((s) => s.phase === 'outage');
    const outFrom = downAtS ?? outageFromS;
    const half = outSamples.filter((s) => s.tS >= outFrom + (backS - outFrom) / 2 && s.rssMb !== undefined).map((s) => ({ x: s.tS / 60, y: s.rssMb! }));
    const rssSlopeLastHalfMbPerMin = slope(half);
    const rssEndWarmupMb = warm?.rssEndMb;
    const rssThresholdMb = rssEndWarmupMb === undefined ? undefined : rssEndWarmupMb + RSS_HEADROOM_MB;
    const rssMaxOutageMb = out?.rssMaxMb;
    if (rssThresholdMb !== undefined && rssMaxOutageMb !== undefined && rssMaxOutageMb > rssThresholdMb) {
      problems.push(`logstream's RSS reached ${fmt(rssMaxOutageMb, 0)} MB during the outage, more than ${RSS_HEADROOM_MB} MB above the ${fmt(rssEndWarmupMb, 0)} MB at the end of the warm-up`);
    }
    if (rssMaxOutageMb === undefined) problems.push('no RSS sample during the outage');
    const warnText = readFileSync(d.logFile, 'utf8').split('\n').filter((l) => l.trim() !== '');
    return {
      params: { ...opts, partitions: PARTITIONS, hecGzip: true },
      caps,
      producer: producerResult,
      receiverDownS,
      refusedProbes,
      phases,
      rssEndWarmupMb,
      rssMaxOutageMb,
      rssEndOutageMb: out?.rssEndMb,
      rssMaxMb: maxOf(samples.map((s) => s.rssMb)),
      peakRssMb,
      rssSlopeLastHalfMbPerMin,
      rssThresholdMb,
      lagEndOutage: lastOutage ? lagOf(lastOutage) : undefined,
      lagSteadyMax,
      resumedS,
      catchUpS,
      backlogDrainedS,
      produced,
      indexed,
      lost,
      duplicates,
      sinkRetries: gauges?.['logstream_sink_retries_total'],
      sinkErrors: gauges?.['logstream_sink_errors_total'],
      logstreamExit,
      warnings: [...warnText.slice(0, 10), ...(warnText.length > 20 ? [`... ${warnText.length - 20} more ...`] : []), ...warnText.slice(Math.max(10, warnText.length - 10))],
      samples,
      notes,
      problems,
    };
  } finally {
    if (steady) await steady.stop().catch(() => undefined);
    for (const c of kafkaClients) await c.disconnect().catch(() => undefined);
    if (daemon && daemon.exitCode === undefined) await daemon.stop();
    if (hec) await stopReceiver(hec, 'HEC receiver');
    await benchKafka.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

export function formatOutage(r: OutageResult): string {
  const o: string[] = [];
  const p = r.params;
  const c = r.caps;
  o.push(
    `${PARTITIONS} partitions; producer ${fmt(p.ratePerSec, 0)} records/s of ${p.recordBytes} B asked, ${fmt(r.producer.achievedPerSec, 0)} achieved ` +
      `(${fmt((r.producer.achievedPerSec * p.recordBytes) / MB, 1)} MB/s); logstream → HEC gzip, defaults; receiver down ${fmt(r.receiverDownS, 1)} s ` +
      `(connects refused: ${r.refusedProbes.refused} of ${r.refusedProbes.tried})`,
  );
  o.push(
    `logstream caps in effect: INFLIGHT_MAX_RECORDS ${fmt(c.inflightMaxRecords, 0)}, INFLIGHT_MAX_BYTES ${fmt(c.inflightMaxBytes / MiB, 0)} MiB, ` +
      `HEC batches ≤ ${fmt(c.hecBatchMaxRecords, 0)} records / ${fmt(c.hecBatchMaxBytes / MiB, 0)} MiB × ${c.hecConcurrency} in flight, retry delay ≤ ${fmt(c.hecRetryMaxMs / 1000, 0)} s, ` +
      `fetch ${fmt(c.kafkaMaxBytesPerPartition / MiB, 0)} MiB per partition, commit every ${fmt(c.kafkaCommitIntervalMs / 1000, 0)} s`,
  );
  o.push('');
  o.push(
    formatTable(
      ['phase', 'from s', 'to s', 'RSS start MB', 'RSS max MB', 'RSS end MB', 'in-flight max', 'lag at end'],
      r.phases.map((x) => [x.phase, fmt(x.fromS, 0), fmt(x.toS, 0), fmt(x.rssStartMb, 0), fmt(x.rssMaxMb, 0), fmt(x.rssEndMb, 0), fmt(x.inflightRecordsMax, 0), fmt(x.lagEnd, 0)]),
    ),
  );
  o.push('RSS = VmRSS of logstream sampled every second; in-flight = logstream_inflight_records; lag = topic end offsets − the group\'s committed offsets (records).');
  o.push('');
  const grew = r.rssMaxOutageMb !== undefined && r.rssEndWarmupMb !== undefined ? r.rssMaxOutageMb - r.rssEndWarmupMb : undefined;
  o.push(
    `RSS: end of warm-up ${fmt(r.rssEndWarmupMb, 0)} MB; max during the outage ${fmt(r.rssMaxOutageMb, 0)} MB (${grew === undefined ? '-' : `${grew >= 0 ? '+' : ''}${fmt(grew, 0)}`} MB); ` +
      `end of outage ${fmt(r.rssEndOutageMb, 0)} MB; max overall ${fmt(r.rssMaxMb, 0)} MB (VmHWM ${fmt(r.peakRssMb, 0)} MB); ` +
      `slope over the outage's second half ${r.rssSlopeLastHalfMbPerMin === undefined ? '-' : `${r.rssSlopeLastHalfMbPerMin >= 0 ? '+' : ''}${fmt(r.rssSlopeLastHalfMbPerMin, 2)}`} MB/min`,
  );
  o.push(
    `flat? max RSS during the outage must stay ≤ warm-up RSS + ${RSS_HEADROOM_MB} MB = ${fmt(r.rssThresholdMb, 0)} MB: ` +
      `${r.rssMaxOutageMb !== undefined && r.rssThresholdMb !== undefined ? (r.rssMaxOutageMb <= r.rssThresholdMb ? 'yes' : 'NO') : '-'}`,
  );
  o.push(
    `records: produced ${fmt(r.produced, 0)}; indexed by the receiver ${fmt(r.indexed, 0)}; lost ${fmt(r.lost, 0)}; duplicates ${fmt(r.duplicates, 0)}; ` +
      `logstream sink retries ${fmt(r.sinkRetries, 0)}, sink errors ${fmt(r.sinkErrors, 0)}`,
  );
  o.push(
    `lag at the end of the outage ${fmt(r.lagEndOutage, 0)} records (${fmt(((r.lagEndOutage ?? Number.NaN) * p.recordBytes) / MB, 0)} MB); ` +
      `after the receiver returned: delivery resumed in ${fmt(r.resumedS, 1)} s (the next retry; delay ≤ ${fmt(c.hecRetryMaxMs / 1000, 0)} s), ` +
      `backlog committed in ${fmt(r.backlogDrainedS, 1)} s, lag back to the warm-up's ≤ ${fmt(r.lagSteadyMax, 0)} in ${fmt(r.catchUpS, 1)} s`,
  );
  o.push(`logstream exit after SIGTERM: ${r.logstreamExit}; ${r.samples.length} per-second samples in the JSON (outage.samples).`);
  if (r.warnings.length > 0) o.push('', 'logstream warn+ log lines (first and last 10):', ...r.warnings.map((w) => `  ${w.slice(0, 300)}`));
  for (const n of r.notes) o.push('', `note: ${n}`);
  return o.join('\n');
}

export function outageOptionsFromEnv(env: NodeJS.ProcessEnv): OutageOptions {
  const int = (name: string, dflt: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    return n;
  };
  const outageS = int('BENCH_OUTAGE_S', 300);
  return {
    outageS,
    warmupS: int('BENCH_OUTAGE_WARMUP_S', 60),
    ratePerSec: int('BENCH_OUTAGE_RATE', 5000),
    recordBytes: int('BENCH_RECORD_BYTES', 1024),
    recoveryCapS: int('BENCH_OUTAGE_RECOVERY_CAP_S', Math.max(120, 2 * outageS)),
  };
}

if (import.meta.main) {
  try {
    const r = await runOutageBench(outageOptionsFromEnv(process.env));
    process.stdout.write(`${formatOutage(r)}\n`);
    if (r.problems.length > 0) {
      process.stderr.write(`\nBENCHMARK FAILED:\n${r.problems.map((p) => `  - ${p}`).join('\n')}\n`);
      process.exitCode = 1;
    }
  } catch (err) {
    process.stderr.write(`outage benchmark failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
