// `logstream dead-letters replay --route NAME [--since T] [--until T] [--code C]... [--sink S] [--dry-run] [--again]`:
// once the cause is fixed (a mapping, an index, a size limit), re-injects a route's dead letters into
// their source topic and partition with their original key, value and headers, plus
// `logstream.replay-for: <route>` (and `logstream.replay-sink: <sink>` when a sink refused them), so
// only that route — and only that sink — takes them again; every other route and the webhook
// acknowledge them unread. Says how many it replayed and why it left the others.
//
// Without --since it continues where the last unfiltered replay of this route left off (a note in the
// control topic), so running it twice does not send the same letters twice; --again starts over.
import { parseArgs } from 'node:util';
import { DLQ_HEADER_PREFIX, DLQ_ROUTE_HEADER, REPLAY_ROUTE_HEADER, REPLAY_SINK_HEADER } from '../delivery/dead-letter.ts';
import { DEFAULT_ROUTE } from '../config/route-env.ts';
import { parseTimeWindow } from './time-window.ts';
import { TRUNCATED_HEADER } from '../source/kafka/dead-letter-publisher.ts';
import type { FetchedMessage, PartitionReader } from '../source/kafka/interface.ts';
import { openControl, type Io } from './routes.ts';

const USAGE = 'usage: logstream dead-letters replay --route NAME [--since <time>] [--until <time>] [--code CODE]... [--sink SINK] [--dry-run] [--again]';
const FETCH_BYTES = 4 * 1024 * 1024;
/** Stages that are not sinks: a letter from them goes to every sink of the route. */
const NOT_SINKS = new Set(['decode', 'query', 'webhook']);

interface Options {
  route?: string;
  since?: string;
  until?: string;
  code?: string[];
  sink?: string;
  'dry-run'?: boolean;
  again?: boolean;
}

interface Tally {
  replayed: number;
  otherRoute: number;
  outsideTime: number;
  otherReason: number;
  /** Cut short in the dead-letter topic and no longer in the source topic either. */
  unavailable: number;
  byTopic: Map<string, number>;
}

function header(m: FetchedMessage, name: string): string | undefined {
  const v = m.headers?.[name];
  const one = Array.isArray(v) ? v[v.length - 1] : v;
  return one === undefined ? undefined : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

export async function deadLettersCommand(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  let values: Options;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { route: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, code: { type: 'string', multiple: true }, sink: { type: 'string' }, 'dry-run': { type: 'boolean' }, again: { type: 'boolean' } },
    }));
  } catch (err) {
    io.stderr.write(`logstream: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (positionals.length !== 1 || positionals[0] !== 'replay' || !values.route) {
    io.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const window = parseTimeWindow(values, io.stderr);
  if (window === undefined) return 2;
  const { since, until } = window;
  const s = await openControl(env);
  const reader = s.kafka.reader();
  const producer = s.kafka.producer({ idempotent: true });
  try {
    const route = s.routes.find((r) => r.name === values.route);
    if (!route) {
      io.stderr.write(`logstream: no route ${JSON.stringify(values.route)} (routes: ${s.routes.map((r) => r.name).join(', ')}; from ROUTES)\n`);
      return 2;
    }
    const dlq = route.kafka.dlqTopic;
    const filtered = values.code !== undefined || values.sink !== undefined || until !== undefined;
    const noteKey = `replayed/${route.name}/${dlq}`;
    const note = values.again ? undefined : (s.control.note(noteKey) as { offsets?: Record<string, number> } | undefined);
    const end = await reader.latest(dlq);
    const start = since !== undefined ? await reader.forTime(dlq, since) : await reader.earliest(dlq);
    if (since === undefined && note?.offsets) for (const [p, o] of Object.entries(note.offsets)) if (o > (start.get(Number(p)) ?? 0)) start.set(Number(p), o);
    if (!values['dry-run']) await producer.connect();
    const tally: Tally = { replayed: 0, otherRoute: 0, outsideTime: 0, otherReason: 0, unavailable: 0, byTopic: new Map() };
    const ranges: string[] = [];
    for (const [partition, last] of [...end].sort((a, b) => a[0] - b[0])) {
      let offset = start.get(partition) ?? 0;
      ranges.push(`${partition}:${offset}-${last}`);
      while (offset < last) {
        const { messages, nextOffset } = await reader.fetch(dlq, partition, offset, FETCH_BYTES);
        const out = [];
        for (const m of messages) {
          if (Number(m.offset) >= last) break;
          const letter = await replayable(m, route.name, values, since, until, reader, tally);
          if (letter) out.push(letter);
        }
        if (!values['dry-run'] && out.length > 0) {
          const byTopic = new Map<string, Array<{ partition: number; key: Buffer | null; value: Buffer | null; headers: Record<string, string> }>>();
          for (const { topic, ...message } of out) byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
          for (const [topic, messages] of byTopic) await producer.send(topic, messages);
        }
        for (const l of out) tally.byTopic.set(l.topic, (tally.byTopic.get(l.topic) ?? 0) + 1);
        tally.replayed += out.length;
        if (nextOffset <= offset) break;
        offset = nextOffset;
      }
    }
    if (!values['dry-run'] && !filtered) await s.control.setNote(noteKey, { offsets: Object.fromEntries(end), at: new Date().toISOString() });
    const to = [...tally.byTopic].map(([t, n]) => `${n} to ${t}`).join(', ') || 'none';
    io.stdout.write(
      `${values['dry-run'] ? 'dry run: would replay' : 'replayed'} ${tally.replayed} dead letter(s) of route ${route.name} from ${dlq} (partition:offsets ${ranges.join(' ')}; ${to})\n` +
        `left: ${tally.otherRoute} of other routes, ${tally.outsideTime} outside the time range, ${tally.otherReason} of other codes or sinks, ${tally.unavailable} cut short and no longer in their source topic\n`,
    );
    return 0;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await reader.disconnect().catch(() => undefined);
    await s.close();
  }
}

async function replayable(
  m: FetchedMessage,
  route: string,
  o: Options,
  since: number | undefined,
  until: number | undefined,
  reader: PartitionReader,
  tally: Tally,
): Promise<{ topic: string; partition: number; key: Buffer | null; value: Buffer | null; headers: Record<string, string> } | undefined> {
  // Letters written before routes existed carry no route: they are the default route's.
  if ((header(m, DLQ_ROUTE_HEADER) ?? DEFAULT_ROUTE) !== route) {
    tally.otherRoute++;
    return undefined;
  }
  const at = Date.parse(header(m, `${DLQ_HEADER_PREFIX}dead-lettered-at`) ?? '');
  if ((since !== undefined && at < since) || (until !== undefined && at > until)) {
    tally.outsideTime++;
    return undefined;
  }
  const stage = header(m, `${DLQ_HEADER_PREFIX}sink`) ?? '';
  if ((o.code && !o.code.includes(header(m, `${DLQ_HEADER_PREFIX}error.code`) ?? '')) || (o.sink !== undefined && o.sink !== stage)) {
    tally.otherReason++;
    return undefined;
  }
  const topic = header(m, `${DLQ_HEADER_PREFIX}source.topic`);
  const partition = Number(header(m, `${DLQ_HEADER_PREFIX}source.partition`));
  const sourceOffset = Number(header(m, `${DLQ_HEADER_PREFIX}source.offset`));
  if (!topic || !Number.isInteger(partition)) {
    tally.otherReason++;
    return undefined;
  }
  let value = m.value;
  const cut = header(m, TRUNCATED_HEADER);
  if (cut !== undefined) {
    // The letter holds only the start of the value: take the whole record from its source, if still there.
    const { messages } = await reader.fetch(topic, partition, sourceOffset, Number(cut) + 64 * 1024).catch(() => ({ messages: [] as FetchedMessage[] }));
    const original = messages.find((x) => Number(x.offset) === sourceOffset);
    if (!original) {
      tally.unavailable++;
      return undefined;
    }
    value = original.value;
  }
  const headers: Record<string, string> = {};
  for (const k of Object.keys(m.headers ?? {})) {
    if (k.startsWith(DLQ_HEADER_PREFIX)) continue;
    const v = header(m, k);
    if (v !== undefined) headers[k] = v;
  }
  headers[REPLAY_ROUTE_HEADER] = route;
  if (stage && !NOT_SINKS.has(stage)) headers[REPLAY_SINK_HEADER] = stage;
  return { topic, partition, key: m.key, value, headers };
}
