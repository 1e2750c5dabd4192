/** Starting groups of logstream instances that ship one topic to per-instance files. */
import { join } from 'node:path';
import { Instance, readJsonLines, waitUntil } from './instance.ts';

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

/** Waits until the instances together own exactly `partitions` partitions (the group is stable). */
export async function waitForStableGroup(instances: Instance[], partitions: number, timeoutMs = 90_000): Promise<number[]> {
  let owned: number[] = [];
  await waitUntil(
    `${instances.length} instances owning ${partitions} partitions`,
    async () => {
      owned = await Promise.all(instances.map((i) => i.metricSum('logstream_assigned_partitions')));
      const ready = await Promise.all(instances.map(async (i) => (await fetch(`http://127.0.0.1:${await i.httpPort()}/readyz`)).status === 200));
      return owned.reduce((a, b) => a + b, 0) === partitions && ready.every(Boolean);
    },
    timeoutMs,
    500,
  );
  return owned;
}

export function outputs(s: GroupSetup, names: string[]): Array<Record<string, unknown>> {
  return names.flatMap((n) => readJsonLines(join(s.dir, `${n}.jsonl`)));
}
