// The SQS part of the throughput benchmark: a real ElasticMQ (test/support/elasticmq.ts, on the same cores)
// behind every SQS setting at its default, and its own topic: ElasticMQ takes a few thousand messages a
// second and holds them all in its heap, so the run reads BENCH_SQS_RECORDS (default 100 000, at most
// BENCH_RECORDS) records of the same shape as the main topic, and kcat is measured on that topic too.
// After the run every message is received back: each record exactly once, every body a JSON object.
import { join } from 'node:path';
import { ElasticMqPeer } from '../../test/support/elasticmq.ts';
import { produceRecords } from './bench-kafka.ts';
import type { BenchAdmin } from './kafka.ts';
import type { LogstreamSink } from './logstream.ts';
import { readPeakRssBytes, readProcessCpu } from './proc.ts';
import type { GeneratedFile } from './records.ts';
import { fmt, formatTable } from './table.ts';

const MB = 1e6;
const QUEUE = 'logstream-bench';
export const SQS_TOPIC = 'bench-sqs-security-logs';

export interface SqsRunInfo {
  expected: number;
  /** Messages received back, distinct records among them, and what is missing or twice. */
  messages: number;
  missing: number;
  duplicates: number;
  /** Bodies that are not a JSON object with a known recordNumber. */
  bad: number;
  /** Bytes of message bodies logstream counted as sent. */
  sentBytes: number;
  /** ElasticMQ's CPU (user+sys) from just before logstream was spawned until it exited; peak RSS. */
  serverCpuS: number;
  serverPeakRssMb: number;
  readBackS: number;
  sinkRetries: number;
  sinkErrors: number;
}

export interface SqsBench {
  readonly sink: LogstreamSink;
  readonly outputStarted: () => Promise<boolean>;
  /** After logstream has exited: receives every message and checks it. */
  finish(expected: number, metrics: Record<string, number>): Promise<{ info: SqsRunInfo; problems: string[] }>;
  stop(): Promise<void>;
}

/** Records for the SQS run: BENCH_SQS_RECORDS (default 100 000), at most `records`. */
export function sqsRecordCount(records: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['BENCH_SQS_RECORDS']?.replace(/_/g, '');
  const n = raw ? Number(raw) : 100_000;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`BENCH_SQS_RECORDS must be a positive integer, got ${JSON.stringify(raw)}`);
  return Math.min(n, records);
}

/** Creates and fills the SQS run's topic (kcat -P), like the main topic. */
export async function prepareSqsTopic(bootstrap: string, admin: BenchAdmin, workDir: string, records: number, recordBytes: number, partitions: number): Promise<GeneratedFile> {
  await admin.createTopic(SQS_TOPIC, partitions);
  const { topic } = await produceRecords({ bootstrap, admin, topic: SQS_TOPIC, file: join(workDir, 'sqs-records.jsonl'), records, recordBytes, what: SQS_TOPIC });
  return topic;
}

export async function startSqsBench(): Promise<SqsBench> {
  const emq = await ElasticMqPeer.start({ queues: { [QUEUE]: {} }, heapMb: 2048 });
  const cpuBefore = readProcessCpu(emq.pid);
  const env = emq.env(QUEUE);
  delete (env as Record<string, string>).SINKS;
  return {
    sink: { kind: 'sqs', env },
    outputStarted: async () => (await emq.approximateCount(QUEUE)) > 0,
    async finish(expected, metrics) {
      const cpu = readProcessCpu(emq.pid);
      const serverPeakRssMb = readPeakRssBytes(emq.pid) / MB;
      const t0 = performance.now();
      const got = await emq.drain(QUEUE, { expected, quietMs: 2000, timeoutMs: 600_000 });
      const seen = new Uint8Array(expected);
      let duplicates = 0;
      let bad = 0;
      for (const m of got) {
        let id: unknown;
        try {
          id = (JSON.parse(m.body) as { recordNumber?: unknown }).recordNumber;
        } catch {
          // counted as bad below
        }
        if (typeof id !== 'number' || id < 0 || id >= expected) bad++;
        else if (seen[id]!++ > 0) duplicates++;
      }
      let missing = 0;
      for (const c of seen) if (c === 0) missing++;
      const info: SqsRunInfo = {
        expected,
        messages: got.length,
        missing,
        duplicates,
        bad,
        sentBytes: metrics['logstream_sink_sent_bytes_total'] ?? Number.NaN,
        serverCpuS: cpu.userS + cpu.sysS - cpuBefore.userS - cpuBefore.sysS,
        serverPeakRssMb,
        readBackS: (performance.now() - t0) / 1000,
        sinkRetries: metrics['logstream_sink_retries_total'] ?? Number.NaN,
        sinkErrors: metrics['logstream_sink_errors_total'] ?? Number.NaN,
      };
      const problems: string[] = [];
      if (missing > 0) problems.push(`SQS: ${missing} records LOST (no message)`);
      if (duplicates > 0) problems.push(`SQS: ${duplicates} records sent twice${info.sinkRetries > 0 ? ' (logstream retried)' : ' although logstream never retried'}`);
      if (bad > 0) problems.push(`SQS: ${bad} messages are not a bench record`);
      return { info, problems };
    },
    stop: () => emq.close(),
  };
}

export function formatSqsRuns(runs: ReadonlyArray<{ name: string; sqs?: SqsRunInfo }>): string[] {
  const sqs = runs.filter((x) => x.sqs);
  if (sqs.length === 0) return [];
  return [
    '',
    formatTable(
      ['SQS (ElasticMQ)', 'messages', 'expected', 'missing', 'dup', 'MB sent', 'B/msg', 'ElasticMQ CPU s', 'ElasticMQ RSS MB', 'retries', 'sink errors', 'read-back s'],
      sqs.map((x) => {
        const s = x.sqs!;
        return [
          x.name,
          fmt(s.messages, 0),
          fmt(s.expected, 0),
          fmt(s.missing, 0),
          fmt(s.duplicates, 0),
          fmt(s.sentBytes / MB, 1),
          fmt(s.sentBytes / Math.max(1, s.messages), 0),
          fmt(s.serverCpuS, 1),
          fmt(s.serverPeakRssMb, 0),
          fmt(s.sinkRetries, 0),
          fmt(s.sinkErrors, 0),
          fmt(s.readBackS, 1),
        ];
      }),
    ),
    `The SQS run reads its own topic (${SQS_TOPIC}) of ${fmt(sqs[0]!.sqs!.expected, 0)} records, and its "vs kcat" is against kcat on that topic (the row above it).`,
    'ElasticMQ 1.7.1 (in memory, sqs-limits strict) runs on the same cores; every message is received back and checked after the run.',
  ];
}
