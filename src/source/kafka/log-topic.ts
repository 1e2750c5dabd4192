// The one-partition compacted topics every replica replays into the same state (the webhook cursors,
// the route controls): created at start when missing, checked to have one partition.
import { oneLine } from '../../core/errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { KafkaClient, PartitionReader } from './interface.ts';

/**
 * Creates `topic` (1 partition, `config`) unless it exists, checks it has exactly one partition, and
 * returns its earliest offset (where a replay starts). Errors name `variable`.
 */
export async function ensureLogTopic(
  kafka: KafkaClient,
  reader: PartitionReader,
  opts: { topic: string; config: Readonly<Record<string, string>>; variable: string; what: string; logger: Logger },
): Promise<number> {
  const admin = kafka.admin();
  try {
    if (!(await admin.listTopics()).includes(opts.topic)) {
      try {
        // Replicas starting together race to create it; one wins, the others see it exists (false).
        if (await admin.createTopic({ topic: opts.topic, partitions: 1, config: { ...opts.config } })) opts.logger.info({ topic: opts.topic }, `created the ${opts.what} topic`);
      } catch (err) {
        throw new Error(`${opts.variable}: cannot create ${opts.topic}: ${oneLine(String((err as Error).message))}`, { cause: err });
      }
    }
  } finally {
    await admin.close();
  }
  const partitions = await reader.partitions(opts.topic);
  if (partitions.length !== 1) throw new Error(`${opts.variable}: ${opts.what} topic ${opts.topic} must have exactly 1 partition, it has ${partitions.length}`);
  return (await reader.earliest(opts.topic)).get(0) ?? 0;
}
