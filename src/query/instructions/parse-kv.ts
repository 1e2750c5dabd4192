/**
 * parse-kv: `key=value` pairs → fields.
 *   parse-kv [-delims=' ,;&\t'] [-kv-sep='='] [-prefix='p_'] [-mode=..] [-greedy] field
 *   parse-kv [options] field, '<delims>', '<kv-sep>'        (SLS positional form)
 *   parse-kv -regexp field, '(key-regex)=(value-regex)'     (two groups per pair)
 * Each character of delims separates pairs. A value in double quotes may
 * contain delimiters (`msg="a b"`). -greedy lets an unquoted value run up to
 * the next `<delim>key<sep>` (CEF-style `msg=a b c user=x`). The first
 * occurrence of a key wins, so text inside a later value cannot override it.
 */
import type { Instruction } from '../ast.ts';
import { compileRe2 } from '../regex.ts';
import { sourceReader, writeValue } from './output.ts';
import { writable, type Step } from './step.ts';

type Pair = [string, string];
const KEY_CHAR = /[\p{L}\p{N}_.\-:@]/u;

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(["\\])/g, '$1');
  return v;
}

export function splitPairs(s: string, delims: string, sep: string): Pair[] {
  const pairs: Pair[] = [];
  const isDelim = (ch: string | undefined): boolean => ch !== undefined && delims.includes(ch);
  let i = 0;
  while (i < s.length) {
    while (i < s.length && isDelim(s[i])) i++;
    if (i >= s.length) break;
    const start = i;
    while (i < s.length && !isDelim(s[i]) && !s.startsWith(sep, i)) i++;
    if (i >= s.length || isDelim(s[i])) continue; // a token without separator: not a pair
    const key = s.slice(start, i).trim();
    i += sep.length;
    let value: string;
    if (s[i] === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      value = unquote(s.slice(i, Math.min(j + 1, s.length)));
      i = j + 1;
      while (i < s.length && !isDelim(s[i])) i++;
    } else {
      const vStart = i;
      while (i < s.length && !isDelim(s[i])) i++;
      value = s.slice(vStart, i);
    }
    if (key !== '') pairs.push([key, value]);
  }
  return pairs;
}

export function splitPairsGreedy(s: string, delims: string, sep: string): Pair[] {
  const isDelim = (ch: string | undefined): boolean => ch !== undefined && delims.includes(ch);
  // A key is a run of key characters right before a separator, at the start or after a delimiter.
  const keys: Array<{ start: number; sep: number }> = [];
  for (let p = s.indexOf(sep); p >= 0; p = s.indexOf(sep, p + sep.length)) {
    let k = p;
    while (k > 0 && KEY_CHAR.test(s[k - 1] as string)) k--;
    const last = keys[keys.length - 1];
    if (k < p && (k === 0 || isDelim(s[k - 1])) && (!last || k >= last.sep + sep.length)) keys.push({ start: k, sep: p });
  }
  return keys.map((k, idx) => {
    const next = keys[idx + 1];
    let end = next ? next.start : s.length;
    while (end > k.sep + sep.length && isDelim(s[end - 1])) end--;
    return [s.slice(k.start, k.sep), unquote(s.slice(k.sep + sep.length, end))];
  });
}

type Ins = Extract<Instruction, { kind: 'parse-kv' }>;

export function compileParseKv(ins: Ins, where: string): Step {
  const read = sourceReader(ins.source.path, where);
  const { delims, kvSep, prefix, greedy } = ins;
  const preserve = ins.mode === 'preserve';
  let split: (s: string) => Pair[];
  if (ins.regexp) {
    const re = compileRe2(ins.regexp.value, 'g').re;
    split = (s) => [...s.matchAll(re)].map((m) => [m[1] ?? '', m[2] ?? ''] as Pair).filter(([k]) => k !== '');
  } else {
    split = greedy ? (s) => splitPairsGreedy(s, delims, kvSep) : (s) => splitPairs(s, delims, kvSep);
  }
  return (rec, _meta, owned) => {
    const s = read(rec);
    if (s === undefined) return rec;
    const pairs = split(s);
    if (pairs.length === 0) return rec;
    const out = writable(rec, owned);
    const seen = new Set<string>();
    for (const [k, v] of pairs) {
      if (seen.has(k)) continue;
      seen.add(k);
      writeValue(out, [prefix + k], v, preserve);
    }
    return out;
  };
}
