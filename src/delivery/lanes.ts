// Dispatches sealed batches to the sender: one lane per batching key whose batches go one at a time
// and in the order they were sealed (so a partition's records reach the sink in order), and at most
// `concurrency` batches in flight across all lanes. A lane waiting for a slot is served oldest first.

/** A key's sealed batches, sent one at a time in order. */
interface Lane<B> {
  readonly key: string;
  readonly queue: B[];
  busy: boolean;
}

export interface LaneHooks {
  /** The key's last queued batch finished: its lane is gone (the batcher may seal what it held back). */
  emptied(key: string): void;
  /** One batch finished (delivered, dead-lettered, or given up), after emptied(). */
  finished(): void;
}

export class Lanes<B> {
  readonly #concurrency: number;
  readonly #send: (key: string, batch: B) => Promise<void>;
  readonly #hooks: LaneHooks;
  readonly #lanes = new Map<string, Lane<B>>();
  /** Lanes with a sealed batch waiting for a concurrency slot, oldest first. */
  readonly #ready: Lane<B>[] = [];
  #active = 0;

  /** `send` must not reject: it settles once the batch has an outcome. */
  constructor(concurrency: number, send: (key: string, batch: B) => Promise<void>, hooks: LaneHooks) {
    this.#concurrency = concurrency;
    this.#send = send;
    this.#hooks = hooks;
  }

  /** True while a batch of `key` is being sent or waits for its turn. */
  busy(key: string): boolean {
    const lane = this.#lanes.get(key);
    return lane !== undefined && (lane.busy || lane.queue.length > 0);
  }

  enqueue(key: string, batch: B): void {
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { key, queue: [], busy: false };
      this.#lanes.set(key, lane);
    }
    lane.queue.push(batch);
    if (!lane.busy && lane.queue.length === 1) this.#ready.push(lane);
    this.#pump();
  }

  #pump(): void {
    while (this.#active < this.#concurrency && this.#ready.length > 0) {
      const lane = this.#ready.shift()!;
      const batch = lane.queue.shift();
      if (batch === undefined) continue;
      lane.busy = true;
      this.#active++;
      void this.#send(lane.key, batch).finally(() => {
        this.#active--;
        lane.busy = false;
        if (lane.queue.length > 0) this.#ready.push(lane);
        else {
          this.#lanes.delete(lane.key);
          this.#hooks.emptied(lane.key);
        }
        this.#hooks.finished();
        this.#pump();
      });
    }
  }
}
