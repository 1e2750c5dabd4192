// The file sink with FILE_MANIFEST_SIGNING_KEY: each batch's manifest names exactly the bytes it wrote
// (segment id, byte range, SHA-256, offsets), chains per partition, anchors go to PATH.anchors, a
// restart continues each chain from its last anchor line, and `verify` over the files says complete or
// names what was removed or changed.
import { cpSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ANCHOR_FORMAT, MANIFEST_FORMAT, manifestHash, open, verifyingKeys, type Manifest } from '../../../src/sinks/manifest/document.ts';
import { latestAnchorKey, manifestKey } from '../../../src/sinks/manifest/chain.ts';
import { FileManifestStore } from '../../../src/sinks/file/manifest-store.ts';
import { RotatingFile } from '../../../src/sinks/file/rotating-file.ts';
import { parseSegmentObject } from '../../../src/sinks/file/segment.ts';
import type { Report } from '../../../src/sinks/manifest/verify.ts';
import { anchors, archiveSink, batchOf, keys, lines, record, sendRange, sidecar, silent, tmp, verifyFiles, type Keys } from './support.ts';

/** PATH, PATH.1 … as [file, backup number], newest first. */
function segmentFiles(path: string): Array<[string, number]> {
  const dir = path.slice(0, path.lastIndexOf('/'));
  const base = path.slice(path.lastIndexOf('/') + 1);
  return readdirSync(dir)
    .map((n) => new RegExp(`^${base.replace(/\./g, '\\.')}(?:\\.(\\d+))?$`).exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m): [string, number] => [join(dir, m[0]), m[1] === undefined ? 0 : Number(m[1])])
    .sort((a, b) => a[1] - b[1]);
}

/** Three partitions, 30 records each in batches of 5, rotating about every two batches. */
async function writeArchive(k: Keys, o: { backupCount?: number } = {}): Promise<string> {
  const path = join(tmp(), 'out.jsonl');
  const sink = archiveSink(path, k, { maxBytes: 500, backupCount: o.backupCount ?? 50 });
  await sink.start!();
  for (let r = 0; r < 6; r++) for (let p = 0; p < 3; p++) await sendRange(sink, p, r * 5, r * 5 + 4, 5);
  await sink.stop!();
  return path;
}

const kinds = (r: Report): string[] => [...new Set(r.problems.map((p) => p.kind))].sort();

describe('file sink manifests', () => {
  it('name the exact bytes of each batch with their SHA-256 and offsets, in the sidecar of the segment written to, chained per partition', async () => {
    const k = keys(tmp());
    const path = await writeArchive(k);
    const files = segmentFiles(path);
    expect(files.length).toBeGreaterThanOrEqual(8);
    const pub = verifyingKeys([k.publicPem]);
    const byPartition = new Map<number, Manifest[]>();
    let total = 0;
    for (const [file] of files) {
      const side = sidecar(`${file}.manifests`);
      const data = readFileSync(file);
      let end = 0;
      for (const sealed of side.manifests) {
        const r = open<Manifest>(Buffer.from(JSON.stringify(sealed)), MANIFEST_FORMAT, pub);
        expect(r.ok).toBe(true);
        const m = sealed.document;
        // Sent one at a time: one batch per manifest.
        expect(m.objects).toHaveLength(1);
        const o = m.objects[0]!;
        const at = parseSegmentObject(o.object)!;
        // Written one batch at a time: each manifest sits in its own segment's sidecar, in order.
        expect(at.segmentId).toBe(side.segment);
        expect(at.start).toBe(end);
        end = at.end;
        const bytes = data.subarray(at.start, at.end);
        expect(o.bytes).toBe(bytes.length);
        expect(o.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
        const rows = bytes.toString().trimEnd().split('\n').map((l) => JSON.parse(l) as { p: number; o: number });
        expect(rows.every((x) => x.p === m.partition)).toBe(true);
        expect(o.offsets).toEqual([[rows[0]!.o, rows.at(-1)!.o]]);
        expect(o.records).toBe(5);
        byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m]);
        total++;
      }
      // Every byte of the data file is named by exactly one manifest.
      expect(end).toBe(data.length);
    }
    expect(total).toBe(18);
    for (const ms of byPartition.values()) {
      ms.sort((a, b) => a.height - b.height);
      expect(ms.map((m) => m.height)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(ms.map((m) => m.objects[0]!.covers)).toEqual([0, 5, 10, 15, 20, 25].map((o) => [[o, o + 4]]));
      for (let i = 1; i < ms.length; i++) {
        expect(ms[i]!.prev).toBe(manifestHash(ms[i - 1]!));
        expect(ms[i]!.prevManifest).toBe(manifestKey('', ms[i - 1]!));
      }
    }
    // At stop, each chain's head is anchored: one line per partition in PATH.anchors.
    const anchored = anchors(`${path}.anchors`);
    expect(anchored.map((a) => [a.document.partition, a.document.height, a.document.next, a.document.head])).toEqual(
      [0, 1, 2].map((p) => [p, 6, 30, manifestHash(byPartition.get(p)!.at(-1)!)]),
    );
    for (const a of anchored) expect(open(Buffer.from(JSON.stringify(a)), ANCHOR_FORMAT, pub).ok).toBe(true);
    // The data files hold only the records.
    for (const [file] of files) for (const l of lines(file)) expect(Object.keys(JSON.parse(l) as object)).toEqual(['p', 'o', 'pad']);

    const r = await verifyFiles([path], [k.publicPem]);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.manifests).toBe(18);
    expect(r.anchors).toBe(3);
    expect(r.objectsChecked).toBe(18);
    expect(r.unaccountedObjects).toEqual({ count: 0, keys: [] });
    expect(r.partitions.map((p) => [p.partition, p.checked, p.complete, p.distinctRecords, p.chainStarts, p.forks])).toEqual([0, 1, 2].map((p) => [p, [0, 29], true, 30, 1, 0]));
  });

  it('record filtered offsets before a record as accounted for, not as gaps', async () => {
    const k = keys(tmp());
    const path = join(tmp(), 'out.jsonl');
    const sink = archiveSink(path, k);
    await sink.start!();
    await sink.send(batchOf(sink, [record(0, 0), record(0, 4, 1), record(0, 5)]), new AbortController().signal);
    await sink.send(batchOf(sink, [record(0, 9, 6)]), new AbortController().signal);
    await sink.stop!();
    const [first, second] = sidecar(`${path}.manifests`).manifests.map((s) => s.document.objects[0]);
    expect(first).toMatchObject({ offsets: [[0, 0], [4, 5]], covers: [[0, 5]], filtered: 3, records: 3 });
    expect(second).toMatchObject({ offsets: [[9, 9]], covers: [[6, 9]], filtered: 3, records: 1 });
    const r = await verifyFiles([path], [k.publicPem]);
    expect(r.partitions[0]).toMatchObject({ checked: [0, 9], complete: true, distinctRecords: 4, filtered: 6 });
  });

  it('record batches sent at the same time (several in one manifest), and a manifest line may sit in any sidecar', async () => {
    const k = keys(tmp());
    const path = join(tmp(), 'out.jsonl');
    const sink = archiveSink(path, k, { maxBytes: 300 });
    await sink.start!();
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((b) => sink.send(batchOf(sink, [record(0, b * 2), record(0, b * 2 + 1)]), new AbortController().signal)));
    await sink.stop!();
    const files = segmentFiles(path);
    expect(files.length).toBeGreaterThan(2);
    const all = files.flatMap(([f]) => sidecar(`${f}.manifests`).manifests.map((x) => x.document));
    expect(all.flatMap((m) => m.objects)).toHaveLength(8);
    const r = await verifyFiles([path], [k.publicPem]);
    expect(r.problems).toEqual([]);
    expect(r.partitions[0]).toMatchObject({ checked: [0, 15], complete: true, distinctRecords: 16, chainStarts: 1, forks: 0 });
    expect(r.unaccountedObjects.count).toBe(0);
    // The appends were queued before the manifests: some manifests sit in a later segment's sidecar
    // than their bytes, which verify finds by segment id.
    const elsewhere = files.flatMap(([f]) => {
      const side = sidecar(`${f}.manifests`);
      return side.manifests.flatMap((m) => m.document.objects).filter((o) => parseSegmentObject(o.object)!.segmentId !== side.segment);
    });
    expect(elsewhere.length).toBeGreaterThan(0);
    // So moving a manifest line to another sidecar changes nothing.
    const [source] = files.find(([f]) => lines(`${f}.manifests`).length > 1)!;
    const [target] = files.find(([f]) => f !== source)!;
    const from = lines(`${source}.manifests`);
    const to = lines(`${target}.manifests`);
    writeFileSync(`${source}.manifests`, `${[from[0], ...from.slice(2)].join('\n')}\n`);
    writeFileSync(`${target}.manifests`, `${[to[0], from[1], ...to.slice(1)].join('\n')}\n`);
    const moved = await verifyFiles([path], [k.publicPem]);
    expect(moved.problems).toEqual([]);
    expect(moved.manifests).toBe(r.manifests);
  });

  it('continue each partition\'s chain from its last anchor line after a restart', async () => {
    const k = keys(tmp());
    const path = join(tmp(), 'out.jsonl');
    const a = archiveSink(path, k, { maxBytes: 400 });
    await a.start!();
    await sendRange(a, 0, 0, 9, 5);
    await sendRange(a, 1, 0, 4, 5);
    await a.stop!();
    const b = archiveSink(path, k, { maxBytes: 400 });
    await b.start!();
    await sendRange(b, 0, 10, 19, 5);
    await b.stop!();
    const anchored = anchors(`${path}.anchors`).map((x) => x.document);
    expect(anchored.map((x) => [x.partition, x.height, x.next])).toEqual([
      [0, 2, 10],
      [1, 1, 5],
      [0, 4, 20],
    ]);
    const all = segmentFiles(path).flatMap(([f]) => sidecar(`${f}.manifests`).manifests.map((s) => s.document));
    const third = all.find((m) => m.partition === 0 && m.objects[0]!.covers[0]![0] === 10)!;
    expect(third).toMatchObject({ height: 3, prev: anchored[0]!.head, prevManifest: anchored[0]!.headManifest });
    const r = await verifyFiles([path], [k.publicPem]);
    expect(r.ok).toBe(true);
    expect(r.partitions.map((p) => [p.partition, p.checked, p.links, p.chainStarts, p.forks, p.latestAnchor?.height])).toEqual([
      [0, [0, 19], 4, 1, 0, 4],
      [1, [0, 4], 1, 1, 0, 1],
    ]);
  });

  it('the anchors store answers the last anchor line of each partition, also after reopening', async () => {
    const dir = tmp();
    const path = join(dir, 'out.jsonl');
    const file = new RotatingFile(path, { maxBytes: 0, backupCount: 0, fsync: false, segments: true });
    await file.open();
    const store = new FileManifestStore(file, `${path}.anchors`, { fsync: true, logger: silent });
    await store.open();
    const anchor = (p: number, h: number): Buffer => Buffer.from(`${JSON.stringify({ document: { format: ANCHOR_FORMAT, topic: 't', partition: p, height: h }, keyId: 'k', signature: 's' }, null, 1)}\n`);
    await store.put(`t/0/anchors/${h12(1)}-0000000000001.json`, anchor(0, 1));
    await store.put(`t/1/anchors/${h12(1)}-0000000000002.json`, anchor(1, 1));
    await store.put(`t/0/anchors/${h12(2)}-0000000000003.json`, anchor(0, 2));
    await store.put('t/0/1.json', Buffer.from('{\n "document": {"m": 1}\n}\n'));
    expect(JSON.parse((await store.get(latestAnchorKey('', 't', 0)))!.toString()).document.height).toBe(2);
    await store.close();
    await file.close();
    // One compact line each: anchors in PATH.anchors, the manifest in the current sidecar.
    expect(lines(`${path}.anchors`)).toHaveLength(3);
    expect(lines(`${path}.manifests`).slice(1)).toEqual(['{"document":{"m":1}}']);
    appendFileSync(`${path}.anchors`, 'torn');
    const again = new FileManifestStore(file, `${path}.anchors`, { fsync: false, logger: silent });
    await again.open();
    expect(JSON.parse((await again.get(latestAnchorKey('', 't', 0)))!.toString()).document.height).toBe(2);
    expect(JSON.parse((await again.get(latestAnchorKey('', 't', 1)))!.toString()).document.height).toBe(1);
    expect(await again.get(latestAnchorKey('', 't', 2))).toBeUndefined();
    await again.close();
  });

  it('leave bytes no manifest names as unaccounted: a file from before, and a batch whose manifest was never written', async () => {
    const k = keys(tmp());
    const path = join(tmp(), 'out.jsonl');
    writeFileSync(path, '{"before":1}\n');
    const a = archiveSink(path, k);
    await a.start!();
    await sendRange(a, 0, 0, 4, 5);
    await a.stop!();
    // What a kill -9 between the data and the manifest leaves: bytes without a manifest.
    appendFileSync(path, '{"p":0,"o":5}\n');
    const b = archiveSink(path, k);
    await b.start!();
    await sendRange(b, 0, 5, 9, 5);
    await b.stop!();
    const size = readFileSync(path).length;
    const r = await verifyFiles([path], [k.publicPem]);
    expect(r.ok).toBe(true);
    const line = (o: number): number => record(0, o).raw!.length + 1;
    const firstEnd = 13 + [0, 1, 2, 3, 4].reduce((n, o) => n + line(o), 0);
    expect(r.unaccountedObjects).toEqual({ count: 2, keys: [`${path}:0-13`, `${path}:${firstEnd}-${firstEnd + 14}`] });
    expect(size).toBe(firstEnd + 14 + [5, 6, 7, 8, 9].reduce((n, o) => n + line(o), 0));
  });

  it('verify names a removed segment, an edited byte, swapped segments, a truncated segment, an edited manifest and a removed head', async () => {
    const k = keys(tmp());
    const path = await writeArchive(k);
    const files = segmentFiles(path);
    const copy = (): string => {
      const dir = tmp();
      for (const n of readdirSync(path.slice(0, path.lastIndexOf('/')))) cpSync(join(path.slice(0, path.lastIndexOf('/')), n), join(dir, n));
      return join(dir, 'out.jsonl');
    };
    const at = (p: string, n: number): string => (n === 0 ? p : `${p}.${n}`);
    const manifestsOf = (file: string): Manifest[] => sidecar(`${file}.manifests`).manifests.map((s) => s.document);
    const keyOf = (m: Manifest): string => manifestKey('', m);
    const verify = (p: string): Promise<Report> => verifyFiles([p], [k.publicPem]);
    expect((await verify(path)).ok).toBe(true);

    // A rotated segment removed with its sidecar: the next link of each chain in it is broken, its offsets are a gap.
    const mid = Math.floor(files.length / 2);
    const removed = copy();
    const gone = manifestsOf(at(path, mid));
    rmSync(at(removed, mid));
    rmSync(`${at(removed, mid)}.manifests`);
    const r1 = await verify(removed);
    expect(r1.ok).toBe(false);
    expect(kinds(r1)).toEqual(['broken-chain', 'gap']);
    const goneHashes = new Set(gone.map(manifestHash));
    const after = files.flatMap(([f]) => manifestsOf(f)).filter((m) => m.prev !== null && goneHashes.has(m.prev) && !gone.includes(m));
    expect(r1.problems.filter((p) => p.kind === 'broken-chain').map((p) => p.key).sort()).toEqual(after.map(keyOf).sort());
    expect(r1.problems.filter((p) => p.kind === 'gap').map((p) => p.message).sort()).toEqual(
      gone.map((m) => `t/${m.partition}: offsets ${m.objects[0]!.covers[0]![0]}-${m.objects[0]!.covers[0]![1]} (5) are not in the archive: no manifest accounts for them`).sort(),
    );

    // One byte edited.
    const edited = copy();
    const victimManifest = manifestsOf(at(path, 1))[0]!;
    const victim = victimManifest.objects[0]!;
    const bytes = readFileSync(at(edited, 1));
    const i = parseSegmentObject(victim.object)!.start + 8;
    bytes[i] = bytes[i]! ^ 1;
    writeFileSync(at(edited, 1), bytes);
    const r2 = await verify(edited);
    const [c0, c1] = victim.covers[0]!;
    expect(r2.problems.map((p) => [p.kind, p.key ?? p.message])).toEqual([
      ['changed-object', victim.object],
      ['gap', `t/${victimManifest.partition}: offsets ${c0}-${c1} (5) are not in the archive: accounted for only by ${victim.object}, which is missing or changed`],
    ]);
    expect(r2.problems[0]!.message).toMatch(/its content was changed/);

    // Two segments' data swapped (their sidecars stay): every batch of both is changed, and each is named.
    const swapped = copy();
    renameSync(at(swapped, 2), `${swapped}.tmp`);
    renameSync(at(swapped, 3), at(swapped, 2));
    renameSync(`${swapped}.tmp`, at(swapped, 3));
    const r3 = await verify(swapped);
    const both = [...manifestsOf(at(path, 2)), ...manifestsOf(at(path, 3))];
    expect(r3.problems.filter((p) => p.kind === 'changed-object').map((p) => p.key).sort()).toEqual(both.flatMap((m) => m.objects.map((o) => o.object)).sort());
    expect(kinds(r3)).toEqual(['changed-object', 'gap']);

    // The newest segment truncated by one line: its last batch is changed.
    const truncated = copy();
    const last = manifestsOf(path).at(-1)!.objects.at(-1)!;
    truncateSync(truncated, readFileSync(truncated).length - 10);
    const r4 = await verify(truncated);
    expect(r4.problems.filter((p) => p.kind === 'changed-object').map((p) => p.key)).toEqual([last.object]);

    // A manifest's offsets edited: its signature fails.
    const forged = copy();
    const side = readFileSync(`${at(forged, 4)}.manifests`, 'utf8').split('\n');
    const m = JSON.parse(side[1]!) as { document: Manifest };
    const o = m.document.objects[0]!;
    side[1] = JSON.stringify({ ...m, document: { ...m.document, objects: [{ ...o, covers: [[o.covers[0]![0], o.covers[0]![1] + 1]] }] } });
    writeFileSync(`${at(forged, 4)}.manifests`, side.join('\n'));
    const r5 = await verify(forged);
    expect(r5.problems.find((p) => p.kind === 'bad-manifest')?.message).toMatch(/signature does not match/);

    // The newest manifest line of a partition removed: the anchor names it.
    const headless = copy();
    const lastLines = readFileSync(`${headless}.manifests`, 'utf8').trimEnd().split('\n');
    const head = (JSON.parse(lastLines.at(-1)!) as { document: Manifest }).document;
    writeFileSync(`${headless}.manifests`, `${lastLines.slice(0, -1).join('\n')}\n`);
    const r6 = await verify(headless);
    expect(r6.problems.map((p) => [p.kind, p.key ?? p.message])).toEqual([
      ['missing-anchored-link', keyOf(head)],
      ['gap', `t/${head.partition}: offsets 25-29 (5) are not in the archive: no manifest accounts for them`],
    ]);
    // Its bytes are now named by no manifest.
    expect(r6.unaccountedObjects.count).toBe(1);

    // A wrong key: no manifest can be trusted.
    const r7 = await verifyFiles([path], [keys(tmp(), 'w').publicPem]);
    expect(r7.problems.filter((p) => p.kind === 'bad-manifest')).toHaveLength(18);
    expect(r7.problems.filter((p) => p.kind === 'bad-anchor')).toHaveLength(3);
  });

  it('verify pairs a sidecar left behind by a rotation stopped between two renames with its data file', async () => {
    const k = keys(tmp());
    const path = await writeArchive(k);
    const n = segmentFiles(path).length - 1;
    // Killed after `out.jsonl.<n> → .<n+1>` and before its sidecar followed.
    renameSync(`${path}.${n}`, `${path}.${n + 1}`);
    const r = await verifyFiles([path], [k.publicPem]);
    expect(r.problems).toEqual([]);
    expect(r.unaccountedObjects.count).toBe(0);
  });

  it('segments FILE_BACKUP_COUNT deletes are recorded first: verify reports their history as retired, not missing; a segment deleted by hand is still named', async () => {
    const k = keys(tmp());
    const path = await writeArchive(k, { backupCount: 2 });
    expect(segmentFiles(path).map(([, n]) => n)).toEqual([0, 1, 2]);
    const retirements = lines(`${path}.anchors`).map((l) => JSON.parse(l) as { document: { format: string; what: string } }).filter((x) => x.document.format === 'logstream-retired/1');
    expect(retirements.length).toBeGreaterThan(0);
    expect(retirements[0]!.document.what).toMatch(/^out\.jsonl\.2 \(segment [0-9a-f-]{36}\), deleted by rotation \(FILE_BACKUP_COUNT=2\)$/);
    const r = await verifyFiles([path], [k.publicPem]);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    for (const p of r.partitions) {
      expect(p.complete).toBe(true);
      expect(p.retired).toMatchObject({ maxHeight: expect.any(Number), maxOffset: expect.any(Number) });
      expect(p.retired!.maxOffset).toBeGreaterThanOrEqual(4);
      // What is left is checked up to the end: the last record of each partition is 29.
      expect(p.checked![1]).toBe(29);
    }
    // A retirement signed with another key is not trusted, so the history it covers is missing again.
    const other = keys(tmp(), 'other');
    const forged = await verifyFiles([path], [other.publicPem]);
    expect(kinds(forged)).toContain('bad-retirement');
    // Deleting the oldest kept segment by hand (no retirement recorded) is named.
    const [oldest] = segmentFiles(path).slice(-1).map(([f]) => f);
    rmSync(oldest!);
    rmSync(`${oldest}.manifests`);
    const cut = await verifyFiles([path], [k.publicPem]);
    expect(cut.ok).toBe(false);
    expect(kinds(cut)).toEqual(expect.arrayContaining(['broken-chain']));
  });
});

const h12 = (n: number): string => String(n).padStart(12, '0');
