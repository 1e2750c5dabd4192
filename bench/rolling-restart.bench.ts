// What a rolling restart costs with kafkajs (eager rebalancing, no static membership): 3 logstream
// instances share a 6-partition topic while a producer writes a steady 2000 records/s; each instance
// in turn gets SIGTERM and is started again (as a Deployment rollout does, maxUnavailable 1). For each
// restart: how long delivery stopped completely (the longest gap in delivery), how long until the group
// was stable again (3 members, 6 partitions owned), and in the end lost and duplicated records
// (run id + sequence in every record). Duplicates must be 0: SIGTERM drains and commits.
// Delivery is sampled as the total size of the instances' output files (file sink), every 100 ms.
//
// Alone: node bench/rolling-restart.bench.ts   (env BENCH_RESTART_RATE, records/s, default 2000)
import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type Broker } from '../scripts/kafka-broker.ts';
import { connectKafka } from '../src/source/kafka/connect.ts';
import { retryKafka } from '../src/source/kafka/group-admin.ts';
import { createLogger } from '../src/telemetry/logger.ts';
import { Instance } from '../test/support/instance.ts';
import { startRateProducer } from './lib/rate-producer.ts';
import { fmt, formatTable } from './lib/table.ts';

const PARTITIONS = 6;
const INSTANCES = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RestartRow {
  instance: string;
  /** Longest stretch with no record delivered by any instance, from SIGTERM until stable + 5 s. */
  stallS: number;
  /** SIGTERM → the old process exited (drained, committed, left). */
  stopS: number;
  /** SIGTERM → group stable again with the replacement (3 members owning all partitions). */
  stableS: number;
}

export interface RollingRestartResult {
  ratePerSec: number;
  produced: number;
  delivered: number;
  lost: number;
  duplicates: number;
  restarts: RestartRow[];
  /** Longest delivery gap in the steady state before the first restart (the sampling floor). */
  baselineStallS: number;
  problems: string[];
}

async function metricSum(inst: Instance, name: string): Promise<number> {
  try {
    return await inst.metricSum(name);
  } catch {
    return 0;
  }
}

export async function runRollingRestartBench(opts: { ratePerSec: number; log?: (s: string) => void }): Promise<RollingRestartResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const dir = await mkdtemp(join(tmpdir(), 'ls-bench-rolling-'));
  let broker: Broker | undefined;
  const live: Instance[] = [];
  const problems: string[] = [];
  try {
    broker = await startBroker({ heapMb: 1024 });
    const kafka = connectKafka({ brokers: [broker.bootstrap], clientId: 'bench-rolling', logger: createLogger({ level: 'silent' }) });
    const admin = kafka.admin();
    const topic = 'bench-rolling';
    await retryKafka(() => admin.createTopic({ topic, partitions: PARTITIONS }));
    const run = `rolling-${Date.now()}`;
    const env = (name: string) => ({
      KAFKA_BROKERS: broker!.bootstrap,
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: 'bench-rolling',
      KAFKA_DLQ_TOPIC: 'bench-rolling-dlq',
      SINKS: 'file',
      FILE_PATH: join(dir, `${name}.jsonl`),
      FILE_MAX_BYTES: '0',
    });
    let generation = 0;
    const names: string[] = [];
    const start = (slot: number) => {
      const name = `i${slot}-g${generation++}`;
      names.push(name);
      const inst = new Instance(name, env(name));
      live[slot] = inst;
      return inst;
    };
    for (let i = 0; i < INSTANCES; i++) start(i);

    // the steady producer
    const producer = kafka.producer();
    await producer.connect();
    const body = 'x'.repeat(200);
    const steady = startRateProducer({ producer, topic, partitions: PARTITIONS, ratePerSec: opts.ratePerSec, value: (id) => JSON.stringify({ run, id, body }) });

    // delivery sampler: bytes in all output files (old and new instances), every 100 ms
    const samples: Array<{ t: number; sent: number }> = [];
    let sampling = true;
    const samplerLoop = (async () => {
      while (sampling) {
        let bytes = 0;
        for (const name of names) {
          try {
            bytes += statSync(join(dir, `${name}.jsonl`)).size;
          } catch {
            // not created yet
          }
        }
        samples.push({ t: performance.now(), sent: bytes });
        await sleep(100);
      }
    })();
    const longestGap = (from: number, to: number): number => {
      let best = 0;
      let lastChange = from;
      let lastValue: number | undefined;
      for (const s of samples) {
        if (s.t < from || s.t > to) continue;
        if (lastValue === undefined || s.sent !== lastValue) {
          if (lastValue !== undefined) best = Math.max(best, s.t - lastChange);
          lastChange = s.t;
          lastValue = s.sent;
        }
      }
      best = Math.max(best, to - lastChange);
      return best / 1000;
    };
    const stable = async () => {
      for (;;) {
        const owned = await Promise.all(live.map((i) => metricSum(i, 'logstream_assigned_partitions')));
        const ready = await Promise.all(live.map(async (i) => {
          try {
            return (await fetch(`http://127.0.0.1:${await i.httpPort()}/readyz`)).status === 200;
          } catch {
            return false;
          }
        }));
        if (owned.reduce((a, b) => a + b, 0) === PARTITIONS && ready.every(Boolean)) return;
        await sleep(100);
      }
    };
    await stable();
    await sleep(10_000);
    const baselineFrom = performance.now() - 8000;
    const baselineStallS = longestGap(baselineFrom, performance.now());

    const restarts: RestartRow[] = [];
    for (let slot = 0; slot < INSTANCES; slot++) {
      const old = live[slot]!;
      const t0 = performance.now();
      old.kill('SIGTERM');
      const exit = await old.exited;
      const stopS = (performance.now() - t0) / 1000;
      if (exit.code !== 0) problems.push(`${old.name} exited ${exit.code ?? exit.signal} on SIGTERM`);
      start(slot);
      await stable();
      const stableS = (performance.now() - t0) / 1000;
      await sleep(5000);
      const stallS = longestGap(t0, performance.now());
      restarts.push({ instance: old.name, stallS, stopS, stableS });
      log(`rolling restart: ${old.name} stop ${fmt(stopS, 1)} s, stable after ${fmt(stableS, 1)} s, longest delivery gap ${fmt(stallS, 1)} s`);
      await sleep(5000);
    }

    const sent = await steady.stop();
    await producer.disconnect();
    if (sent.error) problems.push(`producer failed: ${sent.error}`);
    const produced = sent.produced;
    // A producer retry (not idempotent) can write a batch twice: then the duplicates are in the topic.
    const inTopic = (await retryKafka(() => admin.offsets(topic))).reduce((a, p) => a + p.high, 0);
    // everything delivered and committed, then a clean stop
    for (;;) {
      let committed = 0;
      for (const offset of (await retryKafka(() => admin.committed('bench-rolling', topic))).values()) committed += offset;
      if (committed >= produced) break;
      await sleep(500);
    }
    sampling = false;
    await samplerLoop;
    await Promise.all(live.map((i) => i.stop()));
    await admin.close();

    const seen = new Uint8Array(produced);
    let delivered = 0;
    let duplicates = 0;
    for (const name of names) {
      let text = '';
      try {
        text = await readFile(join(dir, `${name}.jsonl`), 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        if (!line) continue;
        const r = JSON.parse(line) as { run: string; id: number };
        if (r.run !== run) continue;
        delivered++;
        if (seen[r.id]) duplicates++;
        else seen[r.id] = 1;
      }
    }
    const lost = seen.reduce((n, x) => n + (x ? 0 : 1), 0);
    if (lost > 0) problems.push(`lost ${lost} records`);
    if (duplicates > 0) {
      const inKafka = inTopic > produced ? `; ${inTopic - produced} of them already in the topic (${inTopic} records for ${produced} produced: producer retries)` : `; the topic holds exactly the ${produced} produced`;
      problems.push(`${duplicates} duplicates after SIGTERM restarts (expected 0)${inKafka}`);
    }
    return { ratePerSec: opts.ratePerSec, produced, delivered, lost, duplicates, restarts, baselineStallS, problems };
  } finally {
    for (const i of live) i?.kill('SIGKILL');
    await broker?.stop();
    if (broker) await rm(broker.dataDir, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatRollingRestart(r: RollingRestartResult): string {
  const rows = r.restarts.map((x) => [x.instance, fmt(x.stopS, 1), fmt(x.stableS, 1), fmt(x.stallS, 1)]);
  return [
    formatTable(['restarted', 'SIGTERM → exit s', 'SIGTERM → group stable s', 'longest gap with no delivery s'], rows),
    `steady-state gap before the restarts: ${fmt(r.baselineStallS, 1)} s; produced ${r.produced} at ${r.ratePerSec}/s; delivered ${r.delivered}; lost=${r.lost} dup=${r.duplicates}`,
  ].join('\n');
}

if (import.meta.main) {
  runRollingRestartBench({ ratePerSec: Number(process.env['BENCH_RESTART_RATE'] ?? 2000) }).then(
    (r) => {
      process.stdout.write(`${formatRollingRestart(r)}\n`);
      for (const p of r.problems) process.stdout.write(`PROBLEM: ${p}\n`);
      process.exitCode = r.problems.length ? 1 : 0;
    },
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
