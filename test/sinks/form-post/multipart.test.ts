import { describe, expect, it } from 'vitest';
import { encodeMultipart, isValidBoundary, quoteParam, randomBoundary, type FormPart } from '../../../src/sinks/form-post/multipart.ts';
import { parseWithBusboy, readRawParts } from '../../support/form-receiver/form.ts';
import { prng } from '../../support/prng.ts';

const parts: FormPart[] = [
  { name: 'product', data: Buffer.from('web') },
  { name: 'rows', data: Buffer.from('2') },
  { name: 'file', filename: 'web-1.json', contentType: 'application/x-ndjson', data: Buffer.from('{"a":1}\n{"b":"ü"}\n') },
];

describe('multipart/form-data encoding (RFC 7578)', () => {
  it('writes the exact bytes: --B CRLF, Content-Disposition (+ filename, Content-Type), CRLF CRLF, data, CRLF --B-- CRLF', () => {
    const m = encodeMultipart(parts, () => 'B0undary');
    expect(m.boundary).toBe('B0undary');
    expect(m.contentType).toBe('multipart/form-data; boundary=B0undary');
    expect(m.body.toString('utf8')).toBe(
      '--B0undary\r\n' +
        'Content-Disposition: form-data; name="product"\r\n\r\nweb\r\n' +
        '--B0undary\r\n' +
        'Content-Disposition: form-data; name="rows"\r\n\r\n2\r\n' +
        '--B0undary\r\n' +
        'Content-Disposition: form-data; name="file"; filename="web-1.json"\r\nContent-Type: application/x-ndjson\r\n\r\n{"a":1}\n{"b":"ü"}\n\r\n' +
        '--B0undary--\r\n',
    );
    expect(m.body.toString('latin1')).not.toMatch(/content-transfer-encoding|filename\*/i);
  });

  it('random boundaries are 34 bchars, valid, and differ', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const b = randomBoundary();
      expect(b).toHaveLength(34);
      expect(isValidBoundary(b)).toBe(true);
      seen.add(b);
    }
    expect(seen.size).toBe(1000);
  });

  it('boundary rules: 1–70 characters from bchars, not ending in a space', () => {
    expect(isValidBoundary('a')).toBe(true);
    expect(isValidBoundary('x'.repeat(70))).toBe(true);
    expect(isValidBoundary("0aZ'()+_,-./:=? z")).toBe(true);
    expect(isValidBoundary('')).toBe(false);
    expect(isValidBoundary('x'.repeat(71))).toBe(false);
    expect(isValidBoundary('ends with space ')).toBe(false);
    expect(isValidBoundary('quote"')).toBe(false);
    expect(isValidBoundary('semi;colon')).toBe(false);
    expect(isValidBoundary('ü')).toBe(false);
    expect(() => encodeMultipart(parts, () => 'bad;boundary')).toThrow(/invalid multipart boundary/);
  });

  it('never uses a boundary that occurs in a part: data or headers; gives up after 8 tries', () => {
    const tries = ['in-data', 'in-name', 'clean'];
    const withBoundaryInside: FormPart[] = [
      { name: 'x-in-name', data: Buffer.from('v') },
      { name: 'file', filename: 'f.json', data: Buffer.from('{"s":"--in-data"}\n') },
    ];
    const m = encodeMultipart(withBoundaryInside, () => tries.shift()!);
    expect(m.boundary).toBe('clean');
    expect(tries).toEqual([]);
    expect(() => encodeMultipart(withBoundaryInside, () => 'in-data')).toThrow(/after 8 tries/);
  });

  it('escapes ", CR and LF in names and file names as %22, %0D, %0A', () => {
    expect(quoteParam('a"b\r\nc')).toBe('a%22b%0D%0Ac');
    const m = encodeMultipart([{ name: 'n"1', filename: 'f\n.json', data: Buffer.from('x') }], () => 'B');
    expect(m.body.toString()).toContain('name="n%221"; filename="f%0A.json"');
  });

  it('busboy and a structural reading parse 300 random forms back to exactly the parts sent', async () => {
    const rnd = prng(7578);
    const alphabet = ['a', 'Z', '0', '-', '\r', '\n', '"', '\\', 'ü', '✓', '𝄞', '--', '\r\n--', 'logstream-', ' '];
    const text = (n: number): string => Array.from({ length: n }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
    for (let i = 0; i < 300; i++) {
      const sent: FormPart[] = [
        { name: 'product', data: Buffer.from(text(1 + Math.floor(rnd() * 10))) },
        { name: 'rows', data: Buffer.from(String(i)) },
        { name: 'file', filename: `p-${i}.json`, contentType: 'application/x-ndjson', data: Buffer.from(text(Math.floor(rnd() * 400))) },
      ];
      const m = encodeMultipart(sent);
      const raw = readRawParts(m.body, m.boundary);
      if (!Array.isArray(raw)) throw new Error(raw.reason);
      const got = await parseWithBusboy(m.body, m.contentType);
      expect(got.map((p) => [p.name, p.kind, p.filename, p.data.toString('utf8')])).toEqual([
        ['product', 'field', undefined, sent[0]!.data.toString('utf8')],
        ['rows', 'field', undefined, String(i)],
        ['file', 'file', `p-${i}.json`, sent[2]!.data.toString('utf8')],
      ]);
      expect(raw.map((p) => p.data.toString('utf8'))).toEqual(sent.map((p) => p.data.toString('utf8')));
      expect(got[2]!.mimeType).toBe('application/x-ndjson');
    }
  });
});
