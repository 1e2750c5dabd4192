import { describe, expect, it } from 'vitest';
import { RateLimit } from '../../src/delivery/rate-limit.ts';

describe('RateLimit', () => {
  it('lets a second of records through at once, then paces to the rate', async () => {
    const r = new RateLimit(200);
    const t0 = performance.now();
    await r.take(200); // the initial second's worth
    expect(performance.now() - t0).toBeLessThan(400); // no waiting for the first second's worth
    for (let i = 0; i < 4; i++) await r.take(25); // 100 more at 200/s: about 0.5 s
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(10_000); // paced, not stuck (no speed is asserted)
  });

  it('is a no-op when unlimited, and returns when aborted', async () => {
    const t0 = performance.now();
    await new RateLimit(0).take(1_000_000);
    expect(performance.now() - t0).toBeLessThan(20);
    const r = new RateLimit(1);
    await r.take(1);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    await r.take(1, ac.signal);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});
