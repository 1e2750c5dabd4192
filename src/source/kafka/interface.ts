// What logstream needs from a Kafka client, and nothing more. Everything outside a client adapter
// (src/source/kafkajs/, src/source/platformatic/) — the app, the routes, the webhook, the commands, the
// tests, the bench and the scripts — talks to Kafka through these types, so a client can be replaced by
// writing one adapter; src/source/kafka/connect.ts picks one (KAFKA_CLIENT).
//
// Errors: an adapter throws errors whose `type` (or `code`) is the Kafka protocol error name
// (COORDINATOR_LOAD_IN_PROGRESS, UNKNOWN_MEMBER_ID, MESSAGE_TOO_LARGE, …) when the broker answered one,
// possibly wrapped (`cause`, `originalError`, `errors`); isRetriableKafkaError (group-admin.ts) reads them.
import type { Fields, RecordMeta, SchemaMeta } from '../../core/record.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { KafkaSecurity } from './security.ts';

// ---------------------------------------------------------------------------------------------------
// Connecting

export const KAFKA_CLIENT_LIBRARIES = ['kafkajs', 'platformatic'] as const;
export type KafkaClientLibrary = (typeof KAFKA_CLIENT_LIBRARIES)[number];
/** How members of a group agree on partitions: classic (JoinGroup/SyncGroup, the client assigns) or
 *  consumer (KIP-848: the broker assigns, each member reconciles on its heartbeats). */
export const GROUP_PROTOCOLS = ['classic', 'consumer'] as const;
export type GroupProtocol = (typeof GROUP_PROTOCOLS)[number];

/** Where a group with no committed offset for a partition starts. `group`: where another group's
 *  committed offset is (moving from one pipeline to routes without losing or repeating records). */
export type StartPosition = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'timestamp'; ms: number } | { kind: 'group'; groupId: string };

/** What a group member needs of a route's Kafka settings (a KafkaSourceConfig, src/source/kafka/config.ts). */
export interface GroupConsumerConfig {
  readonly brokers: readonly string[];
  readonly topics: string[];
  readonly groupId: string;
  readonly groupProtocol: GroupProtocol;
  /** Static membership: this instance's group.instance.id (undefined: dynamic membership). */
  readonly groupInstanceId?: string;
  readonly startFrom: StartPosition;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly maxBytesPerPartition: number;
  readonly fetchMaxWaitMs: number;
}

export interface KafkaConnectOptions {
  brokers: readonly string[];
  clientId: string;
  /** Which adapter (KAFKA_CLIENT): platformatic (@platformatic/kafka, the default) or kafkajs. */
  client?: KafkaClientLibrary;
  connectionTimeoutMs?: number;
  /** Retries of a failed request inside the client before an operation fails (adapter default: 8, backing off to 10 s). */
  retries?: number;
  security?: KafkaSecurity;
  logger: Logger;
}

/** One connection setting (brokers, TLS, SASL) from which every consumer, reader, producer and admin is made. */
export interface KafkaClient {
  readonly brokers: readonly string[];
  /** A consumer-group member for one route; `decoder` turns fetched bytes into records (default: JSON/text). */
  groupConsumer(cfg: GroupConsumerConfig, logger: Logger, decoder?: RecordDecoder): GroupConsumer;
  /** Reads partitions by offset, without a group. */
  reader(): PartitionReader;
  producer(opts?: ProducerOptions): KafkaProducer;
  /** Connects on first use; close() when done. */
  admin(): KafkaAdmin;
}

// ---------------------------------------------------------------------------------------------------
// Records

/** A record as fetched: the bytes and headers, before decoding. */
export interface FetchedMessage {
  offset: string;
  /** Milliseconds since the epoch, as a decimal string. */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | Array<Buffer | string> | undefined>;
}

export type Decoded =
  | {
      ok: true;
      fields: Fields;
      /** Not JSON: `fields` is {"_raw": text}. */
      raw: boolean;
      /** The value is one JSON object, validated in its bytes but not parsed; `fields` holds only the
       *  top-level members a filter-only query reads (filterDecoder). The whole record is JSON.parse of
       *  the value, done only if a sink asks for it. */
      partial?: boolean;
      /** The value's bytes are not the JSON of `fields` (a schema-registry format): never shipped as they are. */
      converted?: boolean;
      /** The registry schema the value was written with. */
      schema?: SchemaMeta;
      /** The key as KAFKA_KEY_FORMAT read it (JSON text of a decoded key), replacing the UTF-8 text. */
      key?: string | null;
    }
  | { ok: false; code: string; message: string };

/**
 * Bytes → fields. Synchronous for JSON and text; a decoder that must wait (a schema fetched from a
 * registry) returns a promise, and only that record's partition waits for it: the consumer goes on
 * taking the other partitions' records meanwhile. A promise that rejects dead-letters the record
 * (code DECODE_FAILED); a decoder that should retry (registry unreachable) keeps its promise pending.
 */
export interface RecordDecoder {
  /** `key`: the key's bytes, for a decoder that reads keys too (KAFKA_KEY_FORMAT). */
  decode(value: Buffer | null, meta: RecordMeta, key?: Buffer | null): Decoded | Promise<Decoded>;
}

/** A decoded record handed to the pipeline: where it came from, its original bytes and its fields. */
export interface SourceRecord {
  readonly meta: RecordMeta;
  /** The value's original bytes (shipped unchanged when no query touched it; kept in dead letters). */
  readonly value: Buffer | null;
  /** Bytes of the value (what the in-flight byte budget counts). */
  readonly size: number;
  readonly decoded: Decoded;
}

// ---------------------------------------------------------------------------------------------------
// The group consumer

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read. */
  offset: number;
}

/** What the consumer calls; the pipeline implements it. */
export interface GroupHandlers {
  /** Is there room for one more record? */
  hasRoom(): boolean;
  /** Resolves true as soon as there is room, false after `timeoutMs`. */
  waitForRoom(timeoutMs: number): Promise<boolean>;
  /** Takes one decoded record (synchronously; records of one partition arrive in offset order). */
  onRecord(record: SourceRecord): void;
  /** Reading of a partition (re)starts at `offset`: the group's commit or KAFKA_START_FROM, after an
   *  assignment or a reset. Records of it arrive from there on (offsets without a record skipped). */
  onPosition?(topic: string, partition: number, offset: number): void;
  /** After a partition's fetched batch: its high watermark and the next offset to read. */
  onProgress?(topic: string, partition: number, highWatermark: string, nextOffset: number): void;
  /** Before every (re)join of the group and before partitions are given up: stop taking records of
   *  them, drain and commit. Resolves true when everything taken was delivered and committed: the
   *  partitions kept through a cooperative rebalance go on from where they were. Anything else: the
   *  handler forgot records it had taken, and kept partitions are read again from the group's commit
   *  (duplicates, never a gap). */
  beforeJoin(): Promise<boolean | void>;
  /** After joining: the partitions this instance now owns. */
  onAssigned(assignment: TopicPartitions[]): void;
  /** The broker deleted offsets [from, to) of a partition before they were read (retention). */
  onSkipped?(topic: string, partition: number, from: number, to: number): void;
  /** retention.ms of each topic read (-1: unlimited), once at start. */
  onTopicRetention?(topic: string, retentionMs: number): void;
  /** The client gave up (non-retriable error): the process must exit non-zero. */
  onFatal(error: Error): void;
}

/** One member of a consumer group: the small control handle the pipeline and the route hold. */
export interface GroupConsumer {
  /** Checks the topics exist, joins the group and starts consuming. */
  start(handlers: GroupHandlers): Promise<void>;
  /** A member of the group with an assignment right now. */
  readonly joined: boolean;
  /** Partitions paused for backpressure. */
  readonly pausedCount: number;
  /** Resumes every partition the consumer paused for backpressure (it pauses one when the handlers
   *  have no room for a while; records not taken are fetched again on resume). */
  resumeAll(): void;
  /** Stops taking new records (shutdown); what was fetched and not taken is read again by the next owner. */
  stopAccepting(): void;
  /** Commits next-offsets-to-read for partitions this member owns. */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Leaves the group and closes its connections. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Reading partitions by offset

/** Offsets of every partition of a topic. */
export type PartitionOffsets = Map<number, number>;

export interface FetchResult {
  messages: FetchedMessage[];
  /** Where the next fetch of this partition starts. */
  nextOffset: number;
}

export interface PartitionReader {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** The partition ids of a topic (throws for an unknown topic). */
  partitions(topic: string): Promise<number[]>;
  /** Earliest offsets still in the log. */
  earliest(topic: string): Promise<PartitionOffsets>;
  /** The end of each partition (read-committed: the last stable offset). */
  latest(topic: string): Promise<PartitionOffsets>;
  /** The first offset whose timestamp is at or after `ms`, or the end of the partition when none is. */
  forTime(topic: string, ms: number): Promise<PartitionOffsets>;
  /** One fetch of one partition from `offset`, at most about `maxBytes` (at least one record batch). */
  fetch(topic: string, partition: number, offset: number, maxBytes: number): Promise<FetchResult>;
}

// ---------------------------------------------------------------------------------------------------
// Producing

export interface ProducerOptions {
  /** Idempotent (acks=all, one in flight per partition, no duplicates from the producer's own retries). */
  idempotent?: boolean;
  /** Retries of a failed send inside the client before send() rejects (adapter default otherwise). */
  retries?: number;
}

export interface OutgoingMessage {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string | Buffer>;
  /** Default: the key's murmur2 partition (Java-compatible), round robin without a key. */
  partition?: number;
  timestamp?: number;
}

/** Where a send's messages went: per partition written, the offset of its first message. */
export interface ProduceResult {
  partition: number;
  baseOffset: number;
}

export interface KafkaProducer {
  connect(): Promise<void>;
  /** Resolves once every message is acknowledged (`acks` default -1: all in-sync replicas). */
  send(topic: string, messages: OutgoingMessage[], opts?: { acks?: -1 | 0 | 1 }): Promise<ProduceResult[]>;
  disconnect(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Admin

export interface NewTopic {
  topic: string;
  partitions: number;
  replicationFactor?: number;
  config?: Record<string, string>;
}

export interface PartitionBounds {
  partition: number;
  /** Log start offset. */
  low: number;
  /** High watermark (the next offset to be written). */
  high: number;
}

export interface GroupDescription {
  /** Stable, PreparingRebalance, CompletingRebalance, Empty, Dead, … */
  state: string;
  members: number;
  /** The members' ids, sorted (a member that expired and rejoined has a new one). */
  memberIds: string[];
}

export interface KafkaAdmin {
  listTopics(): Promise<string[]>;
  /** Creates a topic and waits for its leaders; false when it existed already (a replica's race). */
  createTopic(t: NewTopic): Promise<boolean>;
  /** Partition ids of a topic. */
  partitions(topic: string): Promise<number[]>;
  /** The named configuration values of each topic (those the broker returned). */
  topicConfig(topics: readonly string[], names: readonly string[]): Promise<Map<string, Map<string, string>>>;
  offsets(topic: string): Promise<PartitionBounds[]>;
  /** First offset at or after `ms` per partition; the partition's end where no record is that new. */
  offsetsForTime(topic: string, ms: number): Promise<Array<{ partition: number; offset: number }>>;
  /** A group's committed next-offsets for a topic; partitions it never committed are absent. */
  committed(group: string, topic: string): Promise<Map<number, number>>;
  /** Moves a group's committed offsets (the group must have no members). */
  setCommitted(group: string, topic: string, offsets: ReadonlyArray<{ partition: number; offset: number }>): Promise<void>;
  describeGroup(group: string): Promise<GroupDescription>;
  /** Deletes the records below each offset (the broker moves the log start). */
  deleteRecords(topic: string, before: ReadonlyArray<{ partition: number; offset: number }>): Promise<void>;
  close(): Promise<void>;
}
