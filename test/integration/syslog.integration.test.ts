// Kafka → logstream → a real rsyslog (test/support/rsyslog.ts): RFC 5424 over TLS with every field
// parsed as sent, mutual TLS, rsyslog killed and restarted mid-stream, UDP truncation, RFC 3164 and CEF,
// and rsyslog's certificate re-issued by a new CA that SYSLOG_TLS_CA_FILE follows.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { produceJson, uniqueName } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';
import { committedTotal, newGroupSetup, instanceEnv, waitForStableGroup, type GroupSetup } from '../support/group.ts';
import { Instance, sleep, waitUntil } from '../support/instance.ts';
import { replaceFile } from '../support/mounted-file.ts';
import { RsyslogPeer, type ParsedSyslog } from '../support/rsyslog.ts';

const running: Instance[] = [];
const peers: RsyslogPeer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
  await Promise.all(peers.splice(0).map((p) => p.stop()));
});

async function peer(): Promise<RsyslogPeer> {
  const p = await RsyslogPeer.start();
  peers.push(p);
  return p;
}

function start(s: GroupSetup, name: string, env: Record<string, string>): Instance {
  const i = new Instance(name, { ...instanceEnv(s, name), SINKS: 'syslog', SYSLOG_RETRY_MAX: '500ms', ...env });
  running.push(i);
  return i;
}

/** The records rsyslog received, parsed back from MSG (the record as JSON). */
const records = (msgs: ParsedSyslog[]) => msgs.map((m) => JSON.parse(m.msg) as Record<string, unknown>);

const tricky = 'quote " backslash \\ bracket ] newline\nand\ttab, ünïcödé ✓ 𝄞';

describe('syslog sink against a real rsyslog (real broker)', () => {
  it('10 000 records over TLS: every record parsed by rsyslog with the expected fields, special characters included', async () => {
    const s = await newGroupSetup('sys-tls', 2);
    const p = await peer();
    const inst = start(s, 'tls', {
      SYSLOG_URL: `tls://127.0.0.1:${p.tlsPort}`, SYSLOG_TLS_CA_FILE: p.caFile,
      SYSLOG_FACILITY: 'local4', SYSLOG_HOSTNAME_FIELD: 'device', SYSLOG_APP_NAME_FIELD: 'app', SYSLOG_MSGID: 'audit',
      SYSLOG_PROCID_FIELD: 'pid', SYSLOG_TIME_FIELD: 'ts', SYSLOG_SD_ID: 'logstream@32473', SYSLOG_SD_FIELDS: 'user,note',
    });
    await waitForStableGroup([inst], 2);
    const run = uniqueName('run');
    const n = 10_000;
    const input = ledgerRecords(run, n, 2).map((r, i) => ({
      ...r,
      value: { ...(r.value as object), device: `fw-${i % 3}`, app: 'sshd', pid: String(1000 + (i % 7)), ts: 1_790_000_000_000 + i, user: `u"${i}\\]`, note: i % 100 === 0 ? tricky : 'plain' },
    }));
    await produceJson(s.bootstrap, s.topic, input, { batchSize: 2000 });
    await waitUntil('10 000 committed', async () => (await committedTotal(s)) === BigInt(n), 120_000, 500);
    const msgs = await p.waitForMessages(n, 30_000);
    expect((await inst.stop()).code).toBe(0);
    expect(msgs.every((m) => m.input === 'tls')).toBe(true);
    const t = tally(run, n, records(msgs));
    process.stdout.write(`syslog tls: lost=${t.lost} dup=${t.dup} altered=${t.altered}\n`);
    expect(t).toEqual({ delivered: n, lost: 0, dup: 0, altered: 0, foreign: 0 });
    for (const m of msgs) {
      const r = JSON.parse(m.msg) as { id: number; severity: string; device: string; ts: number; pid: string; user: string; note: string };
      expect(m.facility).toBe(20); // local4
      expect(m.severity).toBe({ low: 5, medium: 4, high: 3 }[r.severity]);
      expect(m.pri).toBe(20 * 8 + m.severity);
      expect(m.hostname).toBe(r.device);
      expect(m.appname).toBe('sshd');
      expect(m.procid).toBe(r.pid);
      expect(m.msgid).toBe('audit');
      expect(Date.parse(m.timereported)).toBe(r.ts);
      expect(m.sdParams?.['logstream@32473']).toEqual({ user: r.user, note: r.note }); // escaped on the wire, unescaped by rsyslog
    }
    const special = msgs.find((m) => m.msg.includes('𝄞'))!;
    expect(special.structuredData).toContain('note="quote \\" backslash \\\\ bracket \\] newline\nand\ttab, ünïcödé ✓ 𝄞"');
  });

  it('mutual TLS: without a client certificate nothing is delivered or committed and /readyz is false; with it, nothing is lost', async () => {
    const s = await newGroupSetup('sys-mtls', 1);
    const p = await peer();
    const base = { SYSLOG_URL: `tls://127.0.0.1:${p.mtlsPort}`, SYSLOG_TLS_CA_FILE: p.caFile };
    const run = uniqueName('run');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 300, 1));
    const anonymous = start(s, 'anon', base);
    await waitUntil('a refused handshake', async () => (await anonymous.metricSum('logstream_sink_errors_total')) >= 2, 30_000, 250);
    const ready = await fetch(`http://127.0.0.1:${await anonymous.httpPort()}/readyz`);
    expect(ready.status).toBe(503);
    expect(await committedTotal(s)).toBe(0n);
    expect(p.messages()).toEqual([]);
    expect((await anonymous.stop()).code).toBe(0);

    const withCert = start(s, 'cert', { ...base, SYSLOG_TLS_CERT_FILE: p.clientCertFile, SYSLOG_TLS_KEY_FILE: p.clientKeyFile });
    await waitUntil('300 committed', async () => (await committedTotal(s)) === 300n, 60_000, 250);
    expect((await withCert.stop()).code).toBe(0);
    expect(tally(run, 300, records(p.messages()))).toMatchObject({ delivered: 300, lost: 0, dup: 0 });
  });

  it('rsyslog killed and restarted mid-stream: lost=0', async () => {
    const s = await newGroupSetup('sys-kill', 2);
    const p = await peer();
    const inst = start(s, 'kill', { SYSLOG_URL: `tcp://127.0.0.1:${p.tcpPort}`, SYSLOG_RATE: '4000' });
    await waitForStableGroup([inst], 2);
    const run = uniqueName('run');
    const n = 20_000;
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, n, 2), { batchSize: 2000 });
    await waitUntil('some delivered', () => p.messages().length >= 4000, 60_000, 100);
    await p.kill();
    await sleep(2000);
    await p.restart();
    await waitUntil('all committed', async () => (await committedTotal(s)) === BigInt(n), 120_000, 500);
    await sleep(500);
    expect((await inst.stop()).code).toBe(0);
    const t = tally(run, n, records(p.messages()));
    process.stdout.write(`syslog rsyslog kill -9 + restart: lost=${t.lost} dup=${t.dup}\n`);
    expect(t.lost).toBe(0);
    expect(t.altered).toBe(0);
  });

  it('UDP cuts long messages and counts them; RFC 3164 and CEF lines are parsed as expected', async () => {
    const s = await newGroupSetup('sys-udp', 1);
    const p = await peer();
    const run = uniqueName('run');
    await produceJson(s.bootstrap, s.topic, [
      { value: { run, id: 0, severity: 'low', pad: 'x'.repeat(3000) } },
      { value: { run, id: 1, severity: 'critical' } },
    ]);
    const udp = start(s, 'udp', { SYSLOG_URL: `udp://127.0.0.1:${p.udpPort}`, SYSLOG_UDP_MAX_BYTES: '1024' });
    await waitUntil('2 committed', async () => (await committedTotal(s)) === 2n, 30_000, 250);
    const got = await p.waitForMessages(2, 10_000);
    expect(await udp.metricSum('logstream_sink_truncated_events_total')).toBe(1);
    expect(Math.max(...got.map((m) => Buffer.byteLength(m.rawmsg ?? '')))).toBeLessThanOrEqual(1024);
    expect((await udp.stop()).code).toBe(0);

    // The same topic again, as RFC 3164 over TCP (new group: from the start).
    const legacy = new Instance('bsd', { ...instanceEnv({ ...s, group: uniqueName('bsd-g') }, 'bsd'), SINKS: 'syslog', SYSLOG_URL: `tcp://127.0.0.1:${p.tcpPort}`, SYSLOG_FORMAT: 'rfc3164', SYSLOG_APP_NAME: 'logstream', SYSLOG_HOSTNAME: 'gw1' });
    running.push(legacy);
    await waitUntil('3164 lines', () => p.messages().filter((m) => m.input === 'tcp').length >= 2, 30_000, 250);
    const bsd = p.messages().filter((m) => m.input === 'tcp');
    expect(bsd.map((m) => [m.hostname, m.appname, m.severity])).toEqual([['gw1', 'logstream', 5], ['gw1', 'logstream', 2]]);
    expect(JSON.parse(bsd[1]!.msg.trim())).toEqual({ run, id: 1, severity: 'critical' });
    expect((await legacy.stop()).code).toBe(0);

    // And as CEF inside RFC 5424 over TLS.
    const cef = new Instance('cef', {
      ...instanceEnv({ ...s, group: uniqueName('cef-g') }, 'cef'), SINKS: 'syslog', SYSLOG_URL: `tls://127.0.0.1:${p.tlsPort}`, SYSLOG_TLS_CA_FILE: p.caFile,
      SYSLOG_FORMAT: 'cef-5424', CEF_VENDOR: 'Acme|Corp', CEF_PRODUCT: 'Gateway', CEF_VERSION: '1.0', CEF_NAME: 'record', CEF_EXTENSION: 'cs1=run,cn1=id',
    });
    running.push(cef);
    await waitUntil('CEF lines', () => p.messages().filter((m) => m.input === 'tls').length >= 2, 30_000, 250);
    const lines = p.messages().filter((m) => m.input === 'tls').map((m) => m.msg);
    expect(lines[1]).toBe(`CEF:0|Acme\\|Corp|Gateway|1.0|logstream|record|9|cs1=${run} cn1=1`);
    expect((await cef.stop()).code).toBe(0);
  });

  it('rsyslog re-issued by a new CA: SYSLOG_TLS_CA_FILE rotated to both CAs is used by the next connection, no restart, lost=0', async () => {
    const s = await newGroupSetup('sys-ca', 1);
    const p = await peer();
    const caFile = join(s.dir, 'syslog-ca.pem');
    replaceFile(caFile, readFileSync(p.caFile));
    const inst = start(s, 'carot', { SYSLOG_URL: `tls://127.0.0.1:${p.tlsPort}`, SYSLOG_TLS_CA_FILE: caFile, SECRETS_RELOAD_INTERVAL: '1s' });
    const run = uniqueName('run');
    const all = ledgerRecords(run, 1000, 1);
    await produceJson(s.bootstrap, s.topic, all.slice(0, 500));
    await waitUntil('500 committed', async () => (await committedTotal(s)) === 500n, 60_000, 250);
    // The new CA joins the file first, then rsyslog restarts with a certificate it issued.
    const next = await p.newPki('rsyslog-next');
    replaceFile(caFile, `${readFileSync(p.caFile, 'utf8')}${readFileSync(next.caFile, 'utf8')}`);
    await inst.waitForNewFile('SYSLOG_TLS_CA_FILE');
    await p.reissue(next);
    await produceJson(s.bootstrap, s.topic, all.slice(500));
    await waitUntil('1000 committed', async () => (await committedTotal(s)) === 1000n, 60_000, 250);
    expect(inst.proc.exitCode).toBeNull();
    expect((await inst.stop()).code).toBe(0);
    const t = tally(run, 1000, records(p.messages()));
    process.stdout.write(`syslog CA rotation: lost=${t.lost} dup=${t.dup}\n`);
    expect(t.lost).toBe(0);
    expect(t.altered).toBe(0);
  });
});
