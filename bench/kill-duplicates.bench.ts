// What a SIGKILL costs in duplicates, and what committing sooner costs the broker. Two logstream
// instances share a 4-partition topic while a producer writes a steady rate (default 1 000 records/s,
// numbered); each instance in turn is killed with SIGKILL (twice each) and started again at once (a pod OOM-killed
// or its node lost). The records an instance had delivered but not yet committed are delivered again by
// the partitions' next owner: those are the duplicates, and how many there are depends on how long a
// delivered record waits for its commit (KAFKA_COMMIT_INTERVAL). Each interval in BENCH_KILL_INTERVALS
// gets its own topic, group and run; the table shows duplicates per kill, the offset commits the
// instances sent per second (logstream_commits_total, read from each instance just before it is killed
// and at the end) and the broker's CPU seconds during the run (its whole work: fetches, produce,
// commits, so the commits' share shows as the difference between rows). Delivery is to files (file sink).
//
// Alone: node bench/kill-duplicates.bench.ts
//   env BENCH_KILL_RATE (records/s, default 1000), BENCH_KILL_INTERVALS (default 5s,1s,500ms,250ms)
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type Broker } from '../scripts/kafka-broker.ts';
import { connectKafka } from '../src/source/kafka/connect.ts';
import { retryKafka } from '../src/source/kafka/group-admin.ts';
import type { KafkaAdmin, KafkaClient } from '../src/source/kafka/interface.ts';
import { createLogger } from '../src/telemetry/logger.ts';
import { Instance } from '../test/support/instance.ts';
import { readProcessCpu } from './lib/proc.ts';
import { startRateProducer } from './lib/rate-producer.ts';
import { fmt, formatTable } from './lib/table.ts';

const PARTITIONS = 4;
const INSTANCES = 2;
/** Each instance is killed this many times (kills per interval: INSTANCES × ROUNDS). */
const ROUNDS = 2;
const WARMUP_MS = 10_000;
const AFTER_KILL_MS = 12_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface KillRow {
  commitInterval: string;
  produced: number;
  kills: number;
  lost: number;
  duplicates: number;
  dupPerKill: number;
  /** dupPerKill as a share of the records produced per second (seconds of delivery repeated per kill). */
  repeatedSPerKill: number;
  commitsPerS: number;
  brokerCpuS: number;
  runS: number;
}

export interface KillResult {
  ratePerSec: number;
  rows: KillRow[];
  problems: string[];
}

async function metric(inst: Instance, name: string): Promise<number> {
  try {
    return await inst.metricSum(name);
  } catch {
    return 0;
  }
}

async function ownedBy(live: Instance[]): Promise<number> {
  let owned = 0;
  for (const i of live) owned += await metric(i, 'logstream_assigned_partitions');
  return owned;
}

async function untilStable(live: Instance[], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await ownedBy(live)) !== PARTITIONS) {
    if (Date.now() > deadline) throw new Error('the group did not settle (every partition owned) in time');
    await sleep(200);
  }
}

async function oneRun(kafka: KafkaClient, admin: KafkaAdmin, broker: Broker, dir: string, interval: string, ratePerSec: number, problems: string[], prefix = ''): Promise<KillRow> {
  const tag = `${prefix}${interval.replace(/[^a-z0-9]/gi, '')}`;
  const topic = `bench-kill-${tag}`;
  const group = `bench-kill-${tag}`;
  await retryKafka(() => admin.createTopic({ topic, partitions: PARTITIONS }));
  const run = `kill-${tag}-${Date.now()}`;
  const files: string[] = [];
  let generation = 0;
  const live: Instance[] = [];
  const start = (slot: number): Instance => {
    const file = join(dir, `${tag}-i${slot}-g${generation++}.jsonl`);
    files.push(file);
    const inst = new Instance(`kill-${tag}-${slot}`, {
      KAFKA_BROKERS: broker.bootstrap,
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: group,
      KAFKA_DLQ_TOPIC: `${topic}-dlq`,
      KAFKA_COMMIT_INTERVAL: interval,
      KAFKA_SESSION_TIMEOUT: '10s',
      SINKS: 'file',
      FILE_PATH: file,
      FILE_MAX_BYTES: '0',
    });
    live[slot] = inst;
    return inst;
  };
  let commits = 0;
  try {
    for (let i = 0; i < INSTANCES; i++) start(i);
    const producer = kafka.producer();
    await producer.connect();
    const body = 'x'.repeat(200);
    const cpu0 = readProcessCpu(broker.pid);
    const t0 = performance.now();
    const steady = startRateProducer({ producer, topic, partitions: PARTITIONS, ratePerSec, value: (id) => JSON.stringify({ run, id, body }) });
    await untilStable(live);
    await sleep(WARMUP_MS);
    for (let k = 0; k < INSTANCES * ROUNDS; k++) {
      const slot = k % INSTANCES;
      const victim = live[slot]!;
      commits += await metric(victim, 'logstream_commits_total');
      victim.kill('SIGKILL');
      await victim.exited;
      start(slot);
      await untilStable(live);
      await sleep(AFTER_KILL_MS);
    }
    const sent = await steady.stop();
    await producer.disconnect();
    if (sent.error) problems.push(`${interval}: producer failed: ${sent.error}`);
    const produced = sent.produced;
    const deadline = Date.now() + 120_000;
    for (;;) {
      let committed = 0;
      for (const o of (await retryKafka(() => admin.committed(group, topic))).values()) committed += o;
      if (committed >= produced) break;
      if (Date.now() > deadline) {
        problems.push(`${interval}: committed ${committed} of ${produced} after 120 s`);
        break;
      }
      await sleep(200);
    }
    const runS = (performance.now() - t0) / 1000;
    const cpu1 = readProcessCpu(broker.pid);
    for (const i of live) commits += await metric(i, 'logstream_commits_total');
    await Promise.all(live.map((i) => i.stop()));

    const seen = new Uint8Array(produced);
    let duplicates = 0;
    for (const file of files) {
      const text = await readFile(file, 'utf8').catch(() => '');
      for (const line of text.split('\n')) {
        if (!line) continue;
        const r = JSON.parse(line) as { run: string; id: number };
        if (r.run !== run || r.id >= produced) continue;
        if (seen[r.id]) duplicates++;
        else seen[r.id] = 1;
      }
    }
    const lost = seen.reduce((n, x) => n + (x ? 0 : 1), 0);
    if (lost > 0) problems.push(`${interval}: lost ${lost} records`);
    const row: KillRow = {
      commitInterval: interval,
      produced,
      kills: INSTANCES * ROUNDS,
      lost,
      duplicates,
      dupPerKill: duplicates / (INSTANCES * ROUNDS),
      repeatedSPerKill: duplicates / (INSTANCES * ROUNDS) / sent.achievedPerSec,
      commitsPerS: commits / runS,
      brokerCpuS: cpu1.userS + cpu1.sysS - cpu0.userS - cpu0.sysS,
      runS,
    };
    return row;
  } finally {
    for (const i of live) i?.kill('SIGKILL');
  }
}

export async function runKillBench(opts: { ratePerSec: number; intervals: string[]; log?: (s: string) => void }): Promise<KillResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const dir = await mkdtemp(join(tmpdir(), 'ls-bench-kill-'));
  let broker: Broker | undefined;
  const problems: string[] = [];
  const rows: KillRow[] = [];
  try {
    broker = await startBroker({ heapMb: 1024 });
    const kafka = await connectKafka({ brokers: [broker.bootstrap], clientId: 'bench-kill', logger: createLogger({ level: 'silent' }) });
    const admin = kafka.admin();
    try {
      // An unmeasured first run: the broker's JIT warm-up would otherwise be charged to the first row.
      log('warm-up run (not measured) ...');
      await oneRun(kafka, admin, broker, dir, opts.intervals[0] ?? '1s', opts.ratePerSec, [], 'warmup');
      for (const interval of opts.intervals) {
        const row = await oneRun(kafka, admin, broker, dir, interval, opts.ratePerSec, problems);
        rows.push(row);
        log(`kill -9 with KAFKA_COMMIT_INTERVAL=${interval}: ${row.duplicates} duplicates in ${row.kills} kills (${fmt(row.dupPerKill, 0)} per kill), ${fmt(row.commitsPerS, 2)} commits/s, broker CPU ${fmt(row.brokerCpuS, 1)} s in ${fmt(row.runS, 0)} s, lost ${row.lost}`);
      }
    } finally {
      await admin.close();
    }
    return { ratePerSec: opts.ratePerSec, rows, problems };
  } finally {
    await broker?.stop();
    if (broker) await rm(broker.dataDir, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatKill(r: KillResult): string {
  return [
    formatTable(
      ['KAFKA_COMMIT_INTERVAL', 'produced', 'kills', 'lost', 'dup', 'dup per kill', 's of delivery repeated per kill', 'commits/s (2 instances)', 'broker CPU s', 'run s'],
      r.rows.map((x) => [x.commitInterval, fmt(x.produced, 0), String(x.kills), String(x.lost), fmt(x.duplicates, 0), fmt(x.dupPerKill, 0), fmt(x.repeatedSPerKill, 2), fmt(x.commitsPerS, 2), fmt(x.brokerCpuS, 1), fmt(x.runS, 0)]),
    ),
    `${r.ratePerSec} records/s over ${PARTITIONS} partitions, ${INSTANCES} instances (file sink), each killed with SIGKILL ${ROUNDS} times and restarted at once (after a warm-up run that is not shown)`,
  ].join('\n');
}

export function killOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): { ratePerSec: number; intervals: string[] } {
  return {
    ratePerSec: Number(env['BENCH_KILL_RATE'] ?? 1000),
    intervals: (env['BENCH_KILL_INTERVALS'] ?? '5s,1s,500ms,250ms').split(',').map((s) => s.trim()).filter(Boolean),
  };
}

if (import.meta.main) {
  runKillBench(killOptionsFromEnv()).then(
    (r) => {
      process.stdout.write(`${formatKill(r)}\n`);
      for (const p of r.problems) process.stdout.write(`PROBLEM: ${p}\n`);
      process.exitCode = r.problems.length ? 1 : 0;
    },
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
