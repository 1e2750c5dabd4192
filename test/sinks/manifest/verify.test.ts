import { describe, expect, it } from 'vitest';
import { verifyArchive, reportText } from '../../../src/sinks/manifest/verify.ts';
import { chainOn, MemoryArchive, PREFIX, store, testKey } from './memory-archive.ts';

const manifestKeyOf = (a: MemoryArchive, object: string): string => [...a.keys].find(([k, b]) => k.startsWith(`${PREFIX}/`) && b.toString().includes(`"object": "${object}"`))![0];

describe('verifyArchive', () => {
  it('complete and intact: every offset from the first to the anchored end is in an object or accounted for', async () => {
    const a = new MemoryArchive();
    const key = testKey();
    const chain = chainOn(a, key);
    await store(a, chain, 0, 0, 9);
    await store(a, chain, 0, 15, 19, 10); // 10-14 read and not shipped
    await store(a, chain, 1, 0, 4);
    await chain.stop();
    a.keys.set('logs/stray.json', Buffer.from('{}\n'));
    const r = await verifyArchive(a, { keys: key.verifying });
    expect(r.ok).toBe(true);
    expect(r.partitions.map((p) => [p.partition, p.checked, p.complete, p.distinctRecords, p.filtered, p.links, p.chainStarts, p.forks])).toEqual([
      [0, [0, 19], true, 15, 5, 2, 1, 0],
      [1, [0, 4], true, 5, 0, 1, 1, 0],
    ]);
    expect(r.unaccountedObjects).toEqual({ count: 1, keys: ['logs/stray.json'] });
    expect(reportText(r).split('\n').at(-2)).toBe('result: complete and intact');
  });

  it('a failover: the new owner continues from the anchor and stores offsets again → a fork and duplicates, still complete', async () => {
    const a = new MemoryArchive();
    const key = testKey();
    const old = chainOn(a, key, 'pod-a');
    await store(a, old, 0, 0, 9);
    await old.anchor();
    await store(a, old, 0, 10, 19); // after the anchor; the commit did not pass it before the crash
    const next = chainOn(a, key, 'pod-b');
    await store(a, next, 0, 10, 14); // read again from the commit, batched differently
    await store(a, next, 0, 15, 24);
    await next.stop();
    const r = await verifyArchive(a, { keys: key.verifying });
    expect(r.problems).toEqual([]);
    expect(r.partitions[0]).toMatchObject({ checked: [0, 24], complete: true, forks: 1, chainStarts: 1, distinctRecords: 25, duplicates: { records: 10, ranges: [[10, 19]] } });
  });

  it('a removed manifest breaks the chain at the next link and leaves a gap; a copied one is out of place', async () => {
    const a = new MemoryArchive();
    const key = testKey();
    const chain = chainOn(a, key);
    await store(a, chain, 0, 0, 9);
    const middle = await store(a, chain, 0, 10, 19);
    await store(a, chain, 0, 20, 29);
    await chain.stop();
    const removed = manifestKeyOf(a, middle);
    const bytes = a.keys.get(removed)!;
    a.keys.delete(removed);
    a.keys.set(`${PREFIX}/t/0/00000000000000000999-elsewhere.json`, bytes);
    const r = await verifyArchive(a, { keys: key.verifying });
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.kind).sort()).toEqual(['broken-chain', 'gap', 'misplaced-manifest']);
    expect(r.problems.find((p) => p.kind === 'broken-chain')!.message).toContain(`the link before ${manifestKeyOf(a, 'logs/p0-20-29.json')} is missing: manifest ${removed} (height 2) was removed or replaced`);
    expect(r.problems.find((p) => p.kind === 'gap')!.message).toBe('t/0: offsets 10-19 (10) are not in the archive: no manifest accounts for them');
  });

  it('a time range checks only the objects with records in it, and the offsets between them', async () => {
    const a = new MemoryArchive();
    const key = testKey();
    const chain = chainOn(a, key);
    await store(a, chain, 0, 0, 9); // Kafka time = offset seconds (test records)
    const gone = await store(a, chain, 0, 10, 19);
    await store(a, chain, 0, 20, 29);
    await store(a, chain, 0, 30, 39);
    await chain.stop();
    a.keys.delete(gone);
    const late = await verifyArchive(a, { keys: key.verifying, since: 21_000 });
    expect(late.ok).toBe(true);
    expect(late.objectsChecked).toBe(2);
    expect(late.partitions[0]!.checked).toEqual([20, 39]);
    const all = await verifyArchive(a, { keys: key.verifying });
    expect(all.problems.map((p) => p.kind).sort()).toEqual(['gap', 'missing-object']);
  });
});
