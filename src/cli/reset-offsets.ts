// `logstream reset-offsets --group G | --route NAME --to <ISO time | epoch ms | earliest | latest> [--topic T]... [--dry-run]`:
// replay (or skip) by moving a group's committed offsets, at any time, not only for a new group.
// Like Kafka's kafka-consumer-groups --reset-offsets it refuses while a --group has members (a running
// member would overwrite the reset with its next commit). With --route on a running deployment it
// pauses that route on every instance first (control topic: drain, commit, leave the group), waits
// until the group is empty, moves the offsets and resumes the route — the other routes never stop.
// Brokers, TLS and SASL come from the same KAFKA_* variables as `run`; the route's group and topics
// from ROUTES / ROUTE_<NAME>_KAFKA_* as `run` resolves them.
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.ts';
import { parseDurationMs } from '../config/vars.ts';
import { parseKafkaConfig, parseStartPosition, type StartPosition } from '../source/kafka/config.ts';
import { connectKafkaFor } from '../source/kafka/connect.ts';
import type { KafkaAdmin } from '../source/kafka/interface.ts';
import { groupState, retryKafka } from '../source/kafka/group-admin.ts';
import { createLogger } from '../telemetry/logger.ts';
import { openControl, pauseRoute, type Io } from './routes.ts';

const USAGE = 'usage: logstream reset-offsets (--group G | --route NAME [--keep-paused] [--timeout 2m]) --to <ISO 8601 time | epoch ms | earliest | latest | group:<id>> [--topic T]... [--dry-run]';

export async function resetOffsetsCommand(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  let values: { group?: string; route?: string; to?: string; topic?: string[]; 'dry-run'?: boolean; 'keep-paused'?: boolean; timeout?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: { group: { type: 'string' }, route: { type: 'string' }, to: { type: 'string' }, topic: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' }, 'keep-paused': { type: 'boolean' }, timeout: { type: 'string' } },
    }));
  } catch (err) {
    io.stderr.write(`logstream: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.group !== undefined && values.route !== undefined) {
    io.stderr.write(`logstream: give --group or --route, not both\n${USAGE}\n`);
    return 2;
  }
  if (values.to === undefined) {
    io.stderr.write(`logstream: --to is required\n${USAGE}\n`);
    return 2;
  }
  const to = parseStartPosition(values.to);
  if (!to) {
    io.stderr.write(`logstream: --to must be earliest, latest, an ISO 8601 time, epoch seconds/ms or group:<id>, got ${JSON.stringify(values.to)}\n`);
    return 2;
  }
  if (values.route !== undefined) return resetRoute(values.route, to, values, env, io);
  const cfg = parseKafkaConfig(env, { consuming: false }); // ConfigError → exit 2 naming the variable
  const group = values.group ?? cfg.groupId;
  const topics = values.topic ?? cfg.topics;
  if (topics.length === 0) throw new ConfigError(['KAFKA_TOPICS: is required (or give --topic) to know which topics to reset']);
  const logger = createLogger({ level: 'warn', name: 'logstream' });
  const kafka = await connectKafkaFor(cfg, logger);
  const admin = kafka.admin();
  try {
    const g = await groupState(admin, group);
    if (g.members > 0) {
      io.stderr.write(`logstream: group ${group} has ${g.members} active member(s) (state ${g.state}): stop every logstream instance of the group, or use --route NAME on a running deployment, then reset (a running member would commit over the reset)\n`);
      return 1;
    }
    await moveOffsets(admin, group, topics, to, values['dry-run'] === true, io);
    return 0;
  } finally {
    await admin.close();
  }
}

/** Pauses the route everywhere (if it runs), moves its group's offsets, resumes it. */
async function resetRoute(name: string, to: StartPosition, values: { topic?: string[]; 'dry-run'?: boolean; 'keep-paused'?: boolean; timeout?: string }, env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const timeoutMs = parseDurationMs(values.timeout ?? '2m');
  if (timeoutMs === undefined) {
    io.stderr.write('logstream: --timeout must be a duration such as 30s or 2m\n');
    return 2;
  }
  const s = await openControl(env); // a configuration error names its variable before any connection
  try {
    const route = s.routes.find((r) => r.name === name);
    if (!route) {
      io.stderr.write(`logstream: no route ${JSON.stringify(name)} (routes: ${s.routes.map((r) => r.name).join(', ')}; from ROUTES)\n`);
      return 2;
    }
    const topics = values.topic ?? route.kafka.topics;
    const group = route.kafka.groupId;
    const wasPaused = s.control.states.get(name)?.state === 'paused';
    const dry = values['dry-run'] === true;
    if (!dry && !wasPaused && (await groupState(s.admin, group)).members > 0) {
      if (!(await pauseRoute(s, name, 'logstream reset-offsets --route', `reset to ${describe(to)}`, timeoutMs, io))) {
        io.stderr.write(`logstream: nothing reset; the route stays paused: \`logstream routes resume ${name}\` to resume it as it was\n`);
        return 1;
      }
    } else if (!dry && wasPaused && (await groupState(s.admin, group)).members > 0) {
      io.stderr.write(`logstream: route ${name} is paused but group ${group} still has members (instances that do not follow the control topic?): nothing reset\n`);
      return 1;
    }
    await moveOffsets(s.admin, group, topics, to, dry, io);
    if (!dry && !wasPaused && !values['keep-paused']) {
      await s.control.set(name, 'running', 'logstream reset-offsets --route');
      io.stdout.write(`route ${name}: resume requested; it continues from the new offsets\n`);
    } else if (!dry) io.stdout.write(`route ${name} stays paused: \`logstream routes resume ${name}\` to resume it\n`);
    return 0;
  } finally {
    await s.close();
  }
}

function describe(to: StartPosition): string {
  return to.kind === 'timestamp' ? new Date(to.ms).toISOString() : to.kind === 'group' ? `group:${to.groupId}` : to.kind;
}

async function moveOffsets(admin: KafkaAdmin, group: string, topics: readonly string[], to: StartPosition, dry: boolean, io: Io): Promise<void> {
  for (const topic of topics) {
    const ends = await retryKafka(() => admin.offsets(topic));
    let target: Array<{ partition: number; offset: number }>;
    if (to.kind === 'timestamp') target = await retryKafka(() => admin.offsetsForTime(topic, to.ms));
    else if (to.kind === 'group') {
      // Another group's commits; where it has none, the partition's start (nothing skipped).
      const other = await retryKafka(() => admin.committed(to.groupId, topic));
      target = ends.map((p) => ({ partition: p.partition, offset: other.get(p.partition) ?? p.low }));
    } else target = ends.map((p) => ({ partition: p.partition, offset: to.kind === 'earliest' ? p.low : p.high }));
    const current = await retryKafka(() => admin.committed(group, topic));
    for (const t of [...target].sort((a, b) => a.partition - b.partition)) {
      const was = current.get(t.partition);
      io.stdout.write(`${topic}\t${t.partition}\t${was ?? 'none'} -> ${t.offset}\n`);
    }
    if (!dry) await retryKafka(() => admin.setCommitted(group, topic, target));
  }
  io.stdout.write(`${dry ? 'dry run: nothing changed; would reset' : 'reset'} group ${group} to ${describe(to)} on ${topics.join(', ')}\n`);
}
