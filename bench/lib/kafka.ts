// The few Kafka admin operations the benchmarks need, over one admin client of logstream's own Kafka
// client (connectKafka). Retriable broker answers (a coordinator loading, a leader not elected yet) are
// retried, as everywhere (retryKafka).
import { connectKafka } from '../../src/source/kafka/connect.ts';
import { retryKafka } from '../../src/source/kafka/group-admin.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

export interface BenchAdmin {
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Sum over partitions of the high watermark (records in the topic, from offset 0). */
  endOffsetSum(topic: string): Promise<number>;
  /** Sum of the group's committed offsets on `topic` (partitions without a commit count 0). */
  committedSum(groupId: string, topic: string): Promise<number>;
  close(): Promise<void>;
}

export async function connectAdmin(bootstrap: string): Promise<BenchAdmin> {
  const admin = (await connectKafka({ brokers: [bootstrap], clientId: 'logstream-bench', logger: createLogger({ level: 'silent' }) })).admin();
  await admin.listTopics(); // connects now: a broker that does not answer fails here
  return {
    async createTopic(topic, partitions) {
      await retryKafka(() => admin.createTopic({ topic, partitions, replicationFactor: 1 }));
    },
    async endOffsetSum(topic) {
      const offsets = await retryKafka(() => admin.offsets(topic));
      return offsets.reduce((sum, p) => sum + p.high, 0);
    },
    async committedSum(groupId, topic) {
      let sum = 0;
      for (const offset of (await retryKafka(() => admin.committed(groupId, topic))).values()) sum += offset;
      return sum;
    },
    close: () => admin.close(),
  };
}
