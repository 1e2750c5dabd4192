/** Starting groups of logstream instances that ship one topic to per-instance files. */
import { join } from 'node:path';
import { Instance, readJsonLines, tmpDir, waitUntil } from './instance.ts';
import { committedOffsets, createTopic, kafkaBootstrap, uniqueName } from './kafka.ts';

export interface GroupSetup {
  bootstrap: string;
  topic: string;
  group: string;
  dir: string;
  dlqTopic: string;
  extraEnv?: Record<string, string>;
}

export function instanceEnv(s: GroupSetup, name: string): Record<string, string> {
  return {
    KAFKA_BROKERS: s.bootstrap,
    KAFKA_TOPICS: s.topic,
    KAFKA_GROUP_ID: s.group,
    KAFKA_DLQ_TOPIC: s.dlqTopic,
    KAFKA_SESSION_TIMEOUT: '6s',
    KAFKA_HEARTBEAT_INTERVAL: '1s',
    KAFKA_REBALANCE_TIMEOUT: '20s',
    KAFKA_COMMIT_INTERVAL: '1s',
    SINKS: 'file',
    FILE_PATH: join(s.dir, `${name}.jsonl`),
    FILE_MAX_BYTES: '0',
    LOG_LEVEL: 'info',
    ...s.extraEnv,
  };
}

export function startMember(s: GroupSetup, name: string, env: Record<string, string> = {}): Instance {
  return new Instance(name, { ...instanceEnv(s, name), ...env });
}

/** Waits until the instances together own exactly `partitions` partitions, spread evenly (no two own
 *  more than one apart, as both clients' assignors spread them), and all are ready: the group is stable.
 *  Evenly matters under cooperative rebalancing, where the first member owns every partition until a
 *  later one's join has moved some (two rounds): owning them all is not yet the end of the rebalance. */
export async function waitForStableGroup(instances: Instance[], partitions: number, timeoutMs = 90_000): Promise<number[]> {
  let owned: number[] = [];
  await waitUntil(
    `${instances.length} instances owning ${partitions} partitions`,
    async () => {
      owned = await Promise.all(instances.map((i) => i.metricSum('logstream_assigned_partitions')));
      const ready = await Promise.all(instances.map(async (i) => (await fetch(`http://127.0.0.1:${await i.metricsPort()}/readyz`)).status === 200));
      return owned.reduce((a, b) => a + b, 0) === partitions && Math.max(...owned) - Math.min(...owned) <= 1 && ready.every(Boolean);
    },
    timeoutMs,
    500,
  );
  return owned;
}

export function outputs(s: GroupSetup, names: string[]): Array<Record<string, unknown>> {
  return names.flatMap((n) => readJsonLines(join(s.dir, `${n}.jsonl`)));
}

/** A fresh topic with `partitions` partitions, and unique group, dead-letter topic and output folder. */
export async function newGroupSetup(name: string, partitions: number, extraEnv?: Record<string, string>): Promise<GroupSetup> {
  const bootstrap = kafkaBootstrap();
  const topic = uniqueName(name);
  await createTopic(bootstrap, topic, partitions);
  return { bootstrap, topic, group: uniqueName(`${name}-g`), dir: tmpDir(name), dlqTopic: uniqueName(`${name}-dlq`), ...(extraEnv ? { extraEnv } : {}) };
}

/** The group's committed offsets on its topic, summed over partitions (= records consumed when each
 *  partition starts at offset 0). */
export async function committedTotal(s: GroupSetup): Promise<bigint> {
  return [...(await committedOffsets(s.bootstrap, s.group, s.topic)).values()].reduce((a, b) => a + b, 0n);
}
