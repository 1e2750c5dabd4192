// The Kafka client logstream runs on: the one place that picks an adapter (KAFKA_CLIENT). The adapter
// is imported when it is chosen, so a process loads one client library, not both (@platformatic/kafka
// alone costs about 0.5 CPU-seconds and 60 MB of RSS to load; kafkajs about 0.05 s and 20 MB).
import type { KafkaClient, KafkaConnectOptions } from './interface.ts';

export async function connectKafka(opts: KafkaConnectOptions): Promise<KafkaClient> {
  if (opts.client === 'platformatic') {
    const { PlatformaticClient } = await import('../platformatic/index.ts');
    return new PlatformaticClient(opts);
  }
  const { KafkajsClient } = await import('../kafkajs/index.ts');
  return new KafkajsClient(opts);
}

/** The client for a parsed KAFKA_* configuration (the daemon and the commands). */
export function connectKafkaFor(cfg: Pick<KafkaConnectOptions, 'brokers' | 'clientId' | 'client' | 'connectionTimeoutMs' | 'security'>, logger: KafkaConnectOptions['logger']): Promise<KafkaClient> {
  const { brokers, clientId, client, connectionTimeoutMs, security } = cfg;
  return connectKafka({ brokers, clientId, ...(client ? { client } : {}), ...(connectionTimeoutMs !== undefined ? { connectionTimeoutMs } : {}), ...(security ? { security } : {}), logger });
}
