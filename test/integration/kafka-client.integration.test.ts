// The Kafka interface's contract (src/source/kafka/interface.ts), checked against the real broker for
// every client adapter: what the app, the webhook, the commands and the tests rely on. A new adapter is
// added to ADAPTERS and must pass the same tests.
import { afterAll, describe, expect, it } from 'vitest';
import { parseKafkaConfig } from '../../src/source/kafka/config.ts';
import { connectKafka } from '../../src/source/kafka/connect.ts';
import { retryKafka } from '../../src/source/kafka/group-admin.ts';
import type { GroupConsumer, GroupHandlers, KafkaClient, RecordDecoder, SourceRecord } from '../../src/source/kafka/interface.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { waitUntil } from '../support/instance.ts';
import { kafkaBootstrap, uniqueName } from '../support/kafka.ts';

const logger = createLogger({ level: 'silent' });
const bootstrap = kafkaBootstrap();
const ADAPTERS: Array<[string, KafkaClient]> = [
  ['kafkajs', await connectKafka({ brokers: [bootstrap], clientId: 'contract', logger })],
  ['platformatic', await connectKafka({ brokers: [bootstrap], clientId: 'contract', logger, client: 'platformatic' })],
];

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const until = (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> => waitUntil(what, cond, timeoutMs, 50);

/** Handlers that take every record, with room always. */
function collecting(records: SourceRecord[], joined: { count: number }): GroupHandlers {
  return {
    hasRoom: () => true,
    waitForRoom: async () => true,
    onRecord: (r) => void records.push(r),
    beforeJoin: async () => undefined,
    onAssigned: () => void joined.count++,
    onFatal: (err) => {
      throw err;
    },
  };
}

/** The group protocols each adapter speaks (KAFKA_GROUP_PROTOCOL). */
const GROUP_PROTOCOLS_OF: Record<string, string[]> = { kafkajs: ['classic'], platformatic: ['classic', 'consumer'] };

describe.each(ADAPTERS)('Kafka client contract: %s (real broker)', (name, kafka) => {

  /** A new 2-partition topic, an admin and a connected producer (closed after the suite). */
  async function topicWithProducer(prefix: string) {
    const topic = uniqueName(prefix);
    const admin = kafka.admin();
    cleanups.push(() => admin.close());
    await retryKafka(() => admin.createTopic({ topic, partitions: 2 }));
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    return { topic, admin, producer };
  }

  it('admin: creates a topic once (a second create answers false), lists it, reports partitions, configuration and bounds', async () => {
    const topic = uniqueName('contract-admin');
    const admin = kafka.admin();
    cleanups.push(() => admin.close());
    expect(await retryKafka(() => admin.createTopic({ topic, partitions: 3, config: { 'retention.ms': '3600000' } }))).toBe(true);
    expect(await retryKafka(() => admin.createTopic({ topic, partitions: 3 }))).toBe(false);
    expect(await admin.listTopics()).toContain(topic);
    expect(await admin.partitions(topic)).toEqual([0, 1, 2]);
    const config = await admin.topicConfig([topic], ['retention.ms', 'cleanup.policy']);
    expect(config.get(topic)?.get('retention.ms')).toBe('3600000');
    expect(config.get(topic)?.get('cleanup.policy')).toBe('delete');
    expect(await admin.offsets(topic)).toEqual([0, 1, 2].map((partition) => ({ partition, low: 0, high: 0 })));
  });

  it('producer and reader: offsets per partition, headers and keys kept, fetch from an offset, time lookups, deleted records', async () => {
    const { topic, admin, producer } = await topicWithProducer('contract-rw');
    const t0 = Date.now() - 60_000;
    const first = await producer.send(topic, [0, 1, 2, 3, 4].map((i) => ({ key: `k${i}`, value: JSON.stringify({ i }), partition: 0, timestamp: t0 + i * 1000, headers: { h: `v${i}` } })));
    expect(first).toEqual([{ partition: 0, baseOffset: 0 }]);
    expect(await producer.send(topic, [{ value: 'x', partition: 0 }])).toEqual([{ partition: 0, baseOffset: 5 }]);
    await producer.send(topic, [{ value: 'p1', partition: 1 }]);

    const reader = kafka.reader();
    cleanups.push(() => reader.disconnect());
    expect(await reader.partitions(topic)).toEqual([0, 1]);
    expect([...(await reader.earliest(topic))].sort()).toEqual([[0, 0], [1, 0]]);
    expect([...(await reader.latest(topic))].sort()).toEqual([[0, 6], [1, 1]]);
    const got = await reader.fetch(topic, 0, 2, 1024 * 1024);
    expect(got.messages.map((m) => m.offset)).toEqual(['2', '3', '4', '5']);
    expect(got.nextOffset).toBe(6);
    const m = got.messages[0]!;
    expect([m.key?.toString(), m.value?.toString(), m.timestamp]).toEqual(['k2', '{"i":2}', String(t0 + 2000)]);
    expect(String(m.headers?.['h'])).toBe('v2');
    expect((await reader.fetch(topic, 0, 6, 1024)).messages).toEqual([]);
    // time: the first record at or after, the end where none is that new
    expect((await reader.forTime(topic, t0 + 2500)).get(0)).toBe(3);
    expect(await admin.offsetsForTime(topic, t0 + 2500)).toContainEqual({ partition: 0, offset: 3 });
    expect((await reader.forTime(topic, Date.now() + 3_600_000)).get(1)).toBe(1);

    await retryKafka(() => admin.deleteRecords(topic, [{ partition: 0, offset: 4 }]));
    expect(await admin.offsets(topic)).toContainEqual({ partition: 0, low: 4, high: 6 });
    expect((await reader.earliest(topic)).get(0)).toBe(4);
  });

  it('producer: timestamps months apart in one send (old records re-sent beside new ones) are kept exactly', async () => {
    const { topic, producer } = await topicWithProducer('contract-timestamps');
    const now = Date.now();
    const old = Date.UTC(2024, 1, 1, 18, 57, 30);
    const times = [now, old, old + 5, now - 40 * 86_400_000, now - 1000, old + 30 * 86_400_000];
    const res = await producer.send(topic, times.map((timestamp, i) => ({ value: String(i), partition: 0, timestamp })));
    expect(res).toEqual([{ partition: 0, baseOffset: 0 }]);
    const reader = kafka.reader();
    cleanups.push(() => reader.disconnect());
    const got = await reader.fetch(topic, 0, 0, 1024 * 1024);
    expect(got.messages.map((m) => [m.value?.toString(), m.timestamp])).toEqual(times.map((t, i) => [String(i), String(t)]));
  });

  it.each(GROUP_PROTOCOLS_OF[name]!)('group consumer, %s group protocol: decodes inside the source, commits, and a partition waiting for its decoder holds up no other', async (protocol) => {
    const { topic, admin, producer } = await topicWithProducer('contract-group');
    const group = uniqueName('contract-group');
    await producer.send(topic, [0, 1, 2].map((i) => ({ value: JSON.stringify({ p: 0, i }), partition: 0 })));

    // Partition 0's decode waits (its schema is being fetched) until released; partition 1's does not.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let waiting = false;
    let released = false;
    const decoder: RecordDecoder = {
      decode: (value, meta) => {
        const fields = JSON.parse(value!.toString()) as Record<string, unknown>;
        const decoded = { ok: true as const, fields: { ...fields, decodedBy: 'contract' }, raw: false };
        if (meta.partition !== 0 || released) return decoded; // partition 1's schema is cached; then partition 0's
        waiting = true;
        return gate.then(() => decoded);
      },
    };
    const cfg = { ...parseKafkaConfig({ KAFKA_BROKERS: bootstrap, KAFKA_TOPICS: topic, KAFKA_GROUP_ID: group, KAFKA_CLIENT: name, KAFKA_GROUP_PROTOCOL: protocol }), sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000 };
    const consumer: GroupConsumer = kafka.groupConsumer(cfg, logger, decoder);
    cleanups.push(() => consumer.stop());
    const records: SourceRecord[] = [];
    const joined = { count: 0 };
    await consumer.start(collecting(records, joined));
    // Partition 1's records are written only once partition 0 is waiting for its decoder.
    await until('partition 0 waiting for its decoder', () => waiting);
    await producer.send(topic, [0, 1, 2].map((i) => ({ value: JSON.stringify({ p: 1, i }), partition: 1 })));
    await until('partition 1 consumed', () => records.filter((r) => r.meta.partition === 1).length === 3);
    expect(consumer.joined).toBe(true);
    expect(records.every((r) => r.meta.partition === 1)).toBe(true); // partition 0 still waits for its decoder
    released = true;
    release();
    await until('partition 0 consumed', () => records.length === 6);
    const p0 = records.filter((r) => r.meta.partition === 0);
    expect(p0.map((r) => r.meta.offset)).toEqual(['0', '1', '2']); // in order within the partition
    expect(p0[0]!.decoded).toEqual({ ok: true, fields: { p: 0, i: 0, decodedBy: 'contract' }, raw: false });
    expect(p0[0]!.value?.toString()).toBe('{"p":0,"i":0}');
    expect(p0[0]!.size).toBe(13);
    expect(p0[0]!.meta).toMatchObject({ topic, partition: 0, offset: '0', key: null });

    await consumer.commit([
      { topic, partition: 0, offset: 3 },
      { topic, partition: 1, offset: 2 },
    ]);
    expect([...(await retryKafka(() => admin.committed(group, topic)))].sort()).toEqual([
      [0, 3],
      [1, 2],
    ]);
    expect((await retryKafka(() => admin.describeGroup(group))).members).toBe(1);
    await consumer.stop();
    await until('the group is empty', async () => (await retryKafka(() => admin.describeGroup(group))).members === 0);
    // moved by the admin while nobody is a member; a new member starts there
    await retryKafka(() => admin.setCommitted(group, topic, [{ partition: 1, offset: 1 }]));
    expect((await retryKafka(() => admin.committed(group, topic))).get(1)).toBe(1);
    const again: SourceRecord[] = [];
    const second = kafka.groupConsumer(cfg, logger);
    cleanups.push(() => second.stop());
    await second.start(collecting(again, { count: 0 }));
    await until('the rest of partition 1 consumed again', () => again.length === 2);
    expect(again.map((r) => `${r.meta.partition}@${r.meta.offset}`)).toEqual(['1@1', '1@2']);
    expect(again[0]!.decoded).toEqual({ ok: true, fields: { p: 1, i: 1 }, raw: false }); // the default decoder: JSON
  });
});
