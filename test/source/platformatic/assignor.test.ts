// The leader's assignment: balanced, sticky, and cooperative (a moving partition is first only taken away).
import type { ClusterMetadata, ExtendedGroupProtocolSubscription } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { stickyBalancedAssignor } from '../../../src/source/platformatic/assignor.ts';

const metadata = (partitions: number) => ({ topics: new Map([['t', { partitionsCount: partitions }]]) }) as unknown as ClusterMetadata;

function members(owned: Record<string, number[]>, generation = 5): Map<string, ExtendedGroupProtocolSubscription> {
  return new Map(Object.entries(owned).map(([memberId, ps]) => [memberId, { memberId, version: 3, topics: ['t'], ownedPartitions: ps.length ? [{ topic: 't', partitions: ps }] : [], generationId: ps.length ? generation : -1 }]));
}

function assign(owned: Record<string, number[]>, partitions = 6): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const a of stickyBalancedAssignor('a', members(owned), new Set(['t']), metadata(partitions))) out[a.memberId] = [...a.assignments.values()].flatMap((x) => x.partitions).sort();
  return out;
}

describe('sticky balanced assignor', () => {
  it('a new member: first round takes one partition away from a member holding more than its share, the second hands it over', () => {
    const first = assign({ a: [0, 3], b: [1, 4], c: [2, 5], d: [] });
    expect(first.d).toEqual([]); // nothing moves in the same round it is taken away
    expect(Object.values(first).flat()).toHaveLength(5); // one partition was taken away …
    const released = [0, 1, 2, 3, 4, 5].find((p) => !Object.values(first).flat().includes(p))!;
    const second = assign({ a: first.a!, b: first.b!, c: first.c!, d: [] });
    expect(second.d).toEqual([released]); // … and goes to the new member in the next round
    expect(Object.values(second).map((ps) => ps.length).sort()).toEqual([1, 1, 2, 2]);
  });

  it('sticky: a member leaving hands only its own partitions on; the others keep theirs', () => {
    const r = assign({ a: [0, 3], b: [1, 4] }); // c (2, 5) left
    expect(r.a).toEqual(expect.arrayContaining([0, 3]));
    expect(r.b).toEqual(expect.arrayContaining([1, 4]));
    expect([r.a!.length, r.b!.length]).toEqual([3, 3]);
    expect([...r.a!, ...r.b!].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('eager (no owned partitions): a balanced assignment of everything', () => {
    const r = assign({ a: [], b: [], c: [], d: [] });
    expect(Object.values(r).flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Object.values(r).map((ps) => ps.length).sort()).toEqual([1, 1, 2, 2]);
  });

  it('two members claiming one partition in the same generation: neither keeps it without a round', () => {
    const r = assign({ a: [0, 1, 2], b: [2, 3, 4, 5] });
    expect(r.a).toEqual(expect.arrayContaining([0, 1]));
    expect(r.b!.filter((p) => p !== 2)).toEqual(expect.arrayContaining([3, 4, 5]));
    expect(Object.values(r).flat().filter((p) => p === 2).length).toBeLessThanOrEqual(1);
  });
});
