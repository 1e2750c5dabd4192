// Kafka message → pipeline record. A JSON object is parsed; anything else that is valid UTF-8 is kept
// as {"_raw": "<text>"} and shipped. Bytes that are not UTF-8, and empty values, cannot be shipped
// faithfully as JSON: they go to the dead-letter topic with their original bytes.
import type { Fields, RecordMeta } from '../../core/record.ts';
import type { Decoded, FetchedMessage, RecordDecoder } from './interface.ts';
import { parseMembers, scanJsonObject, WantedNames } from './json-scan.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function decodeValue(value: Buffer | null): Decoded {
  if (value === null || value.length === 0) return { ok: false, code: 'EMPTY_RECORD', message: 'the record has no value' };
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return { ok: false, code: 'INVALID_UTF8', message: 'the record value is not valid UTF-8' };
  }
  // Fast path: only something that looks like an object is worth a JSON.parse attempt.
  const first = text.charCodeAt(0);
  if (first === 0x7b /* { */ || first === 0x20 || first === 0x0a || first === 0x0d || first === 0x09) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return { ok: true, fields: parsed as Fields, raw: false };
    } catch {
      // not JSON: shipped as _raw below
    }
  }
  return { ok: true, fields: { _raw: text }, raw: true };
}

/** The default decoder: a JSON object, else the text as `_raw` (synchronous). */
export const jsonDecoder: RecordDecoder = { decode: (value) => decodeValue(value) };

/**
 * For a route whose query only filters (`*`, or `where` conditions reading `fields`): a JSON object is
 * validated in its bytes and only the members the conditions read are parsed (`partial`); anything the
 * scan cannot vouch for is decoded as jsonDecoder does, which decides (dead letter, `_raw`).
 */
export function filterDecoder(fields: readonly string[]): RecordDecoder {
  const wanted = new WantedNames(fields);
  return {
    decode(value) {
      if (value === null || value.length === 0) return decodeValue(value);
      const spans = scanJsonObject(value, wanted);
      if (spans === null) return decodeValue(value);
      return { ok: true, fields: parseMembers(value, spans, wanted), raw: false, partial: true };
    },
  };
}

/** The decoder for a route's query: filterDecoder when it only filters, else jsonDecoder. */
export function decoderFor(query: { readonly filterFields: readonly string[] | undefined }): RecordDecoder {
  return query.filterFields === undefined ? jsonDecoder : filterDecoder(query.filterFields);
}

/** The record's metadata as decoding completed it: the registry schema, and the key as KAFKA_KEY_FORMAT read it. */
export function decodedMeta(meta: RecordMeta, decoded: Extract<Decoded, { ok: true }>): RecordMeta {
  if (decoded.schema === undefined && decoded.key === undefined) return meta;
  return { ...meta, ...(decoded.schema ? { schema: decoded.schema } : {}), ...(decoded.key !== undefined ? { key: decoded.key } : {}) };
}

/** True when the value's bytes are the JSON of the decoded fields (a JSON object, not `_raw` text nor a schema-registry format). */
export const valueIsJson = (decoded: Extract<Decoded, { ok: true }>): boolean => !decoded.raw && decoded.converted !== true;

export function messageMeta(topic: string, partition: number, m: FetchedMessage): RecordMeta {
  const headers: Record<string, string> = {};
  if (m.headers) {
    for (const [k, v] of Object.entries(m.headers)) {
      if (v === undefined) continue;
      const one = Array.isArray(v) ? v[v.length - 1] : v;
      if (one !== undefined) headers[k] = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
    }
  }
  return {
    topic,
    partition,
    offset: m.offset,
    timestamp: Number(m.timestamp),
    key: m.key === null ? null : m.key.toString('utf8'),
    headers,
  };
}
