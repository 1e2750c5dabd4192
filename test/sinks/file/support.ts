// Helpers of the file sink's archive tests: keys, records with their accounting, a sink with manifests,
// and reading what it wrote back (sidecars, anchors, byte ranges).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PipelineRecord } from '../../../src/core/record.ts';
import type { Batch, Sink } from '../../../src/delivery/sink.ts';
import { fileSink } from '../../../src/sinks/file/index.ts';
import type { FileConfig } from '../../../src/sinks/file/config.ts';
import { signingKey, verifyingKeys, type Anchor, type Manifest, type Sealed } from '../../../src/sinks/manifest/document.ts';
import { fileArchiveReader } from '../../../src/sinks/file/archive-reader.ts';
import { verifyArchive, type Report } from '../../../src/sinks/manifest/verify.ts';
import { createLogger, type Logger } from '../../../src/telemetry/logger.ts';

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'ls-file-archive-'));

export { keys, type Keys } from '../../support/archive.ts';
import type { Keys } from '../../support/archive.ts';

/** A record at `offset` of topic t, partition `partition`; `from` < offset: offsets before it were filtered. */
export function record(partition: number, offset: number, from?: number): PipelineRecord {
  const raw = Buffer.from(JSON.stringify({ p: partition, o: offset, pad: 'x'.repeat(20) }));
  return {
    meta: { topic: 't', partition, offset: String(offset), timestamp: 1_700_000_000_000 + offset, key: null, headers: {} },
    raw,
    fields: JSON.parse(raw.toString()) as Record<string, unknown>,
    size: raw.length,
    unchanged: true,
    ...(from !== undefined && from < offset ? { accounted: { from, filtered: offset - from, deadLettered: 0 } } : {}),
  };
}

export function batchOf(sink: Sink, records: PipelineRecord[]): Batch {
  const items = records.map((r) => ({ record: r, payload: sink.encode(r) }));
  return { key: `t/${records[0]!.meta.partition}`, items, bytes: items.reduce((n, i) => n + i.payload.length, 0) };
}

export const silent: Logger = createLogger({ level: 'silent' });

export function archiveSink(path: string, k: Keys, o: Partial<FileConfig> = {}, logger: Logger = silent): Sink {
  return fileSink.create({ path, maxBytes: 0, backupCount: 5, fsync: false, manifests: { key: signingKey(k.privatePem), anchorIntervalMs: 60_000 }, ...o }, { name: 'file', logger, countTruncated: () => undefined });
}

/** Sends records of one partition in batches of `per`, from offset `first`. */
export async function sendRange(sink: Sink, partition: number, first: number, last: number, per: number): Promise<void> {
  for (let o = first; o <= last; o += per) {
    const rs: PipelineRecord[] = [];
    for (let i = o; i <= Math.min(last, o + per - 1); i++) rs.push(record(partition, i));
    await sink.send(batchOf(sink, rs), new AbortController().signal);
  }
}

export const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');

export interface SidecarContent {
  segment: string;
  manifests: Array<Sealed<Manifest>>;
}

export function sidecar(file: string): SidecarContent {
  const [head, ...rest] = lines(file);
  return { segment: (JSON.parse(head!) as { segment: string }).segment, manifests: rest.map((l) => JSON.parse(l) as Sealed<Manifest>) };
}

export const anchors = (file: string): Array<Sealed<Anchor>> => lines(file).map((l) => JSON.parse(l) as Sealed<Anchor>);

export async function verifyFiles(paths: string[], publicPems: string[]): Promise<Report> {
  return verifyArchive(await fileArchiveReader(paths), { keys: verifyingKeys(publicPems) });
}
