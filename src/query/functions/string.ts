/**
 * String functions (Presto/SLS semantics). Positions and lengths count
 * Unicode code points, not UTF-16 units, as SQL engines count characters.
 */
import { QueryRuntimeError } from '../errors.ts';
import { def, type FunctionDef } from './registry.ts';

const SURROGATE = /[\uD800-\uDFFF]/;
const MAX_PAD = 1_048_576;

function codePointLength(s: string): number {
  if (!SURROGATE.test(s)) return s.length;
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Code-point slice; plain string slicing when there are no surrogate pairs. */
function cpSlice(s: string, from: number, to?: number): string {
  if (!SURROGATE.test(s)) return s.slice(from, to);
  return Array.from(s).slice(from, to).join('');
}

function substr(s: string, start: number, length?: number): string {
  const len = codePointLength(s);
  let from = Math.trunc(start);
  if (from === 0) return '';
  if (from < 0) from = len + from + 1;
  if (from < 1 || from > len) return '';
  if (length === undefined) return cpSlice(s, from - 1);
  const n = Math.trunc(length);
  if (n <= 0) return '';
  return cpSlice(s, from - 1, from - 1 + n);
}

function pad(s: string, size: number, padding: string, left: boolean): string {
  const target = Math.trunc(size);
  if (target < 0) throw new QueryRuntimeError('lpad/rpad: size must not be negative');
  // A record-controlled size must not be able to exhaust memory.
  if (target > MAX_PAD) throw new QueryRuntimeError(`lpad/rpad: size must not exceed ${MAX_PAD}`);
  const chars = Array.from(s);
  if (chars.length >= target) return chars.slice(0, target).join('');
  if (padding === '') throw new QueryRuntimeError('lpad/rpad: padding string must not be empty');
  const padChars = Array.from(padding);
  const fill: string[] = [];
  for (let i = 0; fill.length < target - chars.length; i++) fill.push(padChars[i % padChars.length] as string);
  return left ? fill.join('') + s : s + fill.join('');
}

export const stringFunctions: FunctionDef[] = [
  def({
    name: 'lower',
    family: 'string',
    signature: 'lower(s) → varchar',
    summary: 'Lower-cases a string.',
    params: ['string'],
    returns: 'string',
    impl: (s: string) => s.toLowerCase(),
    examples: [
      { expr: "lower('Critical')", result: 'critical' },
      { expr: 'lower(severity)', input: { severity: 'HIGH' }, result: 'high' },
      { expr: 'lower(missing)', input: {}, result: null },
    ],
  }),
  def({
    name: 'upper',
    family: 'string',
    signature: 'upper(s) → varchar',
    summary: 'Upper-cases a string.',
    params: ['string'],
    returns: 'string',
    impl: (s: string) => s.toUpperCase(),
    examples: [{ expr: "upper('box')", result: 'BOX' }],
  }),
  def({
    name: 'length',
    family: 'string',
    signature: 'length(s) → bigint',
    summary: 'Number of characters (code points). Numbers are measured as text.',
    params: ['string'],
    returns: 'number',
    impl: codePointLength,
    examples: [
      { expr: "length('héllo')", result: 5 },
      { expr: "length('😀x')", result: 2 },
      { expr: 'length(port)', input: { port: 8443 }, result: 4 },
    ],
  }),
  def({
    name: 'trim',
    family: 'string',
    signature: 'trim(s) → varchar',
    summary: 'Removes leading and trailing whitespace.',
    params: ['string'],
    returns: 'string',
    impl: (s: string) => s.trim(),
    examples: [{ expr: "trim('  alice  ')", result: 'alice' }],
  }),
  def({
    name: 'ltrim',
    family: 'string',
    signature: 'ltrim(s) → varchar',
    summary: 'Removes leading whitespace.',
    params: ['string'],
    returns: 'string',
    impl: (s: string) => s.trimStart(),
    examples: [{ expr: "ltrim('  a ')", result: 'a ' }],
  }),
  def({
    name: 'rtrim',
    family: 'string',
    signature: 'rtrim(s) → varchar',
    summary: 'Removes trailing whitespace.',
    params: ['string'],
    returns: 'string',
    impl: (s: string) => s.trimEnd(),
    examples: [{ expr: "rtrim(' a  ')", result: ' a' }],
  }),
  def({
    name: 'concat',
    family: 'string',
    signature: 'concat(a, b, ...) → varchar',
    summary: 'Concatenates two or more values as text; null if any argument is null (SQL). Same as `a || b`.',
    params: ['string', 'string'],
    rest: 'string',
    returns: 'string',
    impl: (...parts: string[]) => parts.join(''),
    examples: [
      { expr: "concat(user, '@', domain)", input: { user: 'bob', domain: 'example.com' }, result: 'bob@example.com' },
      { expr: "concat('port:', 443)", result: 'port:443' },
      { expr: "concat('a', null)", result: null },
    ],
  }),
  def({
    name: 'substr',
    family: 'string',
    signature: 'substr(s, start[, length]) → varchar',
    summary: 'Substring from 1-based `start` (negative counts from the end), optionally `length` characters.',
    params: ['string', 'integer', 'integer'],
    minArgs: 2,
    returns: 'string',
    impl: substr,
    examples: [
      { expr: "substr('2024-05-01T10:00:00Z', 1, 10)", result: '2024-05-01' },
      { expr: "substr('abcdef', -3)", result: 'def' },
      { expr: "substr('abc', 5)", result: '' },
    ],
  }),
  def({
    name: 'substring',
    family: 'string',
    signature: 'substring(s, start[, length]) → varchar',
    summary: 'Alias of substr.',
    params: ['string', 'integer', 'integer'],
    minArgs: 2,
    returns: 'string',
    impl: substr,
    examples: [{ expr: "substring('abcdef', 2, 3)", result: 'bcd' }],
  }),
  def({
    name: 'strpos',
    family: 'string',
    signature: 'strpos(s, sub) → bigint',
    summary: '1-based position of the first occurrence of `sub`, 0 when absent.',
    params: ['string', 'string'],
    returns: 'number',
    impl: (s: string, sub: string) => {
      const at = s.indexOf(sub);
      return at < 0 ? 0 : codePointLength(s.slice(0, at)) + 1;
    },
    examples: [
      { expr: "strpos('alice@example.com', '@')", result: 6 },
      { expr: "strpos('abc', 'z')", result: 0 },
    ],
  }),
  def({
    name: 'replace',
    family: 'string',
    signature: 'replace(s, search[, replacement]) → varchar',
    summary: 'Replaces every occurrence of `search` (plain text) with `replacement` (default: removes it).',
    params: ['string', 'string', 'string'],
    minArgs: 2,
    returns: 'string',
    impl: (s: string, search: string, replacement?: string) => s.replaceAll(search, () => replacement ?? ''),
    examples: [
      { expr: "replace('a-b-c', '-', '/')", result: 'a/b/c' },
      { expr: "replace('a-b-c', '-')", result: 'abc' },
    ],
  }),
  def({
    name: 'split_part',
    family: 'string',
    signature: 'split_part(s, delimiter, index) → varchar',
    summary: 'Field `index` (1-based) after splitting on `delimiter`; null when there are fewer fields.',
    params: ['string', 'string', 'integer'],
    returns: 'string',
    impl: (s: string, delimiter: string, index: number) => {
      if (index < 1) throw new QueryRuntimeError('split_part: index must be greater than zero');
      if (delimiter === '') return index === 1 ? s : null;
      return s.split(delimiter)[Math.trunc(index) - 1] ?? null;
    },
    examples: [
      { expr: "split_part('alice@example.com', '@', 2)", result: 'example.com' },
      { expr: "split_part('a,b', ',', 3)", result: null },
    ],
  }),
  def({
    name: 'split',
    family: 'string',
    signature: 'split(s, delimiter[, limit]) → array',
    summary: 'Splits into a JSON array of strings; with `limit`, the last element holds the rest.',
    params: ['string', 'string', 'integer'],
    minArgs: 2,
    returns: 'json',
    impl: (s: string, delimiter: string, limit?: number) => {
      if (delimiter === '') throw new QueryRuntimeError('split: delimiter must not be empty');
      const parts = s.split(delimiter);
      if (limit === undefined || parts.length <= limit) return parts;
      if (limit < 1) throw new QueryRuntimeError('split: limit must be positive');
      return [...parts.slice(0, limit - 1), parts.slice(limit - 1).join(delimiter)];
    },
    examples: [
      { expr: "split('a,b,c', ',')", result: ['a', 'b', 'c'] },
      { expr: "split('a,b,c', ',', 2)", result: ['a', 'b,c'] },
    ],
  }),
  def({
    name: 'reverse',
    family: 'string',
    signature: 'reverse(s) → varchar',
    summary: 'Reverses the characters of a string.',
    params: ['string'],
    returns: 'string',
    impl: (s: string) => Array.from(s).reverse().join(''),
    examples: [{ expr: "reverse('abc')", result: 'cba' }],
  }),
  def({
    name: 'starts_with',
    family: 'string',
    signature: 'starts_with(s, prefix) → boolean',
    summary: 'True when `s` begins with `prefix`.',
    params: ['string', 'string'],
    returns: 'boolean',
    impl: (s: string, prefix: string) => s.startsWith(prefix),
    examples: [{ expr: "starts_with('/api/v1/users', '/api/')", result: true }],
  }),
  def({
    name: 'lpad',
    family: 'string',
    signature: 'lpad(s, size, padding) → varchar',
    summary: 'Left-pads (or truncates) to `size` characters.',
    params: ['string', 'integer', 'string'],
    returns: 'string',
    impl: (s: string, size: number, padding: string) => pad(s, size, padding, true),
    examples: [{ expr: "lpad('7', 3, '0')", result: '007' }],
  }),
  def({
    name: 'rpad',
    family: 'string',
    signature: 'rpad(s, size, padding) → varchar',
    summary: 'Right-pads (or truncates) to `size` characters.',
    params: ['string', 'integer', 'string'],
    returns: 'string',
    impl: (s: string, size: number, padding: string) => pad(s, size, padding, false),
    examples: [{ expr: "rpad('ab', 4, '.')", result: 'ab..' }],
  }),
  def({
    name: 'url_encode',
    family: 'string',
    signature: 'url_encode(s) → varchar',
    summary: 'Percent-encodes a string for use in a URL component.',
    params: ['string'],
    returns: 'string',
    impl: (s: string) => encodeURIComponent(s),
    examples: [{ expr: "url_encode('a b&c')", result: 'a%20b%26c' }],
  }),
  def({
    name: 'url_decode',
    family: 'string',
    signature: 'url_decode(s) → varchar',
    summary: 'Decodes percent-encoding (`+` stays `+`). Malformed input is a runtime error.',
    params: ['string'],
    returns: 'string',
    impl: (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new QueryRuntimeError('url_decode: malformed percent-encoding');
      }
    },
    examples: [{ expr: "url_decode('%2Fetc%2Fpasswd')", result: '/etc/passwd' }],
  }),
];
