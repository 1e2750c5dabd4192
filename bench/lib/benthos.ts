// Another shipper doing logstream's jobs, as a reference in the same run on the same topic: Benthos
// (v4.27.0, the last release under github.com/benthosdev/benthos/v4, built from the Go module proxy by
// scripts/benthos.ts), with its Kafka input kafka_franz (franz-go, a consumer group, from the oldest
// offset; checkpoint_limit = 20 000 / partitions, i.e. at most 20 000 records read and not yet
// delivered, logstream's INFLIGHT_MAX_RECORDS default: at Benthos's default, 1024 per partition, the
// HEC output's 8 × 1000-record batches in flight cannot fill and the run is ~4× slower, waiting on
// kafka_franz's pause/resume of partitions, not working) and
//   file         the `file` output, codec lines: one line per record value, verbatim. Checked exactly:
//                N lines and N + sum(value sizes) bytes, the first lines JSON records;
//   http_client  POST to a Splunk HEC receiver (/services/collector/event, `Authorization: Splunk
//                <token>`): a `mapping` processor makes each record `{"event": <the record as JSON>}`,
//                the output batches 1000 records / 2 MiB / 200 ms (logstream's HEC defaults: 1000
//                records / 2 MiB per batch), 8 requests in flight (logstream's 8), and the batch's
//                processors `archive: lines` (the batch becomes one body: the envelopes one per line)
//                then `compress: gzip` level 6 (logstream's HEC_GZIP level), sent with
//                `Content-Encoding: gzip`. The caller owns the receiver and checks its counters.
// Everything else of Benthos stays at its defaults. The config is written as JSON (valid YAML) and
// checked with `benthos lint` first. Benthos's HTTP server (metrics, prometheus) listens on 127.0.0.1
// and a free port: its counters are read when the output is complete.
//
// Measured like the other rows: wall from spawn until the output holds N records (file lines, or the
// caller's count of indexed HEC events; polled every 100 ms), CPU seconds and peak RSS of the benthos
// process from /proc at that moment. Then a settle (the output quiet for 1 s: duplicates would still
// arrive), SIGTERM, and the exit must be 0.
// Timed differently from logstream (spawn → the group's commits cover the topic): kafka_franz marks an
// offset once the output has acknowledged the record and commits the marks on its own timer
// (commit_period, default 5 s) and at shutdown, so "done" here is the output holding every record. A
// reference for speed (the committed offsets at done and after exit are reported).
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/kafka-broker.ts';
import type { BenchAdmin } from './kafka.ts';
import { checkLinesOutput, measureOf, runReference, type ReferenceMeasure } from './reference-run.ts';
import { checkJsonRecordSample } from './rsyslog-kafka.ts';
import { IncrementalLineCounter } from './syslog-receivers.ts';

const execFileP = promisify(execFile);


/** logstream's INFLIGHT_MAX_RECORDS default: records read and not yet delivered, per instance. */
export const BENTHOS_INFLIGHT_RECORDS = 20_000;

/** logstream's HEC defaults, for the http_client output. */
export const BENTHOS_HEC_BATCH = { count: 1000, byteSize: 2 * 1024 * 1024, period: '200ms', maxInFlight: 8, gzipLevel: 6 } as const;

export type BenthosOutput =
  | { kind: 'file' }
  /** `delivered()`: events the receiver has indexed so far (the caller's counter). */
  | { kind: 'hec'; url: string; token: string; delivered: () => Promise<number> };

/** Benthos's own counters (prometheus, summed over labels) when the output was complete. */
export interface BenthosMetrics {
  inputReceived?: number;
  outputSent?: number;
  outputBatchSent?: number;
  outputError?: number;
}

export interface BenthosRunInfo {
  output: 'file' | 'hec';
  version: string;
  /** kafka_franz checkpoint_limit (per partition). */
  checkpointLimit: number;
  expected: number;
  /** After benthos exited: lines of the file, or HEC events indexed. */
  delivered: number;
  extra: number;
  missing: number;
  /** File only: the output's size, and sum of the value sizes + one newline per record. */
  outputBytes: number | undefined;
  expectedBytes: number | undefined;
  /** Spawn → first line / first event indexed. */
  startupS: number | undefined;
  /** The group's committed offsets when the output was complete, and after benthos's exit. */
  committedAtDone: number | undefined;
  committedAfterExit: number | undefined;
  metrics: BenthosMetrics;
  exit: string;
  exitAfterSigtermS: number | undefined;
  groupId: string;
  /** benthos's own output (logger at WARN: only trouble), tail. */
  log: string;
}

export interface BenthosRun extends ReferenceMeasure {
  info: BenthosRunInfo;
  problems: string[];
}

/** The config (an object; JSON is YAML). */
export function benthosConfig(o: { bootstrap: string; topic: string; partitions: number; groupId: string; httpPort: number; output: BenthosOutput; outFile: string }): Record<string, unknown> {
  const input = {
    kafka_franz: {
      seed_brokers: o.bootstrap.split(','),
      topics: [o.topic],
      consumer_group: o.groupId,
      start_from_oldest: true,
      checkpoint_limit: Math.ceil(BENTHOS_INFLIGHT_RECORDS / o.partitions),
    },
  };
  const common = {
    http: { enabled: true, address: `127.0.0.1:${o.httpPort}` },
    input,
    metrics: { prometheus: {} },
    logger: { level: 'WARN', format: 'logfmt' },
  };
  if (o.output.kind === 'file') {
    return { ...common, output: { file: { path: o.outFile, codec: 'lines' } } };
  }
  const b = BENTHOS_HEC_BATCH;
  return {
    ...common,
    pipeline: { processors: [{ mapping: 'root.event = this' }] },
    output: {
      http_client: {
        url: new URL('/services/collector/event', o.output.url).toString(),
        verb: 'POST',
        headers: { Authorization: `Splunk ${o.output.token}`, 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
        max_in_flight: b.maxInFlight,
        batching: {
          count: b.count,
          byte_size: b.byteSize,
          period: b.period,
          processors: [{ archive: { format: 'lines' } }, { compress: { algorithm: 'gzip', level: b.gzipLevel } }],
        },
      },
    },
  };
}

/** Sum of a prometheus metric's samples (all label sets); undefined when absent. */
function promSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'gm');
  for (const m of text.matchAll(re)) sum = (sum ?? 0) + Number(m[1]);
  return sum;
}

async function scrapeMetrics(port: number): Promise<BenthosMetrics> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return {};
    const text = await res.text();
    const out: BenthosMetrics = {};
    const set = (k: keyof BenthosMetrics, name: string): void => {
      const v = promSum(text, name);
      if (v !== undefined) out[k] = v;
    };
    set('inputReceived', 'input_received');
    set('outputSent', 'output_sent');
    set('outputBatchSent', 'output_batch_sent');
    set('outputError', 'output_error');
    return out;
  } catch {
    return {};
  }
}


/**
 * Runs `bin` (benthos) with kafka_franz over `topic` (which holds `records` records, `valueBytes` of
 * values) into `output` until it holds `records` records; `dir` is created and left for the caller.
 */
export async function runBenthos(o: {
  bin: string;
  bootstrap: string;
  topic: string;
  /** Partitions of `topic`: checkpoint_limit is per partition. */
  partitions: number;
  records: number;
  valueBytes: number;
  dir: string;
  admin: BenchAdmin;
  output: BenthosOutput;
}): Promise<BenthosRun> {
  const problems: string[] = [];
  mkdirSync(o.dir, { recursive: true });
  const outFile = join(o.dir, 'records.jsonl');
  const confFile = join(o.dir, 'benthos.yaml');
  const groupId = `benthos-${o.output.kind}-bench-${Date.now()}`;
  const httpPort = await freePort();
  writeFileSync(confFile, `${JSON.stringify(benthosConfig({ bootstrap: o.bootstrap, topic: o.topic, partitions: o.partitions, groupId, httpPort, output: o.output, outFile }), null, 2)}\n`);
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: o.dir, TZ: 'UTC', LANG: 'C.UTF-8' };
  let version = 'unknown';
  try {
    const v = await execFileP(o.bin, ['--version'], { env });
    version = /Version:\s*(\S+)/.exec(v.stdout)?.[1] ?? 'unknown';
    await execFileP(o.bin, ['lint', confFile], { cwd: o.dir, env });
  } catch (e) {
    const err = e as Error & { stderr?: string; stdout?: string };
    throw new Error(`benthos lint rejected ${confFile}: ${err.stderr ?? ''}${err.stdout ?? ''}${err.message}`);
  }

  const lines = o.output.kind === 'file' ? new IncrementalLineCounter(outFile) : undefined;
  const out = o.output;
  const delivered = async (): Promise<number> => (out.kind === 'file' ? lines!.count() : out.delivered());
  const r = await runReference({
    what: 'benthos',
    bin: o.bin,
    args: ['-c', confFile],
    cwd: o.dir,
    env,
    records: o.records,
    delivered,
    atDone: async () => ({ metrics: await scrapeMetrics(httpPort), committed: await o.admin.committedSum(groupId, o.topic).catch(() => undefined) }),
    problems,
    exitTimeoutMs: 30_000,
  });
  const finalDelivered = await delivered();
  let outputBytes: number | undefined;
  let expectedBytes: number | undefined;
  if (o.output.kind === 'file') {
    ({ outputBytes, expectedBytes } = checkLinesOutput('benthos', outFile, finalDelivered, o, problems));
    if (finalDelivered > 0) {
      const bad = await checkJsonRecordSample(outFile);
      if (bad) problems.push(`benthos: ${bad}`);
    }
  }
  // (HEC: the caller checks its receiver's counters.)
  const committedAfterExit = await o.admin.committedSum(groupId, o.topic).catch(() => undefined);
  return {
    ...measureOf(r),
    problems,
    info: {
      output: o.output.kind,
      version,
      checkpointLimit: Math.ceil(BENTHOS_INFLIGHT_RECORDS / o.partitions),
      expected: o.records,
      delivered: finalDelivered,
      extra: Math.max(0, finalDelivered - o.records),
      missing: Math.max(0, o.records - finalDelivered),
      outputBytes,
      expectedBytes,
      startupS: r.startupS,
      committedAtDone: r.atDone?.committed,
      committedAfterExit,
      metrics: r.atDone?.metrics ?? {},
      exit: r.exit,
      exitAfterSigtermS: r.exitAfterSigtermS,
      groupId,
      log: r.log.split('\n').filter((l) => l.trim() !== '').slice(-40).join('\n'),
    },
  };
}
