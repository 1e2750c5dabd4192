// The platformatic producer's split of a send into runs of near timestamps: the library writes a
// timestamp delta beyond ±2^31 ms from its batch's first record wrong (see producer.ts).
import { describe, expect, it } from 'vitest';
import { nearTimestampRuns } from '../../../src/source/platformatic/producer.ts';

const DAY = 86_400_000;
const ts = (runs: Array<Array<{ timestamp?: number }>>) => runs.map((r) => r.map((m) => m.timestamp));

describe('nearTimestampRuns', () => {
  it('one run while every timestamp lies within 2^30 ms of the first (records without one count as now)', () => {
    const now = Date.UTC(2026, 11, 3);
    const ms = [{ timestamp: now }, {}, { timestamp: now - 12 * DAY }, { timestamp: now + 12 * DAY }];
    expect(nearTimestampRuns(ms, now)).toEqual([ms]);
    expect(nearTimestampRuns([], now)).toEqual([[]]);
  });

  it('cuts, in order, where a timestamp lies further from its run’s first: no two in a run are 2^31 ms apart', () => {
    const now = Date.UTC(2026, 11, 3);
    const old = Date.UTC(2024, 1, 1);
    const ms = [now, old, old + 5, now - 40 * DAY, now - 1000, now - 13 * DAY].map((timestamp) => ({ timestamp }));
    const runs = nearTimestampRuns(ms, now);
    expect(ts(runs)).toEqual([[now], [old, old + 5], [now - 40 * DAY], [now - 1000], [now - 13 * DAY]]);
    expect(runs.flat()).toEqual(ms);
    for (const r of runs) for (const a of r) for (const b of r) expect(Math.abs(a.timestamp! - b.timestamp!)).toBeLessThan(2 ** 31);
  });
});
