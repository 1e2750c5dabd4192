// The few Kafka admin operations the benchmarks need, over one kafkajs admin client.
import { Kafka, logLevel, type Admin } from 'kafkajs';

export interface BenchAdmin {
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Sum over partitions of the high watermark (records in the topic, from offset 0). */
  endOffsetSum(topic: string): Promise<number>;
  /** Sum of the group's committed offsets on `topic` (partitions without a commit count 0). */
  committedSum(groupId: string, topic: string): Promise<number>;
  close(): Promise<void>;
}

export async function connectAdmin(bootstrap: string): Promise<BenchAdmin> {
  const kafka = new Kafka({ clientId: 'logstream-bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin: Admin = kafka.admin();
  await admin.connect();
  return {
    async createTopic(topic, partitions) {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
    },
    async endOffsetSum(topic) {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.reduce((sum, p) => sum + Number(p.high), 0);
    },
    async committedSum(groupId, topic) {
      const res = await admin.fetchOffsets({ groupId, topics: [topic] });
      let sum = 0;
      for (const t of res) for (const p of t.partitions) if (Number(p.offset) > 0) sum += Number(p.offset);
      return sum;
    },
    close: () => admin.disconnect(),
  };
}
