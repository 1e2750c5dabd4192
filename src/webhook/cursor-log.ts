// The webhook cursors as a log: every replica replays the same compacted Kafka topic through these
// rules and so reaches the same state, which is how any replica can answer any call.
//
// Two kinds of Kafka keys per webhook key K (K = product + hash of the secret key, never the key):
//   lease/K   {kind:'lease', owner}            a call asks to serve K
//             {kind:'release', owner, lease}   a call gives K back without moving the cursor
//   cursor/K  {kind:'cursor', seq, lease, cursor}  a call moves the cursor after its response went out
// Rules (deterministic; `ts` is the broker's LogAppendTime, so it grows with the offset):
//   - a lease is granted unless another granted lease of K is still live (granted less than the lease
//     timeout before and neither released nor followed by its cursor record): the loser answers 409;
//   - a cursor record is accepted when its seq is the current seq + 1 (or K has no cursor yet): two
//     calls that both read seq n can never both advance it;
//   - an accepted cursor record, or a release, ends the lease it names.
// Compaction keeps the last record of each key (the topic sets min.compaction.lag.ms far above the
// lease timeout, so recent history is always complete). The last cursor record of K is the accepted
// one unless a call whose lease had expired wrote after the winner; a replica that starts after such a
// record was compacted takes it as the cursor: the caller may then get some records twice, never lose
// any (the rejected call returned them too).

export interface WebhookCursor {
  /** The product's topic the offsets belong to (a cursor of another topic is ignored). */
  readonly topic: string;
  /** Partition → next offset to return. */
  readonly offsets: Readonly<Record<string, number>>;
  /** When the call that wrote it was served (epoch ms): the base of the one-day expiry. */
  readonly lastCallAt: number;
}

export type CursorLogRecord =
  | { kind: 'lease'; owner: string }
  | { kind: 'release'; owner: string; lease: number }
  | { kind: 'cursor'; seq: number; lease: number; cursor: WebhookCursor };

export interface Lease {
  /** Offset of the granted lease record: its id. */
  readonly offset: number;
  readonly owner: string;
  readonly ts: number;
}

export interface KeyState {
  seq: number;
  /** Offset of the accepted cursor record (-1: none). */
  cursorOffset: number;
  cursor: WebhookCursor | undefined;
  lease: Lease | undefined;
}

export type ApplyResult = 'accepted' | 'rejected' | 'ignored';

export class CursorLog {
  readonly #leaseTimeoutMs: number;
  readonly #keys = new Map<string, KeyState>();

  constructor(leaseTimeoutMs: number) {
    this.#leaseTimeoutMs = leaseTimeoutMs;
  }

  get(key: string): Readonly<KeyState> | undefined {
    return this.#keys.get(key);
  }

  /** True while `state` holds a lease that is still live at time `ts`. */
  leaseLive(state: Readonly<KeyState> | undefined, ts: number): boolean {
    return state?.lease !== undefined && ts < state.lease.ts + this.#leaseTimeoutMs;
  }

  /** Applies one record of the cursor topic. `ts` is its (log append) timestamp. */
  apply(key: string, rec: CursorLogRecord, offset: number, ts: number): ApplyResult {
    let st = this.#keys.get(key);
    if (!st) {
      st = { seq: 0, cursorOffset: -1, cursor: undefined, lease: undefined };
      this.#keys.set(key, st);
    }
    switch (rec.kind) {
      case 'lease':
        if (this.leaseLive(st, ts)) return 'rejected';
        st.lease = { offset, owner: rec.owner, ts };
        return 'accepted';
      case 'release':
        if (st.lease?.offset !== rec.lease || st.lease.owner !== rec.owner) return 'ignored';
        st.lease = undefined;
        return 'accepted';
      case 'cursor':
        // seq 0 = no cursor yet; a replica that starts after compaction takes the survivor as is.
        if (st.seq !== 0 && rec.seq !== st.seq + 1) return 'rejected';
        st.seq = rec.seq;
        st.cursorOffset = offset;
        st.cursor = rec.cursor;
        if (st.lease?.offset === rec.lease) st.lease = undefined;
        return 'accepted';
    }
  }
}

/** Kafka key of a record (lease/K or cursor/K) → [kind prefix, K]. */
export function splitLogKey(logKey: string): ['lease' | 'cursor', string] | undefined {
  const slash = logKey.indexOf('/');
  if (slash < 0) return undefined;
  const kind = logKey.slice(0, slash);
  if (kind !== 'lease' && kind !== 'cursor') return undefined;
  return [kind, logKey.slice(slash + 1)];
}

/** Parses a record value; undefined for anything this version does not understand (skipped). */
export function parseLogRecord(value: Buffer | null): CursorLogRecord | undefined {
  if (value === null) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  if (r['kind'] === 'lease' && typeof r['owner'] === 'string') return { kind: 'lease', owner: r['owner'] };
  if (r['kind'] === 'release' && typeof r['owner'] === 'string' && typeof r['lease'] === 'number') {
    return { kind: 'release', owner: r['owner'], lease: r['lease'] };
  }
  if (r['kind'] === 'cursor' && typeof r['seq'] === 'number' && typeof r['lease'] === 'number' && isCursor(r['cursor'])) {
    return { kind: 'cursor', seq: r['seq'], lease: r['lease'], cursor: r['cursor'] };
  }
  return undefined;
}

function isCursor(c: unknown): c is WebhookCursor {
  if (c === null || typeof c !== 'object') return false;
  const o = c as Record<string, unknown>;
  if (typeof o['topic'] !== 'string' || typeof o['lastCallAt'] !== 'number') return false;
  const offs = o['offsets'];
  if (offs === null || typeof offs !== 'object') return false;
  return Object.values(offs as object).every((x) => Number.isSafeInteger(x) && (x as number) >= 0);
}
