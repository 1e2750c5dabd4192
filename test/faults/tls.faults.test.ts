// TLS failures of the two TLS sinks, splunk_hec (HTTPS) and syslog (RFC 5425), under load with 3
// instances: an expired server certificate, a certificate for another name, one signed by a CA
// logstream was not given, a server that requires a client certificate logstream does not have, and a
// server that offers only TLS 1.0/1.1. For each, the group is pointed at the bad endpoints (both sinks
// at once) and must: send nothing (no handshake completes, no application byte arrives, no plaintext
// fallback, the real receivers behind hold nothing of the run), commit nothing, report not ready
// (/readyz 503) and log a line naming the endpoint and the cause. Then the same group is pointed at
// good endpoints and everything arrives exactly once (dup bound 0: nothing was delivered before).
//
// The bad HTTPS endpoints are node:tls servers (TlsTrap) relaying to the real HEC test receiver, so a
// client that wrongly accepted one would really deliver (and commit); the good HTTPS endpoint is the
// same relay with a good certificate. The bad syslog endpoints are TlsTraps too, except "client
// certificate missing", which is rsyslog's own mutual-TLS input.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultRun, FULL, underLoad, expectClean } from './support/fault-run.ts';
import { FaultPeers } from './support/peers.ts';
import { makeBadPki, type BadPki } from './support/tls-pki.ts';
import { TlsTrap, type TlsTrapOptions } from './support/tls-trap.ts';
import { type Instance, type LogLine, tmpDir, waitUntil } from '../support/instance.ts';
import { waitForStableGroup } from '../support/group.ts';
import { OPENSSL } from '../support/pki.ts';

/** How long each bad endpoint is under load (the group's commits are checked at its end). */
const WINDOW_MS = FULL ? 20_000 : 10_000;
const SINKS = ['hec', 'syslog'] as const;

interface Endpoint {
  env: Record<string, string>;
  /** host:port as the logs must name it. */
  hostPort: string;
  /** The TlsTrap behind it (absent for rsyslog's mTLS input). */
  trap?: TlsTrap;
}

interface TlsCase {
  name: string;
  /** What the logs (or, for a cause the first attempt did not see, /readyz) must say. */
  cause: RegExp;
  hec: Endpoint;
  syslog: Endpoint;
}

let peers: FaultPeers;
let pki: BadPki;
const traps: TlsTrap[] = [];

beforeAll(async () => {
  [peers, pki] = await Promise.all([FaultPeers.start(SINKS), makeBadPki(join(tmpDir('tls-faults'), 'pki'))]);
}, 240_000);
afterAll(async () => {
  await Promise.all(traps.map((t) => t.close().catch(() => undefined)));
  await peers?.close();
});

async function trap(o: TlsTrapOptions): Promise<TlsTrap> {
  const t = await TlsTrap.start(o);
  traps.push(t);
  return t;
}

/** A bad HTTPS endpoint relaying to the real HEC receiver; logstream trusts `pki.caFile`. */
async function hecAt(o: Omit<TlsTrapOptions, 'forwardPort'>, host = '127.0.0.1'): Promise<Endpoint> {
  const t = await trap({ ...o, forwardPort: peers.hec!.port });
  return { trap: t, hostPort: `${host}:${t.port}`, env: { HEC_URLS: `https://${host}:${t.port}`, HEC_TLS_CA_FILE: pki.caFile } };
}

async function syslogAt(o: TlsTrapOptions, host = '127.0.0.1'): Promise<Endpoint> {
  const t = await trap(o);
  return { trap: t, hostPort: `${host}:${t.port}`, env: { SYSLOG_URL: `tls://${host}:${t.port}`, SYSLOG_TLS_CA_FILE: pki.caFile } };
}

/** `openssl s_client` (async: the server under test runs in this process), stdin closed at once. */
function sClient(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(OPENSSL, ['s_client', ...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 10_000 });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    p.once('error', reject);
    p.once('close', () => resolve({ stdout, stderr }));
    p.stdin.end();
  });
}

async function makeCases(): Promise<TlsCase[]> {
  const good = { cert: pki.good.cert, key: pki.good.key };
  const legacy = { ...good, legacyOnly: true };
  // Really offers TLS 1.1 (OpenSSL 3 refuses it at its default security level): proven with s_client.
  const probe = await trap(legacy);
  const s = await sClient(['-connect', `127.0.0.1:${probe.port}`, '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0', '-CAfile', pki.caFile]);
  expect(s.stdout, `openssl s_client -tls1_1 against the legacy server:\n${s.stdout}\n${s.stderr}`).toMatch(/Protocol\s*:\s*TLSv1\.1/);
  expect(probe.protocols).toContain('TLSv1.1');
  return [
    {
      name: 'expired certificate',
      cause: /certificate has expired/i,
      hec: await hecAt({ cert: pki.expired.cert, key: pki.expired.key }),
      syslog: await syslogAt({ cert: pki.expired.cert, key: pki.expired.key }),
    },
    {
      // Valid and trusted, but for wrong-name.invalid / 192.0.2.1: HEC dials an IP, syslog a name.
      name: 'wrong name',
      cause: /Hostname\/IP does not match certificate's altnames/i,
      hec: await hecAt({ cert: pki.wrongName.cert, key: pki.wrongName.key }, '127.0.0.1'),
      syslog: await syslogAt({ cert: pki.wrongName.cert, key: pki.wrongName.key }, 'localhost'),
    },
    {
      name: 'unknown CA',
      cause: /unable to verify the first certificate|self[- ]signed|unable to get (local )?issuer/i,
      hec: await hecAt({ cert: pki.unknownCa.cert, key: pki.unknownCa.key }),
      syslog: await syslogAt({ cert: pki.unknownCa.cert, key: pki.unknownCa.key }),
    },
    {
      // No SYSLOG_TLS_CERT_FILE / HEC_TLS_CERT_FILE configured.
      name: 'client certificate missing',
      cause: /certificate required|handshake failure/i,
      hec: await hecAt({ ...good, clientCa: pki.ca }),
      syslog: {
        hostPort: `127.0.0.1:${peers.syslog!.mtlsPort}`,
        env: { SYSLOG_URL: `tls://127.0.0.1:${peers.syslog!.mtlsPort}`, SYSLOG_TLS_CA_FILE: peers.syslog!.caFile },
      },
    },
    {
      name: 'TLS 1.1 or older only',
      cause: /protocol version|unsupported protocol|wrong version number/i,
      hec: await hecAt(legacy),
      syslog: await syslogAt(legacy),
    },
  ];
}

/** A warning or error of `sink` that names `hostPort`. */
const failureOf = (sink: string, hostPort: string) => (l: LogLine): boolean => l.sink === sink && (l.level === 'warn' || l.level === 'error') && l.msg.includes(hostPort);

/** Waits until `members` own all partitions between them (not for readiness: a bad sink never is). */
async function waitAssigned(members: Instance[], partitions: number): Promise<void> {
  await waitUntil(`${members.length} instances owning ${partitions} partitions`, async () => (await Promise.all(members.map((m) => m.metricSum('logstream_assigned_partitions')))).reduce((a, b) => a + b, 0) === partitions, 120_000, 500);
}

async function readyz(m: Instance): Promise<{ status: number; reasons: string[] }> {
  const res = await fetch(`http://127.0.0.1:${await m.httpPort()}/readyz`);
  return { status: res.status, reasons: ((await res.json()) as { reasons: string[] }).reasons };
}

describe('TLS failures of the HTTPS (splunk_hec) and syslog TLS sinks, 3 instances under load', () => {
  it('expired cert, wrong name, unknown CA, missing client cert, TLS <= 1.1: nothing sent, no plaintext, nothing committed, endpoint and cause logged; then fixed: lost=0 dup=0', async () => {
    const cases = await makeCases();
    const goodFront = await trap({ cert: pki.good.cert, key: pki.good.key, forwardPort: peers.hec!.port });
    // The first case's instances are started by FaultRun.start, which waits until they are ready before
    // the load begins: with nothing to send yet they are, but HEC's health check would already fail.
    const run = await FaultRun.start({
      scenario: 'tls failures',
      peers,
      sinks: SINKS,
      env: { ...cases[0]!.hec.env, ...cases[0]!.syslog.env, HEC_HEALTH_CHECK: 'false', DRAIN_TIMEOUT: '2s' },
    });
    try {
      for (const [i, c] of cases.entries()) {
        let members: Instance[];
        if (i === 0) members = run.alive();
        else {
          await Promise.all(run.alive().map((m) => m.stop(30_000)));
          members = [0, 1, 2].map(() => run.startInstance({ ...c.hec.env, ...c.syslog.env, HEC_HEALTH_CHECK: 'true' }));
          await waitAssigned(members, run.o.partitions);
        }
        const producedBefore = run.load.produced;
        await Promise.all(members.flatMap((m) => [m.waitForLog(failureOf('splunk_hec', c.hec.hostPort), 30_000), m.waitForLog(failureOf('syslog', c.syslog.hostPort), 30_000)]));
        await underLoad(run, WINDOW_MS);

        const what = `${c.name}: hec trap ${c.hec.trap?.summary()}; syslog ${c.syslog.trap?.summary() ?? 'rsyslog mtls input'}`;
        // (a) nothing sent: no handshake completed, no application byte, no plaintext fallback.
        for (const t of [c.hec.trap, c.syslog.trap]) {
          if (!t) continue;
          expect(t.connections, `${what}: logstream kept trying`).toBeGreaterThan(0);
          expect(t.plaintextConnections, `${what}: plaintext fallback`).toBe(0);
          expect(t.handshakes, what).toBe(0);
          expect(t.appBytes, what).toBe(0);
        }
        //     … and the real receivers behind hold nothing of this run.
        expect((await peers.rows('hec', run.key, run.run, 0)).length, `${what}: HEC receiver got records`).toBe(0);
        expect(peers.syslog!.messages().filter((m) => m.msg.includes(run.run)).length, `${what}: rsyslog got records`).toBe(0);
        // (b) nothing committed, while the load went on.
        expect(run.load.produced, 'the load runs').toBeGreaterThan(producedBefore);
        expect(await run.committed(), `${what}: committed offsets`).toBe(0n);
        for (const m of members) {
          // (c) not ready, both sinks named.
          const r = await readyz(m);
          expect(r.status, `${m.name} /readyz: ${r.reasons.join('; ')}`).toBe(503);
          expect(r.reasons.join('\n')).toMatch(/sink splunk_hec/);
          expect(r.reasons.join('\n')).toMatch(/sink syslog/);
          // (d) a log line names the endpoint and the cause.
          for (const [sink, ep] of [['splunk_hec', c.hec], ['syslog', c.syslog]] as const) {
            const lines = m.logs.filter(failureOf(sink, ep.hostPort)).map((l) => l.msg);
            expect(lines.length, `${m.name} ${sink}: a failure line naming ${ep.hostPort}`).toBeGreaterThan(0);
            expect(lines.join('\n'), `${m.name} ${sink} (${c.name}): the cause is named`).toMatch(c.cause);
          }
        }
        process.stdout.write(`tls ${c.name}: nothing sent, nothing committed, 503, endpoint and cause logged  [${what}]\n`);
      }

      // The fix: same group, good endpoints (HTTPS with a trusted certificate for the name dialled).
      await Promise.all(run.alive().map((m) => m.stop(30_000)));
      expect(await run.committed(), 'nothing committed before the fix').toBe(0n);
      const good = { ...peers.env(run.key, SINKS), HEC_URLS: `https://localhost:${goodFront.port}`, HEC_TLS_CA_FILE: pki.caFile, HEC_HEALTH_CHECK: 'true' };
      for (let k = 0; k < 3; k++) run.startInstance(good);
      await waitForStableGroup(run.alive(), run.o.partitions, 180_000);
      await underLoad(run, 5000);
      const r = await run.finish({ dupBound: 0, note: `${cases.length} bad endpoints x ${WINDOW_MS / 1000} s each, then fixed` });
      expect(goodFront.handshakes, `good endpoint: ${goodFront.summary()}`).toBeGreaterThan(0);
      expect(goodFront.plaintextConnections).toBe(0);
      expectClean(r); // dup bound 0
    } finally {
      await Promise.all(run.alive().map((i) => i.stop(10_000)));
    }
  }, (FULL ? 15 : 8) * 60_000);
});
