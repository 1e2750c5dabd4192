// Avro binary → plain JSON values, compiled once per writer schema (Avro 1.12 specification).
// Each record is read in the schema it was written with (the one its schema id names), so there is no
// schema resolution here: evolution between versions is the registry's and the producer's business.
//
// What a value becomes (docs/schema-registry.md): records and maps plain objects, arrays arrays, a union
// its branch's value (no {"type": value} wrapper), an enum its symbol, bytes and fixed base64 text, a long
// a number when it is an exact integer in a double and decimal text otherwise; logical types as text a SIEM
// parses: timestamps ISO 8601 UTC, dates YYYY-MM-DD, times HH:MM:SS.fff, decimals exact decimal text,
// uuid text, duration {months, days, milliseconds}.
import { AvroCursor, PayloadError } from './cursor.ts';
import { setOwn } from './plain.ts';

export type AvroReader = ((c: AvroCursor) => unknown) & {
  /** Set on a schema's top reader when the schema is a string: its values are text (`_raw`). */
  text?: boolean;
};

/** The schema cannot be used (invalid JSON, an unknown type name, a malformed attribute). */
export class SchemaError extends Error {}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Named {
  reader: AvroReader | undefined;
}

/** Named types (records, enums, fixed) by full name, shared by a schema and the schemas it references. */
export class AvroNames {
  readonly #types = new Map<string, Named>();
  get(fullName: string): Named | undefined {
    return this.#types.get(fullName);
  }
  define(fullName: string): Named {
    if (this.#types.has(fullName)) throw new SchemaError(`the type ${fullName} is defined twice`);
    const n: Named = { reader: undefined };
    this.#types.set(fullName, n);
    return n;
  }
}

/**
 * Compiles a schema's text (with the named types of the schemas it references already in `names`) into
 * a reader of one value. Throws SchemaError.
 */
export function compileAvro(schemaText: string, names = new AvroNames()): AvroReader {
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText);
  } catch (err) {
    throw new SchemaError(`the Avro schema is not JSON: ${(err as Error).message}`);
  }
  const reader: AvroReader = compile(schema, '', names);
  const top = typeof schema === 'object' && schema !== null && !Array.isArray(schema) ? (schema as Record<string, unknown>)['type'] : schema;
  return top === 'string' ? Object.assign((c: AvroCursor) => reader(c), { text: true }) : reader;
}

/** Decodes one whole payload: a value that does not end exactly at the payload's end does not match. */
export function readAvro(reader: AvroReader, payload: Buffer, start: number): unknown {
  const c = new AvroCursor(payload, start);
  const value = reader(c);
  if (c.pos !== payload.length) throw new PayloadError(`${payload.length - c.pos} byte(s) left after the value (written with another schema?)`);
  return value;
}

function fullName(name: string, namespace: string | undefined, enclosing: string): string {
  if (name.includes('.')) return name;
  const ns = namespace ?? enclosing;
  return ns ? `${ns}.${name}` : name;
}

function namespaceOf(full: string): string {
  const i = full.lastIndexOf('.');
  return i < 0 ? '' : full.slice(0, i);
}

function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !name.split('.').every((p) => NAME.test(p))) throw new SchemaError(`${what} has an invalid name ${JSON.stringify(name)}`);
  return name;
}

function compile(schema: unknown, ns: string, names: AvroNames): AvroReader {
  if (typeof schema === 'string') return compileName(schema, ns, names);
  if (Array.isArray(schema)) return compileUnion(schema, ns, names);
  if (schema === null || typeof schema !== 'object') throw new SchemaError(`${JSON.stringify(schema)} is not an Avro schema`);
  const s = schema as Record<string, unknown>;
  const type = s['type'];
  const logical = typeof s['logicalType'] === 'string' ? s['logicalType'] : undefined;
  let base: AvroReader;
  switch (type) {
    case 'record':
    case 'error':
      base = compileRecord(s, ns, names);
      break;
    case 'enum':
      base = compileEnum(s, ns, names);
      break;
    case 'fixed':
      return compileFixed(s, ns, names, logical);
    case 'array': {
      const items = compile(s['items'], ns, names);
      return (c) => readBlocks(c, () => items(c), []);
    }
    case 'map': {
      const values = compile(s['values'], ns, names);
      return (c) => {
        const out: Record<string, unknown> = {};
        readBlocks(c, () => setOwn(out, c.string(), values(c)), out);
        return out;
      };
    }
    default:
      if (typeof type === 'string' && PRIMITIVES.has(type)) base = primitive(type);
      else if (typeof type === 'object' && type !== null) base = compile(type, ns, names);
      else if (typeof type === 'string') base = compileName(type, ns, names);
      else throw new SchemaError(`${JSON.stringify(schema)} has no valid "type"`);
  }
  return logical === undefined ? base : withLogical(base, logical, type, s);
}

function compileName(name: string, ns: string, names: AvroNames): AvroReader {
  if (PRIMITIVES.has(name)) return primitive(name);
  const named = names.get(fullName(name, undefined, ns)) ?? names.get(name);
  if (!named) throw new SchemaError(`unknown type ${JSON.stringify(name)}${ns ? ` (namespace ${ns})` : ''}`);
  // Defined already, or being defined (a recursive type): read through the slot.
  return (c) => named.reader!(c);
}

function define(s: Record<string, unknown>, ns: string, names: AvroNames, what: string): { named: Named; ns: string } {
  const name = checkName(s['name'], what);
  const namespace = s['namespace'] === undefined || s['namespace'] === '' ? undefined : checkName(s['namespace'], `the namespace of ${name}`);
  const full = fullName(name, s['namespace'] === '' ? '' : namespace, ns);
  return { named: names.define(full), ns: namespaceOf(full) };
}

function compileRecord(s: Record<string, unknown>, ns: string, names: AvroNames): AvroReader {
  const { named, ns: inner } = define(s, ns, names, 'a record');
  const fields = s['fields'];
  if (!Array.isArray(fields)) throw new SchemaError(`record ${String(s['name'])} has no "fields" array`);
  const readers: AvroReader[] = [];
  const keys: string[] = [];
  for (const f of fields as Array<Record<string, unknown>>) {
    keys.push(checkName(f?.['name'], `a field of record ${String(s['name'])}`));
    readers.push(compile(f['type'], inner, names));
  }
  const n = readers.length;
  const reader: AvroReader = keys.includes('__proto__')
    ? (c) => {
        const out: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) setOwn(out, keys[i]!, readers[i]!(c));
        return out;
      }
    : (c) => {
        const out: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) out[keys[i]!] = readers[i]!(c);
        return out;
      };
  named.reader = reader;
  return reader;
}

function compileEnum(s: Record<string, unknown>, ns: string, names: AvroNames): AvroReader {
  const { named } = define(s, ns, names, 'an enum');
  const symbols = s['symbols'];
  if (!Array.isArray(symbols) || symbols.some((x) => typeof x !== 'string')) throw new SchemaError(`enum ${String(s['name'])} has no "symbols" list`);
  const reader: AvroReader = (c) => {
    const i = c.int();
    if (i < 0 || i >= symbols.length) throw new PayloadError(`enum index ${i} is out of range (${symbols.length} symbols)`);
    return symbols[i];
  };
  named.reader = reader;
  return reader;
}

function compileFixed(s: Record<string, unknown>, ns: string, names: AvroNames, logical: string | undefined): AvroReader {
  const { named } = define(s, ns, names, 'a fixed');
  const size = s['size'];
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) throw new SchemaError(`fixed ${String(s['name'])} has no valid "size"`);
  let reader: AvroReader = (c) => c.take(size).toString('base64');
  if (logical === 'decimal') {
    const scale = decimalScale(s);
    reader = (c) => decimalText(c.take(size), scale);
  } else if (logical === 'duration' && size === 12) {
    reader = (c) => {
      const b = c.take(12);
      return { months: b.readUInt32LE(0), days: b.readUInt32LE(4), milliseconds: b.readUInt32LE(8) };
    };
  } else if (logical === 'uuid' && size === 16) {
    reader = (c) => {
      const h = c.take(16).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    };
  }
  named.reader = reader;
  return reader;
}

function compileUnion(branches: unknown[], ns: string, names: AvroNames): AvroReader {
  if (branches.length === 0) throw new SchemaError('a union has no branches');
  const readers = branches.map((b) => compile(b, ns, names));
  return (c) => {
    const i = c.long();
    const r = typeof i === 'number' ? readers[i] : undefined;
    if (r === undefined) throw new PayloadError(`union branch ${String(i)} is out of range (${readers.length} branches)`);
    return r(c);
  };
}

/** Arrays and maps: blocks of `count` items, a negative count followed by the block's size in bytes. */
function readBlocks<T>(c: AvroCursor, item: () => unknown, out: T): T {
  const list = Array.isArray(out) ? (out as unknown[]) : undefined;
  for (;;) {
    let count = c.long();
    if (typeof count !== 'number') throw new PayloadError('a block count is out of range');
    if (count === 0) return out;
    if (count < 0) {
      count = -count;
      c.long(); // the block's size in bytes
    }
    if (count > c.remaining()) throw new PayloadError(`a block of ${count} items is longer than the payload`);
    for (let i = 0; i < count; i++) {
      const v = item();
      if (list) list.push(v);
    }
  }
}

function primitive(name: string): AvroReader {
  switch (name) {
    case 'null':
      return () => null;
    case 'boolean':
      return (c) => c.boolean();
    case 'int':
      return (c) => c.int();
    case 'long':
      return (c) => c.long();
    case 'float':
      return (c) => c.float();
    case 'double':
      return (c) => c.double();
    case 'bytes':
      return (c) => c.bytes().toString('base64');
    default:
      return (c) => c.string();
  }
}

function decimalScale(s: Record<string, unknown>): number {
  const scale = s['scale'] ?? 0;
  if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 0) throw new SchemaError(`decimal has an invalid scale ${JSON.stringify(scale)}`);
  return scale;
}

/** A big-endian two's-complement unscaled integer with `scale` digits after the point, as exact text. */
export function decimalText(b: Buffer, scale: number): string {
  if (b.length === 0) return '0';
  let n = BigInt.asIntN(b.length * 8, BigInt(`0x${b.toString('hex')}`));
  const negative = n < 0n;
  if (negative) n = -n;
  let digits = n.toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }
  return negative ? `-${digits}` : digits;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** Epoch `units` (1e3 ms, 1e6 µs, 1e9 ns per second) as ISO 8601 with as many fraction digits; `zone` 'Z' or '' (local). */
export function isoTime(value: unknown, perSecond: 1e3 | 1e6 | 1e9, zone: 'Z' | ''): unknown {
  const big = typeof value === 'number' ? BigInt(value) : typeof value === 'string' ? BigInt(value) : undefined;
  if (big === undefined) return value;
  const per = BigInt(perSecond);
  let seconds = big / per;
  let fraction = big % per;
  if (fraction < 0n) {
    fraction += per;
    seconds -= 1n;
  }
  const date = new Date(Number(seconds) * 1000);
  if (Number.isNaN(date.getTime())) return value;
  const digits = perSecond === 1e3 ? 3 : perSecond === 1e6 ? 6 : 9;
  const base = date.toISOString().slice(0, 19);
  return `${base}.${fraction.toString().padStart(digits, '0')}${zone}`;
}

function withLogical(base: AvroReader, logical: string, type: unknown, s: Record<string, unknown>): AvroReader {
  switch (`${logical}/${String(type)}`) {
    case 'timestamp-millis/long':
      return (c) => isoTime(base(c), 1e3, 'Z');
    case 'timestamp-micros/long':
      return (c) => isoTime(base(c), 1e6, 'Z');
    case 'timestamp-nanos/long':
      return (c) => isoTime(base(c), 1e9, 'Z');
    case 'local-timestamp-millis/long':
      return (c) => isoTime(base(c), 1e3, '');
    case 'local-timestamp-micros/long':
      return (c) => isoTime(base(c), 1e6, '');
    case 'local-timestamp-nanos/long':
      return (c) => isoTime(base(c), 1e9, '');
    case 'date/int':
      return (c) => {
        const days = base(c) as number;
        const d = new Date(days * 86_400_000);
        return Number.isNaN(d.getTime()) ? days : d.toISOString().slice(0, 10);
      };
    case 'time-millis/int':
      return (c) => timeOfDay(BigInt(base(c) as number), 1e3);
    case 'time-micros/long':
      return (c) => timeOfDay(BigInt(base(c) as number | string), 1e6);
    case 'decimal/bytes': {
      const scale = decimalScale(s);
      return (c) => decimalText(c.bytes(), scale);
    }
    default:
      // uuid on a string is the string; an unknown logical type reads as its underlying type (spec).
      return base;
  }
}

function timeOfDay(value: bigint, perSecond: 1e3 | 1e6): string | number {
  const per = BigInt(perSecond);
  if (value < 0n || value >= 86_400n * per) return Number(value);
  const total = value / per;
  const fraction = value % per;
  const h = Number(total / 3600n);
  const m = Number((total / 60n) % 60n);
  const sec = Number(total % 60n);
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(sec, 2)}.${fraction.toString().padStart(perSecond === 1e3 ? 3 : 6, '0')}`;
}
