// The Kafka client logstream runs on: the one place that picks an adapter (KAFKA_CLIENT).
import { KafkajsClient } from '../kafkajs/index.ts';
import { PlatformaticClient } from '../platformatic/index.ts';
import type { KafkaClient, KafkaConnectOptions } from './interface.ts';

export function connectKafka(opts: KafkaConnectOptions): KafkaClient {
  return opts.client === 'platformatic' ? new PlatformaticClient(opts) : new KafkajsClient(opts);
}
