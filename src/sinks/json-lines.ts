// The JSON-lines encoding shared by the stdout, stderr and file sinks: one record per line.
import type { PipelineRecord } from '../core/record.ts';

export function encodeJsonLine(record: PipelineRecord): Buffer {
  return Buffer.from(`${JSON.stringify(record.fields)}\n`, 'utf8');
}

export function concatPayloads(items: ReadonlyArray<{ payload: Buffer }>): Buffer {
  return items.length === 1 ? items[0]!.payload : Buffer.concat(items.map((i) => i.payload));
}
