// Calls per minute per webhook key, on this instance: a token bucket holding a minute's calls, so a
// client that fell behind can call back to back (Logstream-More: true) up to that many times.
export class KeyRateLimit {
  readonly #perMinute: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #now: () => number;
  readonly #maxKeys: number;

  /** `maxKeys` bounds the memory (buckets of many addresses, some forged): the least recent go first,
   *  which only ever gives a forgotten key a fresh minute. */
  constructor(perMinute: number, now: () => number = () => performance.now(), maxKeys = 100_000) {
    this.#perMinute = perMinute;
    this.#now = now;
    this.#maxKeys = maxKeys;
  }

  #bucket(key: string): { tokens: number; at: number } {
    const now = this.#now();
    const b = this.#buckets.get(key) ?? { tokens: this.#perMinute, at: now };
    b.tokens = Math.min(this.#perMinute, b.tokens + ((now - b.at) * this.#perMinute) / 60_000);
    b.at = now;
    this.#buckets.delete(key);
    this.#buckets.set(key, b);
    if (this.#buckets.size > this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
    return b;
  }

  #wait(tokens: number): number {
    return Math.ceil(((1 - tokens) * 60_000) / this.#perMinute);
  }

  /** Takes one call for `key`: 0 when allowed, else the milliseconds until it would be. */
  take(key: string): number {
    if (this.#perMinute <= 0) return 0;
    const b = this.#bucket(key);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return this.#wait(b.tokens);
  }

  /** Like take() without taking: 0 while `key` has a call left. */
  waitFor(key: string): number {
    if (this.#perMinute <= 0) return 0;
    const b = this.#bucket(key);
    return b.tokens >= 1 ? 0 : this.#wait(b.tokens);
  }
}
