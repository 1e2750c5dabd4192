// `http abuse`: one instance serving the webhook over HTTPS (METRICS_PORT for /metrics and the probes)
// while its push route ships a steady load to HEC, attacked from this process for ATTACK_MS with:
// IDLE idle TCP connections and SLOW TLS connections sending their headers a line a second; an
// oversized URL and oversized headers; a flood of calls with the right key past WEBHOOK_RATE_LIMIT;
// wrong keys at a high rate from one address; TLS 1.0/1.1 handshakes and plain HTTP on the TLS port.
// Throughout, /healthz must answer within 1 s on both ports; the route keeps up with the load; memory
// stays bounded; every refusal is counted by the server (a client-side failure proves nothing); and the
// reckoning finds nothing lost.
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { newKey } from '../../src/webhook/keys.ts';
import { FaultRun, FULL, expectClean, usePeers } from './support/fault-run.ts';
import { sleep, tmpDir } from '../support/instance.ts';
import { createTopic, kafkaBootstrap, uniqueName } from '../support/kafka.ts';
import { makeTestPki } from '../support/pki.ts';

const ATTACK_MS = FULL ? 60_000 : 10_000;
const IDLE = 1000;
const SLOW = 100;
const peers = usePeers(['hec']);

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Milliseconds a GET /healthz takes (Infinity when it fails). */
async function healthLatency(url: string, dispatcher?: Agent): Promise<number> {
  const t0 = performance.now();
  try {
    const r = await request(url, { ...(dispatcher ? { dispatcher } : {}), signal: AbortSignal.timeout(5000) });
    await r.body.text();
    return r.statusCode === 200 ? performance.now() - t0 : Infinity;
  } catch {
    return Infinity;
  }
}

describe('fault: http abuse', () => {
  it('idle and slow connections, oversized requests, floods, wrong keys, old TLS and plain HTTP: /healthz < 1 s, the route keeps up, memory bounded, lost=0', async () => {
    const pki = await makeTestPki(join(tmpDir('http-abuse'), 'pki'), 'abuse');
    const { key, hash } = newKey();
    const wrong = newKey().key;
    const webhookTopic = uniqueName('abuse-wh');
    await createTopic(kafkaBootstrap(), webhookTopic, 1);
    const run = await FaultRun.start({
      scenario: 'http abuse',
      peers: peers(),
      sinks: ['hec'],
      instances: 1,
      partitions: 3,
      ratePerSec: 300,
      deferLoad: true,
      env: {
        HTTP_TLS_CERT_FILE: pki.serverCertFile,
        HTTP_TLS_KEY_FILE: pki.serverKeyFile,
        METRICS_PORT: '0',
        WEBHOOK_PRODUCTS: `web=${webhookTopic}`,
        WEBHOOK_CURSOR_TOPIC: `${webhookTopic}-cursors`,
        WEBHOOK_KEYS: `web=${hash}`,
        WEBHOOK_RATE_LIMIT: '120',
        WEBHOOK_AUTH_FAILURE_LIMIT: '30',
        HTTP_TRUSTED_PROXIES: '127.0.0.1',
      },
    });
    const inst = run.started[0]!;
    const port = await inst.httpPort();
    const metricsPort = await inst.metricsPort();
    const agent = new Agent({ connect: { ca: readFileSync(pki.caFile), servername: 'localhost' }, connections: 8 });
    // As behind an Ingress (HTTP_TRUSTED_PROXIES=127.0.0.1): the key guesser and the legitimate caller
    // share the proxy's address and differ by X-Forwarded-For, so the per-address failure limit slows
    // the guesser down without touching the caller.
    const guesser = agent;
    const fromCaller = { 'x-forwarded-for': '198.51.100.10' };
    const fromGuesser = { 'x-forwarded-for': '203.0.113.66' };
    // The probes' own connection: an attacker's queue must not delay them on the client side.
    const probeAgent = new Agent({ connect: { ca: readFileSync(pki.caFile), servername: 'localhost' }, connections: 1 });
    const main = `https://localhost:${port}`;
    await run.load.start();
    await sleep(3000);
    const rssBefore = rssMb(inst.proc.pid!);

    // Probes every 200 ms on both ports while everything else runs.
    let probing = true;
    const latencies: { metrics: number[]; main: number[] } = { metrics: [], main: [] };
    const probes = (async () => {
      while (probing) {
        const [m, h] = await Promise.all([healthLatency(`http://127.0.0.1:${metricsPort}/healthz`), healthLatency(`${main}/healthz`, probeAgent)]);
        latencies.metrics.push(m);
        latencies.main.push(h);
        await sleep(200);
      }
    })();
    let rssMax = rssBefore;
    const sampling = setInterval(() => (rssMax = Math.max(rssMax, rssMb(inst.proc.pid!))), 500);
    const committedAtStart = await run.metricTotal('logstream_committed_offset');

    const sockets: Array<Socket | TLSSocket> = [];
    const attackUntil = Date.now() + ATTACK_MS;
    const counts = { oversizedRefused: 0, floodOk: 0, flood429: 0, wrong401: 0, wrong429: 0, oldTls: 0, plain: 0 };
    // Idle connections (nothing sent, not even a TLS hello) and slow ones (a header line a second).
    for (let i = 0; i < IDLE; i++) {
      const s = netConnect(port, '127.0.0.1');
      s.on('error', () => undefined);
      sockets.push(s);
    }
    for (let i = 0; i < SLOW; i++) {
      const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(pki.caFile) }, () => s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n'));
      s.on('error', () => undefined);
      const drip = setInterval(() => (s.writable ? s.write(`X-Slow-${Date.now()}: x\r\n`) : clearInterval(drip)), 1000);
      s.on('close', () => clearInterval(drip));
      sockets.push(s);
    }
    const attacks = [
      // Oversized URL and headers: refused with 414/431 or the connection closed.
      (async () => {
        while (Date.now() < attackUntil) {
          for (const init of [{ path: `/v1/logstream/web?${'a'.repeat(100_000)}`, headers: {} }, { path: '/v1/logstream/web', headers: { 'x-big': 'b'.repeat(64_000) } }]) {
            const code = await request(`${main}${init.path}`, { dispatcher: agent, headers: init.headers }).then(
              async (r) => (await r.body.text(), r.statusCode),
              () => 0,
            );
            if (code === 0 || code === 414 || code === 431) counts.oversizedRefused++;
          }
          await sleep(100);
        }
      })(),
      // The right key, far past WEBHOOK_RATE_LIMIT.
      (async () => {
        while (Date.now() < attackUntil) {
          const r = await request(`${main}/v1/logstream/web`, { dispatcher: agent, headers: { authorization: `Bearer ${key}`, ...fromCaller } }).catch(() => undefined);
          if (r) {
            await r.body.text();
            if (r.statusCode === 429) counts.flood429++;
            else if (r.statusCode < 500) counts.floodOk++;
          }
        }
      })(),
      // Wrong keys as fast as they go, from one address.
      (async () => {
        while (Date.now() < attackUntil) {
          const r = await request(`${main}/v1/logstream/web`, { dispatcher: guesser, headers: { authorization: `Bearer ${wrong}`, ...fromGuesser } }).catch(() => undefined);
          if (r) {
            await r.body.text();
            if (r.statusCode === 401) counts.wrong401++;
            if (r.statusCode === 429) counts.wrong429++;
          }
        }
      })(),
      // TLS 1.0/1.1 handshakes and plain HTTP on the TLS port.
      (async () => {
        while (Date.now() < attackUntil) {
          await new Promise<void>((resolve) => {
            const s = tlsConnect({ host: '127.0.0.1', port, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0', rejectUnauthorized: false }, () => (s.end(), resolve()));
            s.on('error', () => (counts.oldTls++, resolve()));
          });
          await new Promise<void>((resolve) => {
            const s = netConnect(port, '127.0.0.1', () => s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'));
            s.on('close', () => (counts.plain++, resolve()));
            s.on('error', () => undefined);
          });
          await sleep(100);
        }
      })(),
    ];
    await Promise.all(attacks);
    const committedAtEnd = await run.metricTotal('logstream_committed_offset');
    probing = false;
    await probes;
    clearInterval(sampling);
    for (const s of sockets) s.destroy();

    // What the server says it refused (its own counts, not the client's).
    const refused = async (reason: string): Promise<number> => run.metricTotal('logstream_http_tls_refused_total', { reason });
    const [plainRefused, oldRefused] = [await refused('plain_http'), await refused('protocol_version')];
    const maxMetrics = Math.max(...latencies.metrics);
    const maxMain = Math.max(...latencies.main);
    const delivered = committedAtEnd - committedAtStart;
    const expected = (run.o.ratePerSec * ATTACK_MS) / 1000;
    await Promise.all([agent.close(), probeAgent.close()]);
    const r = await run.finish({
      dupBound: 0,
      note: `healthz max ${Math.round(maxMetrics)} ms (metrics port) / ${Math.round(maxMain)} ms (TLS port) over ${latencies.metrics.length} probes; delivered ${delivered} of ~${expected} produced during the attack; RSS ${Math.round(rssBefore)} → max ${Math.round(rssMax)} MB; refused by the server: ${plainRefused} plain HTTP, ${oldRefused} TLS<1.2; webhook flood ${counts.flood429}×429 / ${counts.floodOk} served, wrong keys ${counts.wrong401}×401 then ${counts.wrong429}×429; oversized ${counts.oversizedRefused} refused; ${IDLE} idle + ${SLOW} slow connections`,
    });
    expectClean(r);
    expect(maxMetrics, 'healthz on METRICS_PORT').toBeLessThan(1000);
    expect(maxMain, 'healthz on the TLS port').toBeLessThan(1000);
    expect(delivered, 'the route kept up with the load').toBeGreaterThanOrEqual(expected * 0.9);
    expect(rssMax - rssBefore, 'RSS growth (MB)').toBeLessThan(150);
    expect(plainRefused).toBeGreaterThanOrEqual(counts.plain * 0.9);
    expect(oldRefused).toBeGreaterThanOrEqual(counts.oldTls * 0.9);
    expect(counts.flood429).toBeGreaterThan(0);
    // The legitimate caller got its minute's worth (WEBHOOK_RATE_LIMIT 120), the guesser's limit aside.
    expect(counts.floodOk).toBeGreaterThanOrEqual(100);
    const log = inst.logs.filter((l) => l.msg === 'webhook call');
    expect(log.some((l) => l['remote'] === '203.0.113.66' && l['status'] === 429)).toBe(true);
    expect(log.some((l) => l['remote'] === '198.51.100.10' && l['status'] === 200)).toBe(true);
    expect(counts.wrong429).toBeGreaterThan(counts.wrong401); // the failure limit took over
    expect(counts.wrong401).toBeLessThanOrEqual(30 + Math.ceil(ATTACK_MS / 2000) + 5);
    expect(counts.oversizedRefused).toBeGreaterThan(0);
  });
});
