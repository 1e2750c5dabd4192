// Names of the files an archive file sink keeps beside its data, and of the byte ranges manifests name.
//
// A segment is one data file (FILE_PATH, later PATH.1 … PATH.N as it is rotated). With manifests on,
// each has a sidecar `<segment>.manifests` whose first line gives the segment a random id that moves
// with it through renames; the other lines are the manifests written while it was the current segment.
// A manifest names its batch as `<segment id>:<start>-<end>` (byte offsets, end exclusive), so it can
// sit in a later segment's sidecar than its data. Chain anchors go to `FILE_PATH.anchors` (never rotated).
import { randomUUID } from 'node:crypto';

export const SIDECAR_SUFFIX = '.manifests';
export const ANCHORS_SUFFIX = '.anchors';

export const sidecarPath = (segmentPath: string): string => `${segmentPath}${SIDECAR_SUFFIX}`;
export const anchorsPath = (path: string): string => `${path}${ANCHORS_SUFFIX}`;
/** PATH for 0, PATH.n for the n-th backup. */
export const segmentPath = (path: string, backup: number): string => (backup === 0 ? path : `${path}.${backup}`);

/** The first line of a sidecar. */
export interface SegmentHeader {
  readonly segment: string;
  readonly created: string;
}

export function newSegmentHeader(now = Date.now()): SegmentHeader {
  return { segment: randomUUID(), created: new Date(now).toISOString() };
}

export const headerLine = (h: SegmentHeader): string => `${JSON.stringify({ segment: h.segment, created: h.created })}\n`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The header in a sidecar's first line, or undefined when it is not one. */
export function parseHeader(line: string): SegmentHeader | undefined {
  let h: unknown;
  try {
    h = JSON.parse(line);
  } catch {
    return undefined;
  }
  const { segment, created } = (h ?? {}) as Record<string, unknown>;
  return typeof segment === 'string' && UUID.test(segment) && typeof created === 'string' ? { segment, created } : undefined;
}

/** What a manifest's `object` is for the file sink: a batch's bytes in a segment. */
export interface SegmentRange {
  readonly segmentId: string;
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

export const segmentObject = (r: SegmentRange): string => `${r.segmentId}:${r.start}-${r.end}`;

export function parseSegmentObject(object: string): SegmentRange | undefined {
  const m = /^([0-9a-f-]{36}):(\d+)-(\d+)$/.exec(object);
  if (m === null) return undefined;
  const start = Number(m[2]);
  const end = Number(m[3]);
  return Number.isSafeInteger(start) && Number.isSafeInteger(end) && end >= start ? { segmentId: m[1]!, start, end } : undefined;
}
