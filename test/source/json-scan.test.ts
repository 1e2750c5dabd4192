import { describe, expect, it } from 'vitest';
import { decoderFor, decodeValue, filterDecoder, jsonDecoder } from '../../src/source/kafka/decode.ts';
import { parseMembers, scanJsonObject, WantedNames } from '../../src/source/kafka/json-scan.ts';
import { compileQuery } from '../../src/query/index.ts';
import { prng } from '../support/prng.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What JSON.parse (after strict UTF-8 decoding) makes of the bytes: a plain object, or undefined. */
function reference(b: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(utf8.decode(b));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Whitespace that makes a value longer than json-scan.wat takes (64 KiB): the JavaScript scan's. */
const LONG = Buffer.alloc(65_536, ' ');

/** The scan's answer must agree with JSON.parse whenever it gives one. */
function agrees(b: Buffer, names: string[]): 'scanned' | 'fallback' {
  const wanted = new WantedNames(names);
  const spans = scanJsonObject(b, wanted);
  if (spans === null) return 'fallback';
  const ref = reference(b);
  expect(ref, `scan accepted what JSON.parse refuses: ${JSON.stringify(b.toString('latin1'))}`).toBeDefined();
  const picked: Record<string, unknown> = {};
  for (const n of names) if (Object.hasOwn(ref!, n)) Object.defineProperty(picked, n, { value: ref![n], enumerable: true });
  expect(parseMembers(b, spans, wanted)).toEqual(picked);
  return 'scanned';
}

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('scanJsonObject (each case in both implementations: WebAssembly up to 64 KiB, JavaScript beyond)', () => {
  it('finds the wanted top-level members, however they are written', () => {
    const doc = b(' {"severity" : "high", "n": -1.5e+3, "nested": {"severity": "low"}, "list": [1, true, null, {"a": []}], "sévérité": "é", "esc\\u0061ped": 1}\n');
    const wanted = new WantedNames(['severity', 'sévérité', 'escaped', 'missing', 'n', 'list']);
    const spans = scanJsonObject(doc, wanted)!;
    expect(parseMembers(doc, spans, wanted)).toEqual({ severity: 'high', 'sévérité': 'é', escaped: 1, n: -1500, list: [1, true, null, { a: [] }] });
    const none = new WantedNames([]);
    expect(parseMembers(doc, scanJsonObject(doc, none)!, none)).toEqual({});
    // a string value with escapes is parsed, one without is sliced: both as JSON.parse gives them
    const strings = b('{"a": "tab\\there \\u00e9", "b": "plain é"}');
    const ab = new WantedNames(['a', 'b']);
    expect(parseMembers(strings, scanJsonObject(strings, ab)!, ab)).toEqual({ a: 'tab\there é', b: 'plain é' });
  });

  it('takes the last of duplicate keys and keeps __proto__ an own field, as JSON.parse does', () => {
    const doc = b('{"a": 1, "__proto__": {"x": 1}, "a": 2}');
    const w = new WantedNames(['a', '__proto__']);
    const m = parseMembers(doc, scanJsonObject(doc, w)!, w);
    expect(m.a).toBe(2);
    expect(Object.hasOwn(m, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
  });

  it.each([
    ['not an object', '[1]'],
    ['a string', '"x"'],
    ['trailing comma', '{"a": 1,}'],
    ['trailing text', '{"a": 1} x'],
    ['two objects', '{"a": 1}{"b": 2}'],
    ['leading zero', '{"a": 01}'],
    ['bare dot', '{"a": 1.}'],
    ['bare exponent', '{"a": 1e}'],
    ['plus sign', '{"a": +1}'],
    ['unquoted key', '{a: 1}'],
    ['single quotes', "{'a': 1}"],
    ['raw control character', '{"a": "x\ty"}'],
    ['bad escape', '{"a": "\\x"}'],
    ['short unicode escape', '{"a": "\\u12"}'],
    ['literal typo', '{"a": tru}'],
    ['NaN', '{"a": NaN}'],
    ['unterminated', '{"a": "x'],
    ['missing colon', '{"a" 1}'],
  ])('refuses %s (and JSON.parse agrees)', (_what, text) => {
    expect(scanJsonObject(b(text), new WantedNames(['a']))).toBeNull();
    expect(scanJsonObject(Buffer.concat([LONG, b(text)]), new WantedNames(['a']))).toBeNull();
    expect(reference(b(text))).toBeUndefined();
  });

  it('leaves to the full decoder what it does not vouch for: invalid UTF-8, a byte-order mark, deep nesting', () => {
    const w = new WantedNames(['a']);
    expect(scanJsonObject(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), w)).toBeNull();
    expect(scanJsonObject(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b('{"a":1}')]), w)).toBeNull();
    const deep = b(`{"a":${'['.repeat(100)}${']'.repeat(100)}}`);
    expect(scanJsonObject(deep, w)).toBeNull();
    expect(scanJsonObject(Buffer.concat([LONG, deep]), w)).toBeNull();
    expect(reference(deep)).toBeDefined(); // valid: the full decoder takes it
    // 64 levels are scanned, 65 are not, in both
    const nested = (levels: number): Buffer => b(`{"a":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`);
    for (const doc of [nested(64), Buffer.concat([LONG, nested(64)])]) expect(parseMembers(doc, scanJsonObject(doc, w)!, w)).toEqual(reference(doc));
    for (const doc of [nested(65), Buffer.concat([LONG, nested(65)])]) expect(scanJsonObject(doc, w)).toBeNull();
  });

  it('agrees with JSON.parse on 20 000 random documents and mutations of them (seeded)', () => {
    const next = prng(20261203);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const keys = ['a', 'b', 'severity', 'é', '__proto__', 'a\\"b', 'x\\u0041'];
    const scalar = (): string => pick(['0', '-0', '12', '-3.25', '1e9', '2E-3', 'true', 'false', 'null', '"s"', '"é\\n\\u00e9"', '"\\ud800"', '""']);
    const value = (d: number): string => {
      const r = next();
      if (d > 3 || r < 0.5) return scalar();
      if (r < 0.75) return `[${Array.from({ length: Math.floor(next() * 3) }, () => value(d + 1)).join(',')}]`;
      return obj(d + 1);
    };
    const ws = (): string => pick(['', '', ' ', '\n', '\t', '\r\n ']);
    const obj = (d: number): string => `{${Array.from({ length: Math.floor(next() * 5) }, () => `${ws()}"${pick(keys)}"${ws()}:${ws()}${value(d)}${ws()}`).join(',')}}`;
    const noise = ['', '}', '{', ',', ':', '"', '\\', '\u0001', 'x', '1', '.', '-', 'e', ' ', ']', '['];
    let scanned = 0;
    let fellBack = 0;
    for (let i = 0; i < 20_000; i++) {
      let text = `${ws()}${obj(0)}${ws()}`;
      if (i % 2 === 1) {
        // a mutation: insert, delete or replace one character
        const at = Math.floor(next() * (text.length + 1));
        const op = next();
        text = op < 0.4 ? text.slice(0, at) + pick(noise) + text.slice(at) : op < 0.7 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + pick(noise) + text.slice(at + 1);
      }
      const names = keys.filter(() => next() < 0.5).map((k) => JSON.parse(`"${k}"`) as string);
      const outcome = agrees(b(text), names);
      if (outcome === 'scanned') scanned++;
      else fellBack++;
      // every fourth document once more, longer than the WebAssembly scan takes: the same outcome
      if (i % 4 < 2) expect(agrees(Buffer.concat([LONG, b(text)]), names), JSON.stringify(text)).toBe(outcome);
    }
    // both outcomes were exercised, and every valid document was scanned
    expect(scanned).toBeGreaterThan(10_000);
    expect(fellBack).toBeGreaterThan(1_000);
  });
});

describe('filterDecoder and decoderFor', () => {
  it('a filter-only query gets the members it reads, marked partial; anything else decodes as before', () => {
    const d = filterDecoder(['severity']);
    expect(d.decode(b('{"severity": "high", "other": {"x": 1}}'), undefined as never)).toEqual({ ok: true, fields: { severity: 'high' }, raw: false, partial: true });
    for (const v of [b('plain text'), b(''), Buffer.from([0xff]), b('[1,2]')]) expect(d.decode(v, undefined as never)).toEqual(decodeValue(v));
    expect(d.decode(null, undefined as never)).toEqual(decodeValue(null));
  });

  it('is chosen only for `*` and queries made of where instructions', () => {
    expect(compileQuery('*').filterFields).toEqual([]);
    expect(compileQuery("* | where severity in ('high') and src.ip like '10.%' | where coalesce(user, host) is not null and __topic__ = 't'").filterFields).toEqual(['severity', 'src', 'user', 'host']);
    expect(compileQuery("* | where a = 1 | extend b = 2").filterFields).toBeUndefined();
    expect(compileQuery('* | project a').filterFields).toBeUndefined();
    expect(decoderFor(compileQuery("* | extend b = 2"))).toBe(jsonDecoder);
    expect(decoderFor(compileQuery('*'))).not.toBe(jsonDecoder);
  });
});
