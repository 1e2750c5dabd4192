// Protobuf payloads of the schema-registry wire format → plain JSON values. protobufjs parses the
// registered .proto text (and the files it imports, from the registry's references) and decodes the
// wire format; this module picks the message type from the record's message indexes and turns the
// decoded message into plain JSON (docs/schema-registry.md):
// - field names as the .proto spells them; every field without presence appears with its default when
//   absent (proto3 scalars, enums, repeated, maps); unset message fields, `optional` fields and oneof
//   members the record does not carry are left out;
// - 64-bit integers a number when exact in a double, decimal text otherwise; enums their value's name;
//   bytes base64;
// - well-known types in protobuf's JSON mapping: Timestamp ISO 8601 UTC, Duration "1.5s", Struct/Value/
//   ListValue plain JSON, wrappers their value, FieldMask "a,b.c", Empty {}, Any {"@type", ...fields}
//   when its type is known to the schema, else {"@type", "value": base64}.
import protobuf from 'protobufjs';
import descriptorExt from 'protobufjs/ext/descriptor/index.js';
import { PayloadError } from './cursor.ts';
import { SchemaError } from './avro.ts';
import { setOwn } from './plain.ts';

type PbType = protobuf.Type;
type PbField = protobuf.Field;

const WELL_KNOWN_FILES = ['any', 'duration', 'empty', 'field_mask', 'struct', 'timestamp', 'wrappers'].map((n) => `google/protobuf/${n}.proto`);

/** One .proto file as the registry has it: its import name and text. */
export interface ProtoFile {
  readonly name: string;
  readonly text: string;
}

export interface ProtobufSchema {
  /** The message type for a record's message-index path (e.g. [0], [1, 0]). */
  messageType(indexes: readonly number[]): PbType;
  /** Decodes a payload with `type`; throws PayloadError when it does not match. */
  decode(type: PbType, payload: Buffer, start: number): Record<string, unknown>;
}

/**
 * Compiles a Protobuf schema: `main` is the registered schema, `imports` the files it references
 * (transitively, dependencies first). Throws SchemaError.
 */
export function compileProtobuf(main: string, imports: readonly ProtoFile[]): ProtobufSchema {
  const root = new protobuf.Root();
  for (const file of WELL_KNOWN_FILES) {
    const json = protobuf.common.get(file) as { nested?: Record<string, protobuf.AnyNestedObject> } | null;
    if (json?.nested) root.addJSON(json.nested);
  }
  let order: string[][];
  try {
    for (const f of imports) if (!f.name.startsWith('google/protobuf/')) addFile(root, f.text);
    order = addFile(root, main);
    root.resolveAll();
  } catch (err) {
    throw new SchemaError(`the Protobuf schema cannot be used: ${(err as Error).message}`);
  }
  const converters = new Map<PbType, (m: protobuf.Message) => Record<string, unknown>>();
  const converter = (t: PbType): ((m: protobuf.Message) => Record<string, unknown>) => {
    let c = converters.get(t);
    if (!c) {
      c = compileMessage(t, converter, root);
      converters.set(t, c);
    }
    return c;
  };
  return {
    messageType(indexes) {
      let names = order;
      let type: PbType | undefined;
      for (let depth = 0; depth < indexes.length; depth++) {
        const i = indexes[depth]!;
        const path = names[i];
        if (!path) throw new PayloadError(`message index ${i} at depth ${depth} names no message of the schema`);
        type = root.lookupType(path.join('.'));
        names = type.nestedArray.filter((n): n is PbType => n instanceof protobuf.Type).map((n) => [...path, n.name]);
      }
      if (!type) throw new PayloadError('the record names no message type');
      return type;
    },
    decode(type, payload, start) {
      let message: protobuf.Message;
      try {
        message = type.decode(payload.subarray(start));
      } catch (err) {
        throw new PayloadError(`the payload is not a ${type.fullName.slice(1)}: ${(err as Error).message}`);
      }
      return converter(type)(message);
    },
  };
}

/** A registered file is .proto text, or (as confluent-kafka's Python serializer registers it, and
 *  registries that store what they are given return it) a base64 FileDescriptorProto. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

interface FileDescriptor {
  name?: string;
  package?: string;
  syntax?: string;
  messageType?: unknown[];
  enumType?: unknown[];
}

/** Adds one file's types to `root`; returns its top-level messages in declaration order (what the
 *  message indexes 0, 1, ... name), as name paths. */
function addFile(root: protobuf.Root, text: string): string[][] {
  const trimmed = text.trim();
  if (BASE64.test(trimmed)) {
    const ext = descriptorExt as unknown as { FileDescriptorProto: { decode(b: Uint8Array): FileDescriptor } };
    const file = ext.FileDescriptorProto.decode(Buffer.from(trimmed, 'base64'));
    const ctx = { edition: file.syntax === 'proto3' ? 'proto3' : 'proto2', keepCase: true };
    const ns = file.package ? root.define(file.package) : root;
    const prefix = file.package ? file.package.split('.') : [];
    const types = (file.messageType ?? []).map((m) => (protobuf.Type as unknown as { fromDescriptor(d: unknown, c: unknown): PbType }).fromDescriptor(m, ctx));
    for (const t of types) ns.add(t);
    for (const e of file.enumType ?? []) ns.add((protobuf.Enum as unknown as { fromDescriptor(d: unknown, c: unknown): protobuf.Enum }).fromDescriptor(e, ctx));
    return types.map((t) => [...prefix, t.name]);
  }
  const parsed = protobuf.parse(text, root, { keepCase: true });
  // The declaration order of this file alone (the shared root may hold more of the same package).
  const alone = new protobuf.Root();
  protobuf.parse(text, alone, { keepCase: true });
  const ns = parsed.package ? alone.lookup(parsed.package) : alone;
  if (!(ns instanceof protobuf.Namespace)) return [];
  const prefix = parsed.package ? parsed.package.split('.') : [];
  return ns.nestedArray.filter((n) => n instanceof protobuf.Type).map((n) => [...prefix, n.name]);
}

type Convert = (v: unknown) => unknown;

function compileMessage(type: PbType, converter: (t: PbType) => (m: protobuf.Message) => Record<string, unknown>, root: protobuf.Root): (m: protobuf.Message) => Record<string, unknown> {
  const special = wellKnown(type, converter, root);
  if (special) return special as (m: protobuf.Message) => Record<string, unknown>;
  const fields = type.fieldsArray.map((f) => {
    f.resolve();
    const value = fieldConverter(f, converter);
    const present = f.partOf !== null || f.options?.['proto3_optional'] === true || (f.resolvedType instanceof protobuf.Type && !f.repeated && !f.map);
    const isMap = f.map;
    const empty = f.repeated ? () => [] : isMap ? () => ({}) : undefined;
    return { name: f.name, value, present, empty, isMap, repeated: f.repeated };
  });
  return (m) => {
    const out: Record<string, unknown> = {};
    const msg = m as unknown as Record<string, unknown>;
    for (const f of fields) {
      if (f.present) {
        if (!Object.hasOwn(msg, f.name) || msg[f.name] === null || msg[f.name] === undefined) continue;
        setOwn(out, f.name, f.value(msg[f.name]));
        continue;
      }
      const v = msg[f.name];
      if (f.isMap) {
        const o: Record<string, unknown> = {};
        if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) setOwn(o, mapKey(k), f.value(x));
        setOwn(out, f.name, o);
      } else if (f.repeated) setOwn(out, f.name, Array.isArray(v) ? v.map(f.value) : []);
      else setOwn(out, f.name, f.value(v));
    }
    return out;
  };
}

/** protobufjs keys a map with 64-bit keys by an 8-character hash; turn it back into the number. */
function mapKey(k: string): string {
  if (k.length === 8 && /[^\x20-\x7e]/.test(k)) return protobuf.util.LongBits.fromHash(k).toNumber(false).toString();
  return k;
}

function fieldConverter(f: PbField, converter: (t: PbType) => (m: protobuf.Message) => Record<string, unknown>): Convert {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) {
    return (v) => (v === null || v === undefined ? null : converter(rt)(v as protobuf.Message));
  }
  if (rt instanceof protobuf.Enum) {
    if (rt.fullName === '.google.protobuf.NullValue') return () => null;
    const names = rt.valuesById;
    return (v) => names[v as number] ?? v;
  }
  switch (f.type) {
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return (v) => longValue(v, false);
    case 'uint64':
    case 'fixed64':
      return (v) => longValue(v, true);
    case 'bytes':
      return (v) => (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : '');
    default:
      return (v) => v;
  }
}

/** A protobufjs 64-bit value (a Long, or a number) as a number when exact, else decimal text. */
export function longValue(v: unknown, unsigned: boolean): number | string {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) {
    const l = v as { low: number; high: number };
    const big = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
    const value = unsigned ? big : BigInt.asIntN(64, big);
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  return 0;
}

function seconds(v: unknown): bigint {
  const s = longValue(v ?? 0, false);
  return BigInt(s);
}

function fractionDigits(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1_000_000 === 0) return `.${String(nanos / 1_000_000).padStart(3, '0')}`;
  if (nanos % 1000 === 0) return `.${String(nanos / 1000).padStart(6, '0')}`;
  return `.${String(nanos).padStart(9, '0')}`;
}

function wellKnown(type: PbType, converter: (t: PbType) => (m: protobuf.Message) => Record<string, unknown>, root: protobuf.Root): ((m: protobuf.Message) => unknown) | undefined {
  const get = (m: protobuf.Message, k: string): unknown => (m as unknown as Record<string, unknown>)[k];
  switch (type.fullName) {
    case '.google.protobuf.Timestamp':
      return (m) => {
        const s = seconds(get(m, 'seconds'));
        const nanos = Number(get(m, 'nanos') ?? 0);
        const d = new Date(Number(s) * 1000);
        if (Number.isNaN(d.getTime())) return { seconds: s.toString(), nanos };
        return `${d.toISOString().slice(0, 19)}${fractionDigits(nanos)}Z`;
      };
    case '.google.protobuf.Duration':
      return (m) => {
        const s = seconds(get(m, 'seconds'));
        const nanos = Number(get(m, 'nanos') ?? 0);
        const negative = s < 0n || nanos < 0;
        const abs = s < 0n ? -s : s;
        return `${negative ? '-' : ''}${abs}${fractionDigits(Math.abs(nanos))}s`;
      };
    case '.google.protobuf.Empty':
      return () => ({});
    case '.google.protobuf.FieldMask':
      return (m) => ((get(m, 'paths') as string[] | undefined) ?? []).join(',');
    case '.google.protobuf.Struct':
      return (m) => structValue(get(m, 'fields'));
    case '.google.protobuf.Value':
      return (m) => valueOf(m);
    case '.google.protobuf.ListValue':
      return (m) => ((get(m, 'values') as protobuf.Message[] | undefined) ?? []).map(valueOf);
    case '.google.protobuf.DoubleValue':
    case '.google.protobuf.FloatValue':
    case '.google.protobuf.Int32Value':
    case '.google.protobuf.UInt32Value':
    case '.google.protobuf.BoolValue':
    case '.google.protobuf.StringValue':
      return (m) => get(m, 'value');
    case '.google.protobuf.Int64Value':
      return (m) => longValue(get(m, 'value') ?? 0, false);
    case '.google.protobuf.UInt64Value':
      return (m) => longValue(get(m, 'value') ?? 0, true);
    case '.google.protobuf.BytesValue':
      return (m) => {
        const v = get(m, 'value');
        return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : '';
      };
    case '.google.protobuf.Any':
      return (m) => {
        const url = String(get(m, 'type_url') ?? '');
        const value = get(m, 'value');
        const bytes = value instanceof Uint8Array ? value : new Uint8Array();
        const name = url.slice(url.lastIndexOf('/') + 1);
        let inner: PbType | undefined;
        try {
          inner = name ? root.lookupType(name) : undefined;
        } catch {
          inner = undefined;
        }
        if (!inner) return { '@type': url, value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
        const decoded = converter(inner)(inner.decode(bytes));
        const plain = decoded !== null && typeof decoded === 'object' && !Array.isArray(decoded) ? decoded : { value: decoded };
        return { '@type': url, ...plain };
      };
    default:
      return undefined;
  }
}

function structValue(fields: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (fields && typeof fields === 'object') for (const [k, v] of Object.entries(fields)) setOwn(out, k, valueOf(v as protobuf.Message));
  return out;
}

function valueOf(m: protobuf.Message | null | undefined): unknown {
  if (!m) return null;
  const v = m as unknown as Record<string, unknown>;
  if (Object.hasOwn(v, 'numberValue')) return v['numberValue'];
  if (Object.hasOwn(v, 'stringValue')) return v['stringValue'];
  if (Object.hasOwn(v, 'boolValue')) return v['boolValue'];
  if (Object.hasOwn(v, 'structValue')) return structValue((v['structValue'] as Record<string, unknown> | null)?.['fields']);
  if (Object.hasOwn(v, 'listValue')) return (((v['listValue'] as Record<string, unknown> | null)?.['values'] as protobuf.Message[] | undefined) ?? []).map(valueOf);
  return null;
}
