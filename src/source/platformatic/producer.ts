// KafkaProducer over a @platformatic/kafka Producer: the Java-compatible (murmur2) partitioner, round
// robin without a key, no topic creation.
import { Producer, ProduceAcks, compatibilityPartitioner, type MessageToProduce } from '@platformatic/kafka';
import type { KafkaConnectOptions, KafkaProducer, OutgoingMessage, ProduceResult, ProducerOptions } from '../kafka/interface.ts';
import { tagged } from './errors.ts';
import { platformaticBaseOptions } from './options.ts';

const bytes = (v: string | Buffer | null | undefined): Buffer | undefined => (v === null || v === undefined ? undefined : typeof v === 'string' ? Buffer.from(v) : v);

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

  send(topic: string, messages: OutgoingMessage[], opts: { acks?: -1 | 0 | 1 } = {}): Promise<ProduceResult[]> {
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
