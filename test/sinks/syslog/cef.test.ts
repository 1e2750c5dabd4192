import { describe, expect, it } from 'vitest';
import { cefExtension, cefSeverityOf, encodeCef, escapeCefHeader, escapeCefValue } from '../../../src/sinks/syslog/cef.ts';
import type { CefConfig } from '../../../src/sinks/syslog/config.ts';
import { encodeSyslog, type SyslogEncodeConfig } from '../../../src/sinks/syslog/encoder.ts';
import { base, rec } from './support.ts';

const cef: CefConfig = {
  vendor: 'Acme|Corp',
  product: 'logstream',
  version: '1.2',
  signature: { constant: '100', field: 'rule' },
  name: { constant: 'event', field: 'title' },
  severityField: 'cef_sev',
  extension: [{ name: 'src', field: 'sourceIP' }, { name: 'suser', field: 'user' }, { name: 'act', field: 'activity' }, { name: 'msg', field: 'text' }],
};

describe('CEF escaping', () => {
  it.each([
    ['plain', 'plain', 'plain'],
    ['a|b', 'a\\|b', 'a|b'],
    ['C:\\dir', 'C:\\\\dir', 'C:\\\\dir'],
    ['k=v', 'k=v', 'k\\=v'],
    ['line1\nline2', 'line1 line2', 'line1\\nline2'],
    ['a\r\nb', 'a b', 'a\\r\\nb'],
    ['cr\ronly', 'cr only', 'cr\\ronly'],
    ['\\|=', '\\\\\\|=', '\\\\|\\='],
    ['tab\tü', 'tab\tü', 'tab\tü'],
  ])('%j → header %j, extension value %j', (input, header, value) => {
    expect(escapeCefHeader(input)).toBe(header);
    expect(escapeCefValue(input)).toBe(value);
  });
});

describe('CEF line', () => {
  it('writes the header and the extension from the record, leaving out missing fields', () => {
    const r = rec({ rule: 'R-7', title: 'Login | failed', cef_sev: 'High', sourceIP: '10.0.0.1', user: 'bob', activity: 'a=b c', text: 'x\\y\nz' });
    expect(encodeCef(r, cef, 6)).toBe('CEF:0|Acme\\|Corp|logstream|1.2|R-7|Login \\| failed|8|src=10.0.0.1 suser=bob act=a\\=b c msg=x\\\\y\\nz');
    expect(encodeCef(rec({ user: 'eve' }), cef, 3)).toBe('CEF:0|Acme\\|Corp|logstream|1.2|100|event|8|suser=eve');
    expect(cefExtension(rec({ user: null, activity: '', sourceIP: ['1', 2] }), cef)).toBe('src=["1",2] act=');
  });

  it('maps the severity: CEF numbers and words, syslog names, else from the syslog severity', () => {
    const sev = (value: unknown, syslog = 6): number => cefSeverityOf(rec({ cef_sev: value }), cef, syslog);
    expect(sev(0)).toBe(0);
    expect(sev('10')).toBe(10);
    expect(sev(11)).toBe(1); // not 0–10: from syslog informational
    expect(sev('Low')).toBe(3);
    expect(sev('medium')).toBe(5);
    expect(sev('HIGH')).toBe(8);
    expect(sev('Very-High')).toBe(10);
    expect(sev('critical')).toBe(9);
    expect(sev('warning')).toBe(5);
    expect(sev('Unknown', 0)).toBe(10);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((s) => cefSeverityOf(rec({}), { ...cef, severityField: undefined }, s))).toEqual([10, 10, 9, 8, 5, 3, 1, 0]);
  });

  it('is the MSG of an RFC 5424 line (cef-5424) and of an RFC 3164 line (cef-3164)', () => {
    const cfg: SyslogEncodeConfig = { ...base, format: 'cef-5424', cef: { ...cef, severityField: undefined }, hostname: { constant: 'relay', field: undefined } };
    const r = rec({ severity: 'high', user: 'bob', text: 'ok|fine' });
    expect(encodeSyslog(r, cfg).toString()).toBe('<131>1 2023-11-14T22:13:20.123Z relay logstream - - - CEF:0|Acme\\|Corp|logstream|1.2|100|event|8|suser=bob msg=ok|fine');
    expect(encodeSyslog(r, { ...cfg, format: 'cef-3164' }).toString()).toBe('<131>Nov 14 22:13:20 relay logstream: CEF:0|Acme\\|Corp|logstream|1.2|100|event|8|suser=bob msg=ok|fine');
    const bom = encodeSyslog(r, { ...cfg, bom: true });
    expect(bom.subarray(bom.indexOf('CEF:0') - 4, bom.indexOf('CEF:0')).toString('hex')).toBe('20efbbbf');
  });
});
