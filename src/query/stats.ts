/**
 * What a compiled query did besides returning records, counted per query (each route and the pull
 * webhook compile their own): records dropped by reason, fields trimmed. The pipeline takes the counts
 * into its metrics once per fetched batch (take() resets them).
 */

/** Why apply() returned null. */
export type DropReason = 'where' | 'sample' | 'suppress';

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

export class QueryStats {
  dropped: Record<DropReason, number> = { where: 0, sample: 0, suppress: 0 };
  truncated = 0;
  emptyRemoved = 0;
  suppressStateFull = 0;
  summaries = 0;

  /** The counts since the last take(), then zero. */
  take(): QueryCounts {
    const out = { dropped: this.dropped, truncated: this.truncated, emptyRemoved: this.emptyRemoved, suppressStateFull: this.suppressStateFull, summaries: this.summaries };
    this.dropped = { where: 0, sample: 0, suppress: 0 };
    this.truncated = 0;
    this.emptyRemoved = 0;
    this.suppressStateFull = 0;
    this.summaries = 0;
    return out;
  }
}
