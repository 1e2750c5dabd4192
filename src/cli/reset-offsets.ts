// `logstream reset-offsets --group G --to <ISO time | epoch ms | earliest | latest> [--topic T]... [--dry-run]`:
// replay (or skip) by moving the group's committed offsets, at any time, not only for a new group.
// Like Kafka's kafka-consumer-groups --reset-offsets it refuses while the group has members: every
// logstream instance of the group must be stopped first (a running member would overwrite the reset
// with its next commit). Brokers, TLS and SASL come from the same KAFKA_* variables as `run`.
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.ts';
import { parseKafkaConfig, parseStartPosition } from '../source/kafka/config.ts';
import { createKafka } from '../source/kafka/client.ts';
import { createLogger } from '../telemetry/logger.ts';

const USAGE = 'usage: logstream reset-offsets --group G --to <ISO 8601 time | epoch ms | earliest | latest> [--topic T]... [--dry-run]';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export async function resetOffsetsCommand(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  let values: { group?: string; to?: string; topic?: string[]; 'dry-run'?: boolean };
  try {
    ({ values } = parseArgs({ args, options: { group: { type: 'string' }, to: { type: 'string' }, topic: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' } } }));
  } catch (err) {
    io.stderr.write(`logstream: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.to === undefined) {
    io.stderr.write(`logstream: --to is required\n${USAGE}\n`);
    return 2;
  }
  const to = parseStartPosition(values.to);
  if (!to) {
    io.stderr.write(`logstream: --to must be earliest, latest, an ISO 8601 time or epoch seconds/ms, got ${JSON.stringify(values.to)}\n`);
    return 2;
  }
  const cfg = parseKafkaConfig(env, { consuming: false }); // ConfigError → exit 2 naming the variable
  const group = values.group ?? cfg.groupId;
  const topics = values.topic ?? cfg.topics;
  if (topics.length === 0) throw new ConfigError(['KAFKA_TOPICS: is required (or give --topic) to know which topics to reset']);
  const logger = createLogger({ level: 'warn', name: 'logstream' });
  const kafka = createKafka({ brokers: cfg.brokers, clientId: cfg.clientId, connectionTimeoutMs: cfg.connectionTimeoutMs, security: cfg.security, logger });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([group]);
    const g = groups[0];
    if (g && g.members.length > 0) {
      io.stderr.write(`logstream: group ${group} has ${g.members.length} active member(s) (state ${g.state}): stop every logstream instance of the group, then reset (a running member would commit over the reset)\n`);
      return 1;
    }
    const when = to.kind === 'timestamp' ? new Date(to.ms).toISOString() : to.kind;
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const target =
        to.kind === 'timestamp'
          ? await admin.fetchTopicOffsetsByTimestamp(topic, to.ms)
          : ends.map((p) => ({ partition: p.partition, offset: to.kind === 'earliest' ? p.low : p.high }));
      const current = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions ?? [];
      for (const t of [...target].sort((a, b) => a.partition - b.partition)) {
        const was = current.find((c) => c.partition === t.partition)?.offset ?? '-1';
        io.stdout.write(`${topic}\t${t.partition}\t${was === '-1' ? 'none' : was} -> ${t.offset}\n`);
      }
      if (!values['dry-run']) await admin.setOffsets({ groupId: group, topic, partitions: target.map((t) => ({ partition: t.partition, offset: String(t.offset) })) });
    }
    io.stdout.write(`${values['dry-run'] ? 'dry run: nothing changed; would reset' : 'reset'} group ${group} to ${when} on ${topics.join(', ')}\n`);
    return 0;
  } finally {
    await admin.disconnect();
  }
}
