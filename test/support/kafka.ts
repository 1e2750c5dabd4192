/**
 * Helpers for integration tests against the real Kafka broker started by
 * test/support/global-setup.ts (see scripts/kafka-broker.ts). Nothing here is mocked.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Kafka, logLevel, Partitioners, type IHeaders, type Message } from 'kafkajs';
import { silenceKafkajsTimeoutWarning } from '../../scripts/kafka-broker.ts';
import { retryKafka } from '../../src/source/kafka/group-admin.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** "127.0.0.1:<port>" of the broker started by test/support/global-setup.ts */
    kafkaBootstrap: string;
  }
}

silenceKafkajsTimeoutWarning();

/** Bootstrap address of the shared test broker (vitest inject, else env LOGSTREAM_TEST_KAFKA). */
export function kafkaBootstrap(): string {
  let fromVitest: string | undefined;
  try {
    fromVitest = inject('kafkaBootstrap');
  } catch {
    // not inside a vitest worker
  }
  const bootstrap = fromVitest || process.env['LOGSTREAM_TEST_KAFKA'];
  if (!bootstrap) {
    throw new Error(
      'no test Kafka broker: run the tests through vitest (globalSetup test/support/global-setup.ts) ' +
        'or set LOGSTREAM_TEST_KAFKA=host:port',
    );
  }
  return bootstrap;
}

function client(bootstrap: string, clientId = 'logstream-test'): Kafka {
  return new Kafka({
    clientId,
    brokers: bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 30000,
  });
}

const RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
let nameCounter = 0;

/** A topic / group name unique per test run (and per call): `<prefix>-<runId>-<n>`. */
export function uniqueName(prefix: string): string {
  const clean = prefix.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100) || 't';
  nameCounter += 1;
  return `${clean}-${RUN_ID}-${process.pid}-${nameCounter}`;
}

/** Creates `topic` (if missing) and waits until every partition has a leader. */
export async function createTopic(bootstrap: string, topic: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
  const admin = client(bootstrap).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
      waitForLeaders: true,
      timeout: 30000,
    });
    // createTopics returns false when the topic already existed; check what is there.
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const parts = meta.topics[0]?.partitions ?? [];
    if (parts.length !== partitions) {
      throw new Error(`topic ${topic} has ${parts.length} partitions, wanted ${partitions}`);
    }
    const leaderless = parts.filter((p) => p.leader < 0);
    if (leaderless.length > 0) {
      throw new Error(`topic ${topic}: partitions without leader: ${leaderless.map((p) => p.partitionId).join(',')}`);
    }
  } finally {
    await admin.disconnect();
  }
}

export interface TestRecord {
  partition?: number;
  key?: string;
  /** A Buffer or string is sent as-is; anything else is JSON.stringify'd. */
  value: unknown | Buffer | string;
  headers?: Record<string, string>;
  /** Record timestamp (CreateTime), epoch ms; default now. */
  timestamp?: number;
}

/** Produces `records` in order, `batchSize` (default 1000) per request, acks=all. */
export async function produceJson(
  bootstrap: string,
  topic: string,
  records: TestRecord[],
  opts: { batchSize?: number } = {},
): Promise<void> {
  const batchSize = Math.max(1, opts.batchSize ?? 1000);
  const producer = client(bootstrap).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += batchSize) {
      const messages: Message[] = records.slice(i, i + batchSize).map((r) => {
        const m: Message = {
          value:
            Buffer.isBuffer(r.value) || typeof r.value === 'string'
              ? r.value
              : (JSON.stringify(r.value) as string | undefined) ?? null,
        };
        if (r.key !== undefined) m.key = r.key;
        if (r.partition !== undefined) m.partition = r.partition;
        if (r.headers !== undefined) m.headers = r.headers;
        if (r.timestamp !== undefined) m.timestamp = String(r.timestamp);
        return m;
      });
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | undefined>;
}

function flattenHeaders(h: IHeaders | undefined): Record<string, Buffer | string | undefined> {
  const out: Record<string, Buffer | string | undefined> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    // A repeated header key arrives as an array: keep the last value.
    out[k] = Array.isArray(v) ? v[v.length - 1] : v;
  }
  return out;
}

/**
 * Reads `topic` from the beginning with a throwaway consumer group that never commits,
 * until at least `expected` records arrived or `timeoutMs` (default 30 s) passed.
 * Returns what was read (possibly fewer than `expected` on timeout, possibly more if
 * the last fetched batch held more), sorted by partition then offset.
 */
export async function readTopic(
  bootstrap: string,
  topic: string,
  opts: { expected: number; timeoutMs?: number },
): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  const consumer = client(bootstrap).consumer({
    groupId: uniqueName('readTopic'),
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
    rebalanceTimeout: 10000,
    maxWaitTimeInMs: 250,
    allowAutoTopicCreation: false,
  });
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const timer = setTimeout(() => done(), opts.timeoutMs ?? 30_000);
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    if (opts.expected <= 0) done();
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          out.push({
            partition: batch.partition,
            offset: m.offset,
            key: m.key ?? null,
            value: m.value ?? null,
            headers: flattenHeaders(m.headers),
          });
        }
        if (out.length >= opts.expected) done();
      },
    });
    await finished;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** Committed offsets of `groupId` on `topic` (partitions without a commit are left out). */
export async function committedOffsets(bootstrap: string, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const admin = client(bootstrap).admin();
  await admin.connect();
  try {
    // A broker that just restarted answers COORDINATOR_LOAD_IN_PROGRESS for a while: retried.
    const res = await retryKafka(() => admin.fetchOffsets({ groupId, topics: [topic] }));
    const map = new Map<number, bigint>();
    for (const p of res.find((t) => t.topic === topic)?.partitions ?? []) {
      const off = BigInt(p.offset);
      if (off >= 0n) map.set(p.partition, off);
    }
    return map;
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the records of each partition below `before` (the partition's log start moves there), as
 *  retention does to a topic a stalled consumer has not read. */
export async function deleteRecordsBefore(bootstrap: string, topic: string, before: Map<number, number>): Promise<void> {
  const admin = client(bootstrap).admin();
  await admin.connect();
  try {
    await retryKafka(() => admin.fetchTopicMetadata({ topics: [topic] })); // deleteTopicRecords needs it loaded
    await retryKafka(() => admin.deleteTopicRecords({ topic, partitions: [...before].map(([partition, offset]) => ({ partition, offset: String(offset) })) }));
  } finally {
    await admin.disconnect();
  }
}

/** One end of every partition of `topic`: `low`, the log start (the first offset still held), or
 *  `high`, the high watermark (the next offset to be written). */
async function partitionOffsets(bootstrap: string, topic: string, end: 'low' | 'high'): Promise<Map<number, bigint>> {
  const admin = client(bootstrap).admin();
  await admin.connect();
  try {
    const res = await retryKafka(() => admin.fetchTopicOffsets(topic));
    return new Map(res.map((p) => [p.partition, BigInt(p[end])]));
  } finally {
    await admin.disconnect();
  }
}

/** Log start offset (the first offset still held) per partition of `topic`. */
export const startOffsets = (bootstrap: string, topic: string): Promise<Map<number, bigint>> => partitionOffsets(bootstrap, topic, 'low');

/** High watermark (next offset to be written) per partition of `topic`. */
export const endOffsets = (bootstrap: string, topic: string): Promise<Map<number, bigint>> => partitionOffsets(bootstrap, topic, 'high');
