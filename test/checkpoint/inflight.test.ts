import { describe, expect, it } from 'vitest';
import { InFlightLimit, PendingCount } from '../../src/checkpoint/inflight.ts';

describe('InFlightLimit', () => {
  it('bounds records and bytes, lets one oversized record in when empty, and wakes waiters on release', async () => {
    const l = new InFlightLimit(3, 100);
    expect(l.hasRoom()).toBe(true);
    l.acquire(500); // larger than maxBytes, but nothing else is in flight
    expect(l.hasRoom()).toBe(false);
    expect(await l.waitForRoom(20)).toBe(false);
    const waiting = l.waitForRoom(1000);
    l.release(1, 500);
    expect(await waiting).toBe(true);
    l.acquire(10);
    l.acquire(10);
    expect(l.pressed).toBe(true); // 2 of 3 records: commit early
    l.acquire(10);
    expect(l.hasRoom()).toBe(false);
    let low = 0;
    l.on('low', () => low++);
    l.release(2, 20);
    expect(low).toBe(1);
    expect([l.records, l.bytes]).toEqual([1, 10]);
  });
});

describe('PendingCount', () => {
  it('resolves waiters at zero and times out otherwise', async () => {
    const p = new PendingCount();
    expect(await p.waitForZero(10)).toBe(true);
    p.add(2);
    expect(await p.waitForZero(10)).toBe(false);
    const w = p.waitForZero(1000);
    p.done();
    p.done();
    expect(await w).toBe(true);
    expect(p.value).toBe(0);
  });
});
