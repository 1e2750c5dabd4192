import { describe, expect, it } from 'vitest';
import { halt, retriable, throttled } from '../../src/core/errors.ts';
import { backoffDelay, retryDelay } from '../../src/delivery/backoff.ts';

describe('backoff', () => {
  it('grows exponentially with jitter between half and full, capped', () => {
    expect(backoffDelay(0, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(0, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(20, 100, 10_000, () => 1)).toBe(10_000);
    expect(backoffDelay(1000, 100, 10_000, () => 0.5)).toBe(7500);
  });

  it('honours Retry-After and backs a halt off to the cap', () => {
    expect(retryDelay(throttled('429', 'slow', 5000), 0, 100, 30_000)).toBe(5000);
    expect(retryDelay(retriable('X', 'x'), 0, 100, 30_000)).toBeLessThanOrEqual(100);
    expect(retryDelay(halt('AUTH', 'bad token'), 0, 100, 30_000)).toBeGreaterThanOrEqual(15_000);
  });
});
