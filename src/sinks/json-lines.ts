// The JSON-lines encoding shared by the stdout, stderr and file sinks: one record per line.
import type { PipelineRecord } from '../core/record.ts';

const LF = 0x0a;
const CR = 0x0d;
const OPEN_BRACE = 0x7b;

/** One record as JSON text, without the line break. A record no query touched is shipped as its
 *  original bytes, unless they span several lines (pretty-printed JSON would break the framing). */
export function encodeJson(record: PipelineRecord): Buffer {
  const raw = record.raw;
  if (record.unchanged && raw !== null && raw[0] === OPEN_BRACE && raw.indexOf(LF) < 0 && raw.indexOf(CR) < 0) return raw;
  return Buffer.from(JSON.stringify(record.fields), 'utf8');
}

/** The payloads of a batch, each followed by a line feed, in one buffer. */
export function joinLines(items: ReadonlyArray<{ payload: Buffer }>): Buffer {
  let total = 0;
  for (const i of items) total += i.payload.length + 1;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const i of items) {
    at += i.payload.copy(out, at);
    out[at++] = LF;
  }
  return out;
}
