// The peers of `npm run demo` besides the broker: the Splunk HEC receiver, its own process, supervised
// (SIGKILLed if the demo dies), and the demo's Kafka clients. The receiver is the spec-written one of
// the tests, test/support/hec/main.ts, started by path (scripts do not import from test/) and driven
// over its control endpoints (POST /_control, GET /_stats, GET /_events). The topic is created, filled
// and counted through logstream's own Kafka client (connectKafka, src/source/kafka/connect.ts): its
// admin client and an idempotent producer, so the demo needs nothing npm does not install.
import { closeSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { connectKafka } from '../src/source/kafka/connect.ts';
import { retryKafka } from '../src/source/kafka/group-admin.ts';
import type { KafkaProducer } from '../src/source/kafka/interface.ts';
import { createLogger } from '../src/telemetry/logger.ts';
import { freePort } from './kafka-broker.ts';
import { answers200, startSupervised, type PeerProcess } from './supervised-child.ts';

const ROOT = resolve(import.meta.dirname, '..');
const HEC_MAIN = resolve(ROOT, 'test', 'support', 'hec', 'main.ts');

export interface DemoHec extends PeerProcess {
  readonly url: string;
  /** Events indexed so far; throws while the receiver is down. */
  indexed(): Promise<number>;
  /** Recorded events from `offset` (the `event` field is the record as logstream sent it). */
  events(offset: number, limit: number): Promise<{ total: number; events: Array<{ event: unknown }> }>;
  /** The receiver stops listening (connections refused) for `ms`, then listens again on the same port,
   *  keeping every event it indexed. */
  outage(ms: number): Promise<void>;
}

/** Starts the HEC receiver on a free port with one token; its output goes to `logFile`. */
export async function startHecReceiver(token: string, logFile: string): Promise<DemoHec> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = await startSupervised({
    what: 'HEC receiver',
    command: process.execPath,
    args: [HEC_MAIN, '--host', '127.0.0.1', '--port', String(port), '--token', token],
    cwd: ROOT,
    logFile,
    truncateLog: true,
    where: url,
    ready: () => answers200(`${url}/_stats`),
    startTimeoutMs: 15_000,
    graceMs: 5000,
  });
  const get = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
    if (!r.ok) throw new Error(`HEC receiver ${path}: HTTP ${r.status}`);
    return (await r.json()) as T;
  };
  return {
    ...proc,
    url,
    indexed: async () => (await get<{ eventsIndexed: number }>('/_stats')).eventsIndexed,
    events: (offset, limit) => get(`/_events?offset=${offset}&limit=${limit}`),
    async outage(ms) {
      const r = await fetch(`${url}/_control`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ op: 'restart', keepState: true, downMs: ms }),
        signal: AbortSignal.timeout(5000),
      });
      if (!r.ok) throw new Error(`HEC receiver restart: HTTP ${r.status} ${await r.text()}`);
    },
  };
}

export interface DemoProducer {
  /** Produces one record per JSON line; resolves once the broker acknowledged all of them (acks all). */
  send(lines: readonly string[]): Promise<void>;
  /** Disconnects the producer. Resolves with an error text, if any. */
  end(): Promise<string | undefined>;
}

export interface DemoKafka {
  /** Creates `topic` with `partitions` partitions and waits until each has a leader. */
  createTopic(topic: string, partitions: number): Promise<void>;
  /** An idempotent producer (acks all) to `topic`. */
  producer(topic: string): Promise<DemoProducer>;
  /** The end offset of each partition of `topic`, summed: the records the topic holds. */
  topicRecords(topic: string): Promise<number>;
  /** Disconnects the admin client and any producer still connected. */
  close(): Promise<void>;
}

/**
 * Connects an admin client to the broker at `bootstrap` through connectKafka(), the client logstream
 * itself uses; the client's log (pino JSON, warnings and up) goes to `logFile`.
 */
export async function connectDemoKafka(bootstrap: string, logFile: string): Promise<DemoKafka> {
  const fd = openSync(logFile, 'w');
  let closed = false; // the client may still log after close(): those lines are dropped
  const logger = createLogger({ name: 'demo', level: 'warn', destination: { write: (line: string) => void (closed || writeSync(fd, line)) } });
  const kafka = await connectKafka({ brokers: [bootstrap], clientId: 'logstream-demo', logger });
  const admin = kafka.admin();
  await admin.listTopics(); // connects now: a broker that does not answer fails here
  const producers = new Set<KafkaProducer>();
  return {
    async createTopic(topic, partitions) {
      // createTopic waits until every partition has a leader.
      await retryKafka(() => admin.createTopic({ topic, partitions, replicationFactor: 1 }));
      const ps = await retryKafka(() => admin.partitions(topic));
      if (ps.length !== partitions) throw new Error(`topic ${topic} not ready with ${partitions} partitions: ${ps.length} partitions`);
    },
    async producer(topic) {
      // Idempotent (no duplicates from the producer's own retries), so one request in flight and acks all.
      // kafkajs logs one expected warning to the log file here: the idempotent producer's limited retries
      // (the client's default 8: a broker gone for good fails the demo instead of hanging it).
      const producer = kafka.producer({ idempotent: true });
      await producer.connect();
      producers.add(producer);
      return {
        async send(lines) {
          await producer.send(topic, lines.map((value) => ({ value })), { acks: -1 });
        },
        async end() {
          producers.delete(producer);
          try {
            await producer.disconnect();
            return undefined;
          } catch (e) {
            return `producer disconnect: ${(e as Error).message}`;
          }
        },
      };
    },
    async topicRecords(topic) {
      const offsets = await retryKafka(() => admin.offsets(topic));
      return offsets.reduce((total, p) => total + Math.max(0, p.high), 0);
    },
    async close() {
      await Promise.all([...producers].map((p) => p.disconnect().catch(() => undefined)));
      producers.clear();
      await admin.close().catch(() => undefined);
      if (!closed) closeSync(fd);
      closed = true;
    },
  };
}
