/**
 * What a compiled query did besides returning records, counted per query (each route and the pull
 * webhook compile their own): records dropped by reason, fields trimmed. The pipeline takes the counts
 * into its metrics once per fetched batch (take() resets them).
 */

/** Why apply() returned null. */
export const DROP_REASONS = ['where', 'sample', 'suppress'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface QueryCounts {
  dropped: Record<DropReason, number>;
  /** Text fields cut to trim-fields' -max-length. */
  truncated: number;
  /** Empty fields removed by trim-fields -drop-empty. */
  emptyRemoved: number;
  /** Records suppress let through because its state was full (fail open). */
  suppressStateFull: number;
  /** Summary records suppress -summary emitted. */
  summaries: number;
}

function zero(): QueryCounts {
  return { dropped: { where: 0, sample: 0, suppress: 0 }, truncated: 0, emptyRemoved: 0, suppressStateFull: 0, summaries: 0 };
}

// The counters are the QueryCounts fields themselves: steps increment them in place.
export interface QueryStats extends QueryCounts {}
export class QueryStats {
  constructor() {
    Object.assign(this, zero());
  }

  /** The counts since the last take(), then zero. */
  take(): QueryCounts {
    const out: QueryCounts = { ...this };
    Object.assign(this, zero());
    return out;
  }
}
