// GroupConsumer on @platformatic/kafka. The library keeps the group membership (JoinGroup, SyncGroup,
// heartbeats, the cooperative-sticky assignor); everything between the broker and the pipeline is
// ours: one fetch loop over the owned partitions, their positions, pauses, the decoding, and commits.
// Its consume stream is not used: it pauses only as a whole, cannot seek one partition, and keeps
// buffered records of partitions that moved.
//
// Rebalances (classic protocol): the library awaits `protocolsMetadata` before every JoinGroup — the
// one point where the member still owns its partitions. There, partitions about to be given up are
// drained and committed (handlers.beforeJoin). Under cooperative-sticky only the revoked ones stop:
// the first JoinGroup of a rebalance revokes nothing, and the second one (after a SyncGroup that took
// partitions away) gives up exactly those. Under an eager protocol every partition is given up. The
// leader assigns with our own assignor (assignor.ts): the library's leaves a new member idle.
//
// Rebalances (consumer protocol, KIP-848): the broker assigns; the membership (consumer-protocol.ts)
// hands each new assignment to #reconcile, which drains and commits the partitions revoked and only then
// reports them given up. The library's Consumer is used for fetches, offsets and metadata, never to join.
import { Admin, Consumer, ConnectionPool, FetchIsolationLevels, type ClusterMetadata, type Connection, type fetchV17, type KafkaRecord, type RecordsBatch } from '@platformatic/kafka';
import { retriable } from '../../core/errors.ts';
import type { RecordMeta } from '../../core/record.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { jsonDecoder } from '../kafka/decode.ts';
import type { Decoded, GroupConsumer, GroupConsumerConfig, GroupHandlers, KafkaConnectOptions, RecordDecoder, TopicPartitionOffset, TopicPartitions } from '../kafka/interface.ts';
import { stickyBalancedAssignor } from './assignor.ts';
import { ConsumerProtocolMembership, type HeartbeatAnswer, type HeartbeatRequest } from './consumer-protocol.ts';
import { errorNames, kafkaError, tagged } from './errors.ts';
import { platformaticBaseOptions } from './options.ts';
import { protocolApi } from './protocol-api.ts';
import { WakeableSleep } from './wakeable-sleep.ts';

/** The assignor of choice: partitions that do not move keep flowing during a rebalance. */
export const COOPERATIVE = 'cooperative-sticky';
/** kafkajs' protocol name (its round-robin assignor; same wire format as Kafka's consumer protocol
 *  v0). Offered second, so kafkajs and platformatic members can share a group during a rolling
 *  upgrade: the group runs eager round robin until the last kafkajs member has left. */
export const KAFKAJS_COMPATIBLE = 'RoundRobinAssigner';

/** How long a full in-flight window is waited out before the partitions are paused. */
const ROOM_WAIT_MS = 1000;
const IS_CONTROL = 1 << 5;
/** Commit errors that mean the group generation moved on without this member (REBALANCE_IN_PROGRESS
 *  does not: the coordinator refuses commits while it completes a rebalance the member takes part in). */
const MEMBERSHIP_LOST = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID', 'FENCED_MEMBER_EPOCH']);
/** Errors after which the group coordinator is looked up again. */
const COORDINATOR_MOVED = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']);
const OFFSET_OUT_OF_RANGE = 1;
/** Partition errors after which the leaders are looked up again. */
const STALE_METADATA = new Set([3, 6, 74, 100]);

type FetchResponse = fetchV17.FetchResponse;

/** Fetched records of one partition not yet taken, and where in them the next one is. */
interface Buffered {
  batches: RecordsBatch[];
  batch: number;
  record: number;
  highWatermark: bigint;
}

interface OwnedPartition {
  topic: string;
  partition: number;
  /** Next offset to take; undefined until the start position is known. */
  next: bigint | undefined;
  buffered: Buffered | undefined;
  /** Paused for backpressure (until resumeAll). */
  paused: boolean;
  /** The record at `offset` waits for its decode; `result` once it is there. */
  decoding: { offset: number; result?: Decoded } | undefined;
}

export class PlatformaticGroupConsumer implements GroupConsumer {
  readonly #cfg: GroupConsumerConfig;
  readonly #log: Logger;
  readonly #opts: KafkaConnectOptions;
  readonly #decoder: RecordDecoder;
  #consumer: Consumer | undefined;
  /** Under the consumer protocol (KIP-848): the membership; undefined under classic. */
  #membership: ConsumerProtocolMembership | undefined;
  /** Under the consumer protocol: the coordinator's node id, until a request says it moved. */
  #coordinatorNode: number | undefined;
  /** Heartbeats on connections of their own: never queued behind a fetch waiting for records. */
  #groupPool: ConnectionPool | undefined;
  #admin: Admin | undefined;
  #handlers: GroupHandlers | undefined;
  readonly #owned = new Map<string, OwnedPartition>();
  #accepting = false;
  #stopping = false;
  #running = false;
  #joined = false;
  /** The protocol of the current generation is eager (or not known yet): a rejoin gives up everything. */
  #eager = true;
  /** Bumped whenever partitions are given up: a fetch started before is not taken. */
  #epoch = 0;
  /** When the membership was last confirmed (a heartbeat answered, or a join). */
  #confirmedAt = 0;
  /** The coordinator said "rebalance in progress" and the member is rejoining (cleared by the join). */
  #rejoining = false;
  #loop: Promise<void> | undefined;
  readonly #pause = new WakeableSleep();
  #metadata: ClusterMetadata | undefined;
  #pool: ConnectionPool | undefined;
  #turn = 0;
  /** waitForRoom() said yes: the next record goes without asking hasRoom() (which would take a second token). */
  #granted = false;

  constructor(cfg: GroupConsumerConfig, logger: Logger, opts: KafkaConnectOptions, decoder: RecordDecoder = jsonDecoder) {
    this.#cfg = cfg;
    this.#log = logger.child({ component: 'source' });
    this.#opts = opts;
    this.#decoder = decoder;
  }

  get joined(): boolean {
    return this.#joined;
  }

  get pausedCount(): number {
    let n = 0;
    for (const p of this.#owned.values()) if (p.paused) n++;
    return n;
  }

  async start(handlers: GroupHandlers): Promise<void> {
    this.#handlers = handlers;
    const base = platformaticBaseOptions(this.#opts);
    this.#admin = new Admin(base);
    const admin = this.#admin;
    const existing = new Set(await tagged(() => admin.listTopics({ includeInternals: false })));
    const missing = this.#cfg.topics.filter((t) => !existing.has(t));
    if (missing.length > 0) throw new Error(`KAFKA_TOPICS: topic(s) ${missing.join(', ')} do not exist on ${this.#cfg.brokers.join(',')}`);
    if (handlers.onTopicRetention) {
      for (const [topic, ms] of await topicRetention(this.#admin, this.#cfg.topics)) handlers.onTopicRetention(topic, ms);
    }
    const consumer = new Consumer({
      ...base,
      // A JoinGroup is answered only when the rebalance completes (up to the rebalance timeout).
      requestTimeout: Math.max(base.requestTimeout ?? 0, this.#cfg.rebalanceTimeoutMs + 5000),
      // The library refreshes metadata every 5 s by default, on the group's connection: behind a
      // JoinGroup that waits for a dead member, that stalled every fetch (20 s in the rebalance bench).
      // Leaders are looked up again anyway when a fetch says they moved.
      metadataMaxAge: 300_000,
      groupId: this.#cfg.groupId,
      ...(this.#cfg.groupInstanceId ? { groupInstanceId: this.#cfg.groupInstanceId } : {}),
      sessionTimeout: this.#cfg.sessionTimeoutMs,
      rebalanceTimeout: this.#cfg.rebalanceTimeoutMs,
      heartbeatInterval: this.#cfg.heartbeatIntervalMs,
      protocols: [
        { name: COOPERATIVE, version: 3 },
        { name: KAFKAJS_COMPATIBLE, version: 1 },
      ],
      protocolsMetadata: () => this.#beforeJoin(),
      partitionAssigner: stickyBalancedAssignor,
      autocommit: false,
      minBytes: 1,
      maxWaitTime: this.#cfg.fetchMaxWaitMs,
      // The library's default (50 MB a fetch) makes each fetch's decoding a long pause; a few
      // partitions' worth is enough to keep the pipeline busy.
      maxBytes: Math.max(this.#cfg.maxBytesPerPartition * 4, 1024 * 1024),
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    });
    this.#consumer = consumer;
    // Fetches and commits on connections of their own: a broker answers one request of a connection at
    // a time, and a JoinGroup waits for the whole rebalance (up to a dead member's session timeout) on
    // the group's connection — fetches queued behind it would stop the partitions that do not move.
    this.#pool = new ConnectionPool(base.clientId, base);
    consumer.on('consumer:group:join', (e) => this.#onJoin(e.assignments ?? []));
    consumer.on('consumer:heartbeat:end', () => {
      this.#confirmedAt = Date.now();
      this.#pause.wake();
    });
    consumer.on('consumer:group:rebalance', () => {
      // The coordinator answered "rebalance in progress" (the library emits this for that answer and
      // for its own cooperative second round): it knows this member, which rejoins now and
      // (cooperative) keeps its partitions until the SyncGroup says otherwise, however long the
      // JoinGroup waits (for a dead member's session to expire, up to KAFKA_SESSION_TIMEOUT).
      this.#rejoining = true;
    });
    consumer.on('error', (err: Error) => {
      // A rejoin the library gave up on (its retries exhausted): the process exits, its partitions move.
      this.#joined = false;
      this.#fatal(handlers, err);
    });
    consumer.topics.trackAll(...this.#cfg.topics);
    if (this.#cfg.groupProtocol === 'consumer') await this.#joinConsumerProtocol(consumer, handlers, base);
    else await tagged(() => consumer.joinGroup({}));
    this.#running = true;
    this.#loop = this.#run().catch((err: unknown) => {
      this.#joined = false;
      this.#fatal(handlers, err instanceof Error ? err : new Error(String(err)));
    });
  }

  /**
   * A failure that ends this member. Not while it stops (shutdown, or its route paused on purpose):
   * what the library was doing then — a heartbeat, a rejoin, a metadata refresh — fails with the
   * connections its close cuts ("Connection closed"), which once made pausing one route exit the whole
   * process (the route isolation fault scenario, in CI).
   */
  #fatal(handlers: GroupHandlers, err: Error): void {
    if (this.#stopping) {
      this.#log.debug({ err: String(err.message) }, 'a Kafka request failed while this member stops; ignored');
      return;
    }
    handlers.onFatal(err);
  }

  #onJoin(assignment: TopicPartitions[]): void {
    const keep = new Set<string>();
    for (const { topic, partitions } of assignment) {
      for (const partition of partitions) {
        const key = `${topic}/${partition}`;
        keep.add(key);
        if (!this.#owned.has(key)) this.#owned.set(key, { topic, partition, next: undefined, buffered: undefined, paused: false, decoding: undefined });
      }
    }
    for (const key of [...this.#owned.keys()]) if (!keep.has(key)) this.#owned.delete(key);
    this.#joined = true;
    this.#rejoining = false;
    this.#confirmedAt = Date.now();
    this.#accepting = !this.#stopping;
    this.#log.info({ group: this.#cfg.groupId, assignment, generation: this.#consumer?.generationId }, 'joined the consumer group');
    this.#handlers?.onAssigned(assignment);
    // Which protocol the group chose decides what the next rejoin gives up (one describe a rebalance).
    this.#admin
      ?.describeGroups({ groups: [this.#cfg.groupId] })
      .then((groups) => {
        this.#eager = groups.get(this.#cfg.groupId)?.protocol !== COOPERATIVE;
      })
      .catch(() => {
        this.#eager = true;
      });
    this.#pause.wake();
  }

  /** Before every JoinGroup: give up (drain, commit) what the next generation may hand to others. */
  async #beforeJoin(): Promise<Buffer> {
    const current = new Set<string>();
    for (const a of this.#consumer?.assignments ?? []) for (const p of a.partitions) current.add(`${a.topic}/${p}`);
    const revoked = [...this.#owned.keys()].filter((key) => this.#eager || !current.has(key));
    if (revoked.length > 0) await this.#giveUp(revoked);
    return Buffer.alloc(0);
  }

  /** Stops taking records of `revoked`, has the pipeline deliver and commit what it took, forgets them. */
  async #giveUp(revoked: string[]): Promise<void> {
    this.#accepting = false;
    this.#epoch++;
    for (const key of revoked) this.#owned.delete(key);
    if (this.#owned.size === 0) this.#joined = false;
    this.#log.info({ revoked: revoked.length, kept: this.#owned.size, eager: this.#eager }, 'rebalance: draining the partitions given up');
    let delivered = false;
    try {
      delivered = (await this.#handlers?.beforeJoin()) === true;
    } catch (err) {
      // Not fatal: what was not committed is read again by the partitions' next owner.
      this.#log.warn({ err: String((err as Error)?.message ?? err) }, 'rebalance: the drain before giving partitions up failed; their next owner starts from the last commit');
    } finally {
      // Partitions kept (cooperative) go on from where they were when the drain delivered and committed
      // everything taken (their buffered records are fetched again). When it did not, the pipeline has
      // forgotten records it had taken: going on from here would commit past them, so the kept
      // partitions start again from the group's commit (read again, never skipped).
      for (const p of this.#owned.values()) {
        p.buffered = undefined;
        if (!delivered) {
          p.next = undefined;
          p.decoding = undefined;
        }
      }
      if (!delivered && this.#owned.size > 0) this.#log.warn({ kept: this.#owned.size }, 'rebalance: the drain did not deliver and commit everything in time; the partitions kept are read again from the last commit');
      this.#accepting = !this.#stopping && this.#owned.size > 0;
    }
  }

  /** Joins under the consumer protocol; heartbeats go on in the membership until stop(). */
  async #joinConsumerProtocol(consumer: Consumer, handlers: GroupHandlers, base: ReturnType<typeof platformaticBaseOptions>): Promise<void> {
    this.#eager = false;
    this.#groupPool = new ConnectionPool(base.clientId, base);
    const membership = new ConsumerProtocolMembership({
      send: (req) => this.#heartbeat(req),
      apiVersion: async () => (await protocolApi(consumer, 'ConsumerGroupHeartbeat')).version,
      logger: this.#log,
      isStatic: this.#cfg.groupInstanceId !== undefined,
      topicIds: async () => {
        const metadata = await consumer.metadata({ topics: this.#cfg.topics, forceUpdate: true });
        return new Map([...metadata.topics].map(([name, t]) => [name, t.id]));
      },
      hooks: {
        reconcile: (target) => this.#reconcile(target),
        lost: async () => {
          this.#joined = false;
          if (this.#owned.size > 0) await this.#giveUp([...this.#owned.keys()]);
        },
        confirmed: () => {
          this.#confirmedAt = Date.now();
          this.#pause.wake();
        },
        fatal: (err) => {
          this.#joined = false;
          this.#fatal(handlers, err);
        },
      },
    });
    this.#membership = membership;
    await membership.join();
  }

  /** One ConsumerGroupHeartbeat to the coordinator. */
  async #heartbeat(req: HeartbeatRequest): Promise<HeartbeatAnswer> {
    const consumer = this.#consumer!;
    const api = await protocolApi(consumer, 'ConsumerGroupHeartbeat');
    try {
      const connection = await this.#coordinatorConnection(this.#groupPool!);
      return (await api.async(connection, this.#cfg.groupId, req.memberId, req.memberEpoch, this.#cfg.groupInstanceId ?? null, null, this.#cfg.rebalanceTimeoutMs, [...this.#cfg.topics], null, null, req.owned)) as HeartbeatAnswer;
    } catch (err) {
      this.#forgetCoordinatorOn(err);
      throw kafkaError(err);
    }
  }

  /** A connection to the group coordinator, from `pool`. */
  async #coordinatorConnection(pool: ConnectionPool): Promise<Connection> {
    const consumer = this.#consumer!;
    let node: number;
    if (!this.#membership) node = await consumer.findGroupCoordinator();
    else {
      // The library's cached coordinator is cleared only by its own requests' errors; ours clear this one.
      this.#coordinatorNode ??= (await this.#admin!.findCoordinator({ keyType: 0, keys: [this.#cfg.groupId] })).find((c) => c.key === this.#cfg.groupId)?.nodeId;
      if (this.#coordinatorNode === undefined || this.#coordinatorNode < 0) {
        this.#coordinatorNode = undefined;
        throw retriable('COORDINATOR_NOT_AVAILABLE', 'the group coordinator is not known yet');
      }
      node = this.#coordinatorNode;
    }
    let broker = (this.#metadata ?? (await consumer.metadata({ topics: this.#cfg.topics }))).brokers.get(node);
    broker ??= (await consumer.metadata({ topics: this.#cfg.topics, forceUpdate: true })).brokers.get(node);
    if (!broker) throw retriable('COORDINATOR_NOT_AVAILABLE', `the group coordinator (node ${node}) is not in the cluster metadata`);
    return pool.get(broker);
  }

  #forgetCoordinatorOn(err: unknown): void {
    if (!(err as { response?: unknown }).response || errorNames(err).some((n) => COORDINATOR_MOVED.has(n))) this.#coordinatorNode = undefined;
  }

  /** Consumer protocol: the broker's assignment for this member. Revoked partitions are drained and
   *  committed first (still reported as owned meanwhile); then the new ones are taken. */
  async #reconcile(target: TopicPartitions[]): Promise<void> {
    const keep = new Set<string>();
    for (const { topic, partitions } of target) for (const p of partitions) keep.add(`${topic}/${p}`);
    const revoked = [...this.#owned.keys()].filter((key) => !keep.has(key));
    const added = [...keep].filter((key) => !this.#owned.has(key));
    if (revoked.length > 0) await this.#giveUp(revoked);
    if (this.#joined && revoked.length === 0 && added.length === 0) return;
    for (const { topic, partitions } of target) {
      for (const partition of partitions) {
        const key = `${topic}/${partition}`;
        if (!this.#owned.has(key)) this.#owned.set(key, { topic, partition, next: undefined, buffered: undefined, paused: false, decoding: undefined });
      }
    }
    this.#joined = true;
    this.#confirmedAt = Date.now();
    this.#accepting = !this.#stopping;
    this.#log.info({ group: this.#cfg.groupId, assignment: target, memberEpoch: this.#membership?.memberEpoch, revoked: revoked.length, added: added.length }, 'joined the consumer group');
    this.#handlers?.onAssigned(target);
    this.#pause.wake();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      try {
        await this.#round();
        failures = 0;
      } catch (err) {
        // The client's own retries are exhausted (a broker restarting, a coordinator moving): log, back
        // off and go on; positions are kept, nothing is taken twice.
        failures++;
        this.#metadata = undefined;
        this.#log[failures === 1 ? 'warn' : 'debug']({ attempt: failures, err: String((err as Error)?.message ?? err) }, 'Kafka request failed; retrying');
        await this.#pause.sleep(Math.min(10_000, 500 * failures));
      }
    }
  }

  /** One turn of the fetch loop: start positions, records already fetched, then one fetch. */
  async #round(): Promise<void> {
    if (!this.#accepting || this.#owned.size === 0) {
      await this.#pause.sleep(this.#cfg.fetchMaxWaitMs);
      return;
    }
    const epoch = this.#epoch;
    await this.#initPositions();
    if (epoch !== this.#epoch || !this.#accepting) return;
    if (!this.#membershipConfirmed()) {
      // A member whose session may have expired (the broker was unreachable) takes nothing until a
      // heartbeat or a rejoin confirms it: the partitions may be another member's now.
      await this.#pause.sleep(this.#cfg.heartbeatIntervalMs);
      return;
    }
    const full = this.#takeBuffered();
    if (full) {
      const room = await this.#handlers!.waitForRoom(ROOM_WAIT_MS);
      this.#granted = room;
      if (!room) {
        // Kafka is the buffer: fetch nothing until the pipeline has room again (resumeAll).
        for (const p of this.#owned.values()) p.paused = true;
      }
      return;
    }
    const wanted = [...this.#owned.values()].filter((p) => !p.paused && !p.buffered && !p.decoding && p.next !== undefined);
    if (wanted.length === 0) {
      await this.#pause.sleep(this.#cfg.fetchMaxWaitMs);
      return;
    }
    await this.#fetch(wanted, epoch);
  }

  /** True when the membership was confirmed recently enough that the partitions are still ours. */
  #membershipConfirmed(): boolean {
    if (this.#rejoining && !this.#eager) return true;
    const interval = this.#membership?.intervalMs ?? this.#cfg.heartbeatIntervalMs;
    return Date.now() - this.#confirmedAt < interval * 2 + this.#cfg.fetchMaxWaitMs + 1000;
  }

  /** Hands buffered records to the pipeline; true when it stopped for want of room. */
  #takeBuffered(): boolean {
    const handlers = this.#handlers!;
    // Each round starts at the next partition, so a scarce in-flight window is shared fairly.
    const owned = [...this.#owned.values()];
    const first = this.#turn++ % Math.max(1, owned.length);
    for (let i = 0; i < owned.length; i++) {
      const p = owned[(first + i) % owned.length]!;
      const buf = p.buffered;
      const waiting = p.decoding !== undefined && p.decoding.result === undefined;
      if (!buf || waiting) continue;
      // Offsets and timestamps as numbers (exact below 2^53): no BigInt arithmetic per record.
      const before = Number(p.next!);
      let next = before;
      let stoppedForRoom = false;
      scan: for (; buf.batch < buf.batches.length; buf.batch++, buf.record = 0) {
        const batch = buf.batches[buf.batch]!;
        const base = Number(batch.firstOffset);
        if (batch.attributes & IS_CONTROL) {
          next = base + batch.lastOffsetDelta + 1;
          continue;
        }
        const baseTimestamp = Number(batch.firstTimestamp);
        for (; buf.record < batch.records.length; buf.record++) {
          const r = batch.records[buf.record]!;
          const offset = base + r.offsetDelta;
          if (offset < next) continue;
          if (!this.#accepting) break scan;
          // waitForRoom() answering true let one record in (its rate-limit token is taken).
          if (this.#granted) this.#granted = false;
          else if (!handlers.hasRoom()) {
            stoppedForRoom = true;
            break scan;
          }
          const meta = recordMeta(p.topic, p.partition, offset, baseTimestamp + Number(r.timestampDelta), r);
          let decoded: Decoded | Promise<Decoded>;
          if (p.decoding?.offset === offset && p.decoding.result !== undefined) {
            decoded = p.decoding.result;
            p.decoding = undefined;
          } else decoded = this.#decoder.decode(r.value, meta, r.key);
          if (decoded instanceof Promise) {
            this.#waitForDecode(p, offset, decoded);
            break scan;
          }
          handlers.onRecord({ meta, value: r.value, size: r.value?.length ?? 0, decoded });
          next = offset + 1;
        }
        // A batch may end with offsets no record has (compaction, transaction markers).
        const end = base + batch.lastOffsetDelta + 1;
        if (end > next) next = end;
      }
      const advanced = next !== before;
      if (advanced) p.next = BigInt(next);
      if (buf.batch >= buf.batches.length) p.buffered = undefined;
      if (advanced) handlers.onProgress?.(p.topic, p.partition, String(buf.highWatermark), next);
      if (stoppedForRoom) return true;
    }
    return false;
  }

  /** Holds a partition at `offset` until the decode settles; other partitions go on meanwhile. */
  #waitForDecode(p: OwnedPartition, offset: number, pending: Promise<Decoded>): void {
    const entry: { offset: number; result?: Decoded } = { offset };
    p.decoding = entry;
    pending
      .catch((err: unknown): Decoded => ({ ok: false, code: 'DECODE_FAILED', message: String((err as Error)?.message ?? err) }))
      .then((result) => {
        entry.result = result;
        this.#pause.wake();
      });
  }

  async #fetch(wanted: OwnedPartition[], epoch: number): Promise<void> {
    const consumer = this.#consumer!;
    const metadata = this.#metadata ?? (this.#metadata = await consumer.metadata({ topics: this.#cfg.topics }));
    const byNode = new Map<number, Map<string, OwnedPartition[]>>();
    for (const p of wanted) {
      const t = metadata.topics.get(p.topic);
      const leader = t?.partitions[p.partition]?.leader;
      if (t === undefined || leader === undefined || leader < 0) {
        this.#metadata = undefined;
        continue;
      }
      const topics = byNode.get(leader) ?? new Map<string, OwnedPartition[]>();
      byNode.set(leader, topics);
      topics.set(t.id, [...(topics.get(t.id) ?? []), p]);
    }
    const names = new Map([...metadata.topics].map(([name, t]) => [t.id, name]));
    await Promise.all(
      [...byNode].map(async ([node, topics]) => {
        const sent = new Map<string, bigint>();
        const request = [...topics].map(([topicId, parts]) => ({
          topicId,
          partitions: parts.map((p) => {
            sent.set(`${p.topic}/${p.partition}`, p.next!);
            return { partition: p.partition, fetchOffset: p.next!, partitionMaxBytes: this.#cfg.maxBytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 };
          }),
        }));
        let response: FetchResponse;
        try {
          response = await consumer.fetch({ node, topics: request, connectionPool: this.#pool! });
        } catch (err) {
          // Partition errors arrive as an error carrying the whole response; anything else is retried
          // on the next round with fresh metadata.
          const r = (err as { response?: FetchResponse }).response;
          if (!r?.responses) {
            this.#metadata = undefined;
            this.#log.warn({ node, err: String((err as Error)?.message ?? err) }, 'fetch failed; retrying');
            await this.#pause.sleep(300);
            return;
          }
          response = r;
        }
        if (epoch !== this.#epoch) return;
        for (const t of response.responses) {
          const topic = names.get(t.topicId) ?? t.topicId;
          for (const part of t.partitions) {
            const key = `${topic}/${part.partitionIndex}`;
            const p = this.#owned.get(key);
            if (!p || p.next !== sent.get(key)) continue;
            if (part.errorCode === OFFSET_OUT_OF_RANGE) await this.#outOfRange(p, part.logStartOffset, part.highWatermark);
            else if (part.errorCode !== 0) {
              if (STALE_METADATA.has(part.errorCode)) this.#metadata = undefined;
            } else if (part.records && part.records.length > 0) {
              p.buffered = { batches: part.records, batch: 0, record: 0, highWatermark: part.highWatermark };
            } else this.#handlers?.onProgress?.(p.topic, p.partition, String(part.highWatermark), Number(p.next));
          }
        }
      }),
    );
  }

  /**
   * The broker no longer has the offset this partition was to be read from. Below the log start,
   * retention deleted records this route had not read: counted and named, and the partition goes on
   * from the log start (committed, so a restart does not count the same loss again). Past the end
   * (the topic was recreated or truncated), it starts again from the log start, losing nothing.
   */
  async #outOfRange(p: OwnedPartition, logStart: bigint, high: bigint): Promise<void> {
    const from = p.next!;
    let low = logStart;
    if (low < 0n) low = (await this.#listOffsets(p.topic, p.partition, -2n)) ?? 0n;
    if (from < low) {
      this.#handlers?.onSkipped?.(p.topic, p.partition, Number(from), Number(low));
      this.commit([{ topic: p.topic, partition: p.partition, offset: Number(low) }]).catch((err) => this.#log.warn({ topic: p.topic, partition: p.partition, offset: Number(low) }, `committing the log start after records lost to retention failed; the next commit covers it: ${String((err as Error)?.message ?? err)}`));
    } else this.#log.warn({ topic: p.topic, partition: p.partition, offset: Number(from), logStart: Number(low), logEnd: Number(high) }, 'fetch offset out of range but not below the log start (topic recreated or truncated?); reading from the log start');
    p.next = low;
  }

  /** Start positions of partitions new to this member: the group's commit, else KAFKA_START_FROM. */
  async #initPositions(): Promise<void> {
    const fresh = [...this.#owned.values()].filter((p) => p.next === undefined);
    if (fresh.length === 0) return;
    const consumer = this.#consumer!;
    const byTopic = new Map<string, number[]>();
    for (const p of fresh) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    const committed = await consumer.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
    for (const p of fresh) {
      const c = committed.get(p.topic)?.[p.partition];
      if (c !== undefined && c >= 0n) {
        if (this.#owned.get(`${p.topic}/${p.partition}`) !== p) continue;
        p.next = c;
        this.#handlers?.onPosition?.(p.topic, p.partition, Number(c));
        continue;
      }
      const start = await this.#startPosition(p.topic, p.partition);
      if (this.#owned.get(`${p.topic}/${p.partition}`) !== p) continue;
      p.next = start.offset;
      this.#handlers?.onPosition?.(p.topic, p.partition, Number(start.offset));
      if (start.commit) {
        this.#log.info({ topic: p.topic, partition: p.partition, offset: Number(start.offset), from: start.from }, 'new partition: starting at KAFKA_START_FROM');
        await this.commit([{ topic: p.topic, partition: p.partition, offset: Number(start.offset) }]).catch(() => undefined);
      }
    }
  }

  /** Where a partition the group never committed starts (KAFKA_START_FROM). */
  async #startPosition(topic: string, partition: number): Promise<{ offset: bigint; commit: boolean; from?: string }> {
    const start = this.#cfg.startFrom;
    const earliest = async () => (await this.#listOffsets(topic, partition, -2n)) ?? 0n;
    if (start.kind === 'earliest') return { offset: await earliest(), commit: false };
    if (start.kind === 'latest') return { offset: (await this.#listOffsets(topic, partition, -1n)) ?? 0n, commit: false };
    if (start.kind === 'timestamp') {
      const at = await this.#listOffsets(topic, partition, BigInt(start.ms));
      const offset = at === undefined || at < 0n ? ((await this.#listOffsets(topic, partition, -1n)) ?? 0n) : at;
      return { offset, commit: true, from: new Date(start.ms).toISOString() };
    }
    const groups = await this.#admin!.listConsumerGroupOffsets({ groups: [{ groupId: start.groupId, topics: [{ name: topic, partitionIndexes: [partition] }] }] });
    const theirs = groups[0]?.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === partition)?.committedOffset;
    const low = await earliest();
    if (theirs === undefined || theirs < 0n) {
      this.#log.warn({ topic, partition, from: start.groupId }, 'KAFKA_START_FROM: that group has no commit for this partition; starting at the earliest offset');
      return { offset: low, commit: false };
    }
    // The other group was behind the log start itself: what retention deleted is lost to this route too.
    if (theirs < low) this.#handlers?.onSkipped?.(topic, partition, Number(theirs), Number(low));
    return { offset: theirs < low ? low : theirs, commit: true, from: `group:${start.groupId}` };
  }

  /** -2: log start, -1: end (last stable offset), else the first offset at or after that time. */
  async #listOffsets(topic: string, partition: number, timestamp: bigint): Promise<bigint | undefined> {
    const offsets = await this.#consumer!.listOffsets({ topics: [topic], partitions: { [topic]: [partition] }, timestamp });
    return offsets.get(topic)?.[partition];
  }

  resumeAll(): void {
    let resumed = false;
    for (const p of this.#owned.values()) {
      if (p.paused) resumed = true;
      p.paused = false;
    }
    if (resumed) this.#pause.wake();
  }

  stopAccepting(): void {
    this.#stopping = true;
    this.#accepting = false;
  }

  /** Commits next-offsets-to-read under the current generation; never retried under a later one. */
  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    const consumer = this.#consumer;
    if (offsets.length === 0 || !consumer) return;
    const membership = this.#membership;
    // Under the consumer protocol the member epoch stands where the classic generation does.
    const generation = membership ? membership.memberEpoch : consumer.generationId;
    const memberId = membership ? (membership.memberEpoch > 0 ? membership.memberId : null) : consumer.memberId;
    if (!memberId) throw retriable('NOT_IN_GROUP', 'the consumer is (re)joining the group: nothing committed, the offsets stay pending');
    const topics = new Map<string, { name: string; partitions: Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: null }> }>();
    for (const o of offsets) {
      const t = topics.get(o.topic) ?? { name: o.topic, partitions: [] };
      topics.set(o.topic, t);
      t.partitions.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: -1, committedMetadata: null });
    }
    try {
      const connection = await this.#coordinatorConnection(this.#pool!);
      const api = await protocolApi(consumer, 'OffsetCommit');
      await api.async(connection, this.#cfg.groupId, generation, memberId, this.#cfg.groupInstanceId ?? null, [...topics.values()]);
    } catch (err) {
      // (A commit sent under the generation before a rejoin that has completed since is refused too:
      // that says nothing about the membership now.)
      if (membership) this.#forgetCoordinatorOn(err);
      const current = membership ? membership.memberEpoch : consumer.generationId;
      if (errorNames(err).some((n) => MEMBERSHIP_LOST.has(n)) && this.#accepting && current === generation) {
        // The group moved on without us: take nothing more until the library has rejoined.
        this.#accepting = false;
        this.#confirmedAt = 0;
        this.#rejoining = false;
        this.#log.warn('commit refused: this instance is no longer a member of the group; taking no new records until it has rejoined');
        // Consumer protocol: the next heartbeat, sent now, is answered "fenced" and joins again.
        membership?.beatNow();
      }
      throw kafkaError(err);
    }
  }

  async stop(): Promise<void> {
    this.stopAccepting();
    this.#running = false;
    this.#pause.wake();
    await this.#loop;
    const consumer = this.#consumer;
    try {
      // Consumer protocol: leaves with epoch -1, or -2 as a static member (its assignment waits for it).
      if (this.#membership) await this.#membership.leave();
      else if (consumer && this.#cfg.groupInstanceId) {
        // A static member does not leave on shutdown: restarted within the session timeout it gets
        // its partitions back with no rebalance. The library always sends LeaveGroup on close; with
        // no member id it has nothing to leave and only stops its heartbeats.
        consumer.memberId = null;
        await Promise.resolve(consumer.leaveGroup()).catch(() => undefined);
      }
      await consumer?.close();
    } finally {
      await this.#pool?.close().catch(() => undefined);
      await this.#groupPool?.close().catch(() => undefined);
      this.#joined = false;
      await this.#admin?.close().catch(() => undefined);
    }
  }
}

function recordMeta(topic: string, partition: number, offset: number, timestamp: number, r: KafkaRecord): RecordMeta {
  const headers: Record<string, string> = {};
  for (let i = 0; i < r.headers.length; i++) {
    const [k, v] = r.headers[i]!;
    if (k !== null && v !== null) headers[k.toString('utf8')] = v.toString('utf8');
  }
  return { topic, partition, offset: String(offset), timestamp, key: r.key === null ? null : r.key.toString('utf8'), headers };
}

/** retention.ms of each topic (-1: unlimited). */
async function topicRetention(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const res = await admin.describeConfigs({ resources: topics.map((name) => ({ resourceType: 2, resourceName: name, configurationKeys: ['retention.ms'] })), includeSynonyms: false, includeDocumentation: false });
  for (const r of res) {
    const v = Number(r.configs.find((c) => c.name === 'retention.ms')?.value);
    if (Number.isFinite(v)) out.set(r.resourceName, v);
  }
  return out;
}
