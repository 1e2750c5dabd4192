// The kafkajs adapter: KafkaClient on kafkajs 2.2.4. The only folder (with its tests) that imports kafkajs.
import type { Kafka } from 'kafkajs';
import type { Logger } from '../../telemetry/logger.ts';
import type { GroupConsumer, GroupConsumerConfig, KafkaAdmin, KafkaClient, KafkaConnectOptions, KafkaProducer, PartitionReader, ProducerOptions, RecordDecoder } from '../kafka/interface.ts';
import { KafkajsAdmin } from './admin.ts';
import { KafkajsGroupConsumer } from './group-consumer.ts';
import { createKafka } from './kafka.ts';
import { KafkajsPartitionReader } from './partition-reader.ts';
import { KafkajsProducer } from './producer.ts';

export class KafkajsClient implements KafkaClient {
  readonly brokers: readonly string[];
  readonly #kafka: Kafka;

  constructor(opts: KafkaConnectOptions) {
    this.brokers = [...opts.brokers];
    this.#kafka = createKafka(opts);
  }

  groupConsumer(cfg: GroupConsumerConfig, logger: Logger, decoder?: RecordDecoder): GroupConsumer {
    return new KafkajsGroupConsumer(cfg, logger, this.#kafka, decoder);
  }

  reader(): PartitionReader {
    return new KafkajsPartitionReader(this.#kafka);
  }

  producer(opts?: ProducerOptions): KafkaProducer {
    return new KafkajsProducer(this.#kafka, opts);
  }

  admin(): KafkaAdmin {
    return new KafkajsAdmin(this.#kafka);
  }
}
