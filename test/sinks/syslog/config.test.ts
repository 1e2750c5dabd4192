import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.ts';
import { parseSyslogConfig, parseSyslogUrl } from '../../../src/sinks/syslog/config.ts';
import { parseTemplate } from '../../../src/sinks/syslog/template.ts';
import pkg from '../../../package.json' with { type: 'json' };
import { base } from './support.ts';

const URL_ONLY = { SYSLOG_URL: 'tls://siem.example.com' };

/** The problems a configuration is rejected with. */
function problems(env: Record<string, string>): string[] {
  try {
    parseSyslogConfig({ ...URL_ONLY, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('accepted');
}

describe('syslog configuration', () => {
  it('has defaults matching the encoder tests\' base configuration', () => {
    const { transport, ...enc } = parseSyslogConfig(URL_ONLY);
    expect(enc).toEqual({ ...base, cef: { ...base.cef, version: pkg.version } });
    expect(transport).toEqual({ protocol: 'tls', host: 'siem.example.com', port: 6514, framing: 'octet-counting', udpMaxBytes: 2048, tls: {}, rate: 0, confirmDelayMs: 250 });
  });

  it('reads every variable', () => {
    const c = parseSyslogConfig({
      SYSLOG_URL: 'udp://[2001:db8::1]:1514', SYSLOG_FORMAT: 'cef-5424', SYSLOG_FRAMING: 'lf', SYSLOG_UDP_MAX_BYTES: '1400',
      SYSLOG_FACILITY: 'AuthPriv', SYSLOG_SEVERITY_FIELD: 'sev', SYSLOG_SEVERITY_DEFAULT: 'warn',
      SYSLOG_HOSTNAME: 'relay', SYSLOG_HOSTNAME_FIELD: 'host', SYSLOG_APP_NAME: 'ls', SYSLOG_APP_NAME_FIELD: 'app',
      SYSLOG_PROCID: '1', SYSLOG_PROCID_FIELD: 'pid', SYSLOG_MSGID: 'M', SYSLOG_MSGID_FIELD: 'type', SYSLOG_TIME_FIELD: 'ts',
      SYSLOG_SD_ID: 'logstream@32473', SYSLOG_SD_FIELDS: 'user, ip=src.ip', SYSLOG_MSG_TEMPLATE: '{user}: {.}', SYSLOG_BOM: 'true', SYSLOG_RATE: '250.5',
      SYSLOG_CONFIRM_DELAY: '2.5s',
      CEF_VENDOR: 'V', CEF_PRODUCT: 'P', CEF_VERSION: '9', CEF_SIGNATURE: 'S', CEF_SIGNATURE_FIELD: 'rule', CEF_NAME: 'N', CEF_NAME_FIELD: 'title',
      CEF_SEVERITY_FIELD: 'risk', CEF_EXTENSION: 'src=sourceIP,suser=user,act',
    });
    expect(c).toEqual({
      format: 'cef-5424', facility: 10, severityField: 'sev', severityDefault: 4,
      hostname: { constant: 'relay', field: 'host' }, appName: { constant: 'ls', field: 'app' }, procId: { constant: '1', field: 'pid' }, msgId: { constant: 'M', field: 'type' },
      timeField: 'ts',
      sd: { id: 'logstream@32473', params: [{ name: 'user', field: 'user' }, { name: 'ip', field: 'src.ip' }] },
      template: [{ field: 'user' }, { text: ': ' }, { field: '.' }],
      bom: true,
      cef: {
        vendor: 'V', product: 'P', version: '9', signature: { constant: 'S', field: 'rule' }, name: { constant: 'N', field: 'title' }, severityField: 'risk',
        extension: [{ name: 'src', field: 'sourceIP' }, { name: 'suser', field: 'user' }, { name: 'act', field: 'act' }],
      },
      transport: { protocol: 'udp', host: '2001:db8::1', port: 1514, framing: 'lf', udpMaxBytes: 1400, tls: {}, rate: 250.5, confirmDelayMs: 2500 },
    });
    expect(parseSyslogConfig({ ...URL_ONLY, SYSLOG_FACILITY: '0', SYSLOG_SEVERITY_DEFAULT: '0' })).toMatchObject({ facility: 0, severityDefault: 0 });
  });

  it('reads syslog URLs with their default ports', () => {
    expect(parseSyslogUrl('tcp://h')).toEqual({ protocol: 'tcp', host: 'h', port: 514 });
    expect(parseSyslogUrl('udp://h')).toEqual({ protocol: 'udp', host: 'h', port: 514 });
    expect(parseSyslogUrl('tls://h:10514/')).toEqual({ protocol: 'tls', host: 'h', port: 10514 });
    expect(parseSyslogUrl('https://h')).toMatch(/scheme must be tls:\/\/, tcp:\/\/ or udp:\/\//);
    expect(parseSyslogUrl('tcp://u:p@h')).toMatch(/credentials/);
    expect(parseSyslogUrl('tcp://h/path')).toMatch(/only scheme:\/\/host:port/);
    expect(parseSyslogUrl('h:514')).toMatch(/scheme/);
    expect(parseSyslogUrl('not a url')).toMatch(/is not a URL/);
  });

  it.each([
    [{ SYSLOG_URL: '' }, /^SYSLOG_URL: is required/],
    [{ SYSLOG_URL: 'http://h' }, /^SYSLOG_URL: .*scheme/],
    [{ SYSLOG_FORMAT: 'json' }, /^SYSLOG_FORMAT: must be one of rfc5424, rfc3164, cef-5424, cef-3164/],
    [{ SYSLOG_FRAMING: 'nul' }, /^SYSLOG_FRAMING: must be one of octet-counting, lf/],
    [{ SYSLOG_UDP_MAX_BYTES: '100' }, /^SYSLOG_UDP_MAX_BYTES: must be at least 480/],
    [{ SYSLOG_UDP_MAX_BYTES: '70000' }, /^SYSLOG_UDP_MAX_BYTES: must be at most 65507/],
    [{ SYSLOG_FACILITY: 'local8' }, /^SYSLOG_FACILITY: must be a facility name .* or a number 0–23, got "local8"/],
    [{ SYSLOG_FACILITY: '24' }, /^SYSLOG_FACILITY: must be a facility name/],
    [{ SYSLOG_SEVERITY_DEFAULT: '8' }, /^SYSLOG_SEVERITY_DEFAULT: must be a severity name .* or a number 0–7, got "8"/],
    [{ SYSLOG_SEVERITY_DEFAULT: 'toString' }, /^SYSLOG_SEVERITY_DEFAULT: must be a severity name/],
    [{ SYSLOG_SD_FIELDS: 'user' }, /^SYSLOG_SD_ID: SYSLOG_SD_FIELDS needs an SD-ID/],
    [{ SYSLOG_SD_ID: 'logstream', SYSLOG_SD_FIELDS: 'user' }, /^SYSLOG_SD_ID: must be name@PEN/],
    [{ SYSLOG_SD_ID: 'a b@1', SYSLOG_SD_FIELDS: 'user' }, /^SYSLOG_SD_ID: must be name@PEN/],
    [{ SYSLOG_SD_ID: `${'x'.repeat(30)}@123` }, /^SYSLOG_SD_ID: must be name@PEN/],
    [{ SYSLOG_SD_ID: 'x@1', SYSLOG_SD_FIELDS: 'user,a"b' }, /^SYSLOG_SD_FIELDS: "a\\"b" is not a PARAM-NAME/],
    [{ SYSLOG_SD_ID: 'x@1', SYSLOG_SD_FIELDS: `${'p'.repeat(33)}=user` }, /^SYSLOG_SD_FIELDS: "p{33}" is not a PARAM-NAME/],
    [{ SYSLOG_SD_ID: 'x@1', SYSLOG_SD_FIELDS: 'p=' }, /^SYSLOG_SD_FIELDS: "p=" names no record field/],
    [{ SYSLOG_SD_ID: 'x@1', SYSLOG_SD_FIELDS: 'user', SYSLOG_FORMAT: 'rfc3164' }, /^SYSLOG_SD_FIELDS: RFC 3164 has no structured data/],
    [{ SYSLOG_MSG_TEMPLATE: 'a {user' }, /^SYSLOG_MSG_TEMPLATE: unclosed "\{" at position 3/],
    [{ SYSLOG_MSG_TEMPLATE: 'a } b' }, /^SYSLOG_MSG_TEMPLATE: unmatched "\}" at position 3/],
    [{ SYSLOG_MSG_TEMPLATE: 'a {} b' }, /^SYSLOG_MSG_TEMPLATE: empty or nested placeholder/],
    [{ SYSLOG_BOM: 'maybe' }, /^SYSLOG_BOM: must be true or false/],
    [{ SYSLOG_RATE: '-1' }, /^SYSLOG_RATE: must be at least 0/],
    [{ CEF_EXTENSION: 'src-ip=ip' }, /^CEF_EXTENSION: "src-ip" is not a CEF key \(letters and digits only\)/],
    [{ CEF_EXTENSION: 'user.name' }, /^CEF_EXTENSION: "user.name" is not a CEF key/],
    [{ SYSLOG_URL: 'tcp://h', SYSLOG_TLS_CA_FILE: '/ca.pem' }, /^SYSLOG_TLS_CA_FILE: only for tls:\/\/ URLs \(SYSLOG_URL is tcp:\/\/\)/],
    [{ SYSLOG_URL: 'udp://h', SYSLOG_TLS_SERVERNAME: 'x' }, /^SYSLOG_TLS_SERVERNAME: only for tls:\/\/ URLs/],
    [{ SYSLOG_TLS_CERT_FILE: '/c.pem' }, /^SYSLOG_TLS_CERT_FILE: a client certificate needs SYSLOG_TLS_KEY_FILE/],
    [{ SYSLOG_TLS_CA_FILE: '/nonexistent/ca.pem' }, /^SYSLOG_TLS_CA_FILE: cannot read "\/nonexistent\/ca.pem": ENOENT/],
  ])('%j is rejected naming the variable', (env, problem) => {
    expect(problems(env)).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it('reports every problem at once', () => {
    expect(problems({ SYSLOG_FORMAT: 'x', SYSLOG_FACILITY: 'y', CEF_EXTENSION: 'a-b=c' }).map((p) => p.split(':')[0])).toEqual(['SYSLOG_FORMAT', 'SYSLOG_FACILITY', 'CEF_EXTENSION']);
  });

  it('reads the TLS files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'syslog-cfg-'));
    for (const f of ['ca', 'cert', 'key']) writeFileSync(join(dir, `${f}.pem`), `${f} pem`);
    const c = parseSyslogConfig({
      SYSLOG_URL: 'tls://h', SYSLOG_TLS_CA_FILE: join(dir, 'ca.pem'), SYSLOG_TLS_CERT_FILE: join(dir, 'cert.pem'), SYSLOG_TLS_KEY_FILE: join(dir, 'key.pem'), SYSLOG_TLS_SERVERNAME: 'siem',
    });
    expect(c.transport.tls).toEqual({ ca: Buffer.from('ca pem'), cert: Buffer.from('cert pem'), key: Buffer.from('key pem'), servername: 'siem' });
  });

  it('parses templates with literal braces', () => {
    expect(parseTemplate('{{a}} {b} }}')).toEqual([{ text: '{a} ' }, { field: 'b' }, { text: ' }' }]);
    expect(parseTemplate('')).toEqual([]);
  });
});
