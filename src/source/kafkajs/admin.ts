// KafkaAdmin over a kafkajs Admin client, connected on first use.
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { GroupDescription, KafkaAdmin, NewTopic, PartitionBounds } from '../kafka/interface.ts';

export class KafkajsAdmin implements KafkaAdmin {
  readonly #admin: Admin;
  #connected: Promise<void> | undefined;

  constructor(kafka: Kafka) {
    this.#admin = kafka.admin();
  }

  async #a(): Promise<Admin> {
    this.#connected ??= this.#admin.connect().catch((err: unknown) => {
      this.#connected = undefined; // the next call tries again
      throw err;
    });
    await this.#connected;
    return this.#admin;
  }

  async listTopics(): Promise<string[]> {
    return (await this.#a()).listTopics();
  }

  async createTopic(t: NewTopic): Promise<boolean> {
    const admin = await this.#a();
    try {
      return await admin.createTopics({
        topics: [
          {
            topic: t.topic,
            numPartitions: t.partitions,
            ...(t.replicationFactor === undefined ? {} : { replicationFactor: t.replicationFactor }),
            configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
          },
        ],
        waitForLeaders: true,
      });
    } catch (err) {
      // Replicas starting together race to create it; one wins, the others see it exists.
      if (/already exists/i.test(String((err as Error).message)) || (err as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return false;
      throw err;
    }
  }

  async partitions(topic: string): Promise<number[]> {
    const { topics } = await (await this.#a()).fetchTopicMetadata({ topics: [topic] });
    return (topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
  }

  async topicConfig(topics: readonly string[], names: readonly string[]): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>();
    if (topics.length === 0) return out;
    const res = await (await this.#a()).describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: [...names] })),
    });
    for (const r of res.resources) {
      const values = new Map<string, string>();
      for (const c of r.configEntries) if (c.configValue !== null && c.configValue !== undefined) values.set(c.configName, c.configValue);
      out.set(r.resourceName, values);
    }
    return out;
  }

  async offsets(topic: string): Promise<PartitionBounds[]> {
    const res = await (await this.#a()).fetchTopicOffsets(topic);
    return res.map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) })).sort((a, b) => a.partition - b.partition);
  }

  async offsetsForTime(topic: string, ms: number): Promise<Array<{ partition: number; offset: number }>> {
    const res = await (await this.#a()).fetchTopicOffsetsByTimestamp(topic, ms);
    return res.map((p) => ({ partition: p.partition, offset: Number(p.offset) }));
  }

  async committed(group: string, topic: string): Promise<Map<number, number>> {
    const res = await (await this.#a()).fetchOffsets({ groupId: group, topics: [topic] });
    const out = new Map<number, number>();
    // -1: no commit (also the sentinels kafkajs writes when it resets an out-of-range partition).
    for (const p of res[0]?.partitions ?? []) if (Number(p.offset) >= 0) out.set(p.partition, Number(p.offset));
    return out;
  }

  async setCommitted(group: string, topic: string, offsets: ReadonlyArray<{ partition: number; offset: number }>): Promise<void> {
    await (await this.#a()).setOffsets({ groupId: group, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: String(o.offset) })) });
  }

  async describeGroup(group: string): Promise<GroupDescription> {
    const { groups } = await (await this.#a()).describeGroups([group]);
    const g = groups[0];
    return { state: g?.state ?? 'Dead', members: g?.members.length ?? 0, memberIds: (g?.members ?? []).map((m) => m.memberId).sort() };
  }

  async deleteRecords(topic: string, before: ReadonlyArray<{ partition: number; offset: number }>): Promise<void> {
    const admin = await this.#a();
    await admin.fetchTopicMetadata({ topics: [topic] }); // kafkajs' deleteTopicRecords needs the topic's metadata loaded
    await admin.deleteTopicRecords({ topic, partitions: before.map((b) => ({ partition: b.partition, offset: String(b.offset) })) });
  }

  async close(): Promise<void> {
    if (this.#connected) await this.#admin.disconnect().catch(() => undefined);
    this.#connected = undefined;
  }
}
