// What the file sink records before rotation deletes a segment (FILE_BACKUP_COUNT): a Retired document
// (src/sinks/manifest/document.ts) naming the segment and, per partition, the highest link and offset
// its sidecar's manifests hold, so that `verify file` reports that history as deleted on purpose.
import { basename } from 'node:path';
import { RETIRED_FORMAT, type Manifest, type Retired, type Sealed } from '../manifest/document.ts';

export function retirementOf(path: string, segmentId: string, sidecar: string, o: { backupCount: number; writer: string; now?: number }): Retired {
  const parts = new Map<string, { topic: string; partition: number; maxHeight: number; maxOffset: number }>();
  for (const line of sidecar.split('\n').slice(1)) {
    let m: Manifest | undefined;
    try {
      m = (JSON.parse(line) as Sealed<Manifest>).document;
    } catch {
      continue;
    }
    if (typeof m?.topic !== 'string' || !Number.isSafeInteger(m.partition) || !Array.isArray(m.objects)) continue;
    const id = `${m.topic}\u0000${m.partition}`;
    const p = parts.get(id) ?? { topic: m.topic, partition: m.partition, maxHeight: 0, maxOffset: -1 };
    p.maxHeight = Math.max(p.maxHeight, m.height);
    for (const x of m.objects) p.maxOffset = Math.max(p.maxOffset, x.covers[x.covers.length - 1]?.[1] ?? -1);
    parts.set(id, p);
  }
  return {
    format: RETIRED_FORMAT,
    objectPrefix: `${segmentId}:`,
    what: `${basename(path)} (segment ${segmentId}), deleted by rotation (FILE_BACKUP_COUNT=${o.backupCount})`,
    partitions: [...parts.values()],
    writer: o.writer,
    written: new Date(o.now ?? Date.now()).toISOString(),
  };
}
