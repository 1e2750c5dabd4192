// The one-partition compacted topics every replica replays into the same state (the webhook cursors,
// the route controls): created at start when missing, checked to have one partition.
import type { Kafka } from 'kafkajs';
import { oneLine } from '../../core/errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { PartitionReader } from './partition-reader.ts';

/**
 * Creates `topic` (1 partition, `config`) unless it exists, checks it has exactly one partition, and
 * returns its earliest offset (where a replay starts). Errors name `variable`.
 */
export async function ensureLogTopic(
  kafka: Kafka,
  reader: PartitionReader,
  opts: { topic: string; config: ReadonlyArray<{ name: string; value: string }>; variable: string; what: string; logger: Logger },
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(opts.topic)) {
      try {
        await admin.createTopics({ topics: [{ topic: opts.topic, numPartitions: 1, configEntries: [...opts.config] }], waitForLeaders: true });
        opts.logger.info({ topic: opts.topic }, `created the ${opts.what} topic`);
      } catch (err) {
        // Replicas starting together race to create it; one wins, the others see it exists.
        if (!/already exists/i.test(String((err as Error).message))) throw new Error(`${opts.variable}: cannot create ${opts.topic}: ${oneLine(String((err as Error).message))}`, { cause: err });
      }
    }
  } finally {
    await admin.disconnect();
  }
  const partitions = await reader.partitions(opts.topic);
  if (partitions.length !== 1) throw new Error(`${opts.variable}: ${opts.what} topic ${opts.topic} must have exactly 1 partition, it has ${partitions.length}`);
  return (await reader.earliest(opts.topic)).get(0) ?? 0;
}
