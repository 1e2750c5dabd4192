import { describe, expect, it } from 'vitest';
import { manifestHash, open, MANIFEST_FORMAT, ANCHOR_FORMAT, type Anchor, type Manifest } from '../../../src/sinks/manifest/document.ts';
import { latestAnchorKey } from '../../../src/sinks/manifest/chain.ts';
import { chainOn, errorLines, MemoryArchive, PREFIX, store, testKey } from './memory-archive.ts';

const manifestsOf = (a: MemoryArchive, key: ReturnType<typeof testKey>): Array<{ key: string; m: Manifest }> =>
  [...a.keys]
    .filter(([k]) => k.startsWith(`${PREFIX}/`) && !k.includes('/anchors/'))
    .map(([k, b]) => {
      const r = open<Manifest>(b, MANIFEST_FORMAT, key.verifying);
      if (!r.ok) throw new Error(r.why);
      return { key: k, m: r.document };
    });

describe('manifest chain', () => {
  it('links stored objects to the previous manifest of their partition in the order link() is called; those stored while a manifest is written share the next one', async () => {
    const a = new MemoryArchive();
    const key = testKey();
    const chain = chainOn(a, key);
    let n = 0;
    a.putDelay = () => [30, 1, 15][n++ % 3]!;
    await Promise.all([store(a, chain, 0, 0, 9), store(a, chain, 0, 10, 19), store(a, chain, 1, 0, 4), store(a, chain, 0, 20, 29)]);
    await store(a, chain, 0, 30, 39);
    const p0 = manifestsOf(a, key).filter((x) => x.m.partition === 0).sort((x, y) => x.m.height - y.m.height);
    expect(p0.map((x) => [x.m.height, x.m.objects.map((o) => o.object)])).toEqual([
      [1, ['logs/p0-0-9.json']],
      [2, ['logs/p0-10-19.json', 'logs/p0-20-29.json']],
      [3, ['logs/p0-30-39.json']],
    ]);
    expect(p0[0]!.m.prev).toBeNull();
    expect(p0[1]!.m.prev).toBe(manifestHash(p0[0]!.m));
    expect(p0[2]!.m).toMatchObject({ prev: manifestHash(p0[1]!.m), prevManifest: p0[1]!.key });
    expect(p0[0]!.key).toBe(`${PREFIX}/t/0/00000000000000000000-p0-0-9-start.json`);
    expect(p0[1]!.key).toBe(`${PREFIX}/t/0/00000000000000000010-p0-10-19-${manifestHash(p0[0]!.m).slice(0, 16)}.json`);
    expect(manifestsOf(a, key).find((x) => x.m.partition === 1)!.m).toMatchObject({ height: 1, prev: null, objects: [{ offsets: [[0, 4]] }] });
  });

  it('an object sent again (a retry after a timeout) is not linked twice; a failed write leaves the chain where it was', async () => {
    const a = new MemoryArchive();
    const key = testKey();
    const chain = chainOn(a, key);
    await store(a, chain, 0, 0, 9);
    await store(a, chain, 0, 0, 9);
    expect(manifestsOf(a, key)).toHaveLength(1);
    a.failNextPut = true;
    await expect(store(a, chain, 0, 10, 19)).rejects.toThrow('store unavailable');
    await store(a, chain, 0, 10, 19);
    const ms = manifestsOf(a, key).sort((x, y) => x.m.height - y.m.height);
    expect(ms.map((x) => x.m.height)).toEqual([1, 2]);
    expect(ms[1]!.m.prev).toBe(manifestHash(ms[0]!.m));
  });

  it('anchors the heads that moved (history and latest), and a new instance continues from the latest anchor', async () => {
    const a = new MemoryArchive();
    const key = testKey();
    const first = chainOn(a, key, 'pod-a');
    await store(a, first, 0, 0, 9);
    await store(a, first, 0, 10, 19);
    await first.stop();
    const anchors = [...a.keys.keys()].filter((k) => k.includes('/anchors/')).sort();
    expect(anchors).toEqual([`${PREFIX}/t/0/anchors/000000000002-${Date.parse('2026-12-04T10:00:00Z')}.json`, latestAnchorKey(PREFIX, 't', 0)]);
    const anchor = open<Anchor>(a.keys.get(latestAnchorKey(PREFIX, 't', 0))!, ANCHOR_FORMAT, key.verifying);
    expect(anchor).toMatchObject({ ok: true, document: { height: 2, next: 20, writer: 'pod-a' } });
    await first.anchor(); // nothing moved: nothing written
    expect([...a.keys.keys()].filter((k) => k.includes('/anchors/'))).toHaveLength(2);

    const second = chainOn(a, key, 'pod-b');
    await store(a, second, 0, 20, 29);
    const m = manifestsOf(a, key).find((x) => x.m.writer === 'pod-b')!.m;
    expect(m).toMatchObject({ height: 3, prev: anchor.ok ? anchor.document.head : 'x' });
  });

  it('an unreadable latest anchor is logged and a new chain starts (delivery goes on; verify reports it)', async () => {
    const a = new MemoryArchive();
    const key = testKey();
    a.keys.set(latestAnchorKey(PREFIX, 't', 0), Buffer.from('garbage'));
    await store(a, chainOn(a, key), 0, 0, 9);
    expect(manifestsOf(a, key)[0]!.m).toMatchObject({ height: 1, prev: null });
    expect(errorLines.some((l) => l.includes('the latest archive chain anchor is unreadable; a new chain starts for this partition'))).toBe(true);
  });
});
