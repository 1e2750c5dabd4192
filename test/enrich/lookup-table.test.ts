// Lookup tables as files: CSV and JSON lines, exact / ignore-case / CIDR matching, and the errors a
// bad file gets (with its line).
import { describe, expect, it } from 'vitest';
import { CidrTable, parseCidr, parseIp } from '../../src/enrich/ip.ts';
import { LookupFileError, parseLookupTable, type LookupSpec } from '../../src/enrich/lookup-table.ts';

const spec = (over: Partial<LookupSpec> = {}): LookupSpec => ({ name: 't', file: 't.csv', format: 'csv', key: undefined, match: 'exact', ...over });

function fileError(text: string, s: LookupSpec = spec()): string {
  try {
    parseLookupTable(text, s);
  } catch (e) {
    if (e instanceof LookupFileError) return e.message;
    throw e;
  }
  throw new Error('parsed');
}

describe('CSV tables', () => {
  it('reads RFC 4180: quoted values with commas, doubled quotes and line breaks; CRLF; a BOM; blank lines', () => {
    const t = parseLookupTable('\ufeffuser,name,note\r\nalice,"Smith, Alice","said ""hi""\nthen left"\r\n\r\nbob,Bob,\n', spec());
    expect(t.keyColumn).toBe('user');
    expect(t.columns).toEqual(['name', 'note']);
    expect(t.rows).toBe(2);
    expect(t.match('alice')).toEqual({ name: 'Smith, Alice', note: 'said "hi"\nthen left' });
    // An empty cell is no value.
    expect(t.match('bob')).toEqual({ name: 'Bob' });
    expect(t.match('Alice')).toBeUndefined();
    expect(t.match('carol')).toBeUndefined();
  });

  it('LOOKUP_<NAME>_KEY picks another column; ignore-case; the first row of a repeated key wins and is counted', () => {
    const t = parseLookupTable('id,email,team\n1,Alice@Example.com,red\n2,alice@example.com,blue\n', spec({ key: 'email', match: 'ignore-case' }));
    expect(t.columns).toEqual(['id', 'team']);
    expect(t.match('ALICE@EXAMPLE.COM')).toEqual({ id: '1', team: 'red' });
    expect(t.duplicates).toBe(1);
  });

  it('names the line of what is wrong', () => {
    expect(fileError('')).toMatch(/the file is empty/);
    expect(fileError('a,,b\n')).toBe('line 1: a column without a name');
    expect(fileError('a,a\n')).toBe('line 1: the column "a" appears twice');
    expect(fileError('a,b\n1,2\n3\n')).toBe('line 3: 1 values for 2 columns');
    expect(fileError('a,b\n1,"2\n')).toBe('line 2: a quoted value is not closed');
    expect(fileError('a,b\n1,2"x\n')).toMatch(/^line 2: a quote inside an unquoted value/);
    expect(fileError('a,b\n1,"2"x\n')).toBe('line 2: text after a closing quote');
    expect(fileError('a,b\n"multi\nline",x\nbad\n')).toBe('line 4: 1 values for 2 columns');
    expect(fileError('a,b\n', spec({ key: 'c' }))).toBe('line 1: no column "c" (the key column), found "a", "b"');
  });
});

describe('JSON lines tables', () => {
  it('keeps JSON types, takes the union of the keys as columns, matches number keys as text', () => {
    const t = parseLookupTable('{"id": 7, "owner": "x", "tags": ["a"]}\n\n{"id": "8", "critical": true}\n', spec({ format: 'jsonl', key: 'id' }));
    expect([...t.columns].sort()).toEqual(['critical', 'owner', 'tags']);
    expect(t.match('7')).toEqual({ owner: 'x', tags: ['a'] });
    expect(t.match('8')).toEqual({ critical: true });
  });

  it('names the line of what is wrong', () => {
    const s = spec({ format: 'jsonl', key: 'id' });
    expect(fileError('{"id":1}\n{"id":2,\n', s)).toMatch(/^line 2: not JSON/);
    expect(fileError('[1]\n', s)).toBe('line 1: not a JSON object');
    expect(fileError('{"id":1}\n{"other":1}\n', s)).toBe('line 2: no "id" (the key column) of text or a number');
    expect(fileError('{"id":1}\n', spec({ format: 'jsonl' }))).toMatch(/name the key column/);
  });
});

describe('CIDR tables', () => {
  it('the longest network holding the address wins, IPv4 and IPv6; a single address is a /32 or /128', () => {
    const t = parseLookupTable(
      'net,zone\n0.0.0.0/0,internet\n10.0.0.0/8,corp\n10.1.0.0/16,dc-fra\n10.1.2.3,db-primary\n2001:db8::/32,v6-corp\n2001:db8:1::/48,v6-lab\n::ffff:192.168.0.0/112,home\n',
      spec({ match: 'cidr' }),
    );
    expect(t.match('10.1.2.3')).toEqual({ zone: 'db-primary' });
    expect(t.match('10.1.2.4')).toEqual({ zone: 'dc-fra' });
    expect(t.match('10.9.0.1')).toEqual({ zone: 'corp' });
    expect(t.match('8.8.8.8')).toEqual({ zone: 'internet' });
    expect(t.match('::ffff:10.1.2.3')).toEqual({ zone: 'db-primary' });
    expect(t.match('192.168.7.7')).toEqual({ zone: 'home' });
    expect(t.match('2001:db8:1::9')).toEqual({ zone: 'v6-lab' });
    expect(t.match('2001:db8:2::9')).toEqual({ zone: 'v6-corp' });
    expect(t.match('2001:db9::1')).toBeUndefined();
    expect(t.match(' 10.1.2.3 ')).toEqual({ zone: 'db-primary' });
    expect(t.match('not an ip')).toBeUndefined();
    expect(t.match('')).toBeUndefined();
  });

  it('a key that is no network names its line; a repeated network is counted', () => {
    expect(fileError('net,z\n10.0.0.0/8,a\n10.0.0.0/33,b\n', spec({ match: 'cidr' }))).toBe('line 3: the key "10.0.0.0/33" is not an IP address or CIDR network');
    expect(fileError('net,z\nexample.com,a\n', spec({ match: 'cidr' }))).toMatch(/^line 2: the key "example.com"/);
    expect(parseLookupTable('net,z\n10.0.0.0/8,a\n10.255.0.0/8,b\n', spec({ match: 'cidr' })).duplicates).toBe(1);
  });

  it('parseIp agrees with the textual forms of RFC 4291 and RFC 5952', () => {
    const n = (t: string) => parseIp(t)?.n;
    expect(n('2001:db8::1')).toBe(n('2001:0db8:0000:0000:0000:0000:0000:0001'));
    expect(n('::')).toBe(0n);
    expect(n('::1')).toBe(1n);
    expect(n('1::')).toBe(1n << 112n);
    expect(n('64:ff9b::192.0.2.33')).toBe((0x64n << 112n) | (0xff9bn << 96n) | 0xc0000221n);
    expect(parseIp('::ffff:1.2.3.4')).toEqual({ v: 4, n: 0x01020304 });
    expect(parseIp('fe80::1%eth0')?.v).toBe(6);
    for (const bad of ['1.2.3', '1.2.3.256', '::1::', 'g::1', '']) expect(parseIp(bad), bad).toBeUndefined();
    expect(parseCidr('10.0.0.0/-1')).toBeUndefined();
    // A brute check of the IPv4 matcher against a direct computation.
    const table = new CidrTable<string>();
    const nets = ['0.0.0.0/0', '128.0.0.0/1', '192.168.0.0/16', '192.168.1.0/24', '192.168.1.128/25', '192.168.1.200/32'];
    for (const c of nets) table.add(parseCidr(c)!, c);
    const contains = (c: string, ip: number): boolean => {
      const { ip: net, bits } = parseCidr(c)!;
      return bits === 0 || (net.n as number) >>> (32 - bits) === ip >>> (32 - bits);
    };
    for (let i = 0; i < 2000; i++) {
      const ip = i < 1000 ? (0xc0a80100 + (i % 256)) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
      const want = nets.filter((c) => contains(c, ip)).sort((a, b) => Number(b.split('/')[1]) - Number(a.split('/')[1]))[0];
      expect(table.match({ v: 4, n: ip })).toBe(want);
    }
  });
});
