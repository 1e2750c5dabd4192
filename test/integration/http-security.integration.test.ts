// Security of logstream's own HTTP server and of its secrets (issue 23), with logstream as a child
// process: HTTPS on HTTP_PORT (TLS 1.2 at least; plain HTTP and TLS 1.0/1.1 refused — counted on the
// server side, since a client-side failure proves nothing), mutual TLS, METRICS_PORT, a certificate
// renewed without a restart; and secrets mounted as files rotating without a restart: webhook key
// hashes (old and new valid during the overlap, then the old one removed) and the HEC token (rotated on
// the receiver and in the file mid-stream: delivery pauses briefly, nothing lost).
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { newKey } from '../../src/webhook/keys.ts';
import { committedTotal, instanceEnv, newGroupSetup, waitForStableGroup } from '../support/group.ts';
import { HecProcess } from '../support/hec/process.ts';
import { Instance, tmpDir, waitUntil } from '../support/instance.ts';
import { createTopic, kafkaBootstrap, produceJson, uniqueName } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';
import { makeTestPki, type TestPki } from '../support/pki.ts';
import { replaceFile } from '../support/mounted-file.ts';

const running: Instance[] = [];
const receivers: HecProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

function start(name: string, env: Record<string, string>): Instance {
  const i = new Instance(name, { SECRETS_RELOAD_INTERVAL: '1s', ...env });
  running.push(i);
  return i;
}

/** The certificate a fresh TLS connection is served (verification off: the test compares fingerprints). */
function servedCertificate(port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate());
      s.end();
    });
    s.on('error', reject);
  });
}

const fingerprint = (pemFile: string): string => new X509Certificate(readFileSync(pemFile)).fingerprint256;

/** A TLS 1.0/1.1-only handshake (allowed on this client by SECLEVEL=0): resolves with the client's error. */
function oldTlsHandshake(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0', rejectUnauthorized: false }, () => {
      s.end();
      resolve('connected');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** A plain HTTP request on the port: resolves with what came back before the close. */
function plainHttp(port: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = netConnect(port, '127.0.0.1', () => s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', () => undefined);
  });
}


function httpsAgent(pki: TestPki, client = false): Agent {
  return new Agent({ connect: { ca: readFileSync(pki.caFile), servername: 'localhost', ...(client ? { cert: readFileSync(pki.clientCertFile), key: readFileSync(pki.clientKeyFile) } : {}) } });
}

describe('HTTP server TLS and secret rotation (child processes)', () => {
  it('HTTPS only on HTTP_PORT (plain HTTP and TLS 1.1 refused, counted by the server), metrics on METRICS_PORT, a renewed certificate served to new connections while an open one goes on', async () => {
    const dir = tmpDir('http-tls');
    const pki = await makeTestPki(join(dir, 'a'), 'server-a');
    const renewed = await makeTestPki(join(dir, 'b'), 'server-b');
    const certFile = join(dir, 'tls.crt');
    const keyFile = join(dir, 'tls.key');
    writeFileSync(certFile, readFileSync(pki.serverCertFile));
    writeFileSync(keyFile, readFileSync(pki.serverKeyFile));
    const topic = uniqueName('tls');
    await createTopic(kafkaBootstrap(), topic, 1);
    const { key, hash } = newKey();
    const inst = start('tls', {
      KAFKA_BROKERS: kafkaBootstrap(),
      WEBHOOK_PRODUCTS: `web=${topic}`,
      WEBHOOK_KEYS: `web=${hash}`,
      WEBHOOK_CURSOR_TOPIC: `${topic}-cursors`,
      KAFKA_DLQ_TOPIC: `${topic}-dlq`,
      HTTP_TLS_CERT_FILE: certFile,
      HTTP_TLS_KEY_FILE: keyFile,
      METRICS_PORT: '0',
    });
    const port = await inst.httpPort();
    const metricsPort = await inst.metricsPort();
    expect(metricsPort).not.toBe(port);

    const agent = httpsAgent(pki);
    const health = await request(`https://localhost:${port}/healthz`, { dispatcher: agent });
    expect(health.statusCode).toBe(200);
    await health.body.text();
    const call = await request(`https://localhost:${port}/v1/logstream/web`, { dispatcher: agent, headers: { authorization: `Bearer ${key}` } });
    expect(call.statusCode).toBe(200);
    expect(call.headers).toMatchObject({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'strict-transport-security': 'max-age=31536000' });
    await call.body.text();
    // Metrics and readiness only on METRICS_PORT (plain HTTP, inside the cluster).
    const metricsOnMain = await request(`https://localhost:${port}/metrics`, { dispatcher: agent });
    expect(metricsOnMain.statusCode).toBe(404);
    await metricsOnMain.body.text();
    expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);

    // Refused by the server: plain HTTP on the TLS port, and a TLS 1.0/1.1-only client.
    expect(await plainHttp(port)).not.toContain('HTTP/1.1 200');
    expect(await oldTlsHandshake(port)).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    await waitUntil('both refusals counted', async () => (await inst.metricSum('logstream_http_tls_refused_total', { reason: 'plain_http' })) === 1 && (await inst.metricSum('logstream_http_tls_refused_total', { reason: 'protocol_version' })) === 1, 10_000, 200);

    // Renewal: an open keep-alive connection goes on; new connections get the new certificate.
    const keepAlive = new Agent({ connect: { ca: [readFileSync(pki.caFile), readFileSync(renewed.caFile)], servername: 'localhost' }, keepAliveTimeout: 60_000 });
    const before = await request(`https://localhost:${port}/healthz`, { dispatcher: keepAlive });
    await before.body.text();
    expect((await servedCertificate(port)).fingerprint256).toBe(fingerprint(pki.serverCertFile));
    replaceFile(keyFile, readFileSync(renewed.serverKeyFile));
    replaceFile(certFile, readFileSync(renewed.serverCertFile));
    await waitUntil('the renewed certificate served', async () => (await servedCertificate(port)).fingerprint256 === fingerprint(renewed.serverCertFile), 15_000, 200);
    expect(await inst.metricSum('logstream_http_tls_reloads_total', { result: 'ok' })).toBeGreaterThanOrEqual(1);
    const after = await request(`https://localhost:${port}/healthz`, { dispatcher: keepAlive });
    expect(after.statusCode).toBe(200);
    await after.body.text();
    // A broken renewal (a key that does not match) keeps the certificate in use.
    replaceFile(keyFile, readFileSync(pki.serverKeyFile));
    await waitUntil('the broken renewal refused', async () => (await inst.metricSum('logstream_http_tls_reloads_total', { result: 'failed' })) >= 1, 15_000, 200);
    expect((await servedCertificate(port)).fingerprint256).toBe(fingerprint(renewed.serverCertFile));
    expect(inst.logs.some((l) => l.level === 'warn' && l.msg.startsWith('HTTP_TLS_CERT_FILE / HTTP_TLS_KEY_FILE changed but make no valid pair yet; the previous certificate stays'))).toBe(true);
    await Promise.all([agent.close(), keepAlive.close()]);
  });

  it('mutual TLS: a caller without a client certificate signed by HTTP_TLS_CLIENT_CA_FILE is refused', async () => {
    const dir = tmpDir('http-mtls');
    const pki = await makeTestPki(dir, 'mtls');
    const topic = uniqueName('mtls');
    await createTopic(kafkaBootstrap(), topic, 1);
    const inst = start('mtls', { KAFKA_BROKERS: kafkaBootstrap(), KAFKA_TOPICS: topic, SINKS: 'stdout', HTTP_TLS_CERT_FILE: pki.serverCertFile, HTTP_TLS_KEY_FILE: pki.serverKeyFile, HTTP_TLS_CLIENT_CA_FILE: pki.caFile, METRICS_PORT: '0' });
    const port = await inst.httpPort();
    const without = await request(`https://localhost:${port}/healthz`, { dispatcher: httpsAgent(pki) }).then(
      (r) => r.statusCode,
      (e: Error) => e,
    );
    expect(without).toBeInstanceOf(Error);
    const withCert = await request(`https://localhost:${port}/healthz`, { dispatcher: httpsAgent(pki, true) });
    expect(withCert.statusCode).toBe(200);
    await withCert.body.text();
    await waitUntil('the refusal counted', async () => (await inst.metricSum('logstream_http_tls_refused_total', { reason: 'client_certificate' })) >= 1, 10_000, 200);
  });

  it('WEBHOOK_KEYS_FILE rotates: old and new keys both valid during the overlap, then only the new; a broken file keeps the keys in use', async () => {
    const dir = tmpDir('wh-keys');
    const topic = uniqueName('whk');
    await createTopic(kafkaBootstrap(), topic, 1);
    const old = newKey();
    const next = newKey();
    const keysFile = join(dir, 'keys');
    writeFileSync(keysFile, `web=${old.hash}\n`);
    const inst = start('whk', { KAFKA_BROKERS: kafkaBootstrap(), WEBHOOK_PRODUCTS: `web=${topic}`, WEBHOOK_KEYS_FILE: keysFile, WEBHOOK_CURSOR_TOPIC: `${topic}-cursors`, KAFKA_DLQ_TOPIC: `${topic}-dlq` });
    const base = `http://127.0.0.1:${await inst.httpPort()}/v1/logstream/web`;
    const status = async (k: string): Promise<number> => (await fetch(base, { headers: { authorization: `Bearer ${k}` } })).status;
    expect([await status(old.key), await status(next.key)]).toEqual([200, 401]);
    replaceFile(keysFile, `web=${old.hash}\nweb=${next.hash}\n`);
    await waitUntil('the new key accepted', async () => (await status(next.key)) === 200, 15_000, 200);
    expect(await status(old.key)).toBe(200); // the overlap
    replaceFile(keysFile, 'web=not-a-hash\n');
    await waitUntil('the broken file refused', async () => (await inst.metricSum('logstream_secret_reloads_total', { variable: 'WEBHOOK_KEYS_FILE', result: 'invalid' })) === 1, 15_000, 200);
    expect([await status(old.key), await status(next.key)]).toEqual([200, 200]);
    replaceFile(keysFile, `web=${next.hash}\n`);
    await waitUntil('the old key removed', async () => (await status(old.key)) === 401, 15_000, 200);
    expect(await status(next.key)).toBe(200);
    expect(await inst.metricSum('logstream_secret_reloads_total', { variable: 'WEBHOOK_KEYS_FILE', result: 'changed' })).toBe(2);
    // The log names the variable, never a key or a hash.
    const text = JSON.stringify(inst.logs);
    for (const secret of [old.key, next.key, old.hash.slice(7), next.hash.slice(7)]) expect(text).not.toContain(secret);
  });

  it('HEC_TOKEN_FILE rotated on the receiver and in the file mid-stream: delivery pauses, then goes on; nothing lost', async () => {
    const s = await newGroupSetup('hec-rotate', 2);
    const dir = tmpDir('hec-token');
    const tokenFile = join(dir, 'token');
    const first = `tok-${randomBytes(8).toString('hex')}`;
    const second = `tok-${randomBytes(8).toString('hex')}`;
    writeFileSync(tokenFile, `${first}\n`);
    const hec = await HecProcess.start(['--port', '0', '--token', first]);
    receivers.push(hec);
    const inst = start('hec-rot', { ...instanceEnv(s, 'hec-rot'), SINKS: 'splunk_hec', HEC_URLS: hec.url, HEC_TOKEN_FILE: tokenFile, HEC_RETRY_MAX: '500ms', HEC_BATCH_MAX_RECORDS: '50' });
    await waitForStableGroup([inst], 2);
    const run = uniqueName('hecrot');
    const n = 4000;
    const all = ledgerRecords(run, n, 2);
    const producing = (async () => {
      for (let i = 0; i < n; i += 100) {
        await produceJson(s.bootstrap, s.topic, all.slice(i, i + 100));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await waitUntil('a quarter delivered', async () => (await hec.stats()).eventsIndexed >= 1000, 60_000, 100);
    // The SIEM team rotates the token: the receiver first (the old one is refused from now on), then the file.
    await hec.control({ op: 'setTokens', tokens: [second] });
    const rotatedAt = Date.now();
    replaceFile(tokenFile, `${second}\n`);
    await producing;
    await waitUntil('all committed', async () => (await committedTotal(s)) === BigInt(n), 90_000, 250);
    const resumedAfterMs = Date.now() - rotatedAt;
    expect(await inst.metricSum('logstream_secret_reloads_total', { variable: 'HEC_TOKEN_FILE', result: 'changed' })).toBe(1);
    expect((await inst.stop()).code).toBe(0);
    const events = (await hec.events()).events;
    const t = tally(run, n, events.map((e) => e.event as Record<string, unknown>));
    expect(t).toMatchObject({ lost: 0, altered: 0, foreign: 0 });
    expect(new Set(events.map((e) => e.token))).toEqual(new Set([first, second]));
    expect(inst.usesNewFile('HEC_TOKEN_FILE')).toBe(true);
    expect(JSON.stringify(inst.logs)).not.toContain(second);
    const refused = (await hec.stats()).byCode['4'] ?? 0;
    process.stdout.write(`hec token rotation: lost=${t.lost} dup=${t.dup} (${refused} requests refused with the old token between the two steps; all committed ${resumedAfterMs} ms after the rotation began)\n`);
  });

  it('HEC_TLS_CA_FILE rotated: a receiver whose certificate comes from a new CA is trusted once the file has it, without a restart; nothing lost', async () => {
    const s = await newGroupSetup('hec-ca', 1);
    const dir = tmpDir('hec-ca');
    const [oldCa, receiverPki] = await Promise.all([makeTestPki(join(dir, 'old'), 'old-ca'), makeTestPki(join(dir, 'new'), 'new-ca')]);
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, readFileSync(oldCa.caFile));
    const token = `tok-${randomBytes(8).toString('hex')}`;
    const hec = await HecProcess.start(['--port', '0', '--token', token, '--tls-cert', receiverPki.serverCertFile, '--tls-key', receiverPki.serverKeyFile]);
    receivers.push(hec);
    const url = hec.url.replace('127.0.0.1', 'localhost');
    const inst = start('hec-ca', { ...instanceEnv(s, 'hec-ca'), SINKS: 'splunk_hec', HEC_URLS: url, HEC_TOKEN: token, HEC_TLS_CA_FILE: caFile, HEC_RETRY_MAX: '500ms' });
    // Not ready (its sink cannot connect), but it owns the partition.
    await waitUntil('the partition assigned', async () => (await inst.metricSum('logstream_assigned_partitions')) === 1, 60_000, 250);
    const run = uniqueName('hecca');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 500, 1));
    // The receiver's certificate is not trusted: nothing delivered or committed.
    await waitUntil('TLS refused', async () => (await inst.metricSum('logstream_sink_errors_total')) > 0, 30_000, 200);
    // The receiver's own endpoints (/_stats, /_events) speak TLS too: read them trusting its CA.
    const trusting = new Agent({ connect: { ca: readFileSync(receiverPki.caFile) } });
    const receiver = async <T>(path: string): Promise<T> => {
      const r = await request(`${hec.url}${path}`, { dispatcher: trusting });
      return (await r.body.json()) as T;
    };
    expect(await committedTotal(s)).toBe(0n);
    expect((await receiver<{ eventsIndexed: number }>('/_stats')).eventsIndexed).toBe(0);
    replaceFile(caFile, readFileSync(receiverPki.caFile));
    await waitUntil('all committed once the CA file has the new CA', async () => (await committedTotal(s)) === 500n, 60_000, 250);
    expect(await inst.metricSum('logstream_secret_reloads_total', { variable: 'HEC_TLS_CA_FILE', result: 'changed' })).toBe(1);
    const t = tally(run, 500, (await receiver<{ events: Array<{ event: unknown }> }>('/_events?offset=0&limit=100000')).events.map((e) => e.event as Record<string, unknown>));
    await trusting.close();
    expect(t).toMatchObject({ lost: 0, dup: 0, altered: 0 });
    process.stdout.write(`hec CA rotation: lost=${t.lost} dup=${t.dup}\n`);
  });
});
