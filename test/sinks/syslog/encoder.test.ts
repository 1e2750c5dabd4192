import { describe, expect, it } from 'vitest';
import {
  encode3164, encode5424, encodeSyslog, escapeParamValue, eventTime, headerField, structuredData, tag3164, timestamp3164, timestamp5424,
  type SyslogEncodeConfig,
} from '../../../src/sinks/syslog/encoder.ts';
import { parseTemplate, type Template } from '../../../src/sinks/syslog/template.ts';
import { base, rec } from './support.ts';

const template = (s: string): Template => {
  const t = parseTemplate(s);
  if (typeof t === 'string') throw new Error(t);
  return t;
};

const full: SyslogEncodeConfig = {
  ...base,
  facility: 4, // auth
  hostname: { constant: 'relay', field: 'host' },
  appName: { constant: 'logstream', field: 'app' },
  procId: { constant: undefined, field: 'pid' },
  msgId: { constant: 'EVT', field: 'type' },
  timeField: 'ts',
  sd: { id: 'logstream@32473', params: [{ name: 'user', field: 'user' }, { name: 'ip', field: 'src.ip' }, { name: 'tag', field: 'tags' }] },
  template: template('{user} did {action} from {src.ip}'),
};

describe('RFC 5424 encoder', () => {
  it('writes the default line: PRI, version, UTC time with milliseconds, NILVALUEs, the record as JSON', () => {
    expect(encode5424(rec({ a: 1, s: 'é' }), base).toString('utf8')).toBe('<134>1 2023-11-14T22:13:20.123Z - logstream - - - {"a":1,"s":"é"}');
  });

  it('writes every header field, the structured data and the template message', () => {
    const r = rec({ host: 'fw-01.example.com', app: 'sshd', pid: 4242, type: 'LOGIN', ts: '2026-11-02T03:04:05.007+01:00', severity: 'high', user: 'alice', src: { ip: '10.0.0.1' }, tags: ['a', 'b'], action: 'login' });
    expect(encode5424(r, full).toString('utf8')).toBe(
      '<35>1 2026-11-02T02:04:05.007Z fw-01.example.com sshd 4242 LOGIN [logstream@32473 user="alice" ip="10.0.0.1" tag="a" tag="b"] alice did login from 10.0.0.1',
    );
  });

  it('falls back to the constants, the Kafka timestamp and the default severity when fields are missing or empty', () => {
    const r = rec({ host: '', ts: 'not a time', severity: 'bogus' });
    expect(encode5424(r, { ...full, sd: undefined, template: template('x') }).toString('utf8')).toBe('<38>1 2023-11-14T22:13:20.123Z relay logstream - EVT - x');
  });

  it('computes PRI = facility × 8 + severity, from names and numbers', () => {
    const pri = (facility: number, severity: unknown): string => /^<(\d+)>/.exec(encode5424(rec({ severity }), { ...base, facility }).toString())![1]!;
    expect(pri(0, 'emerg')).toBe('0');
    expect(pri(23, 'debug')).toBe('191');
    expect(pri(16, 'critical')).toBe('130');
    expect(pri(16, 'medium')).toBe('132');
    expect(pri(16, 'LOW')).toBe('133');
    expect(pri(4, 3)).toBe('35');
    expect(pri(4, '7')).toBe('39');
    expect(pri(4, 8)).toBe('38'); // out of range: the default (informational)
    expect(pri(1, undefined)).toBe('14');
  });

  it('escapes ", \\ and ] in SD values, and nothing else', () => {
    expect(escapeParamValue('a"b\\c]d')).toBe('a\\"b\\\\c\\]d');
    expect(escapeParamValue('[x=y] \'é\' \t|')).toBe('[x=y\\] \'é\' \t|');
    const sd = { id: 'x@1', params: [{ name: 'v', field: 'v' }] };
    expect(structuredData(rec({ v: 'say "hi" \\ [ok]' }), sd)).toBe('[x@1 v="say \\"hi\\" \\\\ [ok\\]"]');
    expect(structuredData(rec({ v: { k: '"' } }), sd)).toBe('[x@1 v="{\\"k\\":\\"\\\\\\"\\"}"]'); // objects as JSON, then escaped
  });

  it('writes "-" for structured data when nothing is configured or the record has none of the fields', () => {
    expect(structuredData(rec({ user: 'a' }), undefined)).toBe('-');
    expect(structuredData(rec({ other: 1, user: null }), full.sd)).toBe('-');
    expect(structuredData(rec({ user: 0, src: { ip: false } }), full.sd)).toBe('[logstream@32473 user="0" ip="false"]');
  });

  it('keeps SD values as UTF-8 bytes', () => {
    const out = encode5424(rec({ v: 'ü€' }), { ...base, sd: { id: 'x@1', params: [{ name: 'v', field: 'v' }] }, template: template('m') });
    expect(out.toString('hex')).toBe(Buffer.from('<134>1 2023-11-14T22:13:20.123Z - logstream - - [x@1 v="', 'ascii').toString('hex') + 'c3bce282ac' + Buffer.from('"] m').toString('hex'));
  });

  it('replaces characters outside printable US-ASCII in header fields and cuts them to their limits', () => {
    expect(headerField('my host\tname', 255)).toBe('my_host_name');
    expect(headerField('höst😀x', 255)).toBe('h_st_x'); // one "_" per character, not per UTF-16 unit or byte
    expect(headerField('', 48)).toBe('-');
    expect(headerField(undefined, 48)).toBe('-');
    const r = rec({ h: 'h'.repeat(300), a: 'a'.repeat(60), p: 'p'.repeat(200), m: 'm'.repeat(40) });
    const cfg: SyslogEncodeConfig = {
      ...base,
      hostname: { constant: undefined, field: 'h' },
      appName: { constant: undefined, field: 'a' },
      procId: { constant: undefined, field: 'p' },
      msgId: { constant: undefined, field: 'm' },
      template: template(''),
    };
    const fields = encode5424(r, cfg).toString().split(' ');
    expect(fields.slice(2, 6).map((f) => f.length)).toEqual([255, 48, 128, 32]);
    expect(fields).toHaveLength(7); // empty MSG: no trailing space
  });

  it('keeps newlines, tabs and non-ASCII in MSG as UTF-8 bytes (framing deals with newlines)', () => {
    const out = encode5424(rec({ m: 'a\nb\tc\r\nÅ日' }), { ...base, template: template('{m}') });
    expect(out.subarray(out.length - 12).toString('hex')).toBe('610a6209630d0ac385e697a5'); // "a\nb\tc\r\nÅ日"
  });

  it('puts the UTF-8 BOM before MSG when asked, and only there', () => {
    const out = encode5424(rec({}), { ...base, bom: true, template: template('hi') });
    const header = '<134>1 2023-11-14T22:13:20.123Z - logstream - - - ';
    expect(out.toString('hex')).toBe(Buffer.from(header).toString('hex') + 'efbbbf' + Buffer.from('hi').toString('hex'));
    expect(encode5424(rec({}), { ...base, bom: true, template: template('') }).toString()).toBe(header.trimEnd());
  });

  it('sends a record that is only _raw as its text, and fills templates', () => {
    expect(encode5424(rec({ _raw: '<34>Oct 11 su: failed' }), base).toString()).toMatch(/ - <34>Oct 11 su: failed$/);
    const t = template('{{x}} {missing}|{n}|{o}|{.}');
    expect(encode5424(rec({ n: 1.5, o: { a: [1] } }), { ...base, template: t }).toString()).toMatch(/ - \{x\} \|1\.5\|\{"a":\[1\]\}\|\{"n":1\.5,"o":\{"a":\[1\]\}\}$/);
  });

  it('uses the time field in UTC, or "-" when no time is known', () => {
    expect(timestamp5424(eventTime(rec({ t: 1762052645 }), 't'))).toBe('2025-11-02T03:04:05.000Z');
    expect(timestamp5424(eventTime(rec({ t: '2026-01-02T03:04:05.123456+02:00' }), 't'))).toBe('2026-01-02T01:04:05.123Z');
    expect(timestamp5424(eventTime(rec({}, -1), undefined))).toBe('-');
    expect(timestamp5424(eventTime(rec({ t: 1e15 }, -1), 't'))).toBe('-'); // year 33658: not 4 digits
    expect(timestamp5424(eventTime(rec({ t: 1e15 }), 't'))).toBe('2023-11-14T22:13:20.123Z');
  });
});

describe('RFC 3164 encoder', () => {
  const bsd: SyslogEncodeConfig = { ...base, format: 'rfc3164', hostname: { constant: 'relay', field: 'host' }, timeField: 'ts', template: template('{msg}') };

  it('writes <PRI>Mmm dd hh:mm:ss HOSTNAME TAG: MSG, the day padded with a space, in UTC', () => {
    const r = rec({ ts: '2026-11-02T03:04:05+02:00', host: 'fw01', severity: 'warning', msg: 'denied ü' });
    expect(encode3164(r, bsd).toString('utf8')).toBe('<132>Nov  2 01:04:05 fw01 logstream: denied ü');
    expect(encodeSyslog(r, bsd).toString('utf8')).toBe('<132>Nov  2 01:04:05 fw01 logstream: denied ü');
    expect(encode3164(rec({ msg: 'x' }), { ...bsd, hostname: { constant: undefined, field: undefined } }).toString()).toBe('<134>Nov 14 22:13:20 - logstream: x');
  });

  it('formats timestamps', () => {
    expect(timestamp3164(Date.UTC(2026, 0, 9, 0, 0, 9))).toBe('Jan  9 00:00:09');
    expect(timestamp3164(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('Dec 31 23:59:59');
    expect(timestamp3164(undefined)).toBe('Jan  1 00:00:00');
  });

  it('makes the TAG at most 32 letters and digits', () => {
    expect(tag3164('my-app_2.service')).toBe('myapp2service');
    expect(tag3164('x'.repeat(40))).toBe('x'.repeat(32));
    expect(tag3164('---')).toBe('logstream');
    expect(encode3164(rec({ app: 'web server/1' }), { ...bsd, appName: { constant: 'logstream', field: 'app' } }).toString()).toBe('<134>Nov 14 22:13:20 relay webserver1: ');
  });

  it('cuts the packet to 1024 bytes without splitting a UTF-8 character', () => {
    const prefix = '<134>Nov 14 22:13:20 relay logstream: '; // 38 bytes
    const ascii = encode3164(rec({ msg: 'a'.repeat(2000) }), bsd);
    expect(ascii.length).toBe(1024);
    expect(ascii.toString()).toBe(prefix + 'a'.repeat(986));
    // 38 + 985 bytes, then "€" (3 bytes) would end at 1026: it is left out whole.
    const euro = encode3164(rec({ msg: `${'a'.repeat(985)}€€` }), bsd);
    expect(euro.length).toBe(1023);
    expect(euro.toString('utf8')).toBe(prefix + 'a'.repeat(985));
    expect(encode3164(rec({ msg: 'short' }), bsd).toString()).toBe(`${prefix}short`);
  });
});
