// KafkajsGroupConsumer's own logic, driven through a small hand-written stand-in for the kafkajs client: no
// broker, no network. The stand-in records every call the adapter makes, in one log with the calls the
// adapter makes on the GroupHandlers and on the eachBatch payload, so that a test can read the order.
// The real broker paths (rebalances, retention, faults) are covered by the integration and fault suites.
import { describe, expect, it } from 'vitest';
import type { Batch, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage, PartitionAssigner } from 'kafkajs';
import { parseKafkaConfig, type StartPosition } from '../../../src/source/kafka/config.ts';
import type { Decoded, GroupHandlers, RecordDecoder, TopicPartitions } from '../../../src/source/kafka/interface.ts';
import { KafkajsGroupConsumer } from '../../../src/source/kafkajs/group-consumer.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

const logger = createLogger({ level: 'silent' });
const GROUP = 'logstream';
const PARTITIONS = [0, 1];
/** Where group-hooks.ts puts the hooks on the assigner object (the patched ConsumerGroup calls them). */
const BEFORE_JOIN = Symbol.for('logstream.beforeJoin');
const OUT_OF_RANGE = Symbol.for('logstream.offsetOutOfRange');
type OutOfRangeHook = (topic: string, partition: number) => Promise<(() => void) | void>;

/** What the stand-in's broker answers from. Keys are `topic/partition` (committed: `group/topic/partition`). */
interface BrokerState {
  topics: string[];
  retentionMs: Record<string, string>;
  committed: Map<string, string>;
  byTimestamp: Record<string, string>;
  logStart: Record<string, string>;
  commitError: Error | undefined;
  /** fetchOffsets fails this many times (a coordinator still loading after the admin's retries). */
  fetchOffsetsFailures: number;
}

const tps = (list: TopicPartitions[]): string => list.map((t) => `${t.topic}/${t.partitions.join(',')}`).join(' ');

/** A kafkajs-shaped client with only what KafkajsGroupConsumer calls. */
function standIn(log: string[], broker: Partial<BrokerState>) {
  const state: BrokerState = { topics: ['logs'], retentionMs: {}, committed: new Map(), byTimestamp: {}, logStart: {}, commitError: undefined, fetchOffsetsFailures: 0, ...broker };
  const listeners = new Map<string, (event: { payload: unknown }) => void>();
  let consumerConfig: ConsumerConfig | undefined;
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  let concurrency: number | undefined;

  const admin = {
    connect: async () => void log.push('admin.connect'),
    disconnect: async () => void log.push('admin.disconnect'),
    listTopics: async () => state.topics,
    describeConfigs: async (req: { includeSynonyms: boolean; resources: Array<{ type: number; name: string; configNames?: string[] }> }) => {
      log.push(`admin.describeConfigs ${req.resources.map((r) => `${r.type}:${r.name}:${r.configNames?.join(',')}`).join(' ')}`);
      return {
        throttleTime: 0,
        resources: req.resources.map((r) => ({
          resourceName: r.name,
          resourceType: r.type,
          errorCode: 0,
          errorMessage: null,
          configEntries: r.name in state.retentionMs ? [{ configName: 'retention.ms', configValue: state.retentionMs[r.name] }] : [],
        })),
      };
    },
    fetchOffsets: async ({ groupId, topics }: { groupId: string; topics: string[] }) => {
      log.push(`admin.fetchOffsets ${groupId} ${topics.join(',')}`);
      if (state.fetchOffsetsFailures > 0) {
        state.fetchOffsetsFailures--;
        throw Object.assign(new Error('The coordinator is loading'), { type: 'COORDINATOR_LOAD_IN_PROGRESS' });
      }
      return topics.map((topic) => ({
        topic,
        partitions: PARTITIONS.map((partition) => ({ partition, offset: state.committed.get(`${groupId}/${topic}/${partition}`) ?? '-1', metadata: null })),
      }));
    },
    fetchTopicOffsets: async (topic: string) => {
      log.push(`admin.fetchTopicOffsets ${topic}`);
      return PARTITIONS.map((partition) => ({ partition, offset: '1000', high: '1000', low: state.logStart[`${topic}/${partition}`] ?? '0' }));
    },
    fetchTopicOffsetsByTimestamp: async (topic: string, timestamp?: number) => {
      log.push(`admin.fetchTopicOffsetsByTimestamp ${topic} ${timestamp}`);
      return PARTITIONS.map((partition) => ({ partition, offset: state.byTimestamp[`${topic}/${partition}`] ?? '-1' }));
    },
  };

  const consumer = {
    events: { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash' },
    on: (event: string, listener: (event: { payload: unknown }) => void) => {
      listeners.set(event, listener);
      return () => listeners.delete(event);
    },
    connect: async () => void log.push('consumer.connect'),
    disconnect: async () => void log.push('consumer.disconnect'),
    subscribe: async (s: { topic: string; fromBeginning?: boolean }) => void log.push(`subscribe ${s.topic} fromBeginning=${s.fromBeginning}`),
    run: async (cfg: { autoCommit?: boolean; eachBatchAutoResolve?: boolean; partitionsConsumedConcurrently?: number; eachBatch?: (payload: EachBatchPayload) => Promise<void> }) => {
      log.push(`run autoCommit=${cfg.autoCommit} eachBatchAutoResolve=${cfg.eachBatchAutoResolve}`);
      eachBatch = cfg.eachBatch;
      concurrency = cfg.partitionsConsumedConcurrently;
    },
    pause: (list: TopicPartitions[]) => void log.push(`pause ${tps(list)}`),
    resume: (list: TopicPartitions[]) => void log.push(`resume ${tps(list)}`),
    seek: (o: { topic: string; partition: number; offset: string }) => void log.push(`seek ${o.topic}/${o.partition}@${o.offset}`),
    commitOffsets: async (offsets: Array<{ topic: string; partition: number; offset: string }>) => {
      log.push(`commit ${offsets.map((o) => `${o.topic}/${o.partition}@${o.offset}`).join(' ')}`);
      if (state.commitError) throw state.commitError;
      for (const o of offsets) state.committed.set(`${consumerConfig!.groupId}/${o.topic}/${o.partition}`, o.offset);
    },
  };

  const emit = (event: string, payload: unknown): void => {
    const listener = listeners.get(event);
    if (!listener) throw new Error(`the adapter did not listen to ${event}`);
    listener({ payload });
  };

  return {
    // The adapter calls only the methods above; kafkajs' Kafka type (producers, transactions, ...) is large.
    kafka: { admin: () => admin, consumer: (config: ConsumerConfig) => ((consumerConfig = config), consumer) } as unknown as Kafka,
    state,
    get consumerConfig() {
      return consumerConfig;
    },
    /** partitionsConsumedConcurrently as passed to consumer.run(). */
    get concurrency() {
      return concurrency;
    },
    join(memberAssignment: Record<string, number[]> = { logs: PARTITIONS }): void {
      emit(consumer.events.GROUP_JOIN, { groupId: GROUP, memberId: 'm-1', leaderId: 'm-1', isLeader: true, memberAssignment, groupProtocol: 'RoundRobinAssigner', duration: 1 });
    },
    crash(error: Error, restart: boolean): void {
      emit(consumer.events.CRASH, { error, groupId: GROUP, restart });
    },
    /** Calls the eachBatch the adapter passed to consumer.run() with a synthetic batch of `offsets`. */
    batch(
      topic: string,
      partition: number,
      offsets: number[],
      o: { highWatermark?: string; heartbeat?: () => Promise<void>; isRunning?: () => boolean; isStale?: () => boolean } = {},
    ): Promise<void> {
      if (!eachBatch) throw new Error('consumer.run() was not given an eachBatch');
      const messages: KafkaMessage[] = offsets.map((n) => ({ offset: String(n), key: null, value: Buffer.from(`record ${n}`), timestamp: '1700000000000', attributes: 0, headers: {} }));
      const highWatermark = o.highWatermark ?? String((offsets.at(-1) ?? -1) + 1);
      const batch: Batch = {
        topic,
        partition,
        highWatermark,
        messages,
        isEmpty: () => messages.length === 0,
        firstOffset: () => messages[0]?.offset ?? null,
        lastOffset: () => messages.at(-1)?.offset ?? String(Number(highWatermark) - 1),
        offsetLag: () => '0',
        offsetLagLow: () => '0',
      };
      return eachBatch({
        batch,
        resolveOffset: (offset) => void log.push(`resolve ${topic}/${partition}@${offset}`),
        heartbeat: o.heartbeat ?? (async () => void log.push('heartbeat')),
        pause: () => () => undefined,
        commitOffsetsIfNecessary: async () => undefined,
        uncommittedOffsets: () => ({ topics: [] }),
        isRunning: o.isRunning ?? (() => true),
        isStale: o.isStale ?? (() => false),
      });
    },
    /** The assigner object the adapter gave kafkajs (via partitionAssigners), which carries its hooks. */
    assigner(): Record<symbol, unknown> {
      const factory = consumerConfig?.partitionAssigners?.[0];
      if (!factory) throw new Error('the adapter passed no partition assigner');
      // roundRobin reads `cluster` only when it assigns; kafkajs' Cluster type is large.
      return factory({ groupId: GROUP } as Parameters<PartitionAssigner>[0]) as unknown as Record<symbol, unknown>;
    },
  };
}

/** GroupHandlers that write each call to the shared log; `overrides` replace single handlers. */
function recordingHandlers(log: string[], overrides: Partial<GroupHandlers>): GroupHandlers {
  return {
    hasRoom: () => true,
    waitForRoom: async (ms) => (log.push(`waitForRoom ${ms}`), true),
    onRecord: (r) => void log.push(`onRecord ${r.meta.topic}/${r.meta.partition}@${r.meta.offset} ${r.decoded.ok ? String(r.decoded.fields['_raw']) : r.decoded.code}`),
    onProgress: (topic, partition, hw, next) => void log.push(`onProgress ${topic}/${partition} hw=${hw} next=${next}`),
    beforeJoin: async () => void log.push('beforeJoin'),
    onAssigned: (assignment) => void log.push(`onAssigned ${tps(assignment)}`),
    onSkipped: (topic, partition, from, to) => void log.push(`onSkipped ${topic}/${partition} [${from},${to})`),
    onTopicRetention: (topic, ms) => void log.push(`onTopicRetention ${topic} ${ms}`),
    onFatal: (err) => void log.push(`onFatal ${err.message}`),
    ...overrides,
  };
}

async function started(o: { topics?: string[]; startFrom?: StartPosition; broker?: Partial<BrokerState>; handlers?: Partial<GroupHandlers>; decoder?: RecordDecoder } = {}) {
  const log: string[] = [];
  const topics = o.topics ?? ['logs'];
  const cfg = { ...parseKafkaConfig({ KAFKA_BROKERS: 'broker-1:9092', KAFKA_TOPICS: topics.join(','), KAFKA_GROUP_ID: GROUP }), ...(o.startFrom ? { startFrom: o.startFrom } : {}) };
  const fake = standIn(log, { topics, ...o.broker });
  const source = new KafkajsGroupConsumer(cfg, logger, fake.kafka, o.decoder);
  await source.start(recordingHandlers(log, o.handlers ?? {}));
  /** The log since the last take(), cleared. */
  const take = (): string[] => log.splice(0);
  return { source, fake, log, take };
}

const kafkaError = (type: string, message = type): Error => Object.assign(new Error(message), { type });

describe('KafkajsGroupConsumer: start', () => {
  it('subscribes every topic and runs eachBatch with auto-commit and auto-resolve off', async () => {
    const { take, fake } = await started({ topics: ['logs', 'audit'] });
    expect(take()).toEqual([
      'admin.connect',
      'admin.describeConfigs 2:logs:retention.ms 2:audit:retention.ms',
      'consumer.connect',
      'subscribe logs fromBeginning=true',
      'subscribe audit fromBeginning=true',
      'run autoCommit=false eachBatchAutoResolve=false',
    ]);
    expect(fake.consumerConfig).toMatchObject({ groupId: GROUP, allowAutoTopicCreation: false });
    expect(fake.consumerConfig?.partitionAssigners).toHaveLength(1);
  });

  it('subscribes from the end with KAFKA_START_FROM=latest', async () => {
    const { take } = await started({ startFrom: { kind: 'latest' } });
    expect(take()).toContain('subscribe logs fromBeginning=false');
  });

  it('fails naming KAFKA_TOPICS when a topic does not exist, before creating a consumer', async () => {
    const log: string[] = [];
    const cfg = parseKafkaConfig({ KAFKA_BROKERS: 'broker-1:9092', KAFKA_TOPICS: 'logs,audit,dns' });
    const fake = standIn(log, { topics: ['logs', 'other'] });
    const source = new KafkajsGroupConsumer(cfg, logger, fake.kafka);
    await expect(source.start(recordingHandlers(log, {}))).rejects.toThrow('KAFKA_TOPICS: topic(s) audit, dns do not exist on broker-1:9092');
    expect(fake.consumerConfig).toBeUndefined();
    expect(log.filter((l) => l.startsWith('onTopicRetention'))).toEqual([]);
  });

  it('reports retention.ms of each topic through onTopicRetention (-1: unlimited), skipping a topic without a value', async () => {
    const { take } = await started({ topics: ['logs', 'audit', 'dns'], broker: { retentionMs: { logs: '604800000', audit: '-1' } } });
    expect(take().filter((l) => l.startsWith('onTopicRetention'))).toEqual(['onTopicRetention logs 604800000', 'onTopicRetention audit -1']);
  });
});

describe('KafkajsGroupConsumer: eachBatch', () => {
  it('hands the records to onRecord in order, resolving each after it is taken, then reports progress', async () => {
    const { source, fake, take } = await started();
    take();
    fake.join();
    expect(source.joined).toBe(true);
    expect(take()).toEqual(['onAssigned logs/0,1']);
    await fake.batch('logs', 1, [10, 11, 12], { highWatermark: '40' });
    expect(take()).toEqual([
      'heartbeat',
      'onRecord logs/1@10 record 10',
      'resolve logs/1@10',
      'onRecord logs/1@11 record 11',
      'resolve logs/1@11',
      'onRecord logs/1@12 record 12',
      'resolve logs/1@12',
      'onProgress logs/1 hw=40 next=13',
      'heartbeat',
    ]);
  });

  it('takes nothing before the group is joined', async () => {
    const { fake, take } = await started();
    take();
    await fake.batch('logs', 0, [0, 1]);
    expect(take()).toEqual([]);
    fake.join();
    await fake.batch('logs', 0, [0, 1]);
    expect(take().filter((l) => l.startsWith('onRecord'))).toEqual(['onRecord logs/0@0 record 0', 'onRecord logs/0@1 record 1']);
  });

  it('takes nothing after stopAccepting(), not even after a rejoin during shutdown', async () => {
    const { source, fake, take } = await started();
    fake.join();
    source.stopAccepting();
    take();
    await fake.batch('logs', 0, [0, 1]);
    expect(take()).toEqual([]);
    fake.join();
    await fake.batch('logs', 0, [0, 1]);
    expect(take()).toEqual(['onAssigned logs/0,1']);
  });

  it('stops inside a batch when stopAccepting() is called, leaving the rest unresolved', async () => {
    const box: { source?: KafkajsGroupConsumer } = {};
    const { source, fake, take, log } = await started({
      handlers: {
        onRecord: (r) => {
          log.push(`onRecord ${r.meta.topic}/${r.meta.partition}@${r.meta.offset}`);
          if (r.meta.offset === '6') box.source!.stopAccepting();
        },
      },
    });
    box.source = source;
    fake.join();
    take();
    await fake.batch('logs', 0, [5, 6, 7, 8]);
    expect(take()).toEqual(['heartbeat', 'onRecord logs/0@5', 'resolve logs/0@5', 'onRecord logs/0@6', 'resolve logs/0@6', 'onProgress logs/0 hw=9 next=7', 'heartbeat']);
  });

  it('sends a heartbeat before taking anything, and takes nothing when it fails (membership lost)', async () => {
    const { fake, take } = await started();
    fake.join();
    take();
    const lost = kafkaError('UNKNOWN_MEMBER_ID', 'The coordinator is not aware of this member');
    await expect(fake.batch('logs', 0, [0, 1, 2], { heartbeat: async () => Promise.reject(lost) })).rejects.toBe(lost);
    expect(take()).toEqual([]);
  });

  it('takes nothing when the heartbeat finds the partition sought elsewhere or the consumer stopping', async () => {
    const { fake, take } = await started();
    fake.join();
    take();
    let beat = false;
    const heartbeat = async () => void (beat = true);
    await fake.batch('logs', 0, [0, 1], { heartbeat, isStale: () => beat });
    beat = false;
    await fake.batch('logs', 0, [0, 1], { heartbeat, isRunning: () => !beat });
    expect(take()).toEqual([]);
  });
});

describe('KafkajsGroupConsumer: backpressure', () => {
  it('waits for room, and when there is none after the wait pauses the partition and leaves the rest unresolved', async () => {
    let room = 1;
    const waits: number[] = [];
    const { source, fake, take } = await started({
      handlers: { hasRoom: () => room-- > 0, waitForRoom: async (ms) => (waits.push(ms), false) },
    });
    fake.join();
    take();
    await fake.batch('logs', 0, [0, 1, 2]);
    expect(take()).toEqual(['heartbeat', 'onRecord logs/0@0 record 0', 'resolve logs/0@0', 'pause logs/0', 'onProgress logs/0 hw=3 next=1', 'heartbeat']);
    expect(waits).toEqual([1000]);
    expect(source.pausedCount).toBe(1);

    source.resumeAll();
    expect(take()).toEqual(['resume logs/0']);
    expect(source.pausedCount).toBe(0);
    source.resumeAll();
    expect(take()).toEqual([]);
  });

  it('resumes every paused partition, grouped by topic', async () => {
    const { source, fake, take } = await started({ topics: ['logs', 'audit'], handlers: { hasRoom: () => false, waitForRoom: async () => false } });
    fake.join({ logs: [0, 1], audit: [0] });
    await fake.batch('logs', 0, [0]);
    await fake.batch('audit', 0, [0]);
    await fake.batch('logs', 1, [0]);
    expect(source.pausedCount).toBe(3);
    take();
    source.resumeAll();
    expect(take()).toEqual(['resume logs/0,1 audit/0']);
  });

  it('carries on after a wait that found room, with a heartbeat before the next record', async () => {
    let room = 1;
    const { source, fake, take } = await started({ handlers: { hasRoom: () => room-- > 0 } });
    fake.join();
    take();
    await fake.batch('logs', 0, [0, 1]);
    expect(take()).toEqual(['heartbeat', 'onRecord logs/0@0 record 0', 'resolve logs/0@0', 'waitForRoom 1000', 'heartbeat', 'onRecord logs/0@1 record 1', 'resolve logs/0@1', 'onProgress logs/0 hw=2 next=2', 'heartbeat']);
    expect(source.pausedCount).toBe(0);
  });

  it('neither pauses nor takes when it stopped accepting during the wait', async () => {
    let source: KafkajsGroupConsumer | undefined;
    const s = await started({ handlers: { hasRoom: () => false, waitForRoom: async () => (source!.stopAccepting(), false) } });
    source = s.source;
    s.fake.join();
    s.take();
    await s.fake.batch('logs', 0, [0, 1]);
    expect(s.take()).toEqual(['heartbeat', 'heartbeat']);
    expect(source.pausedCount).toBe(0);
  });
});

describe('KafkajsGroupConsumer: commit and group membership', () => {
  it('commits next-offsets-to-read as strings, and nothing for an empty list', async () => {
    const { source, fake, take } = await started();
    fake.join();
    take();
    await source.commit([]);
    await source.commit([{ topic: 'logs', partition: 0, offset: 13 }, { topic: 'logs', partition: 1, offset: 7 }]);
    expect(take()).toEqual(['commit logs/0@13 logs/1@7']);
  });

  it('refuses to commit with NOT_IN_GROUP after a crash kafkajs restarts from, until the next GROUP_JOIN', async () => {
    const { source, fake, take } = await started();
    fake.join();
    fake.crash(kafkaError('REQUEST_TIMED_OUT', 'Request timed out'), true);
    take();
    await expect(source.commit([{ topic: 'logs', partition: 0, offset: 3 }])).rejects.toMatchObject({ code: 'NOT_IN_GROUP', deliveryClass: 'retriable' });
    expect(take()).toEqual([]);
    fake.join();
    take();
    await source.commit([{ topic: 'logs', partition: 0, offset: 3 }]);
    expect(take()).toEqual(['commit logs/0@3']);
  });

  it.each([
    ['UNKNOWN_MEMBER_ID', kafkaError('UNKNOWN_MEMBER_ID', 'The coordinator is not aware of this member')],
    // kafkajs wraps the broker's error when its retries are exhausted.
    ['REBALANCE_IN_PROGRESS (wrapped)', Object.assign(new Error('Number of retries exceeded'), { originalError: kafkaError('REBALANCE_IN_PROGRESS') })],
  ])('after a commit refused with %s takes no records until the group is rejoined', async (_name, refusal) => {
    const { source, fake, take } = await started();
    fake.join();
    fake.state.commitError = refusal;
    await expect(source.commit([{ topic: 'logs', partition: 0, offset: 3 }])).rejects.toBe(refusal);
    take();
    await fake.batch('logs', 0, [3, 4]);
    expect(take()).toEqual([]);
    fake.join();
    await fake.batch('logs', 0, [3, 4]);
    expect(take().filter((l) => l.startsWith('onRecord'))).toEqual(['onRecord logs/0@3 record 3', 'onRecord logs/0@4 record 4']);
  });

  it('keeps taking records after a commit error that does not mean the membership is lost', async () => {
    const { source, fake, take } = await started();
    fake.join();
    const timeout = kafkaError('REQUEST_TIMED_OUT', 'Request timed out');
    fake.state.commitError = timeout;
    await expect(source.commit([{ topic: 'logs', partition: 0, offset: 3 }])).rejects.toBe(timeout);
    take();
    await fake.batch('logs', 0, [3]);
    expect(take()).toContain('onRecord logs/0@3 record 3');
  });

  it('calls onFatal on a crash kafkajs does not restart from, and not on one it does', async () => {
    const { source, fake, take } = await started();
    fake.join();
    take();
    fake.crash(kafkaError('REQUEST_TIMED_OUT', 'timed out'), true);
    expect(take()).toEqual([]);
    fake.crash(kafkaError('GROUP_AUTHORIZATION_FAILED', 'Not authorized to access group'), false);
    expect(take()).toEqual(['onFatal Not authorized to access group']);
    expect(source.joined).toBe(false);
  });

  it('before every join (the hook on its assigner) stops taking records, lifts its pauses and awaits beforeJoin', async () => {
    let release!: () => void;
    const drained = new Promise<void>((r) => (release = r));
    const { source, fake, take, log } = await started({
      handlers: { hasRoom: () => false, waitForRoom: async () => false, beforeJoin: async () => (log.push('beforeJoin'), drained) },
    });
    fake.join();
    await fake.batch('logs', 0, [0]);
    take();
    const hook = fake.assigner()[BEFORE_JOIN] as () => Promise<void>;
    let done = false;
    const joining = hook().then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(take()).toEqual(['resume logs/0', 'beforeJoin']);
    expect([done, source.joined, source.pausedCount]).toEqual([false, false, 0]);
    await fake.batch('logs', 1, [0]);
    expect(take()).toEqual([]);
    release();
    await joining;
    expect(done).toBe(true);
  });

  it('stop() leaves the group and closes both connections', async () => {
    const { source, fake, take } = await started();
    fake.join();
    take();
    await source.stop();
    expect(take()).toEqual(['consumer.disconnect', 'admin.disconnect']);
    expect(source.joined).toBe(false);
    await fake.batch('logs', 0, [0]);
    expect(take()).toEqual([]);
  });
});

describe('KafkajsGroupConsumer: KAFKA_START_FROM=<time> and group:<id>', () => {
  const at = Date.parse('2026-03-01T00:00:00Z');

  it('<time>: commits and seeks a partition without a commit to the first offset at that time, once per assignment', async () => {
    const { fake, take } = await started({ startFrom: { kind: 'timestamp', ms: at }, broker: { byTimestamp: { 'logs/0': '100' } } });
    fake.join();
    take();
    await fake.batch('logs', 0, [0, 1, 2]);
    expect(take()).toEqual([
      'heartbeat',
      `admin.fetchOffsets ${GROUP} logs`,
      `admin.fetchTopicOffsetsByTimestamp logs ${at}`,
      'commit logs/0@100',
      'seek logs/0@100',
    ]);
    // The next fetch starts there; the partition is not checked again in this assignment.
    await fake.batch('logs', 0, [100, 101]);
    expect(take()).toEqual(['heartbeat', 'onRecord logs/0@100 record 100', 'resolve logs/0@100', 'onRecord logs/0@101 record 101', 'resolve logs/0@101', 'onProgress logs/0 hw=102 next=102', 'heartbeat']);
    // A new assignment checks again; the group has a commit now, so nothing is sought.
    fake.join();
    take();
    await fake.batch('logs', 0, [102]);
    expect(take()).toEqual(['heartbeat', `admin.fetchOffsets ${GROUP} logs`, 'onRecord logs/0@102 record 102', 'resolve logs/0@102', 'onProgress logs/0 hw=103 next=103', 'heartbeat']);
  });

  it('<time>: a check that failed runs again when kafkajs hands the same batch back (the partition is not taken from its first offset)', async () => {
    const { fake, take } = await started({ startFrom: { kind: 'timestamp', ms: at }, broker: { byTimestamp: { 'logs/0': '100' }, fetchOffsetsFailures: 1 } });
    fake.join();
    take();
    await expect(fake.batch('logs', 0, [0, 1, 2])).rejects.toThrow('coordinator is loading');
    expect(take()).toEqual(['heartbeat', `admin.fetchOffsets ${GROUP} logs`]);
    await fake.batch('logs', 0, [0, 1, 2]);
    expect(take()).toEqual(['heartbeat', `admin.fetchOffsets ${GROUP} logs`, `admin.fetchTopicOffsetsByTimestamp logs ${at}`, 'commit logs/0@100', 'seek logs/0@100']);
  });

  it('<time>: leaves a partition with a commit alone', async () => {
    const { fake, take } = await started({ startFrom: { kind: 'timestamp', ms: at }, broker: { committed: new Map([[`${GROUP}/logs/1`, '42']]), byTimestamp: { 'logs/1': '100' } } });
    fake.join();
    take();
    await fake.batch('logs', 1, [42, 43]);
    const lines = take();
    expect(lines.filter((l) => /^(commit|seek|admin\.fetchTopicOffsetsByTimestamp)/.test(l))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('onRecord'))).toEqual(['onRecord logs/1@42 record 42', 'onRecord logs/1@43 record 43']);
  });

  it('<time>: reads from the start when no record is that recent (offset -1)', async () => {
    const { fake, take } = await started({ startFrom: { kind: 'timestamp', ms: at } });
    fake.join();
    take();
    await fake.batch('logs', 0, [0]);
    const lines = take();
    expect(lines.filter((l) => /^(commit|seek)/.test(l))).toEqual([]);
    expect(lines).toContain('onRecord logs/0@0 record 0');
  });

  it('<time>: does not check or move a partition the heartbeat found sought elsewhere, or when it stopped accepting', async () => {
    const { source, fake, take } = await started({ startFrom: { kind: 'timestamp', ms: at }, broker: { byTimestamp: { 'logs/0': '100' } } });
    fake.join();
    take();
    let beat = false;
    await fake.batch('logs', 0, [0, 1], { heartbeat: async () => void (beat = true), isStale: () => beat });
    await fake.batch('logs', 0, [0, 1], { heartbeat: async () => source.stopAccepting() });
    expect(take()).toEqual([]);
  });

  it('group:<id>: commits and seeks a partition without a commit to where the other group committed', async () => {
    const { fake, take } = await started({ startFrom: { kind: 'group', groupId: 'old' }, broker: { committed: new Map([['old/logs/0', '50'], ['old/logs/1', '60'], [`${GROUP}/logs/1`, '7']]) } });
    fake.join();
    take();
    await fake.batch('logs', 0, [0, 1]);
    expect(take()).toEqual(['heartbeat', `admin.fetchOffsets ${GROUP} logs`, 'admin.fetchOffsets old logs', 'commit logs/0@50', 'seek logs/0@50']);
    // Partition 1 has a commit of its own: the other group is not asked.
    await fake.batch('logs', 1, [7]);
    expect(take()).toEqual(['heartbeat', `admin.fetchOffsets ${GROUP} logs`, 'onRecord logs/1@7 record 7', 'resolve logs/1@7', 'onProgress logs/1 hw=8 next=8', 'heartbeat']);
  });

  it('group:<id>: reads from the start where that group has no commit', async () => {
    const { fake, take } = await started({ startFrom: { kind: 'group', groupId: 'old' } });
    fake.join();
    take();
    await fake.batch('logs', 0, [0]);
    const lines = take();
    expect(lines.filter((l) => /^(commit|seek|onSkipped)/.test(l))).toEqual([]);
    expect(lines).toContain('onRecord logs/0@0 record 0');
  });

  it('group:<id>: reports what retention deleted when that group was behind the log start, and reads from the log start', async () => {
    const { fake, take } = await started({ startFrom: { kind: 'group', groupId: 'old' }, broker: { committed: new Map([['old/logs/0', '5']]), logStart: { 'logs/0': '20' } } });
    fake.join();
    take();
    await fake.batch('logs', 0, [20, 21]);
    const lines = take();
    expect(lines.filter((l) => /^(commit|seek|onSkipped)/.test(l))).toEqual(['onSkipped logs/0 [5,20)']);
    expect(lines.filter((l) => l.startsWith('onRecord'))).toEqual(['onRecord logs/0@20 record 20', 'onRecord logs/0@21 record 21']);
  });
});

describe('KafkajsGroupConsumer: the out-of-range hook on its assigner', () => {
  async function hooked(broker: Partial<BrokerState>) {
    const s = await started({ broker });
    s.fake.join();
    const hook = s.fake.assigner()[OUT_OF_RANGE] as OutOfRangeHook;
    expect(typeof hook).toBe('function');
    return { ...s, hook };
  }

  it('reports [expected, log start) when the next offset to read is below the log start, then seeks to and commits the log start', async () => {
    const { fake, take, hook } = await hooked({ logStart: { 'logs/0': '20' } });
    await fake.batch('logs', 0, [10, 11, 12]);
    take();
    const after = await hook('logs', 0);
    expect(take()).toEqual(['admin.fetchTopicOffsets logs', 'onSkipped logs/0 [13,20)']);
    // kafkajs resets the partition between the hook and what it returned.
    expect(typeof after).toBe('function');
    (after as () => void)();
    expect(take()).toEqual(['seek logs/0@20', 'commit logs/0@20']);
    // The same loss is not counted twice.
    expect(await hook('logs', 0)).toBeUndefined();
    expect(take()).toEqual(['admin.fetchTopicOffsets logs']);
  });

  it('uses the group commit when nothing was read from the partition in this assignment', async () => {
    const { take, hook } = await hooked({ committed: new Map([[`${GROUP}/logs/1`, '5']]), logStart: { 'logs/1': '8' } });
    take();
    const after = await hook('logs', 1);
    expect(take().filter((l) => l.startsWith('onSkipped'))).toEqual(['onSkipped logs/1 [5,8)']);
    (after as () => void)();
    expect(take()).toEqual(['seek logs/1@8', 'commit logs/1@8']);
  });

  it('forgets what it read in an earlier assignment: after a rejoin the group commit says where the partition is', async () => {
    const { fake, take, hook } = await hooked({ logStart: { 'logs/0': '20' } });
    await fake.batch('logs', 0, [10, 11, 12]);
    // The partition moved to another member, which committed 30, and came back.
    fake.state.committed.set(`${GROUP}/logs/0`, '30');
    fake.join();
    take();
    expect(await hook('logs', 0)).toBeUndefined();
    expect(take()).toEqual([`admin.fetchOffsets ${GROUP} logs`, 'admin.fetchTopicOffsets logs']);
  });

  it('reports nothing when the offset is not below the log start (topic recreated or truncated)', async () => {
    const { fake, take, hook } = await hooked({ logStart: { 'logs/0': '13' } });
    await fake.batch('logs', 0, [10, 11, 12]);
    take();
    expect(await hook('logs', 0)).toBeUndefined();
    expect(take()).toEqual(['admin.fetchTopicOffsets logs']);
  });

  it('reports nothing for a partition with neither a read nor a commit', async () => {
    const { take, hook } = await hooked({ logStart: { 'logs/0': '13' } });
    take();
    expect(await hook('logs', 0)).toBeUndefined();
    expect(take().filter((l) => /^(onSkipped|seek|commit)/.test(l))).toEqual([]);
  });

  it('does not let a failed commit of the log start escape (the next commit covers it)', async () => {
    const { fake, take, hook } = await hooked({ logStart: { 'logs/0': '20' } });
    await fake.batch('logs', 0, [10]);
    fake.state.commitError = kafkaError('REQUEST_TIMED_OUT');
    const after = (await hook('logs', 0)) as () => void;
    take();
    after();
    await new Promise((r) => setImmediate(r)); // an unhandled rejection would fail the run
    expect(take()).toEqual(['seek logs/0@20', 'commit logs/0@20']);
  });
});

/** A decoder whose answers the test releases one by one (a schema registry that takes its time). */
function waitingDecoder(into: { log: string[] }) {
  const pending = new Map<string, (d: Decoded | Error) => void>();
  const decoder: RecordDecoder = {
    decode: (value, meta) => {
      const at = `${meta.topic}/${meta.partition}@${meta.offset}`;
      into.log.push(`decode ${at}`);
      return new Promise((resolve, reject) => pending.set(at, (d) => (d instanceof Error ? reject(d) : resolve(d))));
    },
  };
  const release = async (at: string, answer?: Decoded | Error): Promise<void> => {
    const go = pending.get(at);
    if (!go) throw new Error(`no decode of ${at} is waiting`);
    pending.delete(at);
    go(answer ?? { ok: true, fields: { _raw: `decoded ${at}` }, raw: true });
    await new Promise((r) => setImmediate(r));
  };
  return { decoder, release };
}

describe('KafkajsGroupConsumer: decoding', () => {
  it('decodes JSON and text by default, and hands what cannot be decoded over with its reason', async () => {
    const { fake, take, log } = await started({
      handlers: { onRecord: (r) => void log.push(r.decoded.ok ? `ok raw=${r.decoded.raw} ${JSON.stringify(r.decoded.fields)}` : `failed ${r.decoded.code} size=${r.size}`) },
    });
    fake.join();
    take();
    await fake.batch('logs', 0, [0]);
    expect(take()).toContain('ok raw=true {"_raw":"record 0"}');
  });

  it('a record whose decode waits pauses only its partition; once decoded it is fetched again and takes the result', async () => {
    const into = { log: [] as string[] };
    const { decoder, release } = waitingDecoder(into);
    const s = await started({ decoder });
    into.log = s.log; // one log, in the order things happened
    expect(s.fake.concurrency).toBe(1);
    s.fake.join();
    s.take();
    const all = (): string[] => s.take();
    // kafkajs fetches the next round only after every batch of this one: the batch must not wait
    await s.fake.batch('logs', 0, [0, 1]);
    expect(all()).toEqual(['heartbeat', 'decode logs/0@0', 'pause logs/0', 'heartbeat']);
    await release('logs/0@0');
    expect(all()).toEqual(['resume logs/0']);
    // the same records fetched again: offset 0 takes the result without a second decode
    await s.fake.batch('logs', 0, [0, 1]);
    expect(all()).toEqual(['heartbeat', 'onRecord logs/0@0 decoded logs/0@0', 'resolve logs/0@0', 'decode logs/0@1', 'pause logs/0', 'onProgress logs/0 hw=2 next=1', 'heartbeat']);
    await release('logs/0@1', new Error('schema 7 does not match'));
    await s.fake.batch('logs', 0, [1]);
    expect(all()).toEqual(['resume logs/0', 'heartbeat', 'onRecord logs/0@1 DECODE_FAILED', 'resolve logs/0@1', 'onProgress logs/0 hw=2 next=2', 'heartbeat']);
  });

  it('a rejoin lifts the pause and forgets decodes of the old assignment', async () => {
    const into = { log: [] as string[] };
    const { decoder, release } = waitingDecoder(into);
    const s = await started({ decoder });
    into.log = s.log;
    s.fake.join();
    s.take();
    await s.fake.batch('logs', 1, [5]);
    await (s.fake.assigner()[BEFORE_JOIN] as () => Promise<void>)();
    expect(s.take()).toEqual(['heartbeat', 'decode logs/1@5', 'pause logs/1', 'heartbeat', 'resume logs/1', 'beforeJoin']);
    await release('logs/1@5');
    expect(s.take()).toEqual([]); // no resume for a partition that may be another member's now
  });
});
