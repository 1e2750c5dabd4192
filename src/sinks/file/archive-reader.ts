// `logstream verify file`'s view of the files of one or more file sinks (several pods: a partition moves
// between instances, each with its own FILE_PATH) as an ArchiveReader for the store-agnostic verify core
// (src/sinks/manifest/verify.ts). For each PATH it reads PATH, PATH.1 … (whatever numbers are there),
// their sidecars and PATH.anchors (segment.ts):
// - manifest keys are derived from each manifest with manifestKey('', …), as the chain named them when
//   writing; a line that is not a manifest gets `<sidecar>:<line>` and a sidecar whose first line is not
//   a segment header gets `<sidecar>:1`, so that verify reports them as bad manifests;
// - an object `<segment id>:<start>-<end>` is that byte range of the data file whose sidecar holds the id;
// - the "objects" no manifest names are the byte ranges of data files that no manifest names
//   (`<file>:<start>-<end>`, end exclusive), a whole file when it has no sidecar.
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { anchorKey, manifestKey } from '../manifest/chain.ts';
import { RETIRED_FORMAT, type Anchor, type Manifest, type Sealed } from '../manifest/document.ts';
import { gaps, merge, type Range } from '../manifest/ranges.ts';
import type { ArchiveReader } from '../manifest/verify.ts';
import { ANCHORS_SUFFIX, SIDECAR_SUFFIX, parseHeader, parseSegmentObject } from './segment.ts';

interface DataFile {
  readonly file: string;
  readonly size: number;
  /** Undefined when no sidecar names it (written before manifests were on, its sidecar removed, or a copy). */
  segmentId: string | undefined;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Reads the layout of the files under `paths` (FILE_PATH values); throws when a path has no file at all. */
export async function fileArchiveReader(paths: readonly string[]): Promise<ArchiveReader> {
  const roots = [...new Set(paths.map((p) => resolve(p)))];
  const documents = new Map<string, Buffer>();
  const manifestKeys: string[] = [];
  const anchorKeys: string[] = [];
  const bySegment = new Map<string, DataFile>();
  const dataFiles: DataFile[] = [];
  /** Byte ranges each segment's manifests name, inclusive. */
  const named = new Map<string, Range[]>();

  const unique = (key: string, n = 2): string => {
    if (!documents.has(key)) return key;
    const dup = key.endsWith('.json') ? `${key.slice(0, -5)}~${n}.json` : `${key}~${n}`;
    return documents.has(dup) ? unique(key, n + 1) : dup;
  };
  const addManifest = (sidecar: string, lineNo: number, line: string): void => {
    let key = `${sidecar}:${lineNo}`;
    try {
      const m = (JSON.parse(line) as Sealed<Manifest>).document;
      const objects = Array.isArray(m.objects) ? m.objects : [];
      if (typeof m.topic === 'string' && Number.isSafeInteger(m.partition) && objects.every((o) => typeof o?.object === 'string' && Array.isArray(o.covers)) && (m.prev === null || typeof m.prev === 'string')) {
        key = manifestKey('', m);
        for (const o of objects) {
          const r = parseSegmentObject(o.object);
          if (r !== undefined && r.end > r.start) named.set(r.segmentId, [...(named.get(r.segmentId) ?? []), [r.start, r.end - 1]]);
        }
      }
    } catch {
      // Not a manifest: verify reports it under the line's own key.
    }
    key = unique(key);
    documents.set(key, Buffer.from(line));
    manifestKeys.push(key);
  };
  const retirements: Array<{ key: string; bytes: Buffer }> = [];
  const addAnchor = (file: string, lineNo: number, line: string): void => {
    let key = `${file}/anchors/line-${lineNo}.json`;
    try {
      const a = (JSON.parse(line) as Sealed<Anchor>).document;
      if ((a as { format?: unknown }).format === RETIRED_FORMAT) {
        retirements.push({ key: `${file}:${lineNo}`, bytes: Buffer.from(line) });
        return;
      }
      if (typeof a.topic === 'string' && Number.isSafeInteger(a.partition) && Number.isSafeInteger(a.height)) key = anchorKey('', a.topic, a.partition, a.height, Math.max(0, Date.parse(String(a.written)) || 0));
    } catch {
      // Not an anchor: verify reports it under the line's own key.
    }
    key = unique(key);
    documents.set(key, Buffer.from(line));
    anchorKeys.push(key);
  };

  for (const root of roots) {
    const dir = dirname(root);
    const base = basename(root);
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`${root}: cannot list ${dir}: ${err.code ?? err.message}`);
    });
    const dataRe = new RegExp(`^${escapeRe(base)}(?:\\.(\\d+))?$`);
    const sidecarRe = new RegExp(`^${escapeRe(base)}(?:\\.(\\d+))?${escapeRe(SIDECAR_SUFFIX)}$`);
    const position = (m: RegExpExecArray): number => (m[1] === undefined ? 0 : Number(m[1]));
    const data = new Map<number, string>();
    const sidecars = new Map<number, string>();
    for (const n of names) {
      const d = dataRe.exec(n);
      if (d) data.set(position(d), join(dir, n));
      const s = sidecarRe.exec(n);
      if (s) sidecars.set(position(s), join(dir, n));
    }
    const anchorsFile = `${root}${ANCHORS_SUFFIX}`;
    const hasAnchors = names.includes(basename(anchorsFile));
    if (data.size === 0 && sidecars.size === 0 && !hasAnchors) throw new Error(`${root}: no such file, and no rotated file, sidecar or anchors file beside it`);

    const files = new Map<number, DataFile>();
    for (const [pos, file] of [...data].sort(([a], [b]) => a - b)) {
      const s = await stat(file);
      if (!s.isFile()) continue;
      const f: DataFile = { file, size: s.size, segmentId: undefined };
      files.set(pos, f);
      dataFiles.push(f);
    }
    for (const [pos, sidecar] of [...sidecars].sort(([a], [b]) => a - b)) {
      const lines = (await readFile(sidecar, 'utf8')).split('\n');
      const header = parseHeader(lines[0] ?? '');
      if (header === undefined) {
        addManifest(sidecar, 1, lines[0] ?? '');
      } else {
        // A rotation stopped between renaming a data file and its sidecar (the sink repairs it at its
        // next start): PATH.i.manifests without PATH.i belongs to PATH.(i+1) when that has no sidecar.
        const moved = !files.has(pos) && !sidecars.has(pos + 1) ? pos + 1 : pos;
        const f = files.get(moved);
        // A second file with an id already seen (a copy) stays unaccounted.
        if (f !== undefined && !bySegment.has(header.segment)) {
          f.segmentId = header.segment;
          bySegment.set(header.segment, f);
        }
      }
      for (let i = 1; i < lines.length; i++) if (lines[i] !== '') addManifest(sidecar, i + 1, lines[i]!);
    }
    if (hasAnchors) {
      const lines = (await readFile(anchorsFile, 'utf8')).split('\n');
      for (let i = 0; i < lines.length; i++) if (lines[i] !== '') addAnchor(anchorsFile, i + 1, lines[i]!);
    }
  }

  return {
    location: roots.join(', '),
    manifestLocation: roots.map((r) => `${r}[.N]${SIDECAR_SUFFIX} and ${r}${ANCHORS_SUFFIX}`).join(', '),
    manifestPrefix: '',
    async *manifestKeys() {
      yield* manifestKeys;
      yield* anchorKeys;
    },
    async *retirements() {
      yield* retirements;
    },
    async *objectKeys() {
      for (const f of dataFiles) {
        if (f.size === 0) continue;
        const covered = f.segmentId === undefined ? [] : merge(named.get(f.segmentId) ?? []);
        for (const [a, b] of gaps(covered, 0, f.size - 1)) yield `${f.file}:${a}-${b + 1}`;
      }
    },
    async get(key) {
      const doc = documents.get(key);
      if (doc !== undefined) return doc;
      const r = parseSegmentObject(key);
      const f = r === undefined ? undefined : bySegment.get(r.segmentId);
      if (r === undefined || f === undefined) return undefined;
      return readRange(f.file, r.start, r.end);
    },
  };
}

/** Bytes [start, end) of a file; fewer when the file is shorter (truncated). */
async function readRange(file: string, start: number, end: number): Promise<Buffer | undefined> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (fh === undefined) return undefined;
  try {
    const buf = Buffer.alloc(end - start);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, start + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}
