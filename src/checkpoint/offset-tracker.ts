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

/** One tracked record, in offset order. The acknowledgements point at it, so none needs a lookup. */
class Entry {
  readonly offset: number;
  /** Acknowledgements still missing. */
  left: number;
  readonly size: number;
  /** Kafka timestamp (epoch ms; 0 when unknown), for the age of the oldest unacknowledged record. */
  readonly ts: number;
  /** Counted in flight (a record with obligations); a dropped record holds nothing. */
  readonly held: boolean;
  constructor(offset: number, left: number, size: number, ts: number, held: boolean) {
    this.offset = offset;
    this.left = left;
    this.size = size;
    this.ts = ts;
    this.held = held;
  }
}

/** One obligation on one entry; done() counts once. */
class EntryAck implements Ack {
  readonly #tracker: PartitionTracker;
  readonly #entry: Entry;
  #used = false;
  constructor(tracker: PartitionTracker, entry: Entry) {
    this.#tracker = tracker;
    this.#entry = entry;
  }
  done(): void {
    if (this.#used) return;
    this.#used = true;
    this.#tracker.acknowledge(this.#entry);
  }
  get live(): boolean {
    return !this.#tracker.closed;
  }
}

const NO_ACKS: Ack[] = [];

export class PartitionTracker {
  readonly topic: string;
  readonly partition: number;
  readonly #hooks: TrackerHooks;
  /** Records in the order they were tracked (increasing offsets; gaps allowed: compaction, control
   *  records), from #head on not yet below the watermark. */
  #queue: Entry[] = [];
  #head = 0;
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
    return this.#queue.length - this.#head;
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
      if (this.#head === this.#queue.length) this.#watermark = offset + 1;
      else this.#queue.push(new Entry(offset, 0, 0, ts, false));
      return NO_ACKS;
    }
    const entry = new Entry(offset, needed, size, ts, true);
    this.#queue.push(entry);
    if (needed === 1) return [new EntryAck(this, entry)];
    const acks: Ack[] = new Array<Ack>(needed);
    for (let i = 0; i < needed; i++) acks[i] = new EntryAck(this, entry);
    return acks;
  }

  /** One acknowledgement of `entry` (EntryAck calls it once per obligation). */
  acknowledge(entry: Entry): void {
    if (this.#closed || entry.left === 0) return;
    entry.left--;
    if (entry.left > 0) return;
    this.#hooks.acked?.();
    this.#advance();
  }

  #advance(): void {
    const q = this.#queue;
    while (this.#head < q.length) {
      const entry = q[this.#head]!;
      if (entry.left !== 0) break;
      if (entry.held) {
        this.#doneRecords++;
        this.#doneBytes += entry.size;
      }
      this.#watermark = entry.offset + 1;
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
    return this.#queue[this.#head]!.ts || undefined;
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
    for (let i = this.#head; i < this.#queue.length; i++) {
      const entry = this.#queue[i]!;
      if (entry.left > 0) this.#hooks.acked?.();
      if (entry.held) {
        records++;
        bytes += entry.size;
      }
    }
    this.#queue = [];
    this.#head = 0;
    if (records > 0 || bytes > 0) this.#hooks.released?.(records, bytes);
  }
}
