/**
 * `suppress -window=<seconds | 'duration'> [-max-keys=N] by f1, f2 … [where <condition>]`: the first record of a key
 * passes; later records of the same key within the window (counted from that first record) are dropped
 * and counted; the first record after the window passes and opens a new one. Only the records the
 * condition selects are considered; the others pass.
 *
 * State is per topic-partition, as a route reads it: one instance owns a partition, so the state is
 * complete there. Time is the record's Kafka timestamp (the query's clock when a record has none), so a
 * backlog read late is suppressed as it was produced, and a replay suppresses alike. When a partition's
 * offsets go backwards (it was read again from its commit after a rebalance, or reset), its state is
 * dropped first: a record that was suppressed by a record never delivered must not be suppressed again.
 * Keys come from the records — attacker-controlled — so the state is bounded (-max-keys over all
 * partitions): when it is full and nothing has expired, a new key passes (fails open) and is counted.
 */
import type { Instruction } from '../ast.ts';
import { compileCondition } from '../compile-expr.ts';
import type { Rec } from '../fields.ts';
import type { QueryStats } from '../stats.ts';
import { keyOfFields } from './sample.ts';
import type { QueryMeta } from '../types.ts';
import type { Step } from './step.ts';

type SuppressIns = Extract<Instruction, { kind: 'suppress' }>;

interface PartitionState {
  /** Key → start of its window (ms), oldest window first (a window that restarts moves to the end). */
  windows: Map<string, number>;
  /** The highest offset seen: an offset at or below it means the partition is read again. */
  lastOffset: bigint;
}

export function compileSuppress(text: string, ins: SuppressIns, stats: QueryStats, now: () => number): Step {
  const windowMs = ins.windowMs;
  const maxKeys = ins.maxKeys;
  const keyOf = keyOfFields(ins.by.map((f) => f.path));
  const only = ins.only ? compileCondition({ text }, ins.only) : undefined;
  const partitions = new Map<string, PartitionState>();
  let keys = 0;

  const stateOf = (meta: QueryMeta | undefined): PartitionState => {
    const id = meta ? `${meta.topic}\u0000${meta.partition}` : '';
    let s = partitions.get(id);
    if (!s) partitions.set(id, (s = { windows: new Map(), lastOffset: -1n }));
    if (meta) {
      const offset = BigInt(meta.offset);
      if (offset <= s.lastOffset) {
        keys -= s.windows.size;
        s.windows.clear();
      }
      s.lastOffset = offset;
    }
    return s;
  };

  /** Drops expired windows (oldest first in each partition) until `needed` keys fit; false if they do not. */
  const makeRoom = (t: number): boolean => {
    for (const s of partitions.values()) {
      for (const [k, start] of s.windows) {
        if (t - start < windowMs) break;
        s.windows.delete(k);
        keys--;
      }
    }
    return keys < maxKeys;
  };

  return (rec: Rec, meta) => {
    if (only !== undefined && only(rec, meta) !== true) return rec;
    const s = stateOf(meta);
    const t = meta && meta.timestamp > 0 ? meta.timestamp : now();
    const key = keyOf(rec);
    const start = s.windows.get(key);
    if (start !== undefined && t - start < windowMs && t >= start) {
      stats.dropped.suppress++;
      return null;
    }
    if (start !== undefined) {
      s.windows.delete(key);
      keys--;
    } else if (keys >= maxKeys && !makeRoom(t)) {
      stats.suppressStateFull++;
      return rec;
    }
    s.windows.set(key, t);
    keys++;
    return rec;
  };
}

/** `90s`, `5m`, `1h`, `500ms` (a bare number: milliseconds); undefined when it is none of these. */
export function parseWindow(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] as number;
  return Math.round(Number(m[1]) * mult);
}
