// `logstream verify`'s judgement, for any store: reads every manifest and anchor, checks signatures,
// the objects' content, each partition's chain and which offsets are accounted for, and says what is
// wrong by key. No I/O of its own: an ArchiveReader (S3) provides the bytes.
import { createHash, type KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { ANCHOR_FORMAT, MANIFEST_FORMAT, RETIRED_FORMAT, manifestHash, open, type Anchor, type Manifest, type ObjectEntry, type Retired } from './document.ts';
import { manifestKey } from './chain.ts';
import { count, gaps, merge, overlaps, rangeText, type Range } from './ranges.ts';
import { mapLimit } from '../../core/map-limit.ts';

export interface ArchiveReader {
  /** Where the archive is, for the report (e.g. s3://bucket/prefix). */
  readonly location: string;
  readonly manifestLocation: string;
  /** Prefix of manifest keys ('' = none): manifests are named from it. */
  readonly manifestPrefix: string;
  /** Every key under the manifest prefix. */
  manifestKeys(): AsyncIterable<string>;
  /** Every log object key (not manifests, not the test object). */
  objectKeys(): AsyncIterable<string>;
  /** Stored bytes, undefined when the key does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  /** A kept earlier version of `key` whose SHA-256 (hex) is `sha256` (a versioned bucket, Object Lock):
   *  its id, else undefined. */
  retainedVersion?(key: string, sha256: string): Promise<string | undefined>;
  /** Signed records of objects the store deleted on purpose (Retired documents), if it keeps any. */
  retirements?(): AsyncIterable<{ key: string; bytes: Buffer }>;
}

export type ProblemKind =
  | 'bad-manifest'
  | 'misplaced-manifest'
  | 'bad-anchor'
  | 'bad-retirement'
  | 'missing-object'
  | 'changed-object'
  | 'broken-chain'
  | 'missing-anchored-link'
  | 'gap';

export interface Problem {
  readonly kind: ProblemKind;
  readonly key?: string;
  readonly topic?: string;
  readonly partition?: number;
  readonly message: string;
  /** The original content is still kept as this version of the object (it can be restored). */
  readonly retainedVersion?: string;
}

export interface PartitionReport {
  topic: string;
  partition: number;
  /** The offsets checked: from the first the chain accounts for to the last (or the latest anchor's). */
  checked: Range | null;
  complete: boolean;
  /** Manifests (chain links), and intact objects with records in the range. */
  links: number;
  objects: number;
  /** Offsets of records the archive holds, each counted once (duplicates apart). */
  distinctRecords: number;
  records: number;
  summaries: number;
  filtered: number;
  deadLettered: number;
  empty: number;
  duplicates: { records: number; ranges: Range[] };
  gaps: Range[];
  chainStarts: number;
  forks: number;
  latestAnchor: { height: number; next: number; written: string } | null;
  /** History the store deleted on purpose (file rotation past FILE_BACKUP_COUNT): links up to
   *  `maxHeight` and offsets up to `maxOffset`, in `objects` objects of the range. Not a problem. */
  retired: { objects: number; maxHeight: number; maxOffset: number; deletions: string[] } | null;
}

export interface Report {
  ok: boolean;
  location: string;
  manifestLocation: string;
  keyIds: string[];
  timeRange: { since: string | null; until: string | null };
  manifests: number;
  anchors: number;
  objectsChecked: number;
  partitions: PartitionReport[];
  problems: Problem[];
  /** Objects no manifest names (an upload whose manifest was never written, or not logstream's). */
  unaccountedObjects: { count: number; keys: string[] };
}

export interface VerifyOptions {
  keys: ReadonlyMap<string, KeyObject>;
  /** Only links with records in this Kafka-time window (epoch ms) are checked for content and gaps. */
  since?: number;
  until?: number;
  concurrency?: number;
}

interface Link {
  key: string;
  m: Manifest;
  hash: string;
}

/** One object a manifest records. */
interface Entry {
  link: Link;
  o: ObjectEntry;
  /** Has records in the time range checked. */
  selected: boolean;
}

type ObjectState = 'ok' | 'missing' | 'changed' | 'retired';

const UNACCOUNTED_LISTED = 20;

function lineCount(key: string, bytes: Buffer): number {
  const plain = key.endsWith('.gz') ? gunzipSync(bytes) : bytes;
  let n = 0;
  for (let i = plain.indexOf(10); i !== -1; i = plain.indexOf(10, i + 1)) n++;
  return n;
}

const first = (o: ObjectEntry): number => o.covers[0]?.[0] ?? Infinity;
const last = (o: ObjectEntry): number => o.covers[o.covers.length - 1]?.[1] ?? -Infinity;

export async function verifyArchive(reader: ArchiveReader, o: VerifyOptions): Promise<Report> {
  const problems: Problem[] = [];
  const limit = o.concurrency ?? 16;
  const manifestKeys: string[] = [];
  const anchorKeys: string[] = [];
  for await (const k of reader.manifestKeys()) (/\/anchors\/[^/]+\.json$/.test(k) ? anchorKeys : manifestKeys).push(k);

  // Manifests: signature, then the key they are stored at.
  const links: Link[] = [];
  const opened = await mapLimit(manifestKeys, limit, async (key) => ({ key, bytes: await reader.get(key) }));
  for (const { key, bytes } of opened) {
    if (bytes === undefined) continue; // removed while listing
    const r = open<Manifest>(bytes, MANIFEST_FORMAT, o.keys);
    if (!r.ok) {
      problems.push({ kind: 'bad-manifest', key, message: `manifest ${key}: ${r.why}` });
      continue;
    }
    const m = r.document;
    const expected = manifestKey(reader.manifestPrefix, m);
    if (expected !== key) {
      problems.push({ kind: 'misplaced-manifest', key, topic: m.topic, partition: m.partition, message: `manifest ${key} records ${m.objects.map((x) => x.object).join(', ')} and belongs at ${expected}: it was moved or copied` });
      continue;
    }
    links.push({ key, m, hash: manifestHash(m) });
  }
  const inRange = (x: ObjectEntry): boolean => (o.since === undefined || x.time[1] >= o.since) && (o.until === undefined || x.time[0] <= o.until);
  const entries: Entry[] = links.flatMap((link) => link.m.objects.map((x) => ({ link, o: x, selected: inRange(x) })));

  // Anchors.
  const anchors: Array<{ key: string; a: Anchor }> = [];
  const openedAnchors = await mapLimit(anchorKeys, limit, async (key) => ({ key, bytes: await reader.get(key) }));
  for (const { key, bytes } of openedAnchors) {
    if (bytes === undefined) continue;
    const r = open<Anchor>(bytes, ANCHOR_FORMAT, o.keys);
    if (r.ok) anchors.push({ key, a: r.document });
    else problems.push({ kind: 'bad-anchor', key, message: `anchor ${key}: ${r.why}` });
  }

  // Retirements: objects the store deleted on purpose, and the history that went with them.
  const retiredPrefixes: string[] = [];
  const retiredBy = new Map<string, { maxHeight: number; maxOffset: number; deletions: string[] }>();
  for await (const { key, bytes } of reader.retirements?.() ?? []) {
    const r = open<Retired>(bytes, RETIRED_FORMAT, o.keys);
    if (!r.ok) {
      problems.push({ kind: 'bad-retirement', key, message: `retirement ${key}: ${r.why}` });
      continue;
    }
    retiredPrefixes.push(r.document.objectPrefix);
    for (const p of r.document.partitions) {
      const id = `${p.topic}\u0000${p.partition}`;
      const was = retiredBy.get(id) ?? { maxHeight: 0, maxOffset: -1, deletions: [] };
      retiredBy.set(id, { maxHeight: Math.max(was.maxHeight, p.maxHeight), maxOffset: Math.max(was.maxOffset, p.maxOffset), deletions: [...was.deletions, `${r.document.what} at ${r.document.written}`] });
    }
  }
  const isRetired = (object: string): boolean => retiredPrefixes.some((p) => object.startsWith(p));

  // Objects with records in the range: present, same bytes, same number of lines (each read once).
  const bySha = new Map<string, string>();
  for (const e of entries) bySha.set(e.o.sha256, e.o.object);
  const states = new Map<string, ObjectState>();
  const stateKey = (x: ObjectEntry): string => `${x.object}\u0000${x.sha256}`;
  for (const e of entries) if (isRetired(e.o.object)) states.set(stateKey(e.o), 'retired');
  const toRead = [...new Map(entries.filter((e) => e.selected && !isRetired(e.o.object)).map((e) => [stateKey(e.o), e])).values()];
  await mapLimit(toRead, Math.min(limit, 8), async ({ o: x, link }) => {
    const where = { key: x.object, topic: link.m.topic, partition: link.m.partition };
    /** Where the original is still kept, said with the problem. */
    const retained = async (message: string): Promise<Pick<Problem, 'message' | 'retainedVersion'>> => {
      const v = await reader.retainedVersion?.(x.object, x.sha256);
      return v === undefined ? { message } : { message: `${message}; the original is kept as version ${v}`, retainedVersion: v };
    };
    const bytes = await reader.get(x.object);
    let state: ObjectState = 'ok';
    if (bytes === undefined) {
      state = 'missing';
      problems.push({ kind: 'missing-object', ...where, ...(await retained(`object ${x.object} is missing (manifest ${link.key} records ${x.records} records in it, offsets ${x.offsets.map(rangeText).join(',')})`)) });
    } else {
      const sha = createHash('sha256').update(bytes).digest('hex');
      if (sha !== x.sha256) {
        state = 'changed';
        const other = bySha.get(sha);
        const what = other !== undefined && other !== x.object ? `it holds the content of ${other} (objects swapped or copied)` : `its content was changed (SHA-256 ${sha}, ${bytes.length} bytes; the manifest says ${x.sha256}, ${x.bytes} bytes)`;
        problems.push({ kind: 'changed-object', ...where, ...(await retained(`object ${x.object}: ${what}`)) });
      } else {
        const lines = lineCount(x.object, bytes);
        if (lines !== x.records) {
          state = 'changed';
          problems.push({ kind: 'changed-object', ...where, message: `object ${x.object} has ${lines} lines, its manifest says ${x.records} records` });
        }
      }
    }
    states.set(stateKey(x), state);
  });

  // Per partition: the chain, the anchors, the offsets accounted for.
  const groups = new Map<string, Link[]>();
  for (const { a } of anchors) groups.set(`${a.topic}\u0000${a.partition}`, []);
  for (const l of links) {
    const id = `${l.m.topic}\u0000${l.m.partition}`;
    groups.set(id, [...(groups.get(id) ?? []), l]);
  }
  const partitions: PartitionReport[] = [];
  for (const [id, group] of [...groups].sort(([x], [y]) => x.localeCompare(y, 'en', { numeric: true }))) {
    const [topic, p] = id.split('\u0000') as [string, string];
    const partition = Number(p);
    const retired = retiredBy.get(id);
    /** A link at this height went with a deletion the store recorded. */
    const retiredHeight = (h: number): boolean => retired !== undefined && h <= retired.maxHeight;
    const byHash = new Map(group.map((l) => [l.hash, l]));
    const children = new Map<string, number>();
    let chainStarts = 0;
    for (const l of group) {
      if (l.m.prev === null) {
        chainStarts++;
        continue;
      }
      children.set(l.m.prev, (children.get(l.m.prev) ?? 0) + 1);
      const prev = byHash.get(l.m.prev);
      if (prev === undefined && retiredHeight(l.m.height - 1)) continue; // the chain goes on from retired history
      if (prev === undefined) {
        problems.push({ kind: 'broken-chain', key: l.key, topic, partition, message: `${topic}/${partition}: the link before ${l.key} is missing: manifest ${l.m.prevManifest} (height ${l.m.height - 1}) was removed or replaced` });
      } else if (prev.m.height !== l.m.height - 1) {
        problems.push({ kind: 'broken-chain', key: l.key, topic, partition, message: `${topic}/${partition}: ${l.key} has height ${l.m.height} after ${prev.key} at ${prev.m.height}` });
      }
    }
    const forks = [...children.values()].filter((n) => n > 1).length;
    let latest: Anchor | undefined;
    const seen = new Set<string>();
    for (const { key, a } of anchors) {
      if (a.topic !== topic || a.partition !== partition) continue;
      if (latest === undefined || a.height > latest.height || (a.height === latest.height && a.written > latest.written)) latest = a;
      if (seen.has(a.head)) continue;
      seen.add(a.head);
      if (!byHash.has(a.head) && !retiredHeight(a.height)) problems.push({ kind: 'missing-anchored-link', key: a.headManifest, topic, partition, message: `${topic}/${partition}: manifest ${a.headManifest} (height ${a.height}), the chain's head when anchored at ${a.written} (${key}), is missing: the newest objects were removed` });
    }

    const chosen = entries.filter((e) => e.selected && e.link.m.topic === topic && e.link.m.partition === partition);
    // An object recorded twice (again by a new owner after a failover) holds its records once.
    const intact = [...new Map(chosen.filter((e) => states.get(stateKey(e.o)) === 'ok').map((e) => [e.o.object, e.o])).values()];
    const gone = [...new Map(chosen.filter((e) => states.get(stateKey(e.o)) === 'retired').map((e) => [e.o.object, e.o])).values()];
    // Offsets of deleted-on-purpose objects are accounted for (as retired), not missing.
    const covered = merge([...intact, ...gone].flatMap((x) => x.covers));
    const whole = o.since === undefined && o.until === undefined;
    let checked: Range | null = null;
    if (chosen.length > 0 || (latest !== undefined && whole)) {
      let from = Math.min(...chosen.map((e) => first(e.o)));
      let to = Math.max(...chosen.map((e) => last(e.o)));
      if (latest !== undefined && whole) to = Math.max(to, latest.next - 1);
      if (!Number.isFinite(from)) from = 0;
      if (Number.isFinite(to) && to >= from) checked = [from, to];
    }
    const holes = checked === null ? [] : gaps(covered, checked[0], checked[1]);
    for (const g of holes) {
      const damaged = [...new Set(chosen.filter((e) => states.get(stateKey(e.o)) !== 'ok' && e.o.covers.some(([a, b]) => a <= g[1] && b >= g[0])).map((e) => e.o.object))];
      const why = damaged.length ? `accounted for only by ${damaged.join(', ')}, which ${damaged.length === 1 ? 'is' : 'are'} missing or changed` : 'no manifest accounts for them';
      problems.push({ kind: 'gap', topic, partition, message: `${topic}/${partition}: offsets ${rangeText(g)} (${count([g])}) are not in the archive: ${why}` });
    }
    const dup = overlaps(intact.map((x) => x.offsets));
    const sum = (f: (x: ObjectEntry) => number): number => intact.reduce((n, x) => n + f(x), 0);
    partitions.push({
      topic,
      partition,
      checked,
      complete: holes.length === 0,
      links: group.length,
      objects: intact.length,
      distinctRecords: count(merge(intact.flatMap((x) => x.offsets))),
      records: sum((x) => x.records),
      summaries: sum((x) => x.summaries),
      filtered: sum((x) => x.filtered),
      deadLettered: sum((x) => x.deadLettered),
      empty: sum((x) => x.empty),
      duplicates: { records: count(dup), ranges: dup },
      gaps: holes,
      chainStarts,
      forks,
      latestAnchor: latest ? { height: latest.height, next: latest.next, written: latest.written } : null,
      retired: retired === undefined && gone.length === 0 ? null : { objects: gone.length, maxHeight: retired?.maxHeight ?? 0, maxOffset: Math.max(retired?.maxOffset ?? -1, ...gone.map(last)), deletions: retired?.deletions ?? [] },
    });
  }

  // Objects that no manifest names.
  const named = new Set(entries.map((e) => e.o.object));
  const unaccounted: string[] = [];
  let unaccountedCount = 0;
  for await (const k of reader.objectKeys()) {
    if (named.has(k)) continue;
    unaccountedCount++;
    if (unaccounted.length < UNACCOUNTED_LISTED) unaccounted.push(k);
  }

  return {
    ok: problems.length === 0,
    location: reader.location,
    manifestLocation: reader.manifestLocation,
    keyIds: [...o.keys.keys()],
    timeRange: { since: o.since === undefined ? null : new Date(o.since).toISOString(), until: o.until === undefined ? null : new Date(o.until).toISOString() },
    manifests: links.length,
    anchors: anchors.length,
    objectsChecked: toRead.length,
    partitions,
    problems,
    unaccountedObjects: { count: unaccountedCount, keys: unaccounted },
  };
}

/** The report for a person. */
export function reportText(r: Report): string {
  const lines: string[] = [];
  lines.push(`archive ${r.location} (manifests ${r.manifestLocation}), keys ${r.keyIds.join(', ')}`);
  if (r.timeRange.since !== null || r.timeRange.until !== null) lines.push(`records from ${r.timeRange.since ?? 'the start'} to ${r.timeRange.until ?? 'the end'} (Kafka time)`);
  lines.push(`${r.manifests} manifests, ${r.anchors} anchors, ${r.objectsChecked} objects read and checked`);
  for (const p of r.partitions) {
    const range = p.checked === null ? 'no offsets' : `offsets ${rangeText(p.checked)}`;
    const state = p.complete ? 'complete' : `INCOMPLETE (${p.gaps.length} gap${p.gaps.length === 1 ? '' : 's'}: ${p.gaps.slice(0, 5).map(rangeText).join(', ')}${p.gaps.length > 5 ? ', …' : ''})`;
    lines.push(`${p.topic}/${p.partition}: ${range} ${state}`);
    lines.push(`  ${p.distinctRecords} records (${p.records} lines with duplicates and ${p.summaries} summaries) in ${p.objects} objects, ${p.links} manifests; not shipped: ${p.filtered} filtered, ${p.deadLettered} dead-lettered, ${p.empty} offsets without a record`);
    lines.push(`  duplicates: ${p.duplicates.records} records${p.duplicates.records ? ` (offsets ${p.duplicates.ranges.slice(0, 5).map(rangeText).join(', ')}${p.duplicates.ranges.length > 5 ? ', …' : ''}: delivered again after a failover, at-least-once)` : ''}`);
    const anchor = p.latestAnchor ? `latest anchor height ${p.latestAnchor.height} at ${p.latestAnchor.written}` : 'no anchor';
    if (p.retired) lines.push(`  retired on purpose: history up to offset ${p.retired.maxOffset} (links up to height ${p.retired.maxHeight}, ${p.retired.objects} objects of the range): ${p.retired.deletions.slice(-3).join('; ')}${p.retired.deletions.length > 3 ? '; …' : ''}`);
    lines.push(`  chain: ${p.chainStarts} start${p.chainStarts === 1 ? '' : 's'}, ${p.forks} fork${p.forks === 1 ? '' : 's'} (each a failover: the branch not continued holds records read again), ${anchor}`);
  }
  if (r.unaccountedObjects.count > 0) lines.push(`${r.unaccountedObjects.count} object(s) without a manifest (an upload whose manifest was never written, e.g. a crash between the two: its records were delivered again), e.g. ${r.unaccountedObjects.keys.slice(0, 3).join(', ')}`);
  if (r.problems.length) {
    lines.push(`PROBLEMS (${r.problems.length}):`);
    for (const p of r.problems) lines.push(`  ${p.kind}: ${p.message}`);
  }
  lines.push(r.ok ? 'result: complete and intact' : 'result: NOT complete and intact');
  return `${lines.join('\n')}\n`;
}
