/**
 * `suppress -window=<seconds | 'duration'> [-max-keys=N] [-summary] by f1, f2 … [where <condition>]`:
 * the first record of a key passes; later records of the same key within the window (counted from that
 * first record) are dropped and counted; the first record after the window passes and opens a new one.
 * Only the records the condition selects are considered; the others pass.
 *
 * State is per topic-partition, as a route reads it: one instance owns a partition, so the state is
 * complete there. Time is the record's Kafka timestamp (the query's clock when a record has none), so a
 * backlog read late is suppressed as it was produced, and a replay suppresses alike. When a partition's
 * offsets go backwards (it was read again from its commit after a rebalance, or reset), its state is
 * dropped first: a record that was suppressed by a record never delivered must not be suppressed again.
 * Keys come from the records — attacker-controlled — so the state is bounded (-max-keys over all
 * partitions): when it is full and nothing has expired, a new key passes (fails open) and is counted.
 *
 * With -summary, a window's repeats become one summary record when the window closes: the first repeat
 * with suppressed_count, suppressed_first_time and suppressed_last_time added, run through the rest of
 * the query. The first repeat's commit is held (SummaryTarget.hold) until the summary is delivered. A
 * window closes when a record of its partition is past its end (record time); its repeats are also
 * summarised early — the window keeps suppressing — when they have been held for a window's length of
 * the clock (tick), and before a rebalance or when held commits fill the in-flight limit (flush).
 */
import type { Instruction } from '../ast.ts';
import { compileCondition } from '../compile-expr.ts';
import { QueryRuntimeError } from '../errors.ts';
import { shallowClone, type Rec } from '../fields.ts';
import type { QueryStats } from '../stats.ts';
import { keyOfFields } from './sample.ts';
import type { QueryMeta, Summaries, SummaryTarget } from '../types.ts';
import type { Step } from './step.ts';

type SuppressIns = Extract<Instruction, { kind: 'suppress' }>;

/** The fields a summary adds to the first repeat. */
export const SUMMARY_FIELDS = ['suppressed_count', 'suppressed_first_time', 'suppressed_last_time'] as const;

interface Window {
  /** Record time (ms) of the record that opened it. */
  readonly start: number;
  /** -summary: the repeats not yet summarised. */
  repeats: Repeats | undefined;
}

interface Repeats {
  readonly window: Window;
  readonly first: Rec;
  readonly meta: QueryMeta | undefined;
  readonly hold: unknown;
  /** The clock when the first was held (tick() summarises after a window's length of it). */
  readonly heldAt: number;
  count: number;
  firstTime: number;
  lastTime: number;
}

interface PartitionState {
  /** Key → its window, oldest first (a window that restarts moves to the end). */
  windows: Map<string, Window>;
  /** The highest offset seen: an offset at or below it means the partition is read again. */
  lastOffset: bigint;
}

/** The instructions after suppress, applied to a summary (set once the whole query is compiled). */
export interface RestOfQuery {
  run: (rec: Rec, meta: QueryMeta | undefined) => Rec | null;
}

export interface CompiledSuppress {
  step: Step;
  summaries: Summaries | undefined;
}

export function compileSuppress(text: string, ins: SuppressIns, stats: QueryStats, now: () => number, rest: RestOfQuery): CompiledSuppress {
  const windowMs = ins.windowMs;
  const maxKeys = ins.maxKeys;
  const keyOf = keyOfFields(ins.by.map((f) => f.path));
  const only = ins.only ? compileCondition({ text }, ins.only) : undefined;
  const partitions = new Map<string, PartitionState>();
  /** Windows with repeats not yet summarised, in the order their first repeat was held. */
  const held = new Set<Repeats>();
  let keys = 0;
  let target: SummaryTarget | undefined;

  const summarise = (r: Repeats): void => {
    held.delete(r);
    r.window.repeats = undefined;
    const rec = shallowClone(r.first);
    rec['suppressed_count'] = r.count;
    rec['suppressed_first_time'] = new Date(r.firstTime).toISOString();
    rec['suppressed_last_time'] = new Date(r.lastTime).toISOString();
    stats.summaries++;
    let out: Rec | null | Error;
    try {
      out = rest.run(rec, r.meta);
    } catch (err) {
      // Whatever fails here is reported with the summary, never thrown: the summary holds a commit,
      // and an exception would surface in the apply() of an unrelated record.
      out = err instanceof QueryRuntimeError ? err : new QueryRuntimeError(`suppress summary: ${err instanceof Error ? err.message : String(err)}`);
    }
    target?.summary(out, rec, r.meta, r.hold);
  };

  const stateOf = (meta: QueryMeta | undefined): PartitionState => {
    const id = meta ? `${meta.topic}\u0000${meta.partition}` : '';
    let s = partitions.get(id);
    if (!s) partitions.set(id, (s = { windows: new Map(), lastOffset: -1n }));
    if (meta) {
      const offset = BigInt(meta.offset);
      if (offset <= s.lastOffset) {
        // Read again: what was held belongs to the previous reading (its holds were released by the
        // drain before the rebalance, or died with the partition).
        for (const w of s.windows.values()) if (w.repeats) held.delete(w.repeats);
        keys -= s.windows.size;
        s.windows.clear();
      }
      s.lastOffset = offset;
    }
    return s;
  };

  /** Closes the windows of `s` that ended before record time `t` (oldest first), summarising their repeats. */
  const closeEnded = (s: PartitionState, t: number): void => {
    for (const [k, w] of s.windows) {
      if (t - w.start < windowMs) break;
      if (w.repeats) summarise(w.repeats);
      s.windows.delete(k);
      keys--;
    }
  };

  /** Drops ended windows until a new key fits; false if it does not. */
  const makeRoom = (t: number): boolean => {
    for (const s of partitions.values()) closeEnded(s, t);
    return keys < maxKeys;
  };

  const step: Step = (rec: Rec, meta) => {
    const s = stateOf(meta);
    const t = meta && meta.timestamp > 0 ? meta.timestamp : now();
    // With summaries a window closes as soon as its partition's time passes it (without, lazily).
    if (ins.summary) closeEnded(s, t);
    if (only !== undefined && only(rec, meta) !== true) return rec;
    const key = keyOf(rec);
    const w = s.windows.get(key);
    if (w !== undefined && t - w.start < windowMs && t >= w.start) {
      stats.dropped.suppress++;
      if (ins.summary) {
        const r = w.repeats;
        if (r === undefined) {
          const hold = target?.hold(meta);
          const repeats: Repeats = { window: w, first: rec, meta, hold, heldAt: now(), count: 1, firstTime: t, lastTime: t };
          w.repeats = repeats;
          held.add(repeats);
        } else {
          r.count++;
          if (t > r.lastTime) r.lastTime = t;
        }
      }
      return null;
    }
    if (w !== undefined) {
      // Over (or a record older than its start: it opens the window again).
      if (w.repeats) summarise(w.repeats);
      s.windows.delete(key);
      keys--;
    } else if (keys >= maxKeys && !makeRoom(t)) {
      stats.suppressStateFull++;
      return rec;
    }
    s.windows.set(key, { start: t, repeats: undefined });
    keys++;
    return rec;
  };

  if (!ins.summary) return { step, summaries: undefined };
  const summaries: Summaries = {
    get target() {
      return target;
    },
    set target(t: SummaryTarget | undefined) {
      target = t;
    },
    tick() {
      const clock = now();
      for (const r of held) {
        if (clock - r.heldAt < windowMs) break;
        summarise(r);
      }
    },
    flush() {
      // summarise() deletes the entry it is given: iterating the set meanwhile is safe.
      for (const r of held) summarise(r);
    },
    get held() {
      return held.size;
    },
  };
  return { step, summaries };
}

/** `90s`, `5m`, `1h`, `500ms` (a bare number: milliseconds); undefined when it is none of these. */
export function parseWindow(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] as number;
  return Math.round(Number(m[1]) * mult);
}
