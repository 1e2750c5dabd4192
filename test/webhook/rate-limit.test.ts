import { describe, expect, it } from 'vitest';
import { KeyRateLimit } from '../../src/webhook/rate-limit.ts';

describe('KeyRateLimit', () => {
  it('allows a minute of calls at once, then one per 60/N seconds, per key', () => {
    let now = 0;
    const r = new KeyRateLimit(3, () => now);
    expect([r.take('a'), r.take('a'), r.take('a')]).toEqual([0, 0, 0]);
    expect(r.take('a')).toBe(20_000);
    expect(r.take('b')).toBe(0);
    now = 19_999;
    expect(r.take('a')).toBeGreaterThan(0);
    now = 40_000;
    expect(r.take('a')).toBe(0);
  });

  it('0 means no limit', () => {
    const r = new KeyRateLimit(0);
    for (let i = 0; i < 1000; i++) expect(r.take('a')).toBe(0);
  });
});

describe('KeyRateLimit: per-address failures', () => {
  it('waitFor() looks without taking; the number of keys kept is bounded (the oldest forgotten)', () => {
    let now = 0;
    const r = new KeyRateLimit(2, () => now, 3);
    expect(r.waitFor('a')).toBe(0);
    expect([r.take('a'), r.take('a')]).toEqual([0, 0]);
    expect(r.waitFor('a')).toBe(30_000);
    expect(r.waitFor('a')).toBe(30_000); // looking twice takes nothing
    now = 30_000;
    expect(r.waitFor('a')).toBe(0);
    for (const k of ['b', 'c', 'd']) r.take(k);
    // 'a' was the least recent of four: forgotten, so it starts with a full minute again.
    expect([r.take('a'), r.take('a'), r.take('a')]).toEqual([0, 0, 30_000]);
  });
});
