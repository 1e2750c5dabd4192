// `logstream routes [status|pause NAME|resume NAME]`: every route's wanted state (the control topic),
// its consumer group and lag; pause or resume one route on every running instance at once. A paused
// route drains, commits and leaves its group on every instance (the other routes keep running), so its
// offsets can be moved (`reset-offsets --route`) and it can be replayed without touching the others.
import { parseArgs } from 'node:util';
import { loadRouteKafka } from '../app-config.ts';
import { parseDurationMs } from '../config/vars.ts';
import { connectKafkaFor } from '../source/kafka/connect.ts';
import { ControlTopic } from '../source/kafka/control-topic.ts';
import { groupLag, groupState, waitForEmptyGroup } from '../source/kafka/group-admin.ts';
import type { KafkaAdmin, KafkaClient } from '../source/kafka/interface.ts';
import { createLogger } from '../telemetry/logger.ts';

const USAGE = `usage: logstream routes [status] [--json]
       logstream routes pause NAME [--reason TEXT] [--timeout 2m] [--no-wait]
       logstream routes resume NAME`;

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** What a command that changes a route's state needs: the control topic, an admin, the route's group. */
export interface RouteControlSession {
  kafka: KafkaClient;
  control: ControlTopic;
  admin: KafkaAdmin;
  routes: ReturnType<typeof loadRouteKafka>['routes'];
  close(): Promise<void>;
}

export async function openControl(env: NodeJS.ProcessEnv): Promise<RouteControlSession> {
  const cfg = loadRouteKafka(env); // ConfigError → exit 2 naming the variable
  const logger = createLogger({ level: 'warn', name: 'logstream' });
  const kafka = await connectKafkaFor(cfg.kafka, logger);
  const control = new ControlTopic(kafka, cfg.kafka.controlTopic, logger);
  const admin = kafka.admin();
  try {
    await control.start();
  } catch (err) {
    await admin.close();
    throw err;
  }
  return {
    kafka,
    control,
    admin,
    routes: cfg.routes,
    close: async () => {
      await control.stop();
      await admin.close();
    },
  };
}

/** Asks every instance to pause `name` and (unless `timeoutMs` is 0) waits until its group is empty. */
export async function pauseRoute(s: RouteControlSession, name: string, by: string, reason: string | undefined, timeoutMs: number, io: Io): Promise<boolean> {
  const route = s.routes.find((r) => r.name === name)!;
  await s.control.set(name, 'paused', by, reason);
  io.stdout.write(`route ${name}: pause requested (control topic ${s.control.topic})\n`);
  if (timeoutMs === 0) return true;
  const empty = await waitForEmptyGroup(s.admin, route.kafka.groupId, timeoutMs);
  if (empty) io.stdout.write(`route ${name}: paused on every instance (group ${route.kafka.groupId} has no members; its offsets are committed)\n`);
  else io.stderr.write(`logstream: route ${name}: group ${route.kafka.groupId} still has members after ${Math.round(timeoutMs / 1000)} s (instances of an older version, which do not follow the control topic, or a drain still running); the route stays paused where the instances follow it\n`);
  return empty;
}

export async function routesCommand(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  let parsed: { values: { json?: boolean; reason?: string; timeout?: string; 'no-wait'?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, reason: { type: 'string' }, timeout: { type: 'string' }, 'no-wait': { type: 'boolean' } } });
  } catch (err) {
    io.stderr.write(`logstream: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [action = 'status', name, ...extra] = parsed.positionals;
  if (!['status', 'pause', 'resume'].includes(action) || extra.length > 0 || (action !== 'status' && !name) || (action === 'status' && name)) {
    io.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const timeoutMs = parsed.values['no-wait'] ? 0 : parseDurationMs(parsed.values.timeout ?? '2m');
  if (timeoutMs === undefined) {
    io.stderr.write(`logstream: --timeout must be a duration such as 30s or 2m\n`);
    return 2;
  }
  const s = await openControl(env);
  try {
    if (name && !s.routes.some((r) => r.name === name)) {
      io.stderr.write(`logstream: no route ${JSON.stringify(name)} (routes: ${s.routes.map((r) => r.name).join(', ')}; from ROUTES)\n`);
      return 2;
    }
    if (action === 'pause') return (await pauseRoute(s, name!, 'logstream routes pause', parsed.values.reason, timeoutMs, io)) ? 0 : 1;
    if (action === 'resume') {
      await s.control.set(name!, 'running', 'logstream routes resume');
      io.stdout.write(`route ${name}: resume requested; every instance rejoins group ${s.routes.find((r) => r.name === name)!.kafka.groupId} within a few seconds and continues from its commit\n`);
      return 0;
    }
    const rows = [];
    for (const r of s.routes) {
      const wanted = s.control.states.get(r.name);
      const [group, lag] = await Promise.all([groupState(s.admin, r.kafka.groupId), groupLag(s.admin, r.kafka.groupId, r.kafka.topics)]);
      rows.push({ route: r.name, wanted: wanted?.state ?? 'running', ...(wanted ? { since: wanted.at, by: wanted.by, ...(wanted.reason ? { reason: wanted.reason } : {}) } : {}), group: r.kafka.groupId, groupState: group.state, members: group.members, lag });
    }
    if (parsed.values.json) io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else {
      io.stdout.write('route\twanted\tgroup\tstate\tmembers\tlag\n');
      for (const r of rows) {
        const lag = r.lag.map((l) => `${l.topic}=${l.lag}${l.uncommitted ? ` (${l.uncommitted} partitions never committed)` : ''}`).join(', ');
        io.stdout.write(`${r.route}\t${r.wanted}${'since' in r ? ` since ${r.since} by ${r.by}` : ''}\t${r.group}\t${r.groupState}\t${r.members}\t${lag}\n`);
      }
    }
    return 0;
  } finally {
    await s.close();
  }
}
