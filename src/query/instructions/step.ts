/** The compiled form of one instruction. */
import { shallowClone, type Rec } from '../fields.ts';
import type { QueryMeta } from '../types.ts';

/**
 * Runs one instruction. `owned` says whether `rec` was created by an earlier
 * step of this query (so it may be written in place); otherwise a step that
 * writes must copy first, because the caller's record is never mutated.
 * Returns the (possibly new) record, or null to drop it.
 */
export type Step = (rec: Rec, meta: QueryMeta | undefined, owned: boolean) => Rec | null;

export function writable(rec: Rec, owned: boolean): Rec {
  return owned ? rec : shallowClone(rec);
}
