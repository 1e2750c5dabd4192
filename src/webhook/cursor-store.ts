// The webhook cursors in a compacted Kafka topic (rules in cursor-log.ts). Each replica replays the
// topic into a CursorLog; before deciding anything it catches up to the topic's end, so a call sees
// every lease and cursor written by any replica before it.
import { randomUUID } from 'node:crypto';
import type { KafkaClient, KafkaProducer, PartitionReader } from '../source/kafka/interface.ts';
import { ensureLogTopic } from '../source/kafka/log-topic.ts';
import type { Logger } from '../telemetry/logger.ts';
import { CursorLog, parseLogRecord, splitLogKey, type CursorLogRecord, type KeyState, type Lease, type WebhookCursor } from './cursor-log.ts';

const PARTITION = 0;
const FETCH_BYTES = 1024 * 1024;
const LEASE_POLL_MS = 100;

/** Topic settings: compacted; broker timestamps (lease expiry must not depend on replica clocks);
 *  recent history never compacted (an hour, far above any lease timeout). */
export const CURSOR_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'message.timestamp.type': 'LogAppendTime',
  'min.compaction.lag.ms': String(60 * 60_000),
  'segment.ms': String(6 * 60 * 60_000),
};

export type LeaseOutcome =
  | { ok: true; lease: Lease; seq: number; cursor: WebhookCursor | undefined }
  | { ok: false; heldUntil: number };

export class CursorStore {
  readonly #kafka: KafkaClient;
  readonly #reader: PartitionReader;
  readonly #topic: string;
  readonly #log: Logger;
  readonly #state: CursorLog;
  readonly #owner = randomUUID();
  readonly #leaseTimeoutMs: number;
  #producer: KafkaProducer | undefined;
  /** Next offset of the cursor topic to apply. */
  #next = 0;
  #chain: Promise<void> = Promise.resolve();

  constructor(opts: { kafka: KafkaClient; reader: PartitionReader; topic: string; leaseTimeoutMs: number; logger: Logger }) {
    this.#kafka = opts.kafka;
    this.#reader = opts.reader;
    this.#topic = opts.topic;
    this.#leaseTimeoutMs = opts.leaseTimeoutMs;
    this.#log = opts.logger.child({ component: 'webhook-cursors' });
    this.#state = new CursorLog(opts.leaseTimeoutMs);
  }

  /** Creates the topic when missing (one partition, compacted), connects, and replays it. */
  async start(): Promise<void> {
    this.#next = await ensureLogTopic(this.#kafka, this.#reader, { topic: this.#topic, config: CURSOR_TOPIC_CONFIG, variable: 'WEBHOOK_CURSOR_TOPIC', what: 'webhook cursor', logger: this.#log });
    this.#producer = this.#kafka.producer();
    await this.#producer.connect();
    await this.sync();
  }

  async stop(): Promise<void> {
    await this.#producer?.disconnect();
  }

  /** Catches up to the end of the topic as it is now (or at least past `offset`). Catch-ups run one
   *  after the other, so each starts after the previous one ended and none can miss a record. */
  sync(offset?: number): Promise<void> {
    const run = this.#chain.then(() => this.#catchUp(offset));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #catchUp(offset: number | undefined): Promise<void> {
    if (offset !== undefined && this.#next > offset) return;
    const end = Math.max((await this.#reader.latest(this.#topic)).get(PARTITION) ?? 0, offset === undefined ? 0 : offset + 1);
    while (this.#next < end) {
      const { messages, nextOffset } = await this.#reader.fetch(this.#topic, PARTITION, this.#next, FETCH_BYTES);
      for (const m of messages) {
        const split = m.key ? splitLogKey(m.key.toString('utf8')) : undefined;
        const rec = parseLogRecord(m.value);
        if (split && rec && (split[0] === 'lease') === (rec.kind !== 'cursor')) this.#state.apply(split[1], rec, Number(m.offset), Number(m.timestamp));
      }
      if (nextOffset <= this.#next) break; // nothing more visible yet (e.g. beyond the last stable offset)
      this.#next = nextOffset;
    }
  }

  /** The current state of a key (after sync()). */
  get(key: string): Readonly<KeyState> | undefined {
    return this.#state.get(key);
  }

  /** Asks for the key; at most one call per key holds it at a time, across every replica. While
   *  another call holds it, waits up to `waitMs` for it to end. */
  async lease(key: string, waitMs = 0): Promise<LeaseOutcome> {
    const deadline = Date.now() + waitMs;
    await this.sync();
    let before = this.#state.get(key);
    while (this.#state.leaseLive(before, Date.now()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, LEASE_POLL_MS));
      await this.sync();
      before = this.#state.get(key);
    }
    if (this.#state.leaseLive(before, Date.now())) return { ok: false, heldUntil: before!.lease!.ts + this.#leaseTimeoutMs };
    const offset = await this.#write(`lease/${key}`, { kind: 'lease', owner: this.#owner });
    await this.sync(offset);
    const st = this.#state.get(key);
    if (st?.lease?.offset === offset) return { ok: true, lease: st.lease, seq: st.seq, cursor: st.cursor };
    return { ok: false, heldUntil: (st?.lease?.ts ?? Date.now()) + this.#leaseTimeoutMs };
  }

  /** Moves the cursor; false when another call moved it first (this call's lease had expired). */
  async commit(key: string, lease: Lease, seq: number, cursor: WebhookCursor): Promise<boolean> {
    const offset = await this.#write(`cursor/${key}`, { kind: 'cursor', seq: seq + 1, lease: lease.offset, cursor });
    await this.sync(offset);
    return this.#state.get(key)?.cursorOffset === offset;
  }

  /** Gives the key back without moving the cursor (the call failed or the client went away). */
  async release(key: string, lease: Lease): Promise<void> {
    const offset = await this.#write(`lease/${key}`, { kind: 'release', owner: this.#owner, lease: lease.offset });
    await this.sync(offset);
  }

  async #write(logKey: string, rec: CursorLogRecord): Promise<number> {
    if (!this.#producer) throw new Error('webhook cursor store is not started');
    const [meta] = await this.#producer.send(this.#topic, [{ key: logKey, value: JSON.stringify(rec), partition: PARTITION }]);
    if (meta === undefined || meta.baseOffset < 0) throw new Error(`no offset returned for the write to ${this.#topic}`);
    return meta.baseOffset;
  }
}
