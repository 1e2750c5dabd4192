// HEC over TLS: verification is on by default; an unknown CA halts delivery (nothing sent in clear,
// nothing committed, the error names the endpoint and cause); HEC_TLS_CA_FILE makes it work;
// HEC_TLS_INSECURE works and warns at start.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { committedOffsets, createTopic, kafkaBootstrap, produceJson, uniqueName } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';
import { instanceEnv, type GroupSetup } from '../support/group.ts';
import { Instance, tmpDir, waitUntil } from '../support/instance.ts';
import { HecReceiver } from '../support/hec/receiver.ts';

const TOKEN = 'tls-test-token';
const running: Instance[] = [];
const receivers: HecReceiver[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

/** A self-signed certificate for 127.0.0.1 / localhost, made with openssl. */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'hec.crt');
  const key = join(dir, 'hec.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  return { cert, key };
}

describe('Splunk HEC over TLS (real broker, spec receiver)', () => {
  it('refuses an unknown CA without sending or committing, and delivers with HEC_TLS_CA_FILE or HEC_TLS_INSECURE', async () => {
    const bootstrap = kafkaBootstrap();
    const topic = uniqueName('hec-tls');
    await createTopic(bootstrap, topic, 1);
    const dir = tmpDir('hec-tls');
    const s: GroupSetup = { bootstrap, topic, group: uniqueName('hec-tls-g'), dir, dlqTopic: uniqueName('hec-tls-dlq') };
    const pem = selfSigned(dir);
    const r = new HecReceiver({ tokens: [TOKEN], tls: { cert: readFileSync(pem.cert), key: readFileSync(pem.key) } });
    await r.start();
    receivers.push(r);
    expect(r.url.startsWith('https://')).toBe(true);
    const run = uniqueName('run');
    await produceJson(bootstrap, topic, ledgerRecords(run, 100, 1));
    const env = { ...instanceEnv(s, 'tls'), SINKS: 'splunk_hec', HEC_URLS: r.url, HEC_TOKEN: TOKEN, HEC_RETRY_MAX: '1s' };
    const committed = async () => (await committedOffsets(bootstrap, s.group, topic)).get(0) ?? 0n;

    const strict = new Instance('tls-strict', env);
    running.push(strict);
    await waitUntil('a TLS failure logged', () => strict.logs.some((l) => l.level === 'error' && /halted/.test(l.msg)), 30_000, 200);
    const line = strict.logs.find((l) => l.level === 'error' && /halted/.test(l.msg))!;
    expect(line.msg).toContain(r.url.replace(/\/$/, ''));
    expect(line.msg).toMatch(/TLS: .*self[- ]signed/i);
    expect(r.stats().requests).toBe(0); // nothing reached the receiver, in clear or otherwise
    expect(await committed()).toBe(0n);
    expect((await strict.stop()).code).toBe(0);

    const trusted = new Instance('tls-ca', { ...env, HEC_TLS_CA_FILE: pem.cert });
    running.push(trusted);
    await waitUntil('100 committed with the CA', async () => (await committed()) === 100n, 30_000, 250);
    expect((await trusted.stop()).code).toBe(0);
    expect(tally(run, 100, r.events.map((e) => e.event as Record<string, unknown>))).toMatchObject({ delivered: 100, lost: 0, dup: 0 });

    await produceJson(bootstrap, topic, ledgerRecords(run, 10, 1, 100));
    const insecure = new Instance('tls-insecure', { ...env, HEC_TLS_INSECURE: 'true' });
    running.push(insecure);
    await waitUntil('110 committed, insecure', async () => (await committed()) === 110n, 30_000, 250);
    expect(insecure.logs.some((l) => l.level === 'warn' && /NOT verified/.test(l.msg))).toBe(true);
    expect((await insecure.stop()).code).toBe(0);
  });
});
