import { describe, expect, it } from 'vitest';
import { PartitionTracker } from '../../src/checkpoint/offset-tracker.ts';
import type { Ack } from '../../src/core/record.ts';
import { prng } from '../support/prng.ts';


function shuffle<T>(xs: T[], rnd: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** The reference: one past the highest offset below which every tracked record is done. */
function expectedWatermark(offsets: number[], done: Set<number>): number | undefined {
  if (offsets.length === 0) return undefined;
  let w = offsets[0]!;
  for (const o of offsets) {
    if (!done.has(o)) return w;
    w = o + 1;
  }
  return w;
}

describe('PartitionTracker', () => {
  it('is undefined before the first record and commits one past the last contiguous ack', () => {
    const t = new PartitionTracker('t', 0);
    expect(t.committable).toBeUndefined();
    const acks = [10, 11, 12].map((o) => t.track(o, 1)[0]!);
    expect(t.committable).toBe(10);
    acks[1]!.done();
    expect(t.committable).toBe(10);
    acks[0]!.done();
    expect(t.committable).toBe(12);
    acks[2]!.done();
    expect(t.committable).toBe(13);
    expect(t.pending).toBe(0);
  });

  it('needs every sink to acknowledge before an offset counts', () => {
    const t = new PartitionTracker('t', 0);
    const [a, b] = t.track(0, 2);
    a!.done();
    a!.done(); // idempotent: the same sink acknowledging twice is still one acknowledgement
    expect(t.committable).toBe(0);
    b!.done();
    expect(t.committable).toBe(1);
  });

  it('treats records with no obligations (dropped by the query) as done, also behind a gap', () => {
    const t = new PartitionTracker('t', 3);
    const [a] = t.track(5, 1);
    t.track(6, 0);
    t.track(9, 0); // offsets 7, 8 never arrive (compaction, control records)
    expect(t.committable).toBe(5);
    a!.done();
    expect(t.committable).toBe(10);
    t.track(10, 0);
    expect(t.committable).toBe(11);
  });

  it('rejects out-of-order tracking', () => {
    const t = new PartitionTracker('t', 0);
    t.track(4, 1);
    expect(() => t.track(4, 1)).toThrow(/out of order/);
    expect(() => t.track(2, 1)).toThrow(/out of order/);
  });

  it('holds records in flight until their offset is committed, and releases them once', () => {
    const released: Array<[number, number]> = [];
    let acked = 0;
    const t = new PartitionTracker('t', 0, { acked: () => acked++, released: (r, b) => released.push([r, b]) });
    const [a] = t.track(0, 1, 100);
    t.track(1, 0); // dropped by the query: holds nothing
    const [b] = t.track(2, 1, 50);
    const [c] = t.track(3, 1, 7);
    a!.done();
    b!.done();
    expect(acked).toBe(2);
    const snap = t.snapshot()!;
    expect(snap).toEqual({ offset: 3, records: 2, bytes: 150 });
    c!.done(); // acknowledged while the commit of offset 3 is on its way
    expect(released).toEqual([]);
    t.committed(snap);
    expect(released).toEqual([[2, 150]]);
    t.committed(snap); // a repeated commit releases nothing more
    expect(released).toEqual([[2, 150]]);
    t.committed(t.snapshot()!);
    expect(released).toEqual([[2, 150], [1, 7]]);
  });

  it('ignores acknowledgements after close (revoke), reports acks as not live and releases what it held', () => {
    const released: Array<[number, number]> = [];
    let acked = 0;
    const t = new PartitionTracker('t', 0, { acked: () => acked++, released: (r, b) => released.push([r, b]) });
    const [a] = t.track(0, 1, 100);
    const [b] = t.track(1, 2, 50);
    a!.done();
    expect(acked).toBe(1);
    t.close();
    expect(acked).toBe(2); // the abandoned record no longer counts as awaited
    expect(released).toEqual([[2, 150]]); // acknowledged-but-uncommitted and unacknowledged alike
    expect(b!.live).toBe(false);
    b!.done();
    expect(acked).toBe(2);
    expect(() => t.track(2, 1)).toThrow(/closed/);
  });

  it('matches the reference watermark for random gaps, fan-out and acknowledgement orders', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = prng(seed);
      const t = new PartitionTracker('t', 0);
      const offsets: number[] = [];
      const obligations: Array<{ offset: number; ack: Ack }> = [];
      let o = Math.floor(rnd() * 1000);
      const n = 1 + Math.floor(rnd() * 300);
      for (let i = 0; i < n; i++) {
        o += 1 + (rnd() < 0.1 ? Math.floor(rnd() * 5) : 0);
        offsets.push(o);
        const needed = rnd() < 0.15 ? 0 : 1 + Math.floor(rnd() * 3);
        for (const ack of t.track(o, needed)) obligations.push({ offset: o, ack });
      }
      const left = new Map<number, number>();
      for (const ob of obligations) left.set(ob.offset, (left.get(ob.offset) ?? 0) + 1);
      const done = new Set(offsets.filter((x) => !left.has(x)));
      expect(t.committable, `seed ${seed} before acks`).toBe(expectedWatermark(offsets, done));
      for (const ob of shuffle(obligations, rnd)) {
        ob.ack.done();
        const l = left.get(ob.offset)! - 1;
        left.set(ob.offset, l);
        if (l === 0) done.add(ob.offset);
        expect(t.committable, `seed ${seed}`).toBe(expectedWatermark(offsets, done));
      }
      expect(t.committable).toBe(offsets.at(-1)! + 1);
      expect(t.pending).toBe(0);
    }
  });

  it('keeps a long run bounded: 1e5 records acknowledged in windows', () => {
    const t = new PartitionTracker('t', 0);
    let pendingAcks: Ack[] = [];
    for (let o = 0; o < 100_000; o++) {
      pendingAcks.push(t.track(o, 1)[0]!);
      if (pendingAcks.length === 1000) {
        for (const a of pendingAcks.reverse()) a.done();
        pendingAcks = [];
        expect(t.committable).toBe(o + 1);
      }
    }
    expect(t.pending).toBe(0);
  });
});
