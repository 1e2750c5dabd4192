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
