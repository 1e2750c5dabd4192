import { describe, expect, it } from 'vitest';
import { count, gaps, merge, overlaps, rangesOf, rangeText } from '../../../src/sinks/manifest/ranges.ts';

describe('offset ranges', () => {
  it('merges overlapping and adjacent ranges, in any order', () => {
    expect(merge([[5, 7], [1, 2], [3, 3], [9, 9], [6, 8]])).toEqual([[1, 3], [5, 9]]);
    expect(rangesOf([4, 2, 3, 10, 11, 7])).toEqual([[2, 4], [7, 7], [10, 11]]);
    expect(merge([])).toEqual([]);
  });

  it('gaps: the offsets of [from, to] no range covers', () => {
    expect(gaps([[0, 4], [8, 9]], 0, 12)).toEqual([[5, 7], [10, 12]]);
    expect(gaps([[2, 3]], 0, 3)).toEqual([[0, 1]]);
    expect(gaps([[0, 100]], 10, 20)).toEqual([]);
    expect(gaps([], 3, 3)).toEqual([[3, 3]]);
  });

  it('overlaps: offsets covered by more than one list, each list counted once', () => {
    expect(overlaps([[[0, 9]], [[5, 12]], [[11, 20]]])).toEqual([[5, 9], [11, 12]]);
    // A list overlapping itself is one list: merged before counting.
    expect(overlaps([[[0, 5], [3, 8]]])).toEqual([]);
    expect(overlaps([[[0, 0]], [[0, 0]], [[0, 0]]])).toEqual([[0, 0]]);
  });

  it('counts and prints', () => {
    expect(count([[0, 9], [20, 20]])).toBe(11);
    expect([[3, 3], [4, 9]].map((r) => rangeText(r as [number, number]))).toEqual(['3', '4-9']);
  });
});
