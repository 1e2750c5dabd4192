// The sealing rules alone: caps, the wait, holding a batch back while its key is busy, flush.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Batcher, type BatchLimits } from '../../src/delivery/batcher.ts';
import type { PipelineRecord } from '../../src/core/record.ts';

interface Item {
  readonly record: PipelineRecord;
  readonly payload: Buffer;
  readonly id: number;
}

const record = {} as PipelineRecord; // the batcher never looks at the record
const item = (id: number, bytes = 10): Item => ({ record, payload: Buffer.alloc(bytes), id });

function setup(limits: Partial<BatchLimits> = {}) {
  const sealed: Array<{ key: string; ids: number[] }> = [];
  const busy = new Set<string>();
  let opened = 0;
  const batcher = new Batcher<Item>({ batchMaxRecords: 1000, batchMaxBytes: 1_000_000, batchMaxWaitMs: 100, ...limits }, {
    opened: () => opened++,
    sealed: (key, items) => sealed.push({ key, ids: items.map((i) => i.id) }),
    holdBack: (key) => busy.has(key),
  });
  return { batcher, sealed, busy, opened: () => opened };
}

describe('Batcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('seals at the record cap, one batch per key', () => {
    const { batcher, sealed, opened } = setup({ batchMaxRecords: 3 });
    for (let i = 0; i < 7; i++) batcher.add(i % 2 ? 'b' : 'a', item(i));
    expect(sealed).toEqual([{ key: 'a', ids: [0, 2, 4] }, { key: 'b', ids: [1, 3, 5] }]);
    expect(opened()).toBe(3); // a, b, and a's second batch (holding 6)
  });

  it('a record that would cross the byte cap starts the next batch; one oversized record goes alone', () => {
    const { batcher, sealed } = setup({ batchMaxBytes: 25 });
    batcher.add('k', item(0, 10));
    batcher.add('k', item(1, 10));
    batcher.add('k', item(2, 10)); // 30 > 25: [0, 1] sealed first
    expect(sealed).toEqual([{ key: 'k', ids: [0, 1] }]);
    batcher.add('k', item(3, 15)); // exactly 25: sealed at the cap
    expect(sealed.at(-1)).toEqual({ key: 'k', ids: [2, 3] });
    batcher.add('k', item(4, 100)); // larger than the cap on its own
    expect(sealed.at(-1)).toEqual({ key: 'k', ids: [4] });
  });

  it('seals a partial batch when its wait (counted from its first record) is over', () => {
    const { batcher, sealed } = setup({ batchMaxWaitMs: 100 });
    batcher.add('k', item(0));
    vi.advanceTimersByTime(60);
    batcher.add('k', item(1)); // does not restart the wait
    vi.advanceTimersByTime(39);
    expect(sealed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sealed).toEqual([{ key: 'k', ids: [0, 1] }]);
    vi.advanceTimersByTime(1000);
    expect(sealed.length).toBe(1); // no timer outlives its batch
  });

  it('holds a batch back while its key is busy, lets it grow to the caps, and seals it on release', () => {
    const { batcher, sealed, busy } = setup({ batchMaxWaitMs: 10, batchMaxRecords: 4 });
    busy.add('k');
    batcher.add('k', item(0));
    vi.advanceTimersByTime(10);
    expect(sealed).toEqual([]); // wait over, but held back
    batcher.add('k', item(1));
    vi.advanceTimersByTime(100);
    expect(sealed).toEqual([]); // no new timer for a held batch
    batcher.released('other');
    expect(sealed).toEqual([]);
    batcher.released('k');
    expect(sealed).toEqual([{ key: 'k', ids: [0, 1] }]);
    // the caps still apply while held
    for (let i = 2; i < 6; i++) batcher.add('k', item(i));
    vi.advanceTimersByTime(10);
    expect(sealed.at(-1)).toEqual({ key: 'k', ids: [2, 3, 4, 5] });
  });

  it('released() leaves a batch alone whose wait is not over', () => {
    const { batcher, sealed } = setup({ batchMaxWaitMs: 50 });
    batcher.add('k', item(0));
    batcher.released('k');
    expect(sealed).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(sealed).toEqual([{ key: 'k', ids: [0] }]);
  });

  it('flush seals every open batch, held or not, and cancels their timers', () => {
    const { batcher, sealed, busy } = setup({ batchMaxWaitMs: 10 });
    busy.add('b');
    batcher.add('a', item(0));
    batcher.add('b', item(1));
    vi.advanceTimersByTime(10); // a sealed on time, b held
    batcher.add('a', item(2));
    batcher.add('c', item(3));
    batcher.flush();
    expect(sealed).toEqual([{ key: 'a', ids: [0] }, { key: 'b', ids: [1] }, { key: 'a', ids: [2] }, { key: 'c', ids: [3] }]);
    vi.advanceTimersByTime(1000);
    expect(sealed.length).toBe(4);
  });
});
