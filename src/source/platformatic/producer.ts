// KafkaProducer over a @platformatic/kafka Producer: the Java-compatible (murmur2) partitioner, round
// robin without a key, no topic creation.
import { Producer, ProduceAcks, compatibilityPartitioner, type MessageToProduce } from '@platformatic/kafka';
import type { KafkaConnectOptions, KafkaProducer, OutgoingMessage, ProduceResult, ProducerOptions } from '../kafka/interface.ts';
import { tagged } from './errors.ts';
import { platformaticBaseOptions } from './options.ts';

const bytes = (v: string | Buffer | null | undefined): Buffer | undefined => (v === null || v === undefined ? undefined : typeof v === 'string' ? Buffer.from(v) : v);

/** Half the span of timestamps one send may hold (2^30 ms, 12.4 days). The library writes each record's
 *  timestamp as a delta from its batch's first, zigzag-encoded by @platformatic/dynamic-buffer 0.3.1
 *  with `value >> 31n` where `>> 63n` is meant: a delta beyond ±2^31 ms (24.8 days) is written wrong,
 *  and the broker refuses the batch (INVALID_TIMESTAMP: the time lands in the future) or keeps a wrong
 *  time. A library bug; found by a test producing records of 2024 beside records of today. */
const HALF_SPAN_MS = 2 ** 30 - 1;

/** `messages` in order, cut where a timestamp (the library's `now` when absent) lies more than
 *  HALF_SPAN_MS from its run's first: no two timestamps of a run, and so of a batch, are 2^31 ms apart. */
export function nearTimestampRuns<T extends { timestamp?: number }>(messages: T[], now: number): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let t0 = 0;
  for (const m of messages) {
    const t = m.timestamp ?? now;
    if (run.length === 0 || Math.abs(t - t0) > HALF_SPAN_MS) {
      if (run.length) runs.push(run);
      run = [];
      t0 = t;
    }
    run.push(m);
  }
  if (run.length || runs.length === 0) runs.push(run);
  return runs;
}

export class PlatformaticProducer implements KafkaProducer {
  readonly #opts: KafkaConnectOptions;
  readonly #producerOpts: ProducerOptions;
  #client: Producer | undefined;
  #roundRobin = Math.floor(Math.random() * 1024);

  constructor(opts: KafkaConnectOptions, producerOpts: ProducerOptions = {}) {
    this.#opts = opts;
    this.#producerOpts = producerOpts;
  }

  /** A closed client cannot reopen: connect() after disconnect() makes a new one (kafkajs reconnects). */
  get #producer(): Producer {
    this.#client ??= new Producer({
      ...platformaticBaseOptions(this.#opts),
      ...(this.#producerOpts.retries === undefined ? {} : { retries: this.#producerOpts.retries }),
      // Idempotent: the library then sets acks=all and one request in flight per connection (and retries
      // without end when given retries ≤ 1).
      idempotent: this.#producerOpts.idempotent ?? false,
      autocreateTopics: false,
      // The library's default partitioner is murmur2 >>> 0, not Java's murmur2 & 0x7fffffff: another
      // partition for about half the keys unless the partition count is a power of two. With a
      // partitioner set, the library no longer round-robins keyless records, so that is done here too
      // (the library takes the result modulo the partition count).
      partitioner: (message, key) => (key === undefined ? (this.#roundRobin = (this.#roundRobin + 1) % 0x7fffffff) : compatibilityPartitioner(message, key)),
    });
    return this.#client;
  }

  /** Connects now (bootstrap and metadata), so that an unreachable broker or bad credentials fail here. */
  connect(): Promise<void> {
    return tagged(async () => {
      await this.#producer.metadata({ topics: [] });
    });
  }

  async send(topic: string, messages: OutgoingMessage[], opts: { acks?: -1 | 0 | 1 } = {}): Promise<ProduceResult[]> {
    const runs = nearTimestampRuns(messages, Date.now());
    if (runs.length === 1) return this.#send(topic, messages, opts);
    const first = new Map<number, number>();
    for (const run of runs) {
      for (const r of await this.#send(topic, run, opts)) if (!first.has(r.partition)) first.set(r.partition, r.baseOffset);
    }
    return [...first].map(([partition, baseOffset]) => ({ partition, baseOffset }));
  }

  #send(topic: string, messages: OutgoingMessage[], opts: { acks?: -1 | 0 | 1 }): Promise<ProduceResult[]> {
    return tagged(async () => {
      const res = await this.#producer.send({
        acks: opts.acks ?? ProduceAcks.ALL,
        messages: messages.map((m) => {
          const out: MessageToProduce = { topic };
          const key = bytes(m.key);
          const value = bytes(m.value);
          if (key !== undefined) out.key = key; // absent: a null key
          if (value !== undefined) out.value = value; // absent: a null value (tombstone)
          if (m.headers) out.headers = new Map(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), bytes(v)!]));
          if (m.partition !== undefined) out.partition = m.partition;
          if (m.timestamp !== undefined) out.timestamp = BigInt(m.timestamp);
          return out;
        }),
      });
      // One entry per partition written (none with acks=0).
      return (res.offsets ?? []).map((o) => ({ partition: o.partition, baseOffset: Number(o.offset) }));
    });
  }

  async disconnect(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }
}
