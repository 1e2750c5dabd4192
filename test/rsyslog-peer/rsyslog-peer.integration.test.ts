/**
 * The rsyslog test peer (test/support/rsyslog.ts), proven with plain node:net / node:tls /
 * node:dgram clients — no logstream code. These tests also pin down what rsyslog 8.2302 does with
 * the bytes it receives, so the syslog sink's tests can assert against it.
 */
import dgram from 'node:dgram';
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RsyslogPeer, type ParsedSyslog } from '../support/rsyslog.ts';

const octet = (m: string | Buffer): Buffer => {
  const b = Buffer.isBuffer(m) ? m : Buffer.from(m, 'utf8');
  return Buffer.concat([Buffer.from(`${b.length} `), b]);
};
const lf = (m: string): Buffer => Buffer.from(`${m}\n`, 'utf8');

function sendTcp(port: number, frames: Buffer[]): Promise<void> {
  return new Promise((res, rej) => {
    const s = net.connect(port, '127.0.0.1', () => {
      for (const f of frames) s.write(f);
      s.end();
    });
    s.on('error', rej);
    s.resume();
    s.on('close', () => res());
  });
}

interface TlsOutcome {
  secure: boolean;
  protocol: string | null;
  error: string | undefined;
  peerCert?: tls.PeerCertificate;
}

/** Sends frames over TLS; resolves with what the client saw (never rejects). */
function sendTls(peer: RsyslogPeer, port: number, frames: Buffer[], opts: { cert?: 'ours' | 'none' | 'foreign'; maxVersion?: tls.SecureVersion; servername?: string } = {}): Promise<TlsOutcome> {
  return new Promise((res) => {
    const out: TlsOutcome = { secure: false, protocol: null, error: undefined };
    const cert = opts.cert ?? 'none';
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(peer.caFile),
      ...(opts.servername === '' ? {} : { servername: opts.servername ?? peer.serverName }),
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      ...(cert === 'ours' ? { cert: readFileSync(peer.clientCertFile), key: readFileSync(peer.clientKeyFile) } : {}),
      ...(cert === 'foreign' ? foreignClientCert() : {}),
    });
    s.on('secureConnect', () => {
      out.secure = true;
      out.protocol = s.getProtocol();
      out.peerCert = s.getPeerCertificate();
      for (const f of frames) s.write(f);
      // give the server time to answer (an alert) before we close
      setTimeout(() => s.end(), 300);
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      out.error ??= e.code ?? e.message;
    });
    s.resume();
    s.on('close', () => res(out));
  });
}

function sendUdp(port: number, payload: string | Buffer): Promise<void> {
  return new Promise((res, rej) => {
    const s = dgram.createSocket('udp4');
    s.send(payload, port, '127.0.0.1', (err) => {
      s.close();
      if (err) rej(err);
      else res();
    });
  });
}

/** A client cert from a CA the peer does not trust (a second peer's PKI, generated on demand). */
let foreign: { cert: Buffer; key: Buffer } | undefined;
function foreignClientCert(): { cert: Buffer; key: Buffer } {
  if (!foreign) throw new Error('foreign cert not prepared');
  return foreign;
}

async function waitFor(peer: RsyslogPeer, pred: (m: ParsedSyslog) => boolean, n = 1, timeoutMs = 10_000): Promise<ParsedSyslog[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hits = peer.messages().filter(pred);
    if (hits.length >= n) return hits;
    if (Date.now() > deadline) throw new Error(`only ${hits.length} of ${n} matching messages; all: ${JSON.stringify(peer.messages(), null, 1)}\n${peer.diagnostics()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A TLS exchange that went through without an error. */
const OK = { secure: true, error: undefined };

/** sendTls for an exchange that must go through. A connection reset before the handshake completed is
 *  retried, as a client reconnects: rsyslog, just after refusing handshakes, once reset a new one
 *  (1 CI run in many). Frames are written only after the handshake, so a retry sends nothing twice. */
async function sendTlsRetryingReset(...args: Parameters<typeof sendTls>): Promise<TlsOutcome> {
  for (let attempt = 1; ; attempt++) {
    const out = await sendTls(...args);
    if (out.secure || out.error !== 'ECONNRESET' || attempt === 3) return out;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const SD = '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]';
const rfc5424 = (msgid: string, msg = 'An application event log entry...') => `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 4321 ${msgid} ${SD} ${msg}`;

describe('RsyslogPeer', () => {
  let peer: RsyslogPeer;

  beforeAll(async () => {
    peer = await RsyslogPeer.start();
    const other = await RsyslogPeer.start(); // only for its (untrusted) client cert
    foreign = { cert: readFileSync(other.clientCertFile), key: readFileSync(other.clientKeyFile) };
    await other.stop();
    console.log(`rsyslog peer up in ${peer.startupMs} ms (after certs); dir ${peer.dir}`);
  });
  afterAll(async () => {
    await peer?.stop();
  });
  beforeEach(() => peer.clear());

  it('listens on four distinct ports on 127.0.0.1 with a CA-signed server cert for localhost and 127.0.0.1', async () => {
    const ports = [peer.tlsPort, peer.mtlsPort, peer.tcpPort, peer.udpPort];
    expect(new Set(ports.slice(0, 3)).size).toBe(3);
    for (const f of [peer.caFile, peer.clientCertFile, peer.clientKeyFile]) expect(existsSync(f)).toBe(true);
    expect(readFileSync(peer.configFile, 'utf8')).not.toMatch(/\/etc\/|\/var\//);
    expect(peer.running).toBe(true);

    const byName = await sendTls(peer, peer.tlsPort, []);
    expect(byName).toMatchObject({ secure: true, protocol: 'TLSv1.3' });
    expect(byName.peerCert?.subject.CN).toBe('localhost');
    expect(byName.peerCert?.subjectaltname).toBe('DNS:localhost, IP Address:127.0.0.1');
    // no SNI: Node checks the server identity against the IP SAN
    expect(await sendTls(peer, peer.tlsPort, [], { servername: '' })).toMatchObject({ secure: true });
    // TLS 1.2 is accepted too
    expect(await sendTls(peer, peer.tlsPort, [], { maxVersion: 'TLSv1.2' })).toMatchObject({ secure: true, protocol: 'TLSv1.2' });
  });

  it('parses an RFC 5424 message with structured data on every listener', async () => {
    await sendTcp(peer.tcpPort, [octet(rfc5424('TCPOC'))]);
    await sendTcp(peer.tcpPort, [lf(rfc5424('TCPLF'))]);
    expect(await sendTlsRetryingReset(peer, peer.tlsPort, [octet(rfc5424('TLS'))])).toMatchObject(OK);
    expect(await sendTlsRetryingReset(peer, peer.mtlsPort, [octet(rfc5424('MTLS'))], { cert: 'ours' })).toMatchObject(OK);
    await sendUdp(peer.udpPort, rfc5424('UDP'));

    const got = await peer.waitForMessages(5);
    expect(got.map((m) => [m.input, m.msgid]).sort()).toEqual([
      ['mtls', 'MTLS'],
      ['tcp', 'TCPLF'],
      ['tcp', 'TCPOC'],
      ['tls', 'TLS'],
      ['udp', 'UDP'],
    ]);
    for (const m of got) {
      expect(m).toEqual({
        input: m.input,
        pri: 165,
        facility: 20,
        severity: 5,
        timereported: '2003-10-11T22:14:15.003Z',
        hostname: 'mymachine.example.com',
        appname: 'evntslog',
        procid: '4321',
        msgid: m.msgid,
        structuredData: SD,
        msg: 'An application event log entry...',
        rawmsg: rfc5424(m.msgid),
        sdParams: {
          'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
          'examplePriority@32473': { class: 'high' },
        },
      });
    }
  });

  it('keeps NILVALUEs, timestamp offsets and an empty MSG; no leading space is added to an RFC 5424 MSG', async () => {
    await sendTcp(peer.tcpPort, [
      octet('<14>1 2024-01-02T03:04:05.123456+01:00 h a p m - plain'),
      octet('<14>1 2024-01-02T03:04:05Z h a p m -  two spaces, the first is the separator'),
      octet('<14>1 2024-01-02T03:04:05Z h a p m -'),
      octet('<14>1 - - - - - - nil'),
    ]);
    const got = await peer.waitForMessages(4);
    expect(got.map((m) => [m.timereported, m.hostname, m.appname, m.procid, m.msgid, m.structuredData, m.msg])).toEqual([
      ['2024-01-02T03:04:05.123456+01:00', 'h', 'a', 'p', 'm', '-', 'plain'],
      ['2024-01-02T03:04:05Z', 'h', 'a', 'p', 'm', '-', ' two spaces, the first is the separator'],
      ['2024-01-02T03:04:05Z', 'h', 'a', 'p', 'm', '-', ''],
      [expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/), '-', '-', '-', '-', '-', 'nil'],
    ]);
    for (const m of got) expect(m.sdParams).toBeUndefined();
  });

  it('mTLS: without a client cert (TLS 1.3) the server sends "certificate required" after the handshake and the message never arrives', async () => {
    const noCert13 = await sendTls(peer, peer.mtlsPort, [octet('<14>1 - - - - NOCERT13 - x')]);
    // Node reports the handshake done, then the server's alert 116. Rarely the client's write
    // reaches the already closed server socket first: its RST wins over the unread alert.
    expect(noCert13).toMatchObject({ secure: true, protocol: 'TLSv1.3' });
    expect(noCert13.error).toMatch(/^(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|ECONNRESET)$/);

    const noCert12 = await sendTls(peer, peer.mtlsPort, [octet('<14>1 - - - - NOCERT12 - x')], { maxVersion: 'TLSv1.2' });
    expect(noCert12).toMatchObject({ secure: false, error: 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE' });

    const foreignCert = await sendTls(peer, peer.mtlsPort, [octet('<14>1 - - - - FOREIGN - x')], { cert: 'foreign' });
    expect(foreignCert.error).toMatch(/^(ERR_SSL_TLSV1_ALERT_UNKNOWN_CA|ECONNRESET)$/);

    // the TLS-only listener does not ask for a cert, and accepts one
    expect(await sendTlsRetryingReset(peer, peer.tlsPort, [octet('<14>1 - - - - TLSCERT - x')], { cert: 'ours' })).toMatchObject(OK);
    expect(await sendTlsRetryingReset(peer, peer.mtlsPort, [octet('<14>1 - - - - WITHCERT - x')], { cert: 'ours' })).toMatchObject(OK);

    await waitFor(peer, (m) => m.msgid === 'WITHCERT');
    await waitFor(peer, (m) => m.msgid === 'TLSCERT');
    expect(peer.messages().map((m) => m.msgid).sort()).toEqual(['TLSCERT', 'WITHCERT']);
    expect(peer.log()).toContain('peer did not return a certificate');
  });

  it('parses RFC 3164 (with TZ=UTC and a guessed year) and CEF over 3164 and 5424', async () => {
    const bsd = "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8";
    const cef3164 = '<134>Jan  2 03:04:05 host7 CEF:0|Vendor|Product|1.0|100|Name with \\| pipe|5|src=10.0.0.1 msg=a\\=b c\\\\d';
    const cef5424 = '<134>1 2024-01-02T03:04:05Z host7 logstream - - - CEF:0|Vendor|Product|1.0|100|Name|5|src=10.0.0.1';
    await sendTcp(peer.tcpPort, [lf(bsd), lf(cef3164)]);
    await sendTls(peer, peer.tlsPort, [octet(cef5424)]);
    await sendUdp(peer.udpPort, '<13>Oct 11 22:14:15 host8 logstream: hello');

    const [a, b, c, d] = await waitFor(peer, () => true, 4);
    expect(a).toMatchObject({ input: 'tcp', pri: 34, facility: 4, severity: 2, hostname: 'mymachine', appname: 'su', procid: '123', msgid: '-', structuredData: '-', msg: " 'su root' failed for lonvick on /dev/pts/8", rawmsg: bsd });
    expect(a?.timereported).toMatch(/^\d{4}-10-11T22:14:15\+00:00$/);
    // CEF in a 3164 line: rsyslog takes "CEF:" as the TAG; only rawmsg has the whole payload
    expect(b).toMatchObject({ pri: 134, hostname: 'host7', appname: 'CEF', msg: '0|Vendor|Product|1.0|100|Name with \\| pipe|5|src=10.0.0.1 msg=a\\=b c\\\\d', rawmsg: cef3164 });
    expect(b?.timereported).toMatch(/^\d{4}-01-02T03:04:05\+00:00$/);
    expect(c).toMatchObject({ input: 'tls', pri: 134, hostname: 'host7', appname: 'logstream', msg: 'CEF:0|Vendor|Product|1.0|100|Name|5|src=10.0.0.1', rawmsg: cef5424 });
    expect(d).toMatchObject({ input: 'udp', pri: 13, appname: 'logstream', msg: ' hello' });
  });

  it('keeps special characters in MSG: quotes, backslashes, brackets, LF, TAB, CR, controls, UTF-8; NUL becomes "#000"; one trailing LF is dropped', async () => {
    const body = 'q"uote b\\ack ]br [x] l1\nl2\ttab\r cr ünïcödé 日本語 😀 \x01\x1b\x7f\u0085 end  ';
    const m = `<13>1 2024-01-02T03:04:05Z h app - SPECIAL - ${body}`;
    await sendTcp(peer.tcpPort, [octet(m)]);
    await sendTls(peer, peer.tlsPort, [octet(m)]);
    await sendTls(peer, peer.mtlsPort, [octet(m)], { cert: 'ours' });
    await sendUdp(peer.udpPort, m);
    const got = await peer.waitForMessages(4);
    expect(got.map((x) => x.input).sort()).toEqual(['mtls', 'tcp', 'tls', 'udp']);
    for (const x of got) expect([x.msg, x.rawmsg]).toEqual([body, m]);

    await sendTcp(peer.tcpPort, [
      octet('<13>1 - - - - NUL - a\x00b'),
      octet('<13>1 - - - - BOM - \uFEFFbom'),
      octet('<13>1 - - - - LF1 - one LF\n'),
      octet('<13>1 - - - - LF2 - two LF\n\n'),
      octet('<13>1 - - - - CRLF - crlf\r\n'),
      octet('<13>1 - - - - LEADLF - \n\nlead'),
    ]);
    await sendUdp(peer.udpPort, '<13>1 - - - - UDPLF - udp\n');
    const rest = await waitFor(peer, (x) => x.msgid !== 'SPECIAL', 7);
    expect(Object.fromEntries(rest.map((x) => [x.msgid, x.msg]))).toEqual({
      NUL: 'a#000b',
      BOM: '\uFEFFbom',
      LF1: 'one LF',
      LF2: 'two LF\n',
      CRLF: 'crlf\r',
      LEADLF: '\n\nlead',
      UDPLF: 'udp',
    });
  });

  it('LF framing on plain TCP ends a message at an embedded LF', async () => {
    await sendTcp(peer.tcpPort, [lf('<13>1 - - - - SPLIT - first\nsecond')]);
    const got = await peer.waitForMessages(2);
    expect(got[0]).toMatchObject({ msgid: 'SPLIT', msg: 'first' });
    // the rest is a message of its own (no syslog header: rsyslog's fallback parse)
    expect(got[1]).toMatchObject({ input: 'tcp', rawmsg: 'second' });
  });

  it('keeps SD text as sent (escapes not undone); sdParams has the values unescaped by mmpstrucdata', async () => {
    const sds = {
      ESC: '[ex@32473 q="a\\"b" bs="c\\\\d" br="e\\]f" plain="x"]',
      RAW: '[ex@32473 nl="l1\nl2" tab="t\tt" uni="ü日本😀"][other@1 empty=""]',
      NOPARAM: '[ex@32473]',
      LONE: '[ex@32473 v="back\\slash"]',
      BAD: '[ex@32473 v="unescaped"quote"]',
    };
    await sendTcp(peer.tcpPort, Object.entries(sds).map(([id, sd]) => octet(`<13>1 - h a - ${id} ${sd} body`)));
    const got = await peer.waitForMessages(5);
    for (const m of got) {
      expect(m.structuredData).toBe(sds[m.msgid as keyof typeof sds]);
      expect(m.msg).toBe('body');
    }
    const params = Object.fromEntries(got.map((m) => [m.msgid, m.sdParams]));
    expect(params).toEqual({
      ESC: { 'ex@32473': { q: 'a"b', bs: 'c\\d', br: 'e]f', plain: 'x' } },
      RAW: { 'ex@32473': { nl: 'l1\nl2', tab: 't\tt', uni: 'ü日本😀' }, 'other@1': { empty: '' } },
      NOPARAM: { 'ex@32473': {} },
      LONE: { 'ex@32473': { v: 'back\\slash' } },
      BAD: undefined, // rsyslog keeps the malformed SD text, mmpstrucdata gives up
    });
  });

  it('passes 10 KB messages on every listener and 100 KB over TCP', async () => {
    const big = (n: number, tag: string) => `<13>1 - h a - ${tag} - ${'x'.repeat(n - 10)}ü\n\t"]end`;
    await sendTcp(peer.tcpPort, [octet(big(10_240, 'TCP')), octet(big(100_000, 'TCP100K'))]);
    await sendTls(peer, peer.tlsPort, [octet(big(10_240, 'TLS'))]);
    await sendTls(peer, peer.mtlsPort, [octet(big(10_240, 'MTLS'))], { cert: 'ours' });
    await sendUdp(peer.udpPort, big(10_240, 'UDP'));
    const got = await peer.waitForMessages(5);
    for (const m of got) expect(m.rawmsg).toBe(big(m.msgid === 'TCP100K' ? 100_000 : 10_240, m.msgid));
  });

  it('keeps the order of 200 messages on one connection', async () => {
    const frames = Array.from({ length: 200 }, (_, i) => octet(`<13>1 - h a - SEQ - ${i}`));
    await sendTcp(peer.tcpPort, frames);
    const got = await peer.waitForMessages(200);
    expect(got.map((m) => m.msg)).toEqual(frames.map((_, i) => String(i)));
  });
});

describe('RsyslogPeer kill/restart', () => {
  it('keeps earlier output across kill (SIGKILL) and restart, on the same ports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rsyslog-peer-test-'));
    const peer = await RsyslogPeer.start({ dir });
    try {
      expect(peer.dir).toBe(dir);
      const ports = [peer.tlsPort, peer.mtlsPort, peer.tcpPort, peer.udpPort];
      const pid1 = peer.pid;
      await sendTcp(peer.tcpPort, [octet('<13>1 - h a - BEFORE - 1'), octet('<13>1 - h a - BEFORE - 2')]);
      await peer.waitForMessages(2);

      // a client connected while rsyslogd dies
      const open = net.connect(peer.tcpPort, '127.0.0.1');
      await new Promise((r) => open.once('connect', r));
      const openClosed = new Promise((r) => open.once('close', r));
      open.on('error', () => {});

      await peer.kill();
      expect(peer.running).toBe(false);
      await openClosed;
      await expect(sendTcp(peer.tcpPort, [octet('<13>1 - h a - DOWN - x')])).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(peer.messages()).toHaveLength(2);
      // as if rsyslogd had died in the middle of writing a record
      appendFileSync(peer.outputFile, '{"input":"tcp", "pri":13, "facility"');

      await peer.restart();
      expect(peer.running).toBe(true);
      expect(peer.pid).not.toBe(pid1);
      expect([peer.tlsPort, peer.mtlsPort, peer.tcpPort, peer.udpPort]).toEqual(ports);
      console.log(`restart after SIGKILL: ${peer.startupMs} ms`);

      await sendTcp(peer.tcpPort, [octet('<13>1 - h a - AFTER - 3')]);
      await sendTls(peer, peer.mtlsPort, [octet('<13>1 - h a - AFTER - 4')], { cert: 'ours' });
      await sendUdp(peer.udpPort, '<13>1 - h a - AFTER - 5');
      const got = await peer.waitForMessages(5);
      expect(got.map((m) => `${m.msgid} ${m.msg}`).sort()).toEqual(['AFTER 3', 'AFTER 4', 'AFTER 5', 'BEFORE 1', 'BEFORE 2']);
      expect(readFileSync(peer.outputFile, 'utf8')).toContain('"facility"\n'); // the cut record, skipped

      // a clean stop and restart as well
      await peer.stop();
      expect(peer.running).toBe(false);
      await peer.restart();
      await sendTcp(peer.tcpPort, [lf('<13>1 - h a - AGAIN - 6')]);
      await peer.waitForMessages(6);
      expect(peer.log().match(/\] start$/gm)).toHaveLength(3);
    } finally {
      await peer.stop();
    }
  });
});

describe('RsyslogPeer with the GnuTLS driver', () => {
  it("lmnsd_gtls: mTLS without a cert completes the handshake, then rsyslog drops the connection; the message never arrives", async () => {
    const peer = await RsyslogPeer.start({ driver: 'gtls' });
    try {
      expect(readFileSync(peer.configFile, 'utf8')).toContain('streamDriver.name="gtls"');
      const noCert = await sendTls(peer, peer.mtlsPort, [octet('<13>1 - h a - NOCERT - x')]);
      expect(noCert.secure).toBe(true);
      expect(noCert.error).toMatch(/^(ECONNRESET|EPIPE)$/);
      expect(await sendTlsRetryingReset(peer, peer.mtlsPort, [octet('<13>1 - h a - CERT - x')], { cert: 'ours' })).toMatchObject(OK);
      expect(await sendTls(peer, peer.tlsPort, [octet('<13>1 - h a - TLS - x')], { maxVersion: 'TLSv1.2' })).toMatchObject({ ...OK, protocol: 'TLSv1.2' });
      await waitFor(peer, (m) => m.msgid === 'TLS');
      await waitFor(peer, (m) => m.msgid === 'CERT');
      expect(peer.messages().map((m) => m.msgid).sort()).toEqual(['CERT', 'TLS']);
      expect(peer.log()).toContain('peer did not provide a certificate');
    } finally {
      await peer.stop();
    }
  });
});
