// A provable archive with the file sink (issue 22), end to end on a real broker: logstream instances
// (child processes), each with its own FILE_PATH, sign a manifest for every batch into sidecars beside
// their rotating files. One is killed with SIGKILL and another joins (a rebalance) mid-run.
// `logstream verify file <every pod's path>` must then say complete and intact, with exactly the
// duplicates the failover made (counted here from the rows the manifests name). Then the files are
// tampered with (a rotated segment deleted with its sidecar, a byte edited, two segments' data swapped)
// and verify must name each; with a wrong key it fails.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { manifestKey } from '../../src/sinks/manifest/chain.ts';
import { manifestHash, type Anchor, type Manifest, type ObjectEntry, type Sealed } from '../../src/sinks/manifest/document.ts';
import { gaps, merge } from '../../src/sinks/manifest/ranges.ts';
import type { Report } from '../../src/sinks/manifest/verify.ts';
import { instanceEnv, newGroupSetup, waitForStableGroup, type GroupSetup } from '../support/group.ts';
import { Instance, runCli, tmpDir, type CliResult } from '../support/instance.ts';
import { expectCompleteArchive, failoverRun, FAILOVER_QUERY, keys, verifyJson, type Keys } from '../support/archive.ts';
import { endOffsets } from '../support/kafka.ts';
import { tally } from '../support/ledger.ts';

const running: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(10_000)));
});

function start(s: GroupSetup, name: string, key: Keys, extra: Record<string, string> = {}): Instance {
  const i = new Instance(name, {
    ...instanceEnv(s, name),
    FILE_MANIFEST_SIGNING_KEY_FILE: key.privateFile,
    FILE_MANIFEST_ANCHOR_INTERVAL: '1s',
    FILE_MAX_BYTES: '32KiB',
    FILE_BACKUP_COUNT: '1000',
    FILE_BATCH_MAX_RECORDS: '40',
    ...extra,
  });
  running.push(i);
  return i;
}

const verify = (paths: string[], publicFiles: string[], extra: string[] = []): Promise<CliResult & { report: Report }> => verifyJson(['file', ...paths, ...extra], publicFiles);

/** One data file of a pod with its sidecar, read here independently of the reader under test. */
interface Segment {
  file: string;
  backup: number;
  id: string;
  manifests: Manifest[];
}

function segmentsOf(path: string): Segment[] {
  const dir = path.slice(0, path.lastIndexOf('/'));
  const base = path.slice(path.lastIndexOf('/') + 1);
  const out: Segment[] = [];
  for (const n of readdirSync(dir)) {
    const m = new RegExp(`^${base.replace(/\./g, '\\.')}(?:\\.(\\d+))?$`).exec(n);
    if (m === null) continue;
    const file = join(dir, n);
    const [head, ...rest] = readFileSync(`${file}.manifests`, 'utf8').split('\n').filter(Boolean);
    out.push({ file, backup: m[1] === undefined ? 0 : Number(m[1]), id: (JSON.parse(head!) as { segment: string }).segment, manifests: rest.map((l) => (JSON.parse(l) as Sealed<Manifest>).document) });
  }
  return out.sort((a, b) => a.backup - b.backup);
}

const rangeOf = (object: string): [id: string, start: number, end: number] => {
  const m = /^(.+):(\d+)-(\d+)$/.exec(object)!;
  return [m[1]!, Number(m[2]), Number(m[3])];
};
const keyOf = (m: Manifest): string => manifestKey('', m);
/** The segment id of a recorded batch. */
const segmentOf = (o: ObjectEntry): string => rangeOf(o.object)[0];
const objectsOf = (ms: Manifest[]): ObjectEntry[] => ms.flatMap((m) => m.objects);
const names = (os: ObjectEntry[]): string[] => [...new Set(os.map((o) => o.object))];

describe('provable archive with the file sink: sidecar manifests and `logstream verify file` (real broker)', () => {
  it('kill -9 and a rebalance mid-run with rotation → complete with the duplicates; a deleted segment, an edited byte and swapped segments are named; a wrong key fails', async () => {
    const s = await newGroupSetup('file-archive', 3);
    const dir = tmpDir('file-archive-keys');
    const key = keys(dir, 'k');
    const wrong = keys(dir, 'wrong');
    const query = FAILOVER_QUERY;
    const a = start(s, 'a', key, { QUERY: query, KAFKA_COMMIT_INTERVAL: '30s' });
    const b = start(s, 'b', key, { QUERY: query });
    await waitForStableGroup([a, b], 3);
    const w = await failoverRun(s, a, b, () => start(s, 'c', key, { QUERY: query }));
    const { run, n, filtered, deadLettered } = w;

    const paths = ['a', 'b', 'c'].map((x) => join(s.dir, `${x}.jsonl`));
    const segments = paths.map(segmentsOf);
    // Rotated several times, nothing deleted; the data files hold only records.
    expect(segments.map((x) => x.length).reduce((p, q) => p + q, 0)).toBeGreaterThanOrEqual(8);
    const stored = segments.flat().flatMap((x) => x.manifests);
    // What the archive holds, counted independently of verify: the rows of the byte ranges the manifests name.
    const byId = new Map(segments.flat().map((x) => [x.id, readFileSync(x.file)]));
    const named = names(objectsOf(stored));
    const rows = named.flatMap((o) => {
      const [id, from, to] = rangeOf(o);
      return byId.get(id)!.subarray(from, to).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    });
    const t = tally(run, n, rows);

    const good = await verify(paths, [key.publicFile]);
    expect(good.code, good.stdout).toBe(0);
    const r = good.report;
    expect(r.manifests).toBe(stored.length);
    const sums = await expectCompleteArchive(r, s, w, t);
    // Bytes no manifest names can only be the killed pod's (a batch written, its manifest not).
    expect(r.unaccountedObjects.keys.every((k) => k.startsWith(`${paths[0]}:`) || k.startsWith(`${paths[0]}.`))).toBe(true);
    process.stdout.write(
      `file archive kill -9 + rebalance + rotation: lost=${t.lost - filtered - deadLettered} dup=${t.dup} (verify: complete, ${sums.records} records, ${sums.duplicates} duplicates, ${filtered} filtered and ${deadLettered} dead-lettered accounted; ${r.manifests} manifests in ${segments.flat().length} segments, ${r.anchors} anchors, ${r.unaccountedObjects.count} byte ranges without a manifest, chain starts ${sums.chainStarts}, forks ${sums.forks})\n`,
    );

    // A wrong key: no manifest and no anchor can be trusted.
    const wrongKey = await verify(paths, [wrong.publicFile]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.report.problems.filter((p) => p.kind === 'bad-manifest')).toHaveLength(stored.length);
    expect(wrongKey.report.problems.filter((p) => p.kind === 'bad-anchor')).toHaveLength(r.anchors);

    // Tampering: b's segments by age (oldest first), c's for the edit.
    const older = segments[1]!.filter((x) => x.backup >= 1).sort((x, y) => y.backup - x.backup);
    const hashes = (x: Segment): Set<string> => new Set(x.manifests.map(manifestHash));
    // The segment to delete: not b's oldest (which holds the chains' first offsets), one whose chain
    // continues in another sidecar (so its removal breaks a link).
    const gone = older.slice(1).find((x) => x.manifests.length > 0 && stored.some((m) => m.prev !== null && hashes(x).has(m.prev) && !x.manifests.includes(m)))!;
    expect(gone, 'a rotated segment of b whose chain continues elsewhere').toBeDefined();
    const [swapA, swapB] = older.filter((x) => x !== gone && objectsOf(stored).some((o) => segmentOf(o) === x.id)) as [Segment, Segment];
    expect(swapB, 'two more rotated segments of b with manifests').toBeDefined();
    const editIn = segments[2]!.find((x) => x.backup >= 1 && objectsOf(stored).some((o) => segmentOf(o) === x.id))!;
    const edited = objectsOf(stored).find((o) => segmentOf(o) === editIn.id)!;

    // What verify must say about each, from the manifests and anchors as written.
    const goneHashes = hashes(gone);
    const brokenLinks = stored.filter((m) => m.prev !== null && goneHashes.has(m.prev) && !gone.manifests.includes(m)).map(keyOf);
    const kept = stored.filter((m) => !gone.manifests.includes(m));
    const missingObjects = names(objectsOf(kept).filter((o) => segmentOf(o) === gone.id));
    const goneKeys = new Set(gone.manifests.map(keyOf));
    const anchors = paths.filter((p) => existsSync(`${p}.anchors`)).flatMap((p) => readFileSync(`${p}.anchors`, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as Sealed<Anchor>).document));
    const missingHeads = [...new Set(anchors.filter((x) => goneKeys.has(x.headManifest)).map((x) => x.headManifest))];
    const changedObjects = names([edited, ...objectsOf(kept).filter((o) => [swapA.id, swapB.id].includes(segmentOf(o)))]);
    // The offsets only removed or changed batches accounted for.
    const damaged = new Set([gone.id, swapA.id, swapB.id]);
    const intact = kept.flatMap((m) => m.objects.filter((o) => !damaged.has(segmentOf(o)) && o.object !== edited.object).map((o) => ({ partition: m.partition, covers: o.covers })));

    rmSync(gone.file);
    rmSync(`${gone.file}.manifests`);
    const bytes = readFileSync(editIn.file);
    const at = rangeOf(edited.object)[1] + 10;
    bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
    writeFileSync(editIn.file, bytes);
    expect(createHash('sha256').update(readFileSync(swapA.file)).digest('hex')).not.toBe(createHash('sha256').update(readFileSync(swapB.file)).digest('hex'));
    renameSync(swapA.file, `${swapA.file}.swap`);
    renameSync(swapB.file, swapA.file);
    renameSync(`${swapA.file}.swap`, swapB.file);

    const bad = await verify(paths, [key.publicFile]);
    expect(bad.code).toBe(1);
    const problems = bad.report.problems;
    const keysOf = (kind: string): string[] => [...new Set(problems.filter((p) => p.kind === kind).map((p) => p.key!))].sort();
    expect(keysOf('broken-chain')).toEqual([...brokenLinks].sort());
    expect(keysOf('missing-object')).toEqual([...missingObjects].sort());
    expect(keysOf('missing-anchored-link')).toEqual([...missingHeads].sort());
    expect(keysOf('changed-object')).toEqual([...changedObjects].sort());
    expect(problems.find((p) => p.kind === 'changed-object' && p.key === edited.object)?.message).toMatch(/its content was changed/);
    expect(brokenLinks.length).toBeGreaterThan(0);
    expect(problems.filter((p) => !['broken-chain', 'missing-object', 'missing-anchored-link', 'changed-object', 'gap'].includes(p.kind))).toEqual([]);
    // Their records are reported missing, unless another (duplicate) batch holds them too.
    const ends = await endOffsets(s.bootstrap, s.topic);
    expect(bad.report.partitions.map((p) => [p.partition, p.checked, p.gaps])).toEqual(
      [0, 1, 2].map((p) => [p, [0, Number(ends.get(p)) - 1], gaps(merge(intact.filter((m) => m.partition === p).flatMap((m) => m.covers)), 0, Number(ends.get(p)) - 1)]),
    );
    expect(problems.filter((p) => p.kind === 'gap').length).toBeGreaterThan(0);
    const text = await runCli(['verify', 'file', ...paths, '--key', key.publicFile], {}, 180_000);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`changed-object: object ${edited.object}: its content was changed`);
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe('result: NOT complete and intact');
    if (process.env['ARCHIVE_TEST_PRINT']) process.stdout.write(text.stdout);
  });
});
