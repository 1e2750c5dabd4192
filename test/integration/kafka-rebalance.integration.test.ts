// Rebalancing against the real broker, per adapter and group protocol: handover under cooperative-sticky
// and under the consumer protocol (KIP-848) — partitions that stay keep flowing, the moved ones are
// drained and committed first: no record twice —, static membership (a restart within the session
// timeout moves nothing), a group shared by kafkajs and platformatic members (the rolling upgrade from
// one client to the other) and one moving from the classic to the consumer protocol.
import { afterAll, describe, expect, it } from 'vitest';
import { parseKafkaConfig, type KafkaSourceConfig } from '../../src/source/kafka/config.ts';
import { connectKafka } from '../../src/source/kafka/connect.ts';
import { retryKafka } from '../../src/source/kafka/group-admin.ts';
import type { GroupConsumer, KafkaClient } from '../../src/source/kafka/interface.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { waitUntil } from '../support/instance.ts';
import { kafkaBootstrap, uniqueName } from '../support/kafka.ts';

const logger = createLogger({ level: 'silent' });
const bootstrap = kafkaBootstrap();
const clients = {
  kafkajs: await connectKafka({ brokers: [bootstrap], clientId: 'rebalance', logger, client: 'kafkajs' }),
  platformatic: await connectKafka({ brokers: [bootstrap], clientId: 'rebalance', logger, client: 'platformatic' }),
};
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const until = (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> => waitUntil(what, cond, timeoutMs, 50);

/** Every record taken, by whom, as "partition@offset". */
type Seen = Map<string, string[]>;

interface Member {
  name: string;
  consumer: GroupConsumer;
  /** Commits what it took and stops, as the app does at shutdown. */
  leave(): Promise<void>;
  /** Partitions owned after each assignment. */
  assignments: number[][];
  /** When each record of a partition was taken (ms). */
  takenAt: Map<number, number[]>;
  joins: number;
}

/**
 * A member whose "sinks" acknowledge at once: it commits what it took every 200 ms and, as the
 * pipeline does, drains and commits before giving partitions up — so a clean handover repeats nothing.
 * With `sinkDown` nothing it takes is acknowledged: before a join it does what the pipeline does when
 * its drain deadline passes — commits the first offset it took of each partition and answers false
 * (it forgot the records it had taken).
 */
async function member(kafka: KafkaClient, cfg: KafkaSourceConfig, name: string, seen: Seen, o: { sinkDown?: boolean } = {}): Promise<Member> {
  const consumer = kafka.groupConsumer(cfg, logger);
  /** Per partition: the offset to commit (sinkDown: the first one taken). */
  const next = new Map<number, number>();
  const m: Member = { name, consumer, assignments: [], takenAt: new Map(), joins: 0, leave: async () => undefined };
  // One commit at a time (as the pipeline's committer): a drain's commit waits for the one in flight.
  let last: Promise<void> = Promise.resolve();
  const commit = (): Promise<void> => {
    last = last.catch(() => undefined).then(async () => {
      const offsets = [...next].map(([partition, offset]) => ({ topic: cfg.topics[0]!, partition, offset }));
      next.clear();
      try {
        if (offsets.length) await consumer.commit(offsets);
      } catch (err) {
        // Refused (e.g. REBALANCE_IN_PROGRESS while the group completes a rebalance): the offsets stay
        // pending for the next commit, as the pipeline's committer keeps them.
        for (const o of offsets) if (!next.has(o.partition)) next.set(o.partition, o.offset);
        throw err;
      }
    });
    return last;
  };
  if (o.sinkDown) m.leave = () => consumer.stop();
  else {
    const timer = setInterval(() => void commit().catch(() => undefined), 200);
    cleanups.push(async () => clearInterval(timer));
    m.leave = async () => {
      consumer.stopAccepting();
      clearInterval(timer);
      await commit();
      await consumer.stop();
    };
  }
  await consumer.start({
    hasRoom: () => true,
    waitForRoom: async () => true,
    onRecord: (r) => {
      const key = `${r.meta.partition}@${r.meta.offset}`;
      seen.set(key, [...(seen.get(key) ?? []), name]);
      if (!o.sinkDown) next.set(r.meta.partition, Number(r.meta.offset) + 1);
      else if (!next.has(r.meta.partition)) next.set(r.meta.partition, Number(r.meta.offset));
      const t = m.takenAt.get(r.meta.partition) ?? [];
      t.push(Date.now());
      m.takenAt.set(r.meta.partition, t);
    },
    // Everything taken is committed (or the commit throws): kept partitions may go on from where they were.
    beforeJoin: o.sinkDown ? async () => (await commit().catch(() => undefined), false) : async () => (await commit(), true),
    onAssigned: (a) => {
      m.joins++;
      m.assignments.push(a.flatMap((t) => t.partitions).sort());
    },
    onFatal: (err) => {
      throw err;
    },
  });
  cleanups.push(() => consumer.stop());
  return m;
}

/** A topic of `partitions` partitions and a producer writing `perSecond` records a second round robin. */
async function feed(kafka: KafkaClient, partitions: number, perSecond: number) {
  const topic = uniqueName('rebalance');
  const admin = kafka.admin();
  cleanups.push(() => admin.close());
  await retryKafka(() => admin.createTopic({ topic, partitions }));
  const producer = kafka.producer();
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  let sent = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const batch = Array.from({ length: perSecond / 10 }, () => ({ value: JSON.stringify({ n: sent }), partition: sent++ % partitions }));
      await retryKafka(() => producer.send(topic, batch));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    topic,
    admin,
    /** Records in the topic (a retried send may have written a batch twice). */
    sent: async () => (await retryKafka(() => admin.offsets(topic))).reduce((n, o) => n + o.high - o.low, 0),
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

function config(topic: string, group: string, extra: Record<string, string> = {}): KafkaSourceConfig {
  return parseKafkaConfig({ KAFKA_BROKERS: bootstrap, KAFKA_TOPICS: topic, KAFKA_GROUP_ID: group, KAFKA_SESSION_TIMEOUT: '10s', KAFKA_HEARTBEAT_INTERVAL: '1s', KAFKA_FETCH_MAX_WAIT: '100ms', ...extra });
}

/** A few records taken more than once, and by whom (for the failure message). */
function twice(seen: Seen): string {
  return [...seen].filter(([, who]) => who.length > 1).slice(0, 6).map(([k, who]) => `${k} by ${who.join('+')}`).join(', ');
}

function duplicates(seen: Seen): number {
  let dup = 0;
  for (const who of seen.values()) dup += who.length - 1;
  return dup;
}

describe('rebalancing (real broker)', () => {
  /** A second member joins a busy one: the first keeps the partitions that stay flowing, no record twice. */
  async function handover(label: string, extra: Record<string, string>): Promise<void> {
    const f = await feed(clients.platformatic, 4, 400);
    const group = uniqueName(label);
    const seen: Seen = new Map();
    const a = await member(clients.platformatic, config(f.topic, group, extra), 'a', seen);
    await until('a owns all 4 partitions', () => a.assignments.at(-1)?.length === 4);
    await until('a is consuming', () => seen.size > 200);
    const joinAt = Date.now();
    const b = await member(clients.platformatic, config(f.topic, group, extra), 'b', seen);
    await until('both own partitions', () => (b.assignments.at(-1)?.length ?? 0) > 0 && a.assignments.at(-1)?.length! < 4);
    const settled = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    await f.stop();
    const total = await f.sent();
    await until('every record taken', () => seen.size === total);
    const kept = a.assignments.at(-1)!;
    expect(kept.length + b.assignments.at(-1)!.length).toBe(4);
    expect(b.assignments.at(-1)!.every((p) => !kept.includes(p))).toBe(true);
    // A kept partition was never given up: its records kept arriving while the group rebalanced.
    for (const p of kept) {
      const during = a.takenAt.get(p)!.filter((t) => t >= joinAt && t <= settled);
      expect(during.length, `partition ${p} taken during the rebalance`).toBeGreaterThan(0);
    }
    expect(duplicates(seen), `records taken twice: ${twice(seen)}`).toBe(0);
    console.log(`${label} handover: lost=0 dup=${duplicates(seen)} records=${total} rebalance=${settled - joinAt}ms`);
  }

  it('platformatic, cooperative-sticky: a member joining under load takes partitions; those that stay never stop, nothing is taken twice', () => handover('cooperative', {}), 180_000);

  it('platformatic, consumer protocol (KIP-848): a member joining under load takes partitions; those that stay never stop, the moved ones are drained before the broker hands them over', () => handover('kip848', { KAFKA_GROUP_PROTOCOL: 'consumer' }), 180_000);

  it('platformatic, cooperative-sticky: when the drain before a rebalance did not deliver everything, the partitions kept are read again from the commit, never skipped', async () => {
    const f = await feed(clients.platformatic, 4, 400);
    const group = uniqueName('coop-undrained');
    const seen: Seen = new Map();
    const a = await member(clients.platformatic, config(f.topic, group, { KAFKA_START_FROM: 'earliest' }), 'a', seen, { sinkDown: true });
    await until('a owns all 4 partitions and is consuming', () => a.assignments.at(-1)?.length === 4 && seen.size > 200);
    const before = new Set(seen.keys());
    const b = await member(clients.platformatic, config(f.topic, group, { KAFKA_START_FROM: 'earliest' }), 'b', seen);
    await until('both own partitions', () => (b.assignments.at(-1)?.length ?? 0) > 0 && a.assignments.at(-1)?.length! < 4);
    const kept = a.assignments.at(-1)!;
    // Nothing a took was acknowledged, and only offset 0 of each partition committed: a kept partition
    // starts again at 0 — the records it had taken are taken again, not committed past.
    const notAgain = (): string[] => [...before].filter((k) => kept.includes(Number(k.split('@')[0])) && !seen.get(k)!.slice(1).includes('a'));
    await until('a takes every record of its kept partitions again', () => notAgain().length === 0, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${notAgain().length} not taken again, e.g. ${notAgain().slice(0, 5).join(', ')}`);
    });
    await f.stop();
    console.log(`cooperative rebalance after an undelivered drain: kept ${kept.length} partitions, re-read from the commit`);
  }, 180_000);

  /** Two static members; one stops (SIGTERM) and comes back under its instance id: it gets its own
   *  partitions again, the other is not rebalanced, nothing is taken twice. */
  async function staticRestart(label: string, env: Record<string, string>): Promise<void> {
    const f = await feed(clients.platformatic, 4, 200);
    const group = uniqueName(label);
    const seen: Seen = new Map();
    const cfg = (pod: string) => config(f.topic, group, { ...env, KAFKA_GROUP_INSTANCE_ID: pod });
    const a1 = await member(clients.platformatic, cfg('pod-0'), 'a', seen);
    const b = await member(clients.platformatic, cfg('pod-1'), 'b', seen);
    await until('both own partitions', () => a1.assignments.at(-1)?.length === 2 && b.assignments.at(-1)?.length === 2);
    const aOwned = a1.assignments.at(-1)!;
    const bJoins = b.joins;
    await a1.leave();
    // Did not leave (classic: no LeaveGroup; consumer protocol: left with epoch -2 — described by
    // ConsumerGroupDescribe, as DescribeGroups knows no such group).
    expect(await retryKafka(() => f.admin.describeGroup(group))).toMatchObject({ state: expect.stringMatching(/^(Stable|Reconciling|Assigning|PreparingRebalance|CompletingRebalance)$/), members: 2 });
    const a2 = await member(clients.platformatic, cfg('pod-0'), 'a', seen);
    await until('a is back', () => a2.assignments.length > 0);
    expect(a2.assignments.at(-1)).toEqual(aOwned);
    await new Promise((r) => setTimeout(r, 3000));
    expect(b.joins, 'b was not rebalanced').toBe(bJoins);
    await f.stop();
    const total = await f.sent();
    await until(`every record taken (${total})`, () => seen.size === total).catch((err) => {
      throw new Error(`${(err as Error).message}: ${seen.size} taken, a2 owns ${a2.assignments.at(-1)}, b owns ${b.assignments.at(-1)}`);
    });
    expect(duplicates(seen), `records taken twice: ${twice(seen)}`).toBe(0);
    console.log(`${label} restart: lost=0 dup=${duplicates(seen)} records=${total}`);
  }

  it('platformatic, static membership: a member restarted within the session timeout gets its partitions back and nobody rebalances', () => staticRestart('static', {}), 180_000);

  it('platformatic, consumer protocol, static membership: a member restarted within the session timeout gets its partitions back and the other is not rebalanced', () => staticRestart('kip848-static', { KAFKA_GROUP_PROTOCOL: 'consumer' }), 180_000);

  /** One member of the old kind consuming, one of the new kind joins, the old one leaves (a rolling
   *  update of one pod): both consume, every record is taken once. */
  async function replaceInPlace(label: string, from: { name: string; kafka: KafkaClient; env: Record<string, string> }, to: { name: string; kafka: KafkaClient; env: Record<string, string> }): Promise<void> {
    const f = await feed(from.kafka, 4, 400);
    const group = uniqueName(label);
    const seen: Seen = new Map();
    const old = await member(from.kafka, config(f.topic, group, from.env), from.name, seen);
    await until(`${from.name} consuming`, () => seen.size > 200);
    const upgraded = await member(to.kafka, config(f.topic, group, to.env), to.name, seen);
    await until('both own partitions', () => (upgraded.assignments.at(-1)?.length ?? 0) > 0 && (old.assignments.at(-1)?.length ?? 4) < 4);
    await old.leave();
    await until(`${to.name} owns all 4`, () => upgraded.assignments.at(-1)?.length === 4);
    await new Promise((r) => setTimeout(r, 1000));
    await f.stop();
    const total = await f.sent();
    await until('every record taken', () => seen.size === total);
    expect([...seen.values()].some((w) => w.includes(from.name))).toBe(true);
    expect([...seen.values()].some((w) => w.includes(to.name))).toBe(true);
    expect(duplicates(seen), `records taken twice: ${twice(seen)}`).toBe(0);
    console.log(`${label}: lost=0 dup=${duplicates(seen)} records=${total}`);
  }

  it('a classic group moves to the consumer protocol member by member (online migration): both consume, every record is taken once', () =>
    replaceInPlace('classic → consumer protocol', { name: 'classic', kafka: clients.platformatic, env: {} }, { name: 'consumer', kafka: clients.platformatic, env: { KAFKA_GROUP_PROTOCOL: 'consumer' } }), 180_000);

  it('kafkajs and platformatic members share one group (rolling upgrade): both consume, every record is taken once', () =>
    replaceInPlace('mixed group', { name: 'kafkajs', kafka: clients.kafkajs, env: {} }, { name: 'platformatic', kafka: clients.platformatic, env: {} }), 180_000);
});
