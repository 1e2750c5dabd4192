// Reads partitions by offset without a consumer group: list offsets (earliest, latest, by timestamp)
// and fetch a range. The webhook serves pull calls with it and the webhook cursor store replays its
// topic with it. kafkajs has no public group-less consumer; this uses the cluster object its own
// producer, consumer and admin are built from (the client's private createCluster), its brokers'
// Fetch request and its Batch class (which drops records before the requested offset, aborted
// transactional records and control records). Like group-hooks.ts it fails loudly at start if those
// internals are not where kafkajs 2.2.4 keeps them.
import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';
import type { FetchedMessage, FetchResult, PartitionOffsets, PartitionReader } from '../kafka/interface.ts';

const require = createRequire(import.meta.url);

/** kafkajs' read-committed isolation level (src/protocol/isolationLevel.js). */
const READ_COMMITTED = 1;

interface KafkajsBatch {
  messages: FetchedMessage[];
  lastOffset(): string;
  isEmptyIncludingFiltered(): boolean;
}
type BatchClass = new (topic: string, fetchedOffset: string, partitionData: unknown) => KafkajsBatch;

interface Broker {
  fetch(request: {
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: unknown[] }> }>;
}

interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number; leader: number }>;
  findBroker(q: { nodeId: number }): Promise<Broker>;
  fetchTopicsOffset(
    q: Array<{ topic: string; partitions: Array<{ partition: number }>; fromBeginning?: boolean; fromTimestamp?: number }>,
  ): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

type CreateCluster = (opts: { allowAutoTopicCreation: boolean; isolationLevel: number; metadataMaxAge?: number }) => Cluster;

function internals(kafka: Kafka): { createCluster: CreateCluster; Batch: BatchClass } {
  const sym = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const createCluster = sym === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[sym];
  let Batch: unknown;
  try {
    Batch = require('kafkajs/src/consumer/batch.js');
  } catch {
    Batch = undefined;
  }
  if (typeof createCluster !== 'function' || typeof Batch !== 'function') {
    throw new Error('kafkajs internals changed: the group-less partition reader needs Kafka[private:Kafka:createCluster] and kafkajs/src/consumer/batch.js (written for kafkajs 2.2.4)');
  }
  return { createCluster: createCluster as CreateCluster, Batch: Batch as BatchClass };
}

export class KafkajsPartitionReader implements PartitionReader {
  readonly #cluster: Cluster;
  readonly #Batch: BatchClass;
  #connected: Promise<void> | undefined;

  constructor(kafka: Kafka) {
    const { createCluster, Batch } = internals(kafka);
    this.#cluster = createCluster({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED, metadataMaxAge: 60_000 });
    this.#Batch = Batch;
  }

  connect(): Promise<void> {
    this.#connected ??= this.#cluster.connect().catch((err: unknown) => {
      this.#connected = undefined; // the next call tries again
      throw err;
    });
    return this.#connected;
  }

  async disconnect(): Promise<void> {
    if (this.#connected) await this.#cluster.disconnect();
    this.#connected = undefined;
  }

  /** The partition ids of a topic (throws for an unknown topic). */
  async partitions(topic: string): Promise<number[]> {
    await this.connect();
    await this.#cluster.addTargetTopic(topic);
    await this.#cluster.refreshMetadataIfNecessary();
    return this.#cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId).sort((a, b) => a - b);
  }

  /** Earliest offsets still in the log. */
  earliest(topic: string): Promise<PartitionOffsets> {
    return this.#offsets(topic, { fromBeginning: true });
  }

  /** The end of each partition (the next offset to be written; with read-committed, the last stable offset). */
  latest(topic: string): Promise<PartitionOffsets> {
    return this.#offsets(topic, { fromBeginning: false });
  }

  /** The first offset whose timestamp is at or after `ms`, or the end of the partition when none is. */
  async forTime(topic: string, ms: number): Promise<PartitionOffsets> {
    const [byTime, end] = await Promise.all([this.#offsets(topic, { fromTimestamp: ms }), this.latest(topic)]);
    for (const [p, o] of byTime) if (o < 0) byTime.set(p, end.get(p) ?? 0);
    return byTime;
  }

  async #offsets(topic: string, how: { fromBeginning?: boolean; fromTimestamp?: number }): Promise<PartitionOffsets> {
    const partitions = await this.partitions(topic);
    const res = await this.#retryOnStaleMetadata(() =>
      this.#cluster.fetchTopicsOffset([{ topic, partitions: partitions.map((partition) => ({ partition })), ...how }]),
    );
    const out: PartitionOffsets = new Map();
    for (const p of res[0]?.partitions ?? []) out.set(p.partition, Number(p.offset));
    return out;
  }

  /** One fetch of one partition from `offset`, at most about `maxBytes` (at least one record batch). */
  async fetch(topic: string, partition: number, offset: number, maxBytes: number): Promise<FetchResult> {
    await this.connect();
    const res = await this.#retryOnStaleMetadata(async () => {
      await this.#cluster.addTargetTopic(topic);
      await this.#cluster.refreshMetadataIfNecessary();
      const meta = this.#cluster.findTopicPartitionMetadata(topic).find((p) => p.partitionId === partition);
      if (!meta) throw Object.assign(new Error(`topic ${topic} has no partition ${partition}`), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
      const broker = await this.#cluster.findBroker({ nodeId: meta.leader });
      return broker.fetch({
        isolationLevel: READ_COMMITTED,
        maxWaitTime: 0,
        minBytes: 1,
        maxBytes,
        topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes }] }],
      });
    });
    const data = res.responses.find((r) => r.topicName === topic)?.partitions[0];
    if (data === undefined) return { messages: [], nextOffset: offset };
    const batch = new this.#Batch(topic, String(offset), data);
    const next = batch.isEmptyIncludingFiltered() ? offset : Number(batch.lastOffset()) + 1;
    return { messages: batch.messages, nextOffset: Math.max(offset, next) };
  }

  /** A leader move or a new topic: refresh metadata and try once more. */
  async #retryOnStaleMetadata<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const type = (err as { type?: string }).type ?? '';
      if (!/NOT_LEADER|LEADER_NOT_AVAILABLE|UNKNOWN_TOPIC_OR_PARTITION|NOT_LEADER_OR_FOLLOWER|FENCED_LEADER_EPOCH/.test(type)) throw err;
      await this.#cluster.refreshMetadata();
      return fn();
    }
  }
}
