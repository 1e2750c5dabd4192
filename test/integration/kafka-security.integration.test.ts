// A secured cluster: a second local broker with a SASL_SSL listener (TLS with a test CA, SCRAM users
// created by Kafka's own StorageTool). logstream connects with TLS + SCRAM-SHA-512 (and -256), and fails
// clearly — non-zero exit, a message naming the cause, no password anywhere — with a wrong password or
// an untrusted CA. Credentials rotate while it runs: a SCRAM password changed on the broker and then in
// its file, and a broker certificate re-issued by a new CA once the CA file holds both.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../scripts/kafka-broker.ts';
import { committedTotal, outputs, type GroupSetup } from '../support/group.ts';
import { Instance, tmpDir, waitUntil } from '../support/instance.ts';
import { createTopic, produceJson, uniqueName } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';
import { makeTestPki, type TestPki } from '../support/pki.ts';
import { setScramPassword } from '../support/scram-password.ts';
import { replaceFile } from '../support/mounted-file.ts';

const PASSWORD_512 = `alice-${Math.random().toString(36).slice(2)}`;
const PASSWORD_256 = `bob-${Math.random().toString(36).slice(2)}`;
const PASSWORD_CAROL = `carol-${Math.random().toString(36).slice(2)}`;
/** Every SASL session ends after this long unless the client authenticates again (KIP-368). */
const REAUTH_MS = 4000;
let broker: Broker;
let pki: TestPki;
let dir: string;

beforeAll(async () => {
  dir = tmpDir('kafka-sec');
  pki = await makeTestPki(join(dir, 'pki'), 'kafka');
  broker = await startBroker({
    heapMb: 512,
    saslSsl: {
      certFile: pki.serverCertFile,
      keyFile: pki.serverKeyFile,
      scramUsers: [
        { mechanism: 'SCRAM-SHA-512', name: 'alice', password: PASSWORD_512 },
        { mechanism: 'SCRAM-SHA-256', name: 'bob', password: PASSWORD_256 },
        { mechanism: 'SCRAM-SHA-512', name: 'carol', password: PASSWORD_CAROL },
      ],
    },
    // As managed services do: a connection must authenticate again within this time, with the
    // credentials of the moment, or the broker closes it.
    extraProps: { 'connections.max.reauth.ms': String(REAUTH_MS) },
  });
});

afterAll(async () => {
  await broker?.stop();
});

function secureEnv(s: GroupSetup, name: string, env: Record<string, string>): Record<string, string> {
  return {
    KAFKA_BROKERS: broker.saslSslBootstrap!,
    KAFKA_TOPICS: s.topic,
    KAFKA_GROUP_ID: s.group,
    KAFKA_DLQ_TOPIC: s.dlqTopic,
    KAFKA_COMMIT_INTERVAL: '1s',
    KAFKA_SESSION_TIMEOUT: '6s',
    KAFKA_HEARTBEAT_INTERVAL: '1s',
    KAFKA_CONNECTION_TIMEOUT: '3s',
    SINKS: 'file',
    FILE_PATH: join(s.dir, `${name}.jsonl`),
    ...env,
  };
}

async function newSetup(name: string): Promise<GroupSetup> {
  const topic = uniqueName(name);
  await createTopic(broker.bootstrap, topic, 2);
  return { bootstrap: broker.bootstrap, topic, group: uniqueName(`${name}-g`), dir: tmpDir(name), dlqTopic: uniqueName(`${name}-dlq`) };
}

describe('Kafka over TLS with SCRAM (real SASL_SSL listener)', () => {
  it('consumes and commits with TLS + SCRAM-SHA-512 (password from a file) and with SCRAM-SHA-256', async () => {
    const s = await newSetup('scram');
    const run = uniqueName('run');
    await produceJson(broker.bootstrap, s.topic, ledgerRecords(run, 1000, 2));
    const pwFile = join(dir, 'alice.pw');
    writeFileSync(pwFile, `${PASSWORD_512}\n`);
    const a = new Instance('scram512', secureEnv(s, 'scram512', { KAFKA_TLS_CA_FILE: pki.caFile, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD_FILE: pwFile }));
    try {
      await waitUntil('1000 committed', async () => (await committedTotal(s)) === 1000n, 60_000, 500);
      expect(tally(run, 1000, outputs(s, ['scram512']))).toMatchObject({ delivered: 1000, lost: 0, dup: 0, altered: 0 });
      expect((await a.stop()).code).toBe(0);
    } finally {
      a.kill('SIGKILL');
    }
    expect(JSON.stringify(a.logs)).not.toContain(PASSWORD_512);

    const s2 = await newSetup('scram256');
    await produceJson(broker.bootstrap, s2.topic, ledgerRecords(run, 100, 2));
    const b = new Instance('scram256', secureEnv(s2, 'scram256', { KAFKA_TLS_CA_FILE: pki.caFile, KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'bob', KAFKA_SASL_PASSWORD: PASSWORD_256 }));
    try {
      await waitUntil('100 committed', async () => (await committedTotal(s2)) === 100n, 60_000, 500);
      expect((await b.stop()).code).toBe(0);
    } finally {
      b.kill('SIGKILL');
    }
  });

  it('a wrong password: exits non-zero naming the authentication failure, never printing the password', async () => {
    const s = await newSetup('badpw');
    const inst = new Instance('badpw', secureEnv(s, 'badpw', { KAFKA_TLS_CA_FILE: pki.caFile, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: 'not-the-password' }));
    const exit = await Promise.race([inst.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000))]);
    inst.kill('SIGKILL');
    expect(exit).not.toBe('timeout');
    expect((exit as { code: number }).code).toBe(1);
    const text = JSON.stringify(inst.logs);
    const fatal = inst.logs.find((l) => l.level === 'fatal')?.msg ?? '';
    expect(fatal).toMatch(new RegExp(`^start failed: Kafka ${broker.saslSslBootstrap} \\(KAFKA_BROKERS, SASL scram-sha-512, TLS\\): .*authentication failed.*invalid credentials`, 'i'));
    expect(text).not.toContain('not-the-password');
  });

  it('a CA that did not sign the broker certificate: exits non-zero naming the certificate problem', async () => {
    const s = await newSetup('badca');
    const other = await makeTestPki(join(dir, 'other-pki'), 'other');
    const inst = new Instance('badca', secureEnv(s, 'badca', { KAFKA_TLS_CA_FILE: other.caFile, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: PASSWORD_512 }));
    const exit = await Promise.race([inst.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 90_000))]);
    inst.kill('SIGKILL');
    expect(exit).not.toBe('timeout');
    expect((exit as { code: number }).code).toBe(1);
    const fatal = inst.logs.find((l) => l.level === 'fatal')?.msg ?? '';
    expect(fatal).toMatch(new RegExp(`^start failed: Kafka ${broker.saslSslBootstrap} \\(KAFKA_BROKERS, SASL scram-sha-512, TLS\\): .*(certificate|unable to verify)`, 'i'));
  });

  it('a SASL password rotated on the broker and then in KAFKA_SASL_PASSWORD_FILE: re-read for the next authentication, no restart, lost 0 dup 0', async () => {
    const s = await newSetup('rotate');
    const run = uniqueName('run');
    const pwFile = join(dir, 'carol.pw');
    writeFileSync(pwFile, `${PASSWORD_CAROL}\n`);
    const inst = new Instance('rotate', secureEnv(s, 'rotate', { KAFKA_TLS_CA_FILE: pki.caFile, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'carol', KAFKA_SASL_PASSWORD_FILE: pwFile, SECRETS_RELOAD_INTERVAL: '1s' }));
    const records = ledgerRecords(run, 1000, 2);
    const newPassword = `carol-new-${Math.random().toString(36).slice(2)}`;
    try {
      await produceJson(broker.bootstrap, s.topic, records.slice(0, 500));
      await waitUntil('500 committed', async () => (await committedTotal(s)) === 500n, 60_000, 500);
      // The operator changes the password on the cluster first; the mounted Secret follows a while
      // later (the kubelet's sync). Sessions re-authenticating in between are refused.
      await setScramPassword(broker.bootstrap, 'SCRAM-SHA-512', 'carol', newPassword);
      await new Promise((r) => setTimeout(r, REAUTH_MS * 1.5));
      replaceFile(pwFile, `${newPassword}\n`);
      await inst.waitForNewFile('KAFKA_SASL_PASSWORD_FILE');
      // Past two session lifetimes: every connection now authenticated with the new password.
      await new Promise((r) => setTimeout(r, REAUTH_MS * 2));
      await produceJson(broker.bootstrap, s.topic, records.slice(500));
      await waitUntil('1000 committed', async () => (await committedTotal(s)) === 1000n, 60_000, 500);
      expect(inst.proc.exitCode).toBeNull();
      expect((await inst.stop()).code).toBe(0);
    } finally {
      inst.kill('SIGKILL');
    }
    const t = tally(run, 1000, outputs(s, ['rotate']));
    console.log(`[sasl rotation] lost=${t.lost} dup=${t.dup} delivered=${t.delivered}`);
    expect(t).toMatchObject({ delivered: 1000, lost: 0, dup: 0, altered: 0 });
    const text = JSON.stringify(inst.logs);
    expect(text).not.toContain(PASSWORD_CAROL);
    expect(text).not.toContain(newPassword);
  });

  // Last: it restarts the broker with a certificate from another CA.
  it('the broker re-issued by a new CA: KAFKA_TLS_CA_FILE rotated to both CAs is used by the next connection, no restart, lost 0 dup 0', async () => {
    const s = await newSetup('carotate');
    const run = uniqueName('run');
    const caFile = join(dir, 'kafka-ca.pem');
    replaceFile(caFile, readFileSync(pki.caFile));
    const inst = new Instance('carotate', secureEnv(s, 'carotate', { KAFKA_TLS_CA_FILE: caFile, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: PASSWORD_512, SECRETS_RELOAD_INTERVAL: '1s' }));
    const records = ledgerRecords(run, 1000, 2);
    try {
      await produceJson(broker.bootstrap, s.topic, records.slice(0, 500));
      await waitUntil('500 committed', async () => (await committedTotal(s)) === 500n, 60_000, 500);
      // As a CA rotation goes: the new CA joins the trust bundle, then the broker's certificate is
      // re-issued by it. The broker restarts on its data dir (same ports, users and offsets).
      const next = await makeTestPki(join(dir, 'pki-next'), 'kafka-next');
      replaceFile(caFile, `${readFileSync(pki.caFile, 'utf8')}${readFileSync(next.caFile, 'utf8')}`);
      await inst.waitForNewFile('KAFKA_TLS_CA_FILE');
      await broker.stop();
      broker = await startBroker({ dataDir: broker.dataDir, heapMb: 512, saslSsl: { certFile: next.serverCertFile, keyFile: next.serverKeyFile, scramUsers: [] } });
      await produceJson(broker.bootstrap, s.topic, records.slice(500));
      await waitUntil('1000 committed', async () => (await committedTotal(s)) === 1000n, 90_000, 500);
      expect(inst.proc.exitCode).toBeNull();
      expect((await inst.stop()).code).toBe(0);
    } finally {
      inst.kill('SIGKILL');
    }
    const t = tally(run, 1000, outputs(s, ['carotate']));
    console.log(`[kafka CA rotation] lost=${t.lost} dup=${t.dup} delivered=${t.delivered}`);
    expect(t).toMatchObject({ delivered: 1000, lost: 0, dup: 0, altered: 0 });
  });
});
