// Calls per minute per webhook key, on this instance: a token bucket holding a minute's calls, so a
// client that fell behind can call back to back (Logstream-More: true) up to that many times.
export class KeyRateLimit {
  readonly #perMinute: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #now: () => number;

  constructor(perMinute: number, now: () => number = () => performance.now()) {
    this.#perMinute = perMinute;
    this.#now = now;
  }

  /** Takes one call for `key`: 0 when allowed, else the milliseconds until it would be. */
  take(key: string): number {
    if (this.#perMinute <= 0) return 0;
    const now = this.#now();
    const b = this.#buckets.get(key) ?? { tokens: this.#perMinute, at: now };
    b.tokens = Math.min(this.#perMinute, b.tokens + ((now - b.at) * this.#perMinute) / 60_000);
    b.at = now;
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) * 60_000) / this.#perMinute);
  }
}
