// KafkaProducer over a kafkajs Producer: the Java-compatible (murmur2) partitioner, no topic creation.
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { KafkaProducer, OutgoingMessage, ProduceResult, ProducerOptions } from '../kafka/interface.ts';

export class KafkajsProducer implements KafkaProducer {
  readonly #producer: Producer;

  constructor(kafka: Kafka, opts: ProducerOptions = {}) {
    this.#producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: opts.idempotent ?? false,
      ...(opts.idempotent ? { maxInFlightRequests: 1 } : {}),
      ...(opts.retries === undefined ? {} : { retry: { retries: opts.retries, initialRetryTime: 200, maxRetryTime: 2000 } }),
    });
  }

  connect(): Promise<void> {
    return this.#producer.connect();
  }

  async send(topic: string, messages: OutgoingMessage[], opts: { acks?: -1 | 0 | 1 } = {}): Promise<ProduceResult[]> {
    const res = await this.#producer.send({
      topic,
      acks: opts.acks ?? -1,
      messages: messages.map((m) => ({
        key: m.key ?? null,
        value: m.value,
        ...(m.headers ? { headers: m.headers } : {}),
        ...(m.partition === undefined ? {} : { partition: m.partition }),
        ...(m.timestamp === undefined ? {} : { timestamp: String(m.timestamp) }),
      })),
    });
    return res.map((r) => ({ partition: r.partition, baseOffset: Number(r.baseOffset ?? -1) }));
  }

  disconnect(): Promise<void> {
    return this.#producer.disconnect();
  }
}
