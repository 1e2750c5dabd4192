import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/core/map-limit.ts';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('keeps at most `limit` calls running and returns results in list order', async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimit([30, 5, 20, 1, 10, 2], 3, async (ms, i) => {
      most = Math.max(most, ++running);
      await tick(ms);
      running--;
      return `${i}:${ms}`;
    });
    expect(out).toEqual(['0:30', '1:5', '2:20', '3:1', '4:10', '5:2']);
    expect(most).toBe(3);
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });

  it('rejects with the first failure and starts nothing after it, nor after the signal aborts', async () => {
    const started: number[] = [];
    await expect(mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await tick(5);
      if (n === 1) throw new Error('part 1 failed');
      return n;
    })).rejects.toThrow('part 1 failed');
    await tick(30);
    expect(started).toEqual([0, 1, 2]);

    const ac = new AbortController();
    const seen: number[] = [];
    await mapLimit([0, 1, 2, 3], 1, async (n) => {
      seen.push(n);
      if (n === 1) ac.abort();
    }, ac.signal);
    expect(seen).toEqual([0, 1]);
  });
});
