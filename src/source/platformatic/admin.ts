// KafkaAdmin over a @platformatic/kafka Admin client (connects on first request).
import { Admin, ConfigResourceTypes, FetchIsolationLevels, ListOffsetTimestamps, findErrorBy, kGetConnection, type Connection, type consumerGroupDescribeV0 } from '@platformatic/kafka';
import type { GroupDescription, KafkaAdmin, KafkaConnectOptions, NewTopic, PartitionBounds } from '../kafka/interface.ts';
import { kafkaError, tagged } from './errors.ts';
import { platformaticBaseOptions } from './options.ts';
import { protocolApi } from './protocol-api.ts';

/** How long createTopic waits for every partition of a new topic to have a leader. */
const LEADERS_TIMEOUT_MS = 30_000;

/** ListOffsets of `partitions` at `timestamp` (-2 earliest, -1 latest, else the first offset at or after
 *  it, -1 when none is). Read-committed, as kafkajs: "latest" is the last stable offset (the high
 *  watermark unless a transaction is open). */
export async function listOffsets(client: Admin, topic: string, partitions: number[], timestamp: bigint): Promise<Map<number, number>> {
  const res = await client.listOffsets({
    topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  const out = new Map<number, number>();
  for (const p of res.find((r) => r.name === topic)?.partitions ?? []) out.set(p.partitionIndex, Number(p.offset));
  return out;
}

export class PlatformaticAdmin implements KafkaAdmin {
  readonly #opts: KafkaConnectOptions;
  #client: Admin | undefined;

  constructor(opts: KafkaConnectOptions) {
    this.#opts = opts;
  }

  /** The client; a closed one cannot reopen, so a call after close() makes a new one (as kafkajs reconnects). */
  get #admin(): Admin {
    this.#client ??= new Admin(platformaticBaseOptions(this.#opts));
    return this.#client;
  }

  listTopics(): Promise<string[]> {
    return tagged(() => this.#admin.listTopics());
  }

  async createTopic(t: NewTopic): Promise<boolean> {
    try {
      await this.#admin.createTopics({
        topics: [{ topic: t.topic, partitions: t.partitions, replicas: t.replicationFactor ?? -1 }],
        configs: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
      });
    } catch (err) {
      // Replicas starting together race to create it; one wins, the others see it exists.
      if (findErrorBy(err as Error, 'apiId', 'TOPIC_ALREADY_EXISTS')) return false;
      throw kafkaError(err);
    }
    await this.#waitForLeaders(t.topic, t.partitions);
    return true;
  }

  /** The library's createTopics answers once the controller accepted the topic; the leaders come later. */
  async #waitForLeaders(topic: string, partitions: number): Promise<void> {
    const deadline = Date.now() + LEADERS_TIMEOUT_MS;
    for (;;) {
      const meta = await this.#admin.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined); // unknown for a moment
      const parts = meta?.topics.get(topic)?.partitions ?? [];
      if (parts.length >= partitions && parts.every((p) => p !== undefined && p.leader >= 0)) return;
      if (Date.now() > deadline) throw Object.assign(new Error(`topic ${topic}: partitions without a leader after ${LEADERS_TIMEOUT_MS} ms`), { type: 'LEADER_NOT_AVAILABLE' });
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  partitions(topic: string): Promise<number[]> {
    return tagged(async () => {
      const meta = await this.#admin.metadata({ topics: [topic], forceUpdate: true });
      return Array.from({ length: meta.topics.get(topic)?.partitionsCount ?? 0 }, (_, i) => i);
    });
  }

  topicConfig(topics: readonly string[], names: readonly string[]): Promise<Map<string, Map<string, string>>> {
    return tagged(async () => {
      const out = new Map<string, Map<string, string>>();
      if (topics.length === 0) return out;
      const res = await this.#admin.describeConfigs({
        resources: topics.map((resourceName) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName, configurationKeys: [...names] })),
      });
      for (const r of res) {
        const values = new Map<string, string>();
        for (const c of r.configs) if (c.value !== null && c.value !== undefined) values.set(c.name, c.value);
        out.set(r.resourceName, values);
      }
      return out;
    });
  }

  offsets(topic: string): Promise<PartitionBounds[]> {
    return tagged(async () => {
      const parts = await this.partitions(topic);
      const [low, high] = await Promise.all([listOffsets(this.#admin, topic, parts, ListOffsetTimestamps.EARLIEST), listOffsets(this.#admin, topic, parts, ListOffsetTimestamps.LATEST)]);
      return parts.map((partition) => ({ partition, low: low.get(partition) ?? 0, high: high.get(partition) ?? 0 }));
    });
  }

  offsetsForTime(topic: string, ms: number): Promise<Array<{ partition: number; offset: number }>> {
    return tagged(async () => {
      const parts = await this.partitions(topic);
      const [byTime, end] = await Promise.all([listOffsets(this.#admin, topic, parts, BigInt(ms)), listOffsets(this.#admin, topic, parts, ListOffsetTimestamps.LATEST)]);
      // -1: no record that new; the end of the partition, as kafkajs answers.
      return parts.map((partition) => {
        const o = byTime.get(partition) ?? -1;
        return { partition, offset: o < 0 ? (end.get(partition) ?? 0) : o };
      });
    });
  }

  committed(group: string, topic: string): Promise<Map<number, number>> {
    return tagged(async () => {
      // Every topic the group committed (no partition list to look up): a partition never committed is absent.
      const res = await this.#admin.listConsumerGroupOffsets({ groups: [group] });
      const out = new Map<number, number>();
      for (const g of res) {
        if (g.groupId !== group) continue;
        for (const t of g.topics) {
          if (t.name !== topic) continue;
          for (const p of t.partitions) if (p.committedOffset >= 0n) out.set(p.partitionIndex, Number(p.committedOffset));
        }
      }
      return out;
    });
  }

  setCommitted(group: string, topic: string, offsets: ReadonlyArray<{ partition: number; offset: number }>): Promise<void> {
    return tagged(() =>
      this.#admin.alterConsumerGroupOffsets({
        groupId: group,
        topics: [{ name: topic, partitionOffsets: offsets.map((o) => ({ partition: o.partition, offset: BigInt(o.offset) })) }],
      }),
    );
  }

  describeGroup(group: string): Promise<GroupDescription> {
    return tagged(async () => {
      const g = (await this.#admin.describeGroups({ groups: [group] })).get(group);
      // DescribeGroups answers a consumer-protocol (KIP-848) group as Dead with no members; such a
      // group is described by ConsumerGroupDescribe.
      if (!g || (g.state.toUpperCase() === 'DEAD' && g.members.size === 0)) return (await this.#describeConsumerGroup(group)) ?? { state: g?.state ?? 'Dead', members: 0, memberIds: [] };
      const memberIds = [...g.members.keys()].sort();
      return { state: g.state, members: memberIds.length, memberIds };
    });
  }

  /** A consumer-protocol group's state and members; undefined when the broker has no such group. */
  async #describeConsumerGroup(group: string): Promise<GroupDescription | undefined> {
    const admin = this.#admin;
    const coordinator = (await admin.findCoordinator({ keyType: 0, keys: [group] })).find((c) => c.key === group);
    if (!coordinator || coordinator.nodeId < 0) return undefined;
    const api = await protocolApi(admin, 'ConsumerGroupDescribe').catch(() => undefined);
    if (!api) return undefined; // a broker without KIP-848
    const connection = await new Promise<Connection>((resolve, reject) => admin[kGetConnection]({ host: coordinator.host, port: coordinator.port }, (e, c) => (e ? reject(e) : resolve(c as Connection))));
    let res: consumerGroupDescribeV0.ConsumerGroupDescribeResponse;
    try {
      res = (await api.async(connection, [group], false)) as consumerGroupDescribeV0.ConsumerGroupDescribeResponse;
    } catch (err) {
      // GROUP_ID_NOT_FOUND (69): no consumer-protocol group by that name either.
      if (findErrorBy(err as Error, 'apiId', 'GROUP_ID_NOT_FOUND')) return undefined;
      throw err;
    }
    const g = res.groups.find((x) => x.groupId === group);
    if (!g) return undefined;
    const memberIds = g.members.map((m) => m.memberId).sort();
    // Capitalised as the classic API's states are (Stable, Empty, …; the consumer protocol adds Assigning, Reconciling).
    return { state: g.groupState.charAt(0).toUpperCase() + g.groupState.slice(1), members: memberIds.length, memberIds };
  }

  deleteRecords(topic: string, before: ReadonlyArray<{ partition: number; offset: number }>): Promise<void> {
    return tagged(async () => {
      await this.#admin.deleteRecords({ topics: [{ name: topic, partitions: before.map((b) => ({ partition: b.partition, offset: BigInt(b.offset) })) }] });
    });
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close().catch(() => undefined);
  }
}
