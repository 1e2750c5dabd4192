// Per-partition acknowledgement watermark. Records are tracked in offset order as they are read;
// acknowledgements arrive in any order (from several sinks and the dead-letter topic). The tracker
// yields the next offset to commit: one past the highest offset below which every record is done.
// It also accounts what is held in flight (read, not yet committed) so the instance can bound it.
import type { Ack } from '../core/record.ts';

export interface TrackerHooks {
  /** A record got its last acknowledgement (or was abandoned by close()). */
  acked?(): void;
  /** Records and bytes no longer held: committed, or abandoned by close(). */
  released?(records: number, bytes: number): void;
}

/** What a commit of `offset` covers: the counters of records done below it when it was taken. */
export interface CommitSnapshot {
  readonly offset: number;
  readonly records: number;
  readonly bytes: number;
}

interface Entry {
  left: number;
  readonly size: number;
  /** Kafka timestamp (epoch ms; 0 when unknown), for the age of the oldest unacknowledged record. */
  readonly ts: number;
  /** Counted in flight (a record with obligations); a dropped record holds nothing. */
  readonly held: boolean;
}

export class PartitionTracker {
  readonly topic: string;
  readonly partition: number;
  readonly #hooks: TrackerHooks;
  /** Offsets in the order they were tracked (increasing; gaps allowed: compaction, control records). */
  #queue: number[] = [];
  #head = 0;
  #entries = new Map<number, Entry>();
  #watermark: number | undefined;
  #lastTracked = -1;
  #closed = false;
  /** Records and bytes that passed below the watermark, and how much of that was released. */
  #doneRecords = 0;
  #doneBytes = 0;
  #releasedRecords = 0;
  #releasedBytes = 0;

  constructor(topic: string, partition: number, hooks: TrackerHooks = {}) {
    this.topic = topic;
    this.partition = partition;
    this.#hooks = hooks;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Records tracked and not yet below the watermark (unacknowledged, or acknowledged behind a gap). */
  get pending(): number {
    return this.#entries.size;
  }

  /** The next offset to read after everything tracked so far, or undefined before the first record. */
  get nextOffset(): number | undefined {
    return this.#lastTracked < 0 ? undefined : this.#lastTracked + 1;
  }

  /** The offset to commit (the next record to read), or undefined if nothing was tracked yet. */
  get committable(): number | undefined {
    return this.#watermark;
  }

  /**
   * Starts tracking a record that needs `needed` acknowledgements and holds `size` bytes; returns one
   * Ack per obligation. `needed` = 0 means done at once (dropped by the query) and holds nothing.
   */
  track(offset: number, needed: number, size = 0, ts = 0): Ack[] {
    if (this.#closed) throw new Error(`tracker ${this.topic}/${this.partition} is closed`);
    if (offset <= this.#lastTracked) throw new Error(`offset ${offset} tracked out of order after ${this.#lastTracked}`);
    if (this.#watermark === undefined) this.#watermark = offset;
    this.#lastTracked = offset;
    if (needed <= 0) {
      if (this.#entries.size === 0) this.#watermark = offset + 1;
      else {
        this.#queue.push(offset);
        this.#entries.set(offset, { left: 0, size: 0, ts, held: false });
      }
      return [];
    }
    this.#queue.push(offset);
    this.#entries.set(offset, { left: needed, size, ts, held: true });
    const acks: Ack[] = [];
    for (let i = 0; i < needed; i++) acks.push(this.#ackFor(offset));
    return acks;
  }

  #ackFor(offset: number): Ack {
    let used = false;
    const tracker = this;
    return {
      done(): void {
        if (used) return;
        used = true;
        tracker.#ack(offset);
      },
      get live(): boolean {
        return !tracker.#closed;
      },
    };
  }

  #ack(offset: number): void {
    if (this.#closed) return;
    const entry = this.#entries.get(offset);
    if (entry === undefined || entry.left === 0) return;
    entry.left--;
    if (entry.left > 0) return;
    this.#hooks.acked?.();
    this.#advance();
  }

  #advance(): void {
    const q = this.#queue;
    while (this.#head < q.length) {
      const o = q[this.#head]!;
      const entry = this.#entries.get(o);
      if (entry !== undefined && entry.left !== 0) break;
      if (entry?.held) {
        this.#doneRecords++;
        this.#doneBytes += entry.size;
      }
      this.#entries.delete(o);
      this.#watermark = o + 1;
      this.#head++;
    }
    if (this.#head === q.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Kafka timestamp of the oldest record still waiting for an acknowledgement, or undefined. */
  get oldestPendingTimestamp(): number | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    return this.#entries.get(this.#queue[this.#head]!)?.ts || undefined;
  }

  /** Taken when a commit of `committable` is sent; pass it to committed() once the commit succeeded. */
  snapshot(): CommitSnapshot | undefined {
    if (this.#watermark === undefined) return undefined;
    return { offset: this.#watermark, records: this.#doneRecords, bytes: this.#doneBytes };
  }

  /** The commit of `snap` succeeded: what it covers is no longer in flight. */
  committed(snap: CommitSnapshot): void {
    if (this.#closed) return;
    const records = snap.records - this.#releasedRecords;
    const bytes = snap.bytes - this.#releasedBytes;
    if (records <= 0 && bytes <= 0) return;
    this.#releasedRecords = snap.records;
    this.#releasedBytes = snap.bytes;
    this.#hooks.released?.(records, bytes);
  }

  /** After a revoke: late acknowledgements are ignored, `live` turns false, everything held is released. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    let records = this.#doneRecords - this.#releasedRecords;
    let bytes = this.#doneBytes - this.#releasedBytes;
    for (const entry of this.#entries.values()) {
      if (entry.left > 0) this.#hooks.acked?.();
      if (entry.held) {
        records++;
        bytes += entry.size;
      }
    }
    this.#entries.clear();
    this.#queue = [];
    this.#head = 0;
    if (records > 0 || bytes > 0) this.#hooks.released?.(records, bytes);
  }
}
