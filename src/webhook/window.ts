// What one webhook call returns: where it starts (from the cursor, or by time on a first call and
// after an expiry), and the records from there up to the end of each partition as it was when the
// call began, within the response caps. Partitions are read round-robin, one fetch each per round,
// so a busy partition cannot starve the others across calls.
import type { PipelineRecord, RecordMeta } from '../core/record.ts';
import { REPLAY_ROUTE_HEADER } from '../delivery/dead-letter.ts';
import { encodeJson } from '../sinks/json-lines.ts';
import type { CompiledQuery } from '../query/index.ts';
import { decodedMeta, messageMeta, valueIsJson } from '../source/kafka/decode.ts';
import type { Decoded, FetchedMessage, PartitionOffsets, PartitionReader, RecordDecoder } from '../source/kafka/interface.ts';
import type { WebhookCursor } from './cursor-log.ts';

export type StartPlan =
  | { kind: 'first'; fromMs: number }
  | { kind: 'reset'; fromMs: number; previous: WebhookCursor }
  | { kind: 'cursor'; cursor: WebhookCursor };

export interface WindowSettings {
  firstWindowMs: number;
  cursorExpiryMs: number;
  resetWindowMs: number;
}

/** The seed's rules: first call → the last 10 minutes; not called for over a day → the last 5 minutes;
 *  otherwise exactly where the previous call stopped. */
export function planStart(cursor: WebhookCursor | undefined, topic: string, now: number, s: WindowSettings): StartPlan {
  if (cursor === undefined || cursor.topic !== topic) return { kind: 'first', fromMs: now - s.firstWindowMs };
  if (s.cursorExpiryMs > 0 && now - cursor.lastCallAt > s.cursorExpiryMs) return { kind: 'reset', fromMs: now - s.resetWindowMs, previous: cursor };
  return { kind: 'cursor', cursor };
}

export interface ResolvedStart {
  start: PartitionOffsets;
  /** Records a reset skipped, or that retention deleted before they were read (counted, logged). */
  skipped: number;
  /** Partitions whose cursor was beyond the end of the log (topic re-created?): read from the start. */
  rewound: number[];
}

/** Turns a plan into offsets, clamped to what the log still holds. */
export async function resolveStart(reader: PartitionReader, topic: string, plan: StartPlan, earliest: PartitionOffsets, end: PartitionOffsets): Promise<ResolvedStart> {
  const start: PartitionOffsets = new Map();
  let skipped = 0;
  const rewound: number[] = [];
  if (plan.kind === 'first' || plan.kind === 'reset') {
    const byTime = await reader.forTime(topic, plan.fromMs);
    for (const [p, e] of end) {
      const o = Math.min(Math.max(byTime.get(p) ?? e, earliest.get(p) ?? 0), e);
      start.set(p, o);
      if (plan.kind === 'reset') {
        const was = plan.previous.offsets[String(p)];
        if (was !== undefined && was < o) skipped += o - Math.max(was, earliest.get(p) ?? 0);
      }
    }
    return { start, skipped, rewound };
  }
  for (const [p, e] of end) {
    const low = earliest.get(p) ?? 0;
    const was = plan.cursor.offsets[String(p)];
    if (was === undefined) start.set(p, low); // a partition added since: all of it is new
    else if (was > e) {
      rewound.push(p);
      start.set(p, low);
    } else if (was < low) {
      skipped += low - was;
      start.set(p, low);
    } else start.set(p, was);
  }
  return { start, skipped, rewound };
}

export interface ReadLimits {
  maxRecords: number;
  maxBytes: number;
  /** Stop reading (and answer with what was read, more=true) after this time (epoch ms). */
  deadline: number;
  fetchBytes: number;
}

export type RecordOutcome =
  | { kind: 'line'; line: Buffer }
  | { kind: 'filtered' }
  | { kind: 'dead-letter'; record: PipelineRecord; stage: string; code: string; message: string };

export interface WindowResult {
  lines: Buffer[];
  bytes: number;
  /** Records read from Kafka (returned, filtered or dead-lettered). */
  read: number;
  filtered: number;
  deadLetters: Array<Extract<RecordOutcome, { kind: 'dead-letter' }>>;
  /** Where the next call starts. */
  next: PartitionOffsets;
  /** Records were left before the end of the window (caps or deadline). */
  more: boolean;
}

/** Decode + query of one record, as the push path does it; waits only when its schema is not cached. */
export function processMessage(query: CompiledQuery, decoder: RecordDecoder, topic: string, partition: number, m: FetchedMessage): RecordOutcome | Promise<RecordOutcome> {
  const meta = messageMeta(topic, partition, m);
  // A dead letter replayed for a push route was already served by the webhook when it was first read.
  if (meta.headers[REPLAY_ROUTE_HEADER] !== undefined) return { kind: 'filtered' };
  const decoded = decoder.decode(m.value, meta, m.key);
  return decoded instanceof Promise ? decoded.then((d) => afterDecode(query, meta, m, d)) : afterDecode(query, meta, m, decoded);
}

function afterDecode(query: CompiledQuery, recordMeta: RecordMeta, m: FetchedMessage, decoded: Decoded): RecordOutcome {
  const size = m.value?.length ?? 0;
  if (!decoded.ok) return { kind: 'dead-letter', record: { meta: recordMeta, raw: m.value, fields: {}, size, unchanged: false }, stage: 'webhook', code: decoded.code, message: decoded.message };
  const meta = decodedMeta(recordMeta, decoded);
  let fields = decoded.fields;
  let unchanged = valueIsJson(decoded);
  if (!query.isPassThrough) {
    try {
      const out = query.apply(fields, meta);
      if (out === null) return { kind: 'filtered' };
      // A query that only read the record (where) leaves it as its original bytes.
      if (out !== fields) unchanged = false;
      fields = out;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return { kind: 'dead-letter', record: { meta, raw: m.value, fields, size, unchanged: false }, stage: 'webhook', code: e.code ?? 'QUERY_RUNTIME', message: e.message ?? String(err) };
    }
  }
  return { kind: 'line', line: encodeJson({ meta, raw: m.value, fields, size, unchanged }) };
}

/** The outcome, or undefined when it is not there before `deadline` (a schema registry that does not answer). */
async function outcomeBy(pending: Promise<RecordOutcome>, deadline: number): Promise<RecordOutcome | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([pending, late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function readWindow(
  reader: PartitionReader,
  topic: string,
  start: PartitionOffsets,
  end: PartitionOffsets,
  limits: ReadLimits,
  process: (partition: number, m: FetchedMessage) => RecordOutcome | Promise<RecordOutcome>,
): Promise<WindowResult> {
  const pos = new Map(start);
  const out: WindowResult = { lines: [], bytes: 0, read: 0, filtered: 0, deadLetters: [], next: pos, more: false };
  const open = () => [...pos].filter(([p, o]) => o < (end.get(p) ?? 0)).map(([p]) => p);
  let full = false;
  for (let active = open(); active.length > 0 && !full; active = open()) {
    if (Date.now() >= limits.deadline) break;
    const fetched = await Promise.all(active.map((p) => reader.fetch(topic, p, pos.get(p)!, limits.fetchBytes)));
    let progressed = false;
    for (let i = 0; i < active.length && !full; i++) {
      const p = active[i]!;
      const stop = end.get(p)!;
      const { messages, nextOffset } = fetched[i]!;
      let at = pos.get(p)!;
      for (const m of messages) {
        const offset = Number(m.offset);
        if (offset >= stop) break;
        const outcome = process(p, m);
        // A record whose schema the registry has not given yet: waited for until the call's deadline;
        // past it the call answers with what it has, and the next call starts at this record.
        const r = outcome instanceof Promise ? await outcomeBy(outcome, limits.deadline) : outcome;
        if (r === undefined) {
          full = true;
          break;
        }
        if (r.kind === 'line') {
          const len = r.line.length + 1;
          // The caps are checked before taking a line; the first line of a response always goes, so
          // one record larger than the byte cap cannot stall the key.
          if (out.lines.length >= limits.maxRecords || (out.lines.length > 0 && out.bytes + len > limits.maxBytes)) {
            full = true;
            break;
          }
          out.lines.push(r.line);
          out.bytes += len;
        } else if (r.kind === 'filtered') out.filtered++;
        else out.deadLetters.push(r);
        out.read++;
        at = offset + 1;
      }
      // Compacted gaps, control records and aborted transactions: skip what the fetch stepped over.
      if (!full) at = Math.min(Math.max(at, nextOffset), stop);
      if (at > pos.get(p)!) progressed = true;
      pos.set(p, at);
    }
    if (!progressed) break; // nothing readable below the end (e.g. an open transaction): next call
  }
  out.more = open().length > 0;
  return out;
}
