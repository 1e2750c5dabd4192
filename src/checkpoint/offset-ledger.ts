// What a route did with each offset of a partition it read, between two records it handed to the
// sinks: how many the query dropped, how many went to the dead-letter topic, the rest held no record.
// An archive sink writes it into its manifests (src/sinks/manifest), so that `logstream verify` can
// tell offsets the route chose not to ship from offsets that are missing.
import type { Accounted } from '../core/record.ts';

export class OffsetLedger {
  /** The first offset not yet accounted for, or -1 before the first record of the partition. */
  #from = -1;
  #filtered = 0;
  #deadLettered = 0;

  /** Reading (re)starts at `offset` (assignment, reset): the offsets from there are this ledger's. */
  startAt(offset: number): void {
    this.#from = offset;
    this.#filtered = 0;
    this.#deadLettered = 0;
  }

  /** The query dropped the record at `offset` (where, sample, suppress, a repeat a summary holds). */
  filtered(offset: number): void {
    if (this.#from < 0) this.#from = offset;
    this.#filtered++;
  }

  /** The record at `offset` went to the dead-letter topic before reaching the sinks. */
  deadLettered(offset: number): void {
    if (this.#from < 0) this.#from = offset;
    this.#deadLettered++;
  }

  /** The broker deleted offsets before `to` before the route read them: they stay unaccounted (a
   *  gap `verify` reports), the next span starts after them. */
  lost(to: number): void {
    this.startAt(to);
  }

  /** The record at `offset` is handed to the sinks: the span before it, undefined when empty. */
  handed(offset: number): Accounted | undefined {
    const from = this.#from < 0 ? offset : this.#from;
    const out = from < offset ? { from, filtered: this.#filtered, deadLettered: this.#deadLettered } : undefined;
    this.#from = offset + 1;
    this.#filtered = 0;
    this.#deadLettered = 0;
    return out;
  }
}
