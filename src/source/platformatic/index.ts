// The @platformatic/kafka adapter: KafkaClient on @platformatic/kafka 2.12.1. With src/source/kafkajs/,
// the only folder (with its tests) that imports a Kafka client library. Each admin, producer, reader and
// group consumer is its own library client (own connections), made from the same options.
import type { Logger } from '../../telemetry/logger.ts';
import type { GroupConsumer, GroupConsumerConfig, KafkaAdmin, KafkaClient, KafkaConnectOptions, KafkaProducer, PartitionReader, ProducerOptions, RecordDecoder } from '../kafka/interface.ts';
import { PlatformaticAdmin } from './admin.ts';
import { PlatformaticGroupConsumer } from './group-consumer.ts';
import { PlatformaticPartitionReader } from './partition-reader.ts';
import { PlatformaticProducer } from './producer.ts';

export class PlatformaticClient implements KafkaClient {
  readonly brokers: readonly string[];
  readonly #opts: KafkaConnectOptions;

  constructor(opts: KafkaConnectOptions) {
    this.brokers = [...opts.brokers];
    this.#opts = opts;
  }

  groupConsumer(cfg: GroupConsumerConfig, logger: Logger, decoder?: RecordDecoder): GroupConsumer {
    return new PlatformaticGroupConsumer(cfg, logger, this.#opts, decoder);
  }

  reader(): PartitionReader {
    return new PlatformaticPartitionReader(this.#opts);
  }

  producer(opts?: ProducerOptions): KafkaProducer {
    return new PlatformaticProducer(this.#opts, opts);
  }

  admin(): KafkaAdmin {
    return new PlatformaticAdmin(this.#opts);
  }
}
