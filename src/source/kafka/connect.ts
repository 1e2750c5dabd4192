// The Kafka client logstream runs on: the one place that picks an adapter.
import { KafkajsClient } from '../kafkajs/index.ts';
import type { KafkaClient, KafkaConnectOptions } from './interface.ts';

export function connectKafka(opts: KafkaConnectOptions): KafkaClient {
  return new KafkajsClient(opts);
}
