// The WebAssembly half of the JSON scan (src/source/kafka/json-scan.wat): its committed bytes are its
// source's, and it agrees with JSON.parse where its 16-byte blocks begin and end, at the size limit
// where the JavaScript scan takes over, with the most members a value can have, and after a longer
// value left its bytes in memory. (test/source/json-scan.test.ts holds both scans to JSON.parse on
// random documents.)
import { describe, expect, it } from 'vitest';
import { parseMembers, scanJsonObject, WantedNames } from '../../src/source/kafka/json-scan.ts';
import { staleModules } from '../../scripts/build-wasm.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const wanted = new WantedNames(['a', 'b']);

/** The scan's answer for the text: the wanted members, or null when it leaves the value to JSON.parse. */
function scan(text: string): Record<string, unknown> | null {
  const b = Buffer.from(text, 'utf8');
  const spans = scanJsonObject(b, wanted);
  return spans === null ? null : parseMembers(b, spans, wanted);
}

/** JSON.parse's wanted members, or null when it refuses the text. */
function reference(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(utf8.decode(Buffer.from(text, 'utf8'))) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of ['a', 'b']) if (Object.hasOwn(v, k)) out[k] = v[k];
    return out;
  } catch {
    return null;
  }
}

describe('the JSON scan in WebAssembly', () => {
  it('is assembled from its source: json-scan.wasm.ts is what json-scan.wat assembles to', async () => {
    expect(await staleModules(), 'run node scripts/build-wasm.ts').toEqual([]);
  });

  it('agrees with JSON.parse with an escape, quote, control character or literal at every offset of a block', () => {
    const inString = ['\\"', '\\\\', '\\n', '\\u00e9', '\\u12', '\\x', '"', '\t', '\u0001', 'é'];
    const values = ['true', 'false', 'null', 'tru', 'nul', 'fals', '-0.5e+3', '01', '1.', '[]', '{}', '[1,]', '{"c":[{"d":null}]}'];
    let scanned = 0;
    for (let pad = 0; pad <= 40; pad++) {
      const texts = [
        ...inString.flatMap((s) => [`{"a":"${'x'.repeat(pad)}${s}y","b":1}`, `{"a":"${'x'.repeat(pad)}${s}","b":"${'z'.repeat(pad % 17)}"}`, `${' '.repeat(pad)}{"b":${pad},"a":"${s}${'x'.repeat(pad)}"}`]),
        ...values.flatMap((v) => [`{"${'k'.repeat(pad)}":1,"a":${v}}`, `{"a":${v}${' '.repeat(pad % 19)},"b":"${'x'.repeat(pad)}"}`, `{"b":"${'x'.repeat(pad)}","a":${v}}`]),
      ];
      for (const text of texts) {
        const got = scan(text);
        if (got !== null) scanned++;
        expect(got, JSON.stringify(text)).toEqual(reference(text));
      }
    }
    expect(scanned).toBeGreaterThan(1200);
  });

  it('refuses a value cut anywhere, however the memory behind its end looks', () => {
    const long = `{"a":"${'x\\"'.repeat(100)}","b":[true,false,null,-1.5e3,{"c":"\\u00e9"}]}`;
    for (let cut = 1; cut < long.length; cut++) {
      expect(scan(long), 'the whole value').toEqual(reference(long)); // leaves its bytes in memory
      expect(scan(long.slice(0, cut)), `cut at ${cut}: ${long.slice(Math.max(0, cut - 10), cut)}`).toBeNull();
    }
  });

  it('takes values up to 64 KiB and leaves longer ones to the JavaScript scan, with the same answers', () => {
    for (const size of [65_530, 65_536, 65_537, 70_000]) {
      const head = '{"a":"';
      const tail = '","b":[1,2,{"c":"d"}]}';
      const body = 'abc\\"déf\\u0041 x'.repeat(Math.ceil(size / 16));
      let text = `${head}${body}`;
      // cut the body so that the text is exactly `size` bytes, on a character and escape boundary
      while (Buffer.byteLength(text) + tail.length > size || /\\(u[0-9A-F]{0,3})?$/.test(text)) text = text.slice(0, -1);
      text = `${text}${' '.repeat(size - Buffer.byteLength(text) - tail.length)}${tail}`;
      expect(Buffer.byteLength(text)).toBe(size);
      expect(reference(text), `size ${size}`).not.toBeNull();
      expect(scan(text), `size ${size}`).toEqual(reference(text));
      expect(scan(text.replace('abc', 'a\u0001c')), `size ${size} with a raw control character`).toBeNull();
    }
  });

  it('reports every member of an object with the most members 64 KiB can hold', () => {
    const members = Array.from({ length: 10_900 }, (_, i) => `"${String.fromCharCode(0x61 + (i % 26))}":${i % 10}`);
    const text = `{${members.join(',')}}`;
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(65_536);
    const all = new WantedNames('abcdefghijklmnopqrstuvwxyz'.split(''));
    const b = Buffer.from(text);
    const spans = scanJsonObject(b, all)!;
    expect(spans.length / 4).toBe(10_900);
    expect(parseMembers(b, spans, all)).toEqual(JSON.parse(text));
    const short = Buffer.from(`{${Array.from({ length: 13_107 }, () => '"":0').join(',')}}`);
    expect(short.length).toBeLessThanOrEqual(65_536);
    expect(scanJsonObject(short, new WantedNames([''])), 'the shortest members, as many as fit').not.toBeNull();
  });
});
