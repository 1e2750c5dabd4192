// GroupConsumer on kafkajs: eachBatch with auto-resolve and auto-commit off; each fetched record is
// decoded here and handed to the pipeline, its offset resolved (so not fetched again) as soon as the
// pipeline takes it, and committed only when every sink acknowledged it.
import kafkajs, { type Admin, type Consumer, type EachBatchPayload, type Kafka } from 'kafkajs';
import { retriable } from '../../core/errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { jsonDecoder, messageMeta } from '../kafka/decode.ts';
import type { Decoded, GroupConsumer, GroupConsumerConfig, GroupHandlers, RecordDecoder, TopicPartitionOffset } from '../kafka/interface.ts';
import { assignerWithHooks, installGroupHooks } from './group-hooks.ts';

/** How long a full in-flight window is waited out inside a batch before the partition is paused. */
const ROOM_WAIT_MS = 1000;

export class KafkajsGroupConsumer implements GroupConsumer {
  readonly #cfg: GroupConsumerConfig;
  readonly #log: Logger;
  readonly #kafka: Kafka;
  readonly #decoder: RecordDecoder;
  #consumer: Consumer | undefined;
  #admin: Admin | undefined;
  #handlers: GroupHandlers | undefined;
  #accepting = false;
  /** Set once by stopAccepting(): a rejoin during shutdown must not start taking records again. */
  #stopping = false;
  readonly #paused = new Map<string, { topic: string; partition: number }>();
  /** Partitions paused while their next record's decode waits (e.g. for a schema registry), and the
   *  decode's result once it is there: the record is fetched again on resume and takes the result. */
  #decoding = new Map<string, { offset: string; result?: Decoded }>();
  /** Partitions whose start position (KAFKA_START_FROM time or group) was checked in this assignment. */
  #startChecked = new Set<string>();
  /** One past the last record taken from each partition in this assignment: where a fetch that the
   *  broker answers "out of range" was meant to start. */
  #expected = new Map<string, number>();
  #joined = false;
  /** False from a crash until kafkajs has rejoined: its commitOffsets() then returns without
   *  committing and without an error, so commit() must refuse instead. */
  #runnerUp = false;

  constructor(cfg: GroupConsumerConfig, logger: Logger, kafka: Kafka, decoder: RecordDecoder = jsonDecoder) {
    this.#cfg = cfg;
    this.#log = logger.child({ component: 'source' });
    this.#kafka = kafka;
    this.#decoder = decoder;
  }

  get joined(): boolean {
    return this.#joined;
  }

  get pausedCount(): number {
    return this.#paused.size;
  }

  /** Checks the topics exist, joins the group and starts consuming. */
  async start(handlers: GroupHandlers): Promise<void> {
    installGroupHooks();
    this.#handlers = handlers;
    this.#admin = this.#kafka.admin();
    await this.#admin.connect();
    const existing = new Set(await this.#admin.listTopics());
    const missing = this.#cfg.topics.filter((t) => !existing.has(t));
    if (missing.length > 0) throw new Error(`KAFKA_TOPICS: topic(s) ${missing.join(', ')} do not exist on ${this.#cfg.brokers.join(',')}`);
    if (handlers.onTopicRetention) {
      for (const [topic, ms] of await topicRetention(this.#admin, this.#cfg.topics)) handlers.onTopicRetention(topic, ms);
    }

    const consumer = this.#kafka.consumer({
      groupId: this.#cfg.groupId,
      sessionTimeout: this.#cfg.sessionTimeoutMs,
      rebalanceTimeout: this.#cfg.rebalanceTimeoutMs,
      heartbeatInterval: this.#cfg.heartbeatIntervalMs,
      maxBytesPerPartition: this.#cfg.maxBytesPerPartition,
      maxWaitTimeInMs: this.#cfg.fetchMaxWaitMs,
      partitionAssigners: [assignerWithHooks({ beforeJoin: () => this.#beforeJoin(), offsetOutOfRange: (topic, partition) => this.#offsetOutOfRange(topic, partition) })],
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.#joined = true;
      this.#runnerUp = true;
      this.#expected = new Map();
      this.#startChecked = new Set();
      const assignment = Object.entries(e.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions: partitions as number[] }));
      this.#log.info({ group: e.payload.groupId, assignment, leader: e.payload.isLeader }, 'joined the consumer group');
      this.#accepting = !this.#stopping;
      handlers.onAssigned(assignment);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const err = e.payload.error;
      this.#runnerUp = false;
      if (e.payload.restart) {
        this.#log.warn({ err: err.message }, 'consumer crashed; kafkajs restarts it');
        return;
      }
      this.#joined = false;
      // While this member stops (shutdown, or its route paused), a crash is its own close cutting a
      // request short: not a fault.
      if (this.#stopping) {
        this.#log.debug({ err: err.message }, 'consumer crashed while stopping; ignored');
        return;
      }
      handlers.onFatal(err);
    });
    await consumer.connect();
    for (const topic of this.#cfg.topics) {
      await consumer.subscribe({ topic, fromBeginning: this.#cfg.startFrom.kind !== 'latest' });
    }
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  /** Pauses a partition until `pending` settles; its record is fetched again then and takes the result. */
  #waitForDecode(topic: string, partition: number, offset: string, pending: Promise<Decoded>): void {
    const tp = `${topic}/${partition}`;
    const entry: { offset: string; result?: Decoded } = { offset };
    this.#decoding.set(tp, entry);
    this.#consumer!.pause([{ topic, partitions: [partition] }]);
    pending
      .catch((err: unknown): Decoded => ({ ok: false, code: 'DECODE_FAILED', message: String((err as Error)?.message ?? err) }))
      .then((result) => {
        if (this.#decoding.get(tp) !== entry) return; // the assignment changed meanwhile
        entry.result = result;
        if (!this.#paused.has(tp)) this.#consumer?.resume([{ topic, partitions: [partition] }]);
      });
  }

  async #beforeJoin(): Promise<void> {
    this.#accepting = false;
    this.#joined = false;
    // kafkajs keeps pauses across rejoins: lift ours, or a partition could stay paused for good.
    this.resumeAll();
    const decoding = [...this.#decoding.keys()];
    this.#decoding = new Map();
    for (const tp of decoding) {
      const i = tp.lastIndexOf('/');
      this.#consumer?.resume([{ topic: tp.slice(0, i), partitions: [Number(tp.slice(i + 1))] }]);
    }
    await this.#handlers?.beforeJoin();
  }

  async #eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    const { topic, partition } = batch;
    const handlers = this.#handlers!;
    if (!this.#accepting || batch.messages.length === 0) return;
    // Confirm membership before taking anything. kafkajs heartbeats only after a batch, and a member
    // whose session expired while the broker was unreachable still fetches: without this it would
    // ship a whole in-flight window of partitions that now belong to another member, which re-reads
    // them from the last commit. The heartbeat is sent only when heartbeatInterval has passed since
    // the last one that succeeded (so after any outage); UNKNOWN_MEMBER_ID or REBALANCE_IN_PROGRESS
    // throw out of here and kafkajs rejoins (our join hook drains and commits first).
    await p.heartbeat();
    if (!this.#accepting || !p.isRunning() || p.isStale()) return;
    const tp = `${topic}/${partition}`;
    const start = this.#cfg.startFrom.kind;
    if ((start === 'timestamp' || start === 'group') && !this.#startChecked.has(tp)) {
      const sought = await this.#startPosition(topic, partition, batch.firstOffset());
      // Marked only once the check succeeded: if it threw, kafkajs hands the same batch back and the
      // check runs again, instead of the partition being taken from its first offset.
      this.#startChecked.add(tp);
      if (sought) return;
    }
    // The first batch since the assignment (or a seek): the offset it was fetched from is where reading starts.
    const fetchedOffset = (batch as { fetchedOffset?: string }).fetchedOffset;
    if (!this.#expected.has(tp) && fetchedOffset !== undefined) handlers.onPosition?.(topic, partition, Number(fetchedOffset));
    let next: number | undefined;
    // A record fetched again once its decode was there (looked up once a batch, not once a record).
    let waited = this.#decoding.get(tp);
    for (const message of batch.messages) {
      if (!this.#accepting || !p.isRunning() || p.isStale()) break;
      if (!handlers.hasRoom()) {
        // A short wait rides out a commit; a sink that stays slow or down gets the partition paused.
        const room = await handlers.waitForRoom(ROOM_WAIT_MS);
        if (!this.#accepting || !p.isRunning() || p.isStale()) break;
        if (!room) {
          // Kafka is the buffer: stop fetching this partition; the unresolved rest is fetched again on resume.
          this.#consumer!.pause([{ topic, partitions: [partition] }]);
          this.#paused.set(tp, { topic, partition });
          break;
        }
        await p.heartbeat();
      }
      const meta = messageMeta(topic, partition, message);
      let decoded: Decoded | Promise<Decoded>;
      if (waited?.result !== undefined && waited.offset === message.offset) {
        decoded = waited.result;
        this.#decoding.delete(tp);
        waited = undefined;
      } else decoded = this.#decoder.decode(message.value, meta, message.key);
      if (decoded instanceof Promise) {
        // kafkajs fetches the next round only when every batch of this one is done: awaiting here
        // would hold up every other partition. Pause this one until its decode is there instead.
        this.#waitForDecode(topic, partition, message.offset, decoded);
        break;
      }
      handlers.onRecord({ meta, value: message.value, size: message.value?.length ?? 0, decoded });
      p.resolveOffset(message.offset);
      next = Number(message.offset) + 1;
    }
    if (next !== undefined) this.#expected.set(tp, next);
    if (next !== undefined) handlers.onProgress?.(topic, partition, batch.highWatermark, next);
    await p.heartbeat();
  }

  /**
   * KAFKA_START_FROM=<time> or group:<id>, at the first batch of a partition in this assignment: a
   * partition the group never committed starts at the first offset at or after that time, or where the
   * other group committed; we commit that offset for the group and seek there. Returns true when it
   * sought (the batch is dropped; the next fetch starts there).
   */
  async #startPosition(topic: string, partition: number, firstOffset: string | null): Promise<boolean> {
    const start = this.#cfg.startFrom;
    if ((await this.#committedOffset(this.#cfg.groupId, topic, partition)) !== undefined) return false;
    let target: number | undefined;
    if (start.kind === 'timestamp') {
      const byTime = await this.#admin!.fetchTopicOffsetsByTimestamp(topic, start.ms);
      const t = byTime.find((x) => x.partition === partition)?.offset;
      target = t === undefined || t === '-1' ? undefined : Number(t);
    } else if (start.kind === 'group') {
      target = await this.#committedOffset(start.groupId, topic, partition);
      if (target === undefined) this.#log.warn({ topic, partition, from: start.groupId }, 'KAFKA_START_FROM: that group has no commit for this partition; starting at the earliest offset');
      else if (target < Number(firstOffset ?? 0)) {
        // The other group was behind the log start itself: what retention deleted is lost to this route too.
        const low = Number((await this.#admin!.fetchTopicOffsets(topic)).find((o) => o.partition === partition)?.low ?? 0);
        if (low > target) this.#handlers?.onSkipped?.(topic, partition, target, low);
      }
    }
    if (target === undefined || target <= Number(firstOffset ?? 0)) return false;
    this.#log.info({ topic, partition, offset: target, from: start.kind === 'timestamp' ? new Date(start.ms).toISOString() : `group:${(start as { groupId: string }).groupId}` }, 'new partition: starting at KAFKA_START_FROM');
    await this.#consumer!.commitOffsets([{ topic, partition, offset: String(target) }]);
    this.#consumer!.seek({ topic, partition, offset: String(target) });
    return true;
  }

  async #committedOffset(groupId: string, topic: string, partition: number): Promise<number | undefined> {
    const committed = await this.#admin!.fetchOffsets({ groupId, topics: [topic] });
    const o = committed[0]?.partitions.find((x) => x.partition === partition)?.offset;
    // -1: none; -2 / -1 are also what kafkajs commits when it resets an out-of-range partition.
    return o === undefined || Number(o) < 0 ? undefined : Number(o);
  }

  /**
   * kafkajs is about to reset a partition whose fetch offset the broker no longer has: below the log
   * start, retention deleted records this route had not read (it was stalled, paused or stopped longer
   * than the topic's retention). Counted and named here, while the group's commit still says where the
   * route was; after kafkajs' reset the partition is read from the log start (with KAFKA_START_FROM=
   * latest kafkajs would jump to the end and skip what is still there).
   */
  async #offsetOutOfRange(topic: string, partition: number): Promise<(() => void) | void> {
    const tp = `${topic}/${partition}`;
    const [expected, offsets] = await Promise.all([
      this.#expected.get(tp) ?? this.#committedOffset(this.#cfg.groupId, topic, partition),
      this.#admin!.fetchTopicOffsets(topic),
    ]);
    const bounds = offsets.find((o) => o.partition === partition);
    if (expected === undefined || !bounds) return;
    const low = Number(bounds.low);
    if (expected >= low) {
      this.#log.warn({ topic, partition, offset: expected, logStart: low, logEnd: Number(bounds.high) }, 'fetch offset out of range but not below the log start (topic recreated or truncated?); kafkajs resets it to KAFKA_START_FROM');
      return;
    }
    this.#handlers?.onSkipped?.(topic, partition, expected, low);
    this.#expected.set(tp, low);
    return () => {
      // Read from the log start, and commit it: the group's commit must not stay below the log start
      // (kafkajs' reset wrote its -2/-1 sentinel over it) until a new record arrives, or the lag would
      // show records that no longer exist, and a restart would count the same loss again.
      this.#consumer?.seek({ topic, partition, offset: String(low) });
      this.#consumer?.commitOffsets([{ topic, partition, offset: String(low) }]).catch((err) => this.#log.warn({ topic, partition, offset: low }, `committing the log start after records lost to retention failed; the next commit covers it: ${String((err as Error)?.message ?? err)}`));
    };
  }

  /** Resumes every partition paused for backpressure. */
  resumeAll(): void {
    if (this.#paused.size === 0 || !this.#consumer) return;
    const byTopic = new Map<string, number[]>();
    for (const [tp, { topic, partition }] of this.#paused) {
      // (one whose record still waits for its decode is resumed when the decode is there)
      if (this.#decoding.has(tp) && this.#decoding.get(tp)!.result === undefined) continue;
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    }
    this.#paused.clear();
    if (byTopic.size === 0) return;
    this.#consumer.resume([...byTopic].map(([topic, partitions]) => ({ topic, partitions })));
  }

  /** Stops taking new records (shutdown): batches already fetched are left unresolved. */
  stopAccepting(): void {
    this.#stopping = true;
    this.#accepting = false;
  }

  /** Commits next-offsets-to-read. */
  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0 || !this.#consumer) return;
    if (!this.#runnerUp) throw retriable('NOT_IN_GROUP', 'the consumer is rejoining the group after a crash: nothing committed, the offsets stay pending');
    try {
      await this.#consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
    } catch (err) {
      // The group has moved on without us (a session that expired while the broker was unreachable):
      // our partitions belong to others now. Stop taking records until kafkajs has rejoined, so that
      // what we fetched meanwhile is not shipped twice (GROUP_JOIN lets them in again).
      if (errorTypes(err).some((t) => MEMBERSHIP_LOST.has(t)) && this.#accepting) {
        this.#accepting = false;
        this.#log.warn('commit refused: this instance is no longer a member of the group; taking no new records until it has rejoined');
      }
      throw err;
    }
  }

  /** Leaves the group and closes connections. */
  async stop(): Promise<void> {
    this.stopAccepting();
    try {
      await this.#consumer?.disconnect();
    } finally {
      this.#joined = false;
      await this.#admin?.disconnect().catch(() => undefined);
    }
  }
}

const { ConfigResourceTypes } = kafkajs;

/** retention.ms of each topic (-1: unlimited). */
async function topicRetention(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const res = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms'] })),
  });
  for (const r of res.resources) {
    const v = Number(r.configEntries.find((c) => c.configName === 'retention.ms')?.configValue);
    if (Number.isFinite(v)) out.set(r.resourceName, v);
  }
  return out;
}

/** Commit errors that mean the group generation moved on without this member. */
const MEMBERSHIP_LOST = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'FENCED_INSTANCE_ID']);

/** kafkajs error types of `err` and of the errors it wraps (retries exhausted, originalError). */
function errorTypes(err: unknown, depth = 0): string[] {
  const e = err as { type?: unknown; originalError?: unknown; cause?: unknown } | undefined;
  if (!e || depth > 4) return [];
  return [...(typeof e.type === 'string' ? [e.type] : []), ...errorTypes(e.originalError, depth + 1), ...errorTypes(e.cause, depth + 1)];
}
