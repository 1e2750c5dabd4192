// Groups a sink's records into batches per key (source partition, plus the sink's own key) and
// decides when a batch is sealed: at the record or byte cap, when its wait is over, or on flush.
// What happens to a sealed batch (queueing, sending) is the caller's business.
import type { BatchItem } from './sink.ts';

export interface BatchLimits {
  readonly batchMaxRecords: number;
  /** Before compression; a record that would cross it starts a new batch (one record alone may exceed it). */
  readonly batchMaxBytes: number;
  readonly batchMaxWaitMs: number;
}

export interface BatcherHooks<I> {
  /** A new batch was opened (the runner counts it as work until its delivery ends). */
  opened(): void;
  /** A batch was sealed; keys seal in the order their records arrived. */
  sealed(key: string, items: I[]): void;
  /**
   * Asked when a partial batch's wait is over. True: it is not sealed yet but keeps growing (up to
   * the caps) until released() is called for its key — a sink that accumulates while its previous
   * batch of that key is still being sent (Sink.accumulateWhileBusy).
   */
  holdBack(key: string): boolean;
}

interface OpenBatch<I> {
  items: I[];
  bytes: number;
  timer: NodeJS.Timeout | undefined;
  /** Its wait is over but it was held back: sealed by released(). */
  due: boolean;
}

export class Batcher<I extends BatchItem> {
  readonly #limits: BatchLimits;
  readonly #hooks: BatcherHooks<I>;
  readonly #open = new Map<string, OpenBatch<I>>();

  constructor(limits: BatchLimits, hooks: BatcherHooks<I>) {
    this.#limits = limits;
    this.#hooks = hooks;
  }

  add(key: string, item: I): void {
    const limits = this.#limits;
    const size = item.payload.length;
    let open = this.#open.get(key);
    if (open && open.items.length > 0 && open.bytes + size > limits.batchMaxBytes) {
      this.#seal(key);
      open = undefined;
    }
    if (!open) {
      open = { items: [], bytes: 0, timer: undefined, due: false };
      this.#open.set(key, open);
      this.#hooks.opened();
    }
    open.items.push(item);
    open.bytes += size;
    if (open.items.length >= limits.batchMaxRecords || open.bytes >= limits.batchMaxBytes) {
      this.#seal(key);
    } else if (open.timer === undefined && !open.due) {
      open.timer = setTimeout(() => this.#waitOver(key), limits.batchMaxWaitMs);
    }
  }

  /** The key's previous batch is no longer being sent: a batch held back for it goes now. */
  released(key: string): void {
    if (this.#open.get(key)?.due) this.#seal(key);
  }

  /** Seals every partial batch now (drain on revoke or shutdown). */
  flush(): void {
    for (const key of [...this.#open.keys()]) this.#seal(key);
  }

  #waitOver(key: string): void {
    const open = this.#open.get(key);
    if (!open) return;
    open.timer = undefined;
    if (this.#hooks.holdBack(key)) open.due = true;
    else this.#seal(key);
  }

  #seal(key: string): void {
    const open = this.#open.get(key);
    if (!open) return;
    this.#open.delete(key);
    if (open.timer) clearTimeout(open.timer);
    this.#hooks.sealed(key, open.items);
  }
}
