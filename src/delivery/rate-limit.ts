// A records-per-second limit that slows the sender down instead of dropping (the `--rate` option of
// seeds/003): a token bucket refilled continuously, holding at most one second of tokens.
import { sleep } from './backoff.ts';

export class RateLimit {
  readonly #perSecond: number;
  /** At most one second of tokens, and at least one (so a rate below 1/s still lets single records go). */
  readonly #capacity: number;
  #tokens: number;
  #last = performance.now();

  constructor(perSecond: number) {
    this.#perSecond = perSecond;
    this.#capacity = Math.max(1, perSecond);
    this.#tokens = this.#capacity;
  }

  /** Takes one record's token if there is one now (no waiting). */
  tryTake(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#last) / 1000) * this.#perSecond);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Waits until `n` records may go. A batch larger than a second's worth waits for its share. */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    if (this.#perSecond <= 0) return;
    for (;;) {
      const now = performance.now();
      this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#last) / 1000) * this.#perSecond);
      this.#last = now;
      const need = Math.min(n, this.#capacity);
      if (this.#tokens >= need) {
        this.#tokens -= n; // may go negative for a large batch: later batches pay for it
        return;
      }
      if (signal?.aborted) return;
      await sleep(Math.ceil(((need - this.#tokens) / this.#perSecond) * 1000), signal);
    }
  }
}
