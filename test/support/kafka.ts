/**
 * Helpers for integration tests against the real Kafka broker started by
 * test/support/global-setup.ts (see scripts/kafka-broker.ts). Nothing here is mocked.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { connectKafka } from '../../src/source/kafka/connect.ts';
import { retryKafka } from '../../src/source/kafka/group-admin.ts';
import type { FetchedMessage, FetchResult, KafkaClient, OutgoingMessage } from '../../src/source/kafka/interface.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** "127.0.0.1:<port>" of the broker started by test/support/global-setup.ts */
    kafkaBootstrap: string;
  }
}

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

const quiet = createLogger({ level: 'silent' });

/** The adapter the helpers use: env LOGSTREAM_TEST_KAFKA_CLIENT (kafkajs, platformatic), default platformatic. */
const TEST_CLIENT = process.env['LOGSTREAM_TEST_KAFKA_CLIENT'] === 'kafkajs' ? 'kafkajs' : 'platformatic';

/** A client of the test broker: 3 s connection timeout, 5 retries inside the client (backing off from
 *  300 ms, doubling). Each helper call makes its own and closes what it opened. */
async function client(bootstrap: string, clientId = 'logstream-test'): Promise<KafkaClient> {
  return connectKafka({ brokers: bootstrap.split(','), clientId, client: TEST_CLIENT, connectionTimeoutMs: 3000, retries: 5, logger: quiet });
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
  const admin = (await client(bootstrap)).admin();
  try {
    // Waits for the leaders of a topic it creates; false when the topic already existed (checked below).
    // A retried attempt whose first try created the topic sees it exist.
    await retryKafka(() => admin.createTopic({ topic, partitions, replicationFactor: 1, config: configs }));
    // Listing the offsets asks every partition's leader: a partition without one fails with a retriable
    // LEADER_NOT_AVAILABLE / NOT_LEADER until it has one (and fails the call if it never gets one).
    const parts = await retryKafka(() => admin.offsets(topic));
    if (parts.length !== partitions) {
      throw new Error(`topic ${topic} has ${parts.length} partitions, wanted ${partitions}`);
    }
  } finally {
    await admin.close();
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

/** Produces `records` in order, `batchSize` (default 1000) per request, acks=all. Records without a
 *  partition go to their key's murmur2 partition (Java-compatible), round robin without a key. */
export async function produceJson(
  bootstrap: string,
  topic: string,
  records: TestRecord[],
  opts: { batchSize?: number } = {},
): Promise<void> {
  const batchSize = Math.max(1, opts.batchSize ?? 1000);
  const producer = (await client(bootstrap)).producer();
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += batchSize) {
      const messages: OutgoingMessage[] = records.slice(i, i + batchSize).map((r) => {
        const m: OutgoingMessage = {
          value:
            Buffer.isBuffer(r.value) || typeof r.value === 'string'
              ? r.value
              : (JSON.stringify(r.value) as string | undefined) ?? null,
        };
        if (r.key !== undefined) m.key = r.key;
        if (r.partition !== undefined) m.partition = r.partition;
        if (r.headers !== undefined) m.headers = r.headers;
        if (r.timestamp !== undefined) m.timestamp = r.timestamp;
        return m;
      });
      await producer.send(topic, messages, { acks: -1 });
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

function flattenHeaders(h: FetchedMessage['headers']): Record<string, Buffer | string | undefined> {
  const out: Record<string, Buffer | string | undefined> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    // A repeated header key arrives as an array: keep the last value.
    out[k] = Array.isArray(v) ? v[v.length - 1] : v;
  }
  return out;
}

/** Bytes asked for per partition fetch (a larger record batch still comes whole). */
const READ_FETCH_BYTES = 1024 * 1024;

/**
 * Reads `topic` from the beginning (each partition's log start; read-committed), without a consumer
 * group and without committing, until at least `expected` records arrived or `timeoutMs` (default
 * 30 s) passed. Returns what was read (possibly fewer than `expected` on timeout, possibly more if the
 * last fetch held more), sorted by partition then offset.
 */
export async function readTopic(
  bootstrap: string,
  topic: string,
  opts: { expected: number; timeoutMs?: number },
): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const left = (): number => Math.max(1, deadline - Date.now());
  const kafka = await client(bootstrap);
  const reader = kafka.reader();
  try {
    await retryKafka(() => reader.connect(), left());
    const next = await retryKafka(() => reader.earliest(topic), left());
    while (out.length < opts.expected && Date.now() < deadline) {
      let got = 0;
      for (const [partition, offset] of next) {
        let res: FetchResult;
        try {
          res = await retryKafka(() => reader.fetch(topic, partition, offset, READ_FETCH_BYTES), left());
        } catch (err) {
          // The log start moved past where we were (retention, deleted records): go on from the new
          // start, as a consumer reading from the beginning does.
          const e = err as { type?: string; originalError?: { type?: string } };
          if (e.type !== 'OFFSET_OUT_OF_RANGE' && e.originalError?.type !== 'OFFSET_OUT_OF_RANGE') throw err;
          const start = (await retryKafka(() => reader.earliest(topic), left())).get(partition) ?? offset;
          if (start <= offset) throw err;
          next.set(partition, start);
          continue;
        }
        for (const m of res.messages) {
          out.push({ partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, headers: flattenHeaders(m.headers) });
        }
        got += res.messages.length;
        next.set(partition, res.nextOffset);
      }
      if (got === 0 && out.length < opts.expected) await new Promise((r) => setTimeout(r, Math.min(250, left())));
    }
  } finally {
    await reader.disconnect();
  }
  return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** Committed offsets of `groupId` on `topic` (partitions without a commit are left out). */
export async function committedOffsets(bootstrap: string, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const admin = (await client(bootstrap)).admin();
  try {
    // A broker that just restarted answers COORDINATOR_LOAD_IN_PROGRESS for a while: retried.
    const res = await retryKafka(() => admin.committed(groupId, topic));
    return new Map([...res].map(([partition, offset]) => [partition, BigInt(offset)]));
  } finally {
    await admin.close();
  }
}

/** Deletes the records of each partition below `before` (the partition's log start moves there), as
 *  retention does to a topic a stalled consumer has not read. */
export async function deleteRecordsBefore(bootstrap: string, topic: string, before: Map<number, number>): Promise<void> {
  const admin = (await client(bootstrap)).admin();
  try {
    await retryKafka(() => admin.deleteRecords(topic, [...before].map(([partition, offset]) => ({ partition, offset }))));
  } finally {
    await admin.close();
  }
}

/** One end of every partition of `topic`: `low`, the log start (the first offset still held), or
 *  `high`, the high watermark (the next offset to be written). */
async function partitionOffsets(bootstrap: string, topic: string, end: 'low' | 'high'): Promise<Map<number, bigint>> {
  const admin = (await client(bootstrap)).admin();
  try {
    const res = await retryKafka(() => admin.offsets(topic));
    return new Map(res.map((p) => [p.partition, BigInt(p[end])]));
  } finally {
    await admin.close();
  }
}

/** Log start offset (the first offset still held) per partition of `topic`. */
export const startOffsets = (bootstrap: string, topic: string): Promise<Map<number, bigint>> => partitionOffsets(bootstrap, topic, 'low');

/** High watermark (next offset to be written) per partition of `topic`. */
export const endOffsets = (bootstrap: string, topic: string): Promise<Map<number, bigint>> => partitionOffsets(bootstrap, topic, 'high');
