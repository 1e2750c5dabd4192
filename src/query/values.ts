/**
 * Runtime values and the rules that relate them: comparison, equality,
 * implicit text/number conversion and CAST. Records keep their JSON types
 * (unlike SLS, where everything is text), so these rules decide what
 * `status >= 400` means when `status` is the string "404". docs/query.md
 * ("Types, comparison and null") is the user-facing version of this file.
 */
import { QueryRuntimeError } from './errors.ts';

/**
 * A runtime value: JSON (null, boolean, number, string, array, object) plus
 * Date for timestamps produced by date_parse/from_unixtime/now.
 * `undefined` never escapes an evaluator: a missing field reads as null.
 */
export type Value = unknown;

/** Static types used by the checker. 'any' is a field whose type is only known per record. */
export type StaticType = 'string' | 'number' | 'boolean' | 'timestamp' | 'json' | 'null' | 'any';

export type CastType = 'bigint' | 'double' | 'varchar' | 'boolean' | 'timestamp' | 'json';

const CAST_ALIASES: Record<string, CastType> = {
  bigint: 'bigint',
  integer: 'bigint',
  int: 'bigint',
  smallint: 'bigint',
  tinyint: 'bigint',
  double: 'double',
  real: 'double',
  float: 'double',
  decimal: 'double',
  varchar: 'varchar',
  char: 'varchar',
  string: 'varchar',
  text: 'varchar',
  boolean: 'boolean',
  bool: 'boolean',
  timestamp: 'timestamp',
  json: 'json',
};

export const CAST_TYPE_NAMES = Object.keys(CAST_ALIASES);

export function castTypeFromName(name: string): CastType | undefined {
  return Object.hasOwn(CAST_ALIASES, name.toLowerCase()) ? CAST_ALIASES[name.toLowerCase()] : undefined;
}

export function staticTypeOfCast(t: CastType): StaticType {
  switch (t) {
    case 'bigint':
    case 'double':
      return 'number';
    case 'varchar':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'timestamp':
      return 'timestamp';
    case 'json':
      return 'any';
  }
}

// A decimal number as text: what `'404' = 404` and `'1e3' > 5` accept.
const NUMERIC_TEXT = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;

export function isNumericText(s: string): boolean {
  return NUMERIC_TEXT.test(s);
}

export function isStructured(v: Value): v is object {
  return typeof v === 'object' && v !== null && !(v instanceof Date);
}

export function typeName(v: Value): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Date) return 'timestamp';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v === 'number' ? (Number.isInteger(v) ? 'bigint' : 'double') : typeof v === 'string' ? 'varchar' : typeof v;
}

// ---------------------------------------------------------------- timestamps

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** SQL text form of a timestamp (UTC): `2024-01-31 13:45:07.123`. Used by CAST to varchar and concatenation. */
export function timestampText(d: Date): string {
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

const SQL_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Parses ISO 8601 / SQL timestamp text; no zone means UTC. Returns null when it is not a timestamp. */
export function parseTimestampText(s: string): Date | null {
  const m = SQL_TIMESTAMP.exec(s.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), ms);
  // Date.UTC silently rolls 2024-02-31 over to March and 25:00 to the next day: reject instead.
  const check = new Date(t);
  if (Number.isNaN(t) || check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h) || Number(mi) > 59 || Number(sec) > 59) {
    return null;
  }
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return new Date(t);
}

// ---------------------------------------------------------------- conversions

/** Text of a scalar for string functions and `||`. Objects/arrays are not text: runtime error. */
export function toText(v: Value, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return timestampText(v);
  throw new QueryRuntimeError(`${where}: expected a string, got ${typeName(v)}`);
}

/** Number for arithmetic and numeric parameters: numbers, and strings that are decimal numbers. */
export function toNumber(v: Value, where: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMERIC_TEXT.test(v)) return Number(v);
  throw new QueryRuntimeError(`${where}: expected a number, got ${describe(v)}`);
}

export function toTimestamp(v: Value, where: string): Date {
  if (v instanceof Date) return v;
  if (typeof v === 'string') {
    const d = parseTimestampText(v);
    if (d) return d;
  }
  throw new QueryRuntimeError(`${where}: expected a timestamp, got ${describe(v)}`);
}

/** Short description of a value for error messages (never the whole record). */
export function describe(v: Value): string {
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeName(v);
}

/** Value as stored into a record: timestamps become ISO 8601 text, everything else is already JSON. */
export function toRecordValue(v: Value): unknown {
  return v instanceof Date ? v.toISOString() : v;
}

// ---------------------------------------------------------------- comparison

/** 'true' / 'false' in any case and surrounding space; otherwise null. */
export function booleanText(s: string): boolean | null {
  const t = s.trim().toLowerCase();
  return t === 'true' ? true : t === 'false' ? false : null;
}

/**
 * Equality for `=`, `!=`, `in`, simple `case`. Null on either side gives null.
 * number vs string: numeric when the string is a number, else false.
 * boolean vs string: 'true'/'false' (any case), else false.
 * object/array: deep JSON equality with another object/array, else false.
 */
export function equals(a: Value, b: Value): boolean | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (typeof a === typeof b && typeof a !== 'object') return a === b;
  if (typeof a === 'number' && typeof b === 'string') return NUMERIC_TEXT.test(b) && Number(b) === a;
  if (typeof a === 'string' && typeof b === 'number') return NUMERIC_TEXT.test(a) && Number(a) === b;
  if (typeof a === 'boolean' && typeof b === 'string') return booleanText(b) === a;
  if (typeof a === 'string' && typeof b === 'boolean') return booleanText(a) === b;
  if (a instanceof Date || b instanceof Date) {
    const c = compare(a, b);
    return c === null ? false : c === 0;
  }
  if (isStructured(a) && isStructured(b)) return deepEqual(a, b);
  return false;
}

/**
 * Ordering for `< <= > >=` and `between`; null means "unknown" (the row fails a where).
 * Two strings compare as text (binary, like SQL varchar), even when both look numeric.
 * A number and a numeric string compare as numbers; a number and other text: null.
 */
export function compare(a: Value, b: Value): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number' || typeof b === 'number') {
    const x = typeof a === 'number' ? a : typeof a === 'string' && NUMERIC_TEXT.test(a) ? Number(a) : null;
    const y = typeof b === 'number' ? b : typeof b === 'string' && NUMERIC_TEXT.test(b) ? Number(b) : null;
    if (x === null || y === null) return null;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'boolean' || typeof b === 'boolean') {
    const x = typeof a === 'boolean' ? a : typeof a === 'string' ? booleanText(a) : null;
    const y = typeof b === 'boolean' ? b : typeof b === 'string' ? booleanText(b) : null;
    if (x === null || y === null) return null;
    return Number(x) - Number(y);
  }
  if (a instanceof Date || b instanceof Date) {
    const x = a instanceof Date ? a : typeof a === 'string' ? parseTimestampText(a) : null;
    const y = b instanceof Date ? b : typeof b === 'string' ? parseTimestampText(b) : null;
    if (!x || !y) return null;
    return Math.sign(x.getTime() - y.getTime());
  }
  return null;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ob = b as Record<string, unknown>;
  const oa = a as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(ob, k) && deepEqual(oa[k], ob[k]));
}

/** Where-condition value: true keeps the record; false/null drop it; 'true'/'false' text is accepted (SLS data is text). */
export function asCondition(v: Value, where: string): boolean | null {
  if (v === true || v === false) return v;
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    const b = booleanText(v);
    if (b !== null) return b;
  }
  throw new QueryRuntimeError(`${where}: expected a boolean, got ${describe(v)}`);
}

// ---------------------------------------------------------------- CAST

/** Round half away from zero, as SQL does when casting a double to bigint. */
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

function castFail(v: Value, type: CastType): never {
  throw new QueryRuntimeError(`cannot cast ${describe(v)} to ${type}`);
}

/** CAST(v AS type). Null stays null. A value that does not convert throws QueryRuntimeError (TRY_CAST turns that into null). */
export function castValue(v: Value, type: CastType): Value {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'bigint': {
      let n: number | undefined;
      if (typeof v === 'number') n = Number.isFinite(v) ? roundHalfAway(v) : undefined;
      else if (typeof v === 'string') n = INTEGER_TEXT.test(v) ? Number(v) : undefined;
      else if (typeof v === 'boolean') n = v ? 1 : 0;
      // Beyond 2^53 a JS number is no longer an exact integer: refuse rather than corrupt IDs.
      if (n === undefined || !Number.isSafeInteger(n)) return castFail(v, type);
      return n === 0 ? 0 : n;
    }
    case 'double':
      if (typeof v === 'number') return v;
      if (typeof v === 'string' && NUMERIC_TEXT.test(v)) return Number(v);
      if (typeof v === 'boolean') return v ? 1 : 0;
      return castFail(v, type);
    case 'varchar':
      if (isStructured(v)) return JSON.stringify(v);
      return toText(v, 'cast');
    case 'boolean': {
      if (typeof v === 'boolean') return v;
      if (typeof v === 'number') return v !== 0;
      if (typeof v === 'string') {
        const t = v.trim().toLowerCase();
        if (t === 'true' || t === 't' || t === '1') return true;
        if (t === 'false' || t === 'f' || t === '0') return false;
      }
      return castFail(v, type);
    }
    case 'timestamp':
      if (v instanceof Date) return v;
      if (typeof v === 'string') return parseTimestampText(v) ?? castFail(v, type);
      return castFail(v, type);
    case 'json':
      return v;
  }
}
