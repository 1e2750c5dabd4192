// KAFKA_VALUE_FORMAT: how a route turns a record's value into fields.
//   json         a JSON object; anything else that is UTF-8 text is shipped as {"_raw": text} (default)
//   text         always {"_raw": text}, even when the text is JSON (unparsed logs)
//   avro, protobuf, json-schema
//                the schema-registry wire format with a schema of that type; anything else is
//                dead-lettered with the reason
//   auto         a value starting with the magic byte 0 is read by its schema, whatever its type;
//                anything else as json
// A schema the registry has not answered for yet makes the decode asynchronous: only that record's
// partition waits (the Kafka interface's RecordDecoder contract).
import type { Fields } from '../../core/record.ts';
import type { Decoded, RecordDecoder } from '../kafka/interface.ts';
import { decodeValue } from '../kafka/decode.ts';
import { readAvro } from './avro.ts';
import { PayloadError } from './cursor.ts';
import type { CompiledSchema, SchemaRegistry } from './registry.ts';
import { isFramed, messageIndexes, schemaIdOf } from './wire-format.ts';

export const VALUE_FORMATS = ['json', 'text', 'auto', 'avro', 'protobuf', 'json-schema'] as const;
export type ValueFormat = (typeof VALUE_FORMATS)[number];

/** KAFKA_KEY_FORMAT: text (UTF-8, as before), or a schema-registry format read as for values. */
export const KEY_FORMATS = ['text', 'auto', 'avro', 'protobuf', 'json-schema'] as const;
export type KeyFormat = (typeof KEY_FORMATS)[number];

/** True for the formats that need SCHEMA_REGISTRY_URL. */
export const usesRegistry = (f: ValueFormat | KeyFormat): boolean => f !== 'json' && f !== 'text';

const utf8 = new TextDecoder('utf-8', { fatal: true });

const KIND_OF_FORMAT: Partial<Record<ValueFormat, CompiledSchema['kind']>> = { avro: 'avro', protobuf: 'protobuf', 'json-schema': 'json' };
const FORMAT_OF_KIND: Record<string, string> = { avro: 'Avro', protobuf: 'Protobuf', json: 'JSON Schema' };

/** Text as {"_raw": text}; not UTF-8, or empty: dead-lettered (as the json format does). */
export const textDecoder: RecordDecoder = {
  decode(value) {
    if (value === null || value.length === 0) return decodeValue(value);
    try {
      return { ok: true, fields: { _raw: utf8.decode(value) }, raw: true };
    } catch {
      return { ok: false, code: 'INVALID_UTF8', message: 'the record value is not valid UTF-8' };
    }
  },
};

/**
 * The decoder of `format`. `json` is the route's JSON decoder (which may scan instead of parse for a
 * filter-only query); `registry` is required by the schema-registry formats.
 */
export function valueDecoder(format: ValueFormat, json: RecordDecoder, registry: SchemaRegistry | undefined): RecordDecoder {
  if (format === 'json') return json;
  if (format === 'text') return textDecoder;
  if (!registry) throw new Error(`KAFKA_VALUE_FORMAT=${format} needs SCHEMA_REGISTRY_URL`);
  const expect = KIND_OF_FORMAT[format];
  if (format === 'auto') {
    return { decode: (value, meta) => (isFramed(value) ? decodeFramed(value, registry, undefined, format) : json.decode(value, meta)) };
  }
  return {
    decode(value) {
      if (value === null || value.length === 0) return decodeValue(value);
      if (!isFramed(value)) return { ok: false, code: 'NOT_FRAMED', message: `the value is not in the schema-registry wire format (magic byte 0, then a 4-byte schema id), as KAFKA_VALUE_FORMAT=${format} says it is` };
      return decodeFramed(value, registry, expect, format);
    },
  };
}

/**
 * `values` with the key read as `format` says: a decoded key becomes `Decoded.key`, its JSON text (a
 * string key: the string). A key that cannot be read dead-letters the record (code KEY_<reason>), as a
 * value would; under `auto` a key that is not framed stays text. Waits, like values, only for a schema
 * not cached.
 */
export function withKeys(format: KeyFormat, values: RecordDecoder, registry: SchemaRegistry | undefined): RecordDecoder {
  if (format === 'text') return values;
  if (!registry) throw new Error(`KAFKA_KEY_FORMAT=${format} needs SCHEMA_REGISTRY_URL`);
  const expect = KIND_OF_FORMAT[format];
  const readKey = (key: Buffer | null | undefined): Decoded | Promise<Decoded> | undefined => {
    if (key === null || key === undefined || key.length === 0) return undefined;
    if (!isFramed(key)) {
      if (format === 'auto') return undefined;
      return { ok: false, code: 'NOT_FRAMED', message: `the key is not in the schema-registry wire format, as KAFKA_KEY_FORMAT=${format} says it is` };
    }
    return decodeFramed(key, registry, expect, format, 'KAFKA_KEY_FORMAT');
  };
  const combine = (value: Decoded, key: Decoded | undefined): Decoded => {
    if (key === undefined || !value.ok) return value;
    if (!key.ok) return { ok: false, code: `KEY_${key.code}`, message: `the key: ${key.message}` };
    const text = key.raw ? (key.fields['_raw'] as string) : Object.hasOwn(key.fields, 'value') && Object.keys(key.fields).length === 1 ? JSON.stringify(key.fields['value']) : JSON.stringify(key.fields);
    return { ...value, key: text };
  };
  return {
    decode(value, meta, key) {
      const k = readKey(key);
      const v = values.decode(value, meta, key);
      if (k instanceof Promise || v instanceof Promise) return Promise.all([v, k]).then(([vv, kk]) => combine(vv, kk));
      return combine(v, k);
    },
  };
}

function decodeFramed(value: Buffer, registry: SchemaRegistry, expect: CompiledSchema['kind'] | undefined, format: ValueFormat, setting = 'KAFKA_VALUE_FORMAT'): Decoded | Promise<Decoded> {
  const found = registry.lookup(schemaIdOf(value));
  if (found instanceof Promise) return found.then((s) => decodeWith(s, value, expect, format, setting));
  return decodeWith(found, value, expect, format, setting);
}

/** Decodes a framed value with its schema; every failure is a dead letter naming its reason. */
export function decodeWith(s: CompiledSchema, value: Buffer, expect: CompiledSchema['kind'] | undefined, format: ValueFormat, setting = 'KAFKA_VALUE_FORMAT'): Decoded {
  if (s.kind === 'missing') return { ok: false, code: 'SCHEMA_NOT_FOUND', message: s.message };
  if (s.kind === 'invalid') return { ok: false, code: 'SCHEMA_INVALID', message: s.message };
  if (expect !== undefined && s.kind !== expect) {
    return { ok: false, code: 'SCHEMA_TYPE_MISMATCH', message: `schema id ${s.id} is a ${FORMAT_OF_KIND[s.kind]} schema, but ${setting} is ${format}` };
  }
  const schema = { id: s.id, ...(s.subject !== undefined ? { subject: s.subject } : {}), ...(s.version !== undefined ? { version: s.version } : {}) };
  let fields: Fields;
  let raw = false;
  try {
    if (s.kind === 'avro') {
      const v = readAvro(s.reader, value, 5);
      if (isObject(v)) fields = v;
      else if (s.reader.text === true) [fields, raw] = [{ _raw: v }, true];
      else fields = { value: v };
    } else if (s.kind === 'protobuf') {
      const { indexes, payloadStart } = messageIndexes(value);
      fields = s.schema.decode(s.schema.messageType(indexes), value, payloadStart);
    } else {
      let text: string;
      try {
        text = utf8.decode(value.subarray(5));
      } catch {
        throw new PayloadError('the JSON payload is not valid UTF-8');
      }
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (err) {
        throw new PayloadError(`the payload is not JSON: ${(err as Error).message}`);
      }
      if (isObject(v)) fields = v;
      else [fields, raw] = [{ _raw: text }, true];
    }
  } catch (err) {
    const which = `schema id ${s.id}${s.subject !== undefined ? ` (subject ${s.subject}${s.version !== undefined ? ` version ${s.version}` : ''})` : ''}`;
    if (err instanceof PayloadError) return { ok: false, code: 'SCHEMA_MISMATCH', message: `the payload does not match ${which}: ${err.message}` };
    return { ok: false, code: 'DECODE_FAILED', message: `decoding with ${which} failed: ${String((err as Error)?.message ?? err)}` };
  }
  return { ok: true, fields, raw, converted: true, schema };
}

function isObject(v: unknown): v is Fields {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
