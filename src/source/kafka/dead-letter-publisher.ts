// Publishes dead letters to Kafka with acks from all in-sync replicas, retrying until it succeeds
// or until shutdown gives up (then the records stay uncommitted and are read again).
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { backoffDelay, sleep } from '../../delivery/backoff.ts';
import type { DeadLetterMessage } from '../../delivery/dead-letter.ts';
import { oneLine } from '../../core/errors.ts';
import type { Logger } from '../../telemetry/logger.ts';

export class KafkaDeadLetterPublisher {
  readonly #kafka: Kafka;
  readonly #topic: string;
  readonly #log: Logger;
  #producer: Producer | undefined;
  readonly #abort = new AbortController();

  constructor(kafka: Kafka, topic: string, logger: Logger) {
    this.#kafka = kafka;
    this.#topic = topic;
    this.#log = logger.child({ component: 'dead-letter' });
  }

  /** Creates the topic when missing and connects the producer. */
  async start(partitions: number): Promise<void> {
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(this.#topic)) {
        try {
          const created = await admin.createTopics({ topics: [{ topic: this.#topic, numPartitions: partitions }], waitForLeaders: true });
          if (created) this.#log.info({ topic: this.#topic }, 'created the dead-letter topic');
        } catch (err) {
          // Replicas starting together race to create it; one wins, the others see it exists.
          if (!/already exists/i.test(String((err as Error).message))) throw err;
        }
      }
    } finally {
      await admin.disconnect();
    }
    this.#producer = this.#kafka.producer({ allowAutoTopicCreation: false, idempotent: false, createPartitioner: Partitioners.DefaultPartitioner });
    await this.#producer.connect();
  }

  readonly publish = async (messages: DeadLetterMessage[]): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      if (this.#abort.signal.aborted) throw new Error('dead-letter publisher stopped');
      try {
        await this.#producer!.send({
          topic: this.#topic,
          acks: -1,
          messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
        });
        return;
      } catch (err) {
        const delay = backoffDelay(attempt, 200, 30_000);
        this.#log.warn({ attempt: attempt + 1, retryInMs: delay }, `dead-letter write failed, will retry: ${oneLine(String((err as Error).message))}`);
        await sleep(delay, this.#abort.signal);
      }
    }
  };

  /** Gives up retries (shutdown deadline). */
  abort(): void {
    this.#abort.abort();
  }

  async stop(): Promise<void> {
    await this.#producer?.disconnect();
  }
}
