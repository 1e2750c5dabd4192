// What rebalances cost, per Kafka client: 3 logstream instances share a 6-partition topic while a
// producer writes a steady 2000 records/s.
//   - rolling restart: each instance in turn gets SIGTERM and is started again (as a rollout does,
//     maxUnavailable 1): how long delivery stopped completely (the longest gap in delivery), how long
//     until the group was stable again (3 members, 6 partitions owned);
//   - a 4th member added under load: how long until it delivers, and the longest gap in what the
//     other three deliver meanwhile (eager: they all stop; cooperative: only moved partitions);
//   - kill -9 of one member: how long until its partitions deliver again (failover), restarted at once
//     (a crash-looping pod) — with static membership it takes them back without a rebalance;
//   - in the end lost and duplicated records (run id + sequence in every record). Duplicates after
//     SIGTERM must be 0 (drain and commit); a kill -9 repeats up to a commit interval.
// Variants: kafkajs (eager), platformatic (cooperative-sticky), platformatic with static membership
// (KAFKA_GROUP_INSTANCE_ID per slot, as a StatefulSet pod name), and both again on the consumer group
// protocol (KIP-848, KAFKA_GROUP_PROTOCOL=consumer). The broker gives consumer-protocol groups the
// session timeout and heartbeat interval logstream's classic defaults have (30 s, 3 s), so that the
// protocols are compared, not their timeouts.
// Delivery is sampled as the size of the instances' output files (file sink), every 100 ms.
//
// Alone: node bench/rolling-restart.bench.ts   (env BENCH_RESTART_RATE, records/s, default 2000;
//        BENCH_RESTART_VARIANTS=kafkajs,platformatic,static,kip848,kip848-static)
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

export const RESTART_VARIANTS = {
  kafkajs: { KAFKA_CLIENT: 'kafkajs' },
  platformatic: {},
  static: {},
  kip848: { KAFKA_GROUP_PROTOCOL: 'consumer' },
  'kip848-static': { KAFKA_GROUP_PROTOCOL: 'consumer' },
} as const satisfies Record<string, Record<string, string>>;
export type RestartVariant = keyof typeof RESTART_VARIANTS;
const STATIC_VARIANTS: ReadonlySet<RestartVariant> = new Set(['static', 'kip848-static']);

export interface RollingRestartResult {
  variant: RestartVariant;
  ratePerSec: number;
  produced: number;
  delivered: number;
  lost: number;
  duplicates: number;
  restarts: RestartRow[];
  /** Longest delivery gap in the steady state before the first restart (the sampling floor). */
  baselineStallS: number;
  /** A 4th member started under load: start → its first record delivered, and the longest gap in
   *  what the other members delivered meanwhile (until stable + 5 s). */
  join?: { firstDeliveryS: number; othersGapS: number };
  /** kill -9 of one member, restarted at once: the longest gap in delivering its partitions' records
   *  (failover), and the records delivered twice because of it. */
  kill?: { failoverS: number; duplicates: number };
  problems: string[];
}

async function metricSum(inst: Instance, name: string): Promise<number> {
  try {
    return await inst.metricSum(name);
  } catch {
    return 0;
  }
}

export async function runRollingRestartBench(opts: { ratePerSec: number; variant?: RestartVariant; log?: (s: string) => void }): Promise<RollingRestartResult> {
  const variant = opts.variant ?? 'platformatic';
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const dir = await mkdtemp(join(tmpdir(), 'ls-bench-rolling-'));
  let broker: Broker | undefined;
  const live: Instance[] = [];
  const problems: string[] = [];
  try {
    broker = await startBroker({ heapMb: 1024, extraProps: { 'group.consumer.session.timeout.ms': '30000', 'group.consumer.heartbeat.interval.ms': '3000' } });
    const kafka = await connectKafka({ brokers: [broker.bootstrap], clientId: 'bench-rolling', logger: createLogger({ level: 'silent' }) });
    const admin = kafka.admin();
    const topic = 'bench-rolling';
    await retryKafka(() => admin.createTopic({ topic, partitions: PARTITIONS }));
    const run = `rolling-${Date.now()}`;
    const env = (name: string, slot: number) => ({
      ...RESTART_VARIANTS[variant],
      ...(STATIC_VARIANTS.has(variant) ? { KAFKA_GROUP_INSTANCE_ID: `slot-${slot}` } : {}),
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
      const inst = new Instance(name, env(name, slot));
      live[slot] = inst;
      return inst;
    };
    for (let i = 0; i < INSTANCES; i++) start(i);
    /** Records of this run in every output file so far: which ids were seen, and how many twice. */
    const countDelivered = async (size = 0) => {
      const seen = new Uint8Array(size);
      const ids = new Set<number>();
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
          let r: { run: string; id: number };
          try {
            r = JSON.parse(line) as { run: string; id: number };
          } catch {
            continue; // a line still being written
          }
          if (r.run !== run) continue;
          delivered++;
          if (ids.has(r.id)) duplicates++;
          else ids.add(r.id);
          if (r.id < size) seen[r.id] = 1;
        }
      }
      return { seen, delivered, duplicates };
    };

    // the steady producer
    const producer = kafka.producer();
    await producer.connect();
    const body = 'x'.repeat(200);
    const steady = startRateProducer({ producer, topic, partitions: PARTITIONS, ratePerSec: opts.ratePerSec, value: (id) => JSON.stringify({ run, id, body }) });

    // delivery sampler: bytes in each output file (old and new instances), every 100 ms
    const samples: Array<{ t: number; sizes: Map<string, number> }> = [];
    let sampling = true;
    const samplerLoop = (async () => {
      while (sampling) {
        const sizes = new Map<string, number>();
        for (const name of names) {
          try {
            sizes.set(name, statSync(join(dir, `${name}.jsonl`)).size);
          } catch {
            // not created yet
          }
        }
        samples.push({ t: performance.now(), sizes });
        await sleep(100);
      }
    })();
    /** Longest stretch in [from, to] with no record delivered by the instances `only` selects (all). */
    const longestGap = (from: number, to: number, only: (name: string) => boolean = () => true): number => {
      let best = 0;
      let lastChange = from;
      let lastValue: number | undefined;
      for (const s of samples) {
        if (s.t < from || s.t > to) continue;
        let sent = 0;
        for (const [name, size] of s.sizes) if (only(name)) sent += size;
        if (lastValue === undefined || sent !== lastValue) {
          if (lastValue !== undefined) best = Math.max(best, s.t - lastChange);
          lastChange = s.t;
          lastValue = sent;
        }
      }
      best = Math.max(best, to - lastChange);
      return best / 1000;
    };
    const delivering = async (name: string): Promise<void> => {
      for (;;) {
        try {
          if (statSync(join(dir, `${name}.jsonl`)).size > 0) return;
        } catch {
          // not created yet
        }
        await sleep(50);
      }
    };
    const stable = async () => {
      const deadline = performance.now() + 180_000;
      for (;;) {
        // An instance that exited on its own (not stopped by the bench) would leave this waiting forever.
        const dead = live.filter((i) => i.proc.exitCode !== null || i.proc.signalCode !== null);
        if (dead.length > 0 || performance.now() > deadline) {
          throw new Error(`the group did not become stable (${dead.length ? `${dead.map((i) => `${i.name} exited ${i.proc.exitCode ?? i.proc.signalCode}`).join(', ')}` : 'timed out after 180 s'}):\n${live.map((i) => `${i.name}:\n${i.tail(8)}`).join('\n')}`);
        }
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

    // A 4th member under load.
    const joinAt = performance.now();
    const before = new Set(live.map((i) => i.name));
    const joiner = start(INSTANCES);
    await delivering(joiner.name);
    const firstDeliveryS = (performance.now() - joinAt) / 1000;
    await stable();
    await sleep(5000);
    const joined = { firstDeliveryS, othersGapS: longestGap(joinAt, performance.now(), (n) => before.has(n)) };
    log(`member added: first delivery after ${fmt(joined.firstDeliveryS, 1)} s; the others' longest delivery gap ${fmt(joined.othersGapS, 1)} s`);
    joiner.kill('SIGTERM');
    await joiner.exited;
    live.pop();
    await stable();
    await sleep(5000);
    const dupBeforeKill = (await countDelivered()).duplicates;

    // kill -9 of slot 0, restarted at once (a crash-looping pod).
    const victim = live[0]!;
    const killAt = performance.now();
    victim.kill('SIGKILL');
    await victim.exited;
    const replacement = start(0);
    await delivering(replacement.name);
    const failoverS = (performance.now() - killAt) / 1000;
    await stable();
    await sleep(5000);
    log(`kill -9: the restarted member delivers again after ${fmt(failoverS, 1)} s; longest delivery gap of all ${fmt(longestGap(killAt, performance.now()), 1)} s`);

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

    const { seen, delivered, duplicates } = await countDelivered(produced);
    const lost = seen.reduce((n, x) => n + (x ? 0 : 1), 0);
    if (lost > 0) problems.push(`lost ${lost} records`);
    const kill = { failoverS, duplicates: duplicates - dupBeforeKill };
    if (dupBeforeKill > 0) {
      const inKafka = inTopic > produced ? `; ${inTopic - produced} of them already in the topic (${inTopic} records for ${produced} produced: producer retries)` : `; the topic holds exactly the ${produced} produced`;
      problems.push(`${dupBeforeKill} duplicates after SIGTERM restarts and a join (expected 0)${inKafka}`);
    }
    return { variant, ratePerSec: opts.ratePerSec, produced, delivered, lost, duplicates, restarts, baselineStallS, join: joined, kill, problems };
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
    `-- ${r.variant} --`,
    formatTable(['restarted', 'SIGTERM → exit s', 'SIGTERM → group stable s', 'longest gap with no delivery s'], rows),
    `steady-state gap before the restarts: ${fmt(r.baselineStallS, 1)} s; produced ${r.produced} at ${r.ratePerSec}/s; delivered ${r.delivered}; lost=${r.lost} dup=${r.duplicates}`,
    ...(r.join ? [`member added: first delivery after ${fmt(r.join.firstDeliveryS, 1)} s; longest gap of the other members ${fmt(r.join.othersGapS, 1)} s`] : []),
    ...(r.kill ? [`kill -9 + immediate restart: delivering again after ${fmt(r.kill.failoverS, 1)} s; dup=${r.kill.duplicates}`] : []),
  ].join('\n');
}

/** The variants BENCH_RESTART_VARIANTS names (default: all). */
export function restartVariantsFromEnv(env: NodeJS.ProcessEnv): RestartVariant[] {
  const all = Object.keys(RESTART_VARIANTS) as RestartVariant[];
  const wanted = (env['BENCH_RESTART_VARIANTS'] ?? '').split(',').map((v) => v.trim()).filter(Boolean);
  return wanted.length === 0 ? all : all.filter((v) => wanted.includes(v));
}

if (import.meta.main) {
  (async () => {
    const results: RollingRestartResult[] = [];
    for (const variant of restartVariantsFromEnv(process.env)) results.push(await runRollingRestartBench({ ratePerSec: Number(process.env['BENCH_RESTART_RATE'] ?? 2000), variant }));
    return results;
  })().then(
    (results) => {
      for (const r of results) {
        process.stdout.write(`${formatRollingRestart(r)}\n`);
        for (const p of r.problems) process.stdout.write(`PROBLEM (${r.variant}): ${p}\n`);
      }
      process.exitCode = results.some((r) => r.problems.length) ? 1 : 0;
    },
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
