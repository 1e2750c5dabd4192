// Secrets never reach a log line, /metrics or check-config. One run of 3 instances at LOG_LEVEL=debug
// with every secret logstream takes configured and used:
//   HEC_TOKEN (splunk_hec), AWS_SECRET_ACCESS_KEY (s3, sqs), KAFKA_SASL_PASSWORD (SCRAM-SHA-512 over
//   TLS to a broker of this file's own), KAFKA_TLS_KEY_PASSWORD (an encrypted client key),
//   FORMPOST_URL (a token in its path), FORMPOST_AUTH_VALUE and FORMPOST_HEADERS (form_post), and a
//   webhook key (WEBHOOK_KEYS holds its hash; the key is presented as `Authorization: Bearer` and as
//   `?key=`);
// and the error paths that might echo one: a wrong HEC token (403: halt), a wrong form POST token
// (401: halt), a wrong SASL password and a wrong key passphrase (start fails), wrong webhook keys
// (401), S3 unreachable for a while. Then every instance log, every /metrics snapshot and the output
// of check-config for each configuration are searched for each secret in every form it could leak
// in (plain, URL-encoded, base64, hex, JSON-escaped, inside its Authorization header…).
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type Broker } from '../../scripts/kafka-broker.ts';
import { FaultRun, killDupBound, underLoad } from './support/fault-run.ts';
import { FaultPeers } from './support/peers.ts';
import { describeHits, scanForSecrets, secretForms, type ScanSource, type SecretSpec } from './support/secrets-scan.ts';
import { FormReceiverProcess } from '../support/form-receiver/process.ts';
import { type Instance, type LogLine, REPO_ROOT, sleep, tmpDir, waitUntil } from '../support/instance.ts';
import { createTopic, produceJson, uniqueName } from '../support/kafka.ts';
import { makeTestPki, OPENSSL, type TestPki } from '../support/pki.ts';

const execFileP = promisify(execFile);
const SINKS = ['hec', 's3', 'sqs'] as const;
const rand = (n = 12): string => randomBytes(n).toString('hex');

const s = {
  saslUser: 'logstream-sasl',
  saslPassword: `sasl-pw-${rand()}`,
  wrongSaslPassword: `wrong-sasl-pw-${rand()}`,
  keyPassword: `key-pw-${rand()}`,
  wrongKeyPassword: `wrong-key-pw-${rand()}`,
  formPathToken: `pathtok${rand()}`,
  formToken: `form-token-${rand()}`,
  wrongFormToken: `wrong-form-token-${rand()}`,
  formApiKey: `form-api-key-${rand()}`,
  wrongHecToken: `wrong-hec-${rand()}`,
  wrongWebhookKey: `lsk_${randomBytes(32).toString('base64url')}`,
  webhookKey: '',
  webhookHash: '',
};

let broker: Broker;
let kpki: TestPki;
let encryptedKeyFile: string;
let peers: FaultPeers;
let form: FormReceiverProcess;
let webhookTopic: string;
const webhookRun = uniqueName('wh');

beforeAll(async () => {
  const dir = tmpDir('secrets-faults');
  kpki = await makeTestPki(join(dir, 'pki'), 'secrets');
  encryptedKeyFile = join(dir, 'pki', 'client-encrypted.key');
  await execFileP(OPENSSL, ['pkey', '-in', kpki.clientKeyFile, '-aes256', '-passout', `pass:${s.keyPassword}`, '-out', encryptedKeyFile]);
  expect(readFileSync(encryptedKeyFile, 'utf8')).toContain('ENCRYPTED PRIVATE KEY');
  // The key and its hash, as an operator gets them.
  const { stdout } = await execFileP(process.execPath, ['src/main.ts', 'webhook', 'new-key', 'web'], { cwd: REPO_ROOT });
  s.webhookKey = /^key:\s+(\S+)$/m.exec(stdout)![1]!;
  s.webhookHash = /^hash:\s+(\S+)$/m.exec(stdout)![1]!;
  [broker, peers, form] = await Promise.all([
    startBroker({ heapMb: 512, saslSsl: { certFile: kpki.serverCertFile, keyFile: kpki.serverKeyFile, scramUsers: [{ mechanism: 'SCRAM-SHA-512', name: s.saslUser, password: s.saslPassword }] } }),
    FaultPeers.start(SINKS),
    FormReceiverProcess.start(['--port', '0', '--path', `/upload/${s.formPathToken}`, '--auth-header', 'Authorization', '--auth-value', `Bearer ${s.formToken}`, '--count-only']),
  ]);
  webhookTopic = uniqueName('secrets-wh');
  await createTopic(broker.bootstrap, webhookTopic, 1);
  await produceJson(broker.bootstrap, webhookTopic, Array.from({ length: 20 }, (_, id) => ({ value: { run: webhookRun, id } })));
}, 300_000);

afterAll(async () => {
  await Promise.all([peers?.close(), form?.stop().catch(() => undefined), broker?.stop()]);
});

/** Every secret, with the context forms it travels in. */
function secretSpecs(): SecretSpec[] {
  return [
    { name: 'HEC_TOKEN', value: peers.hecToken, extra: [`Splunk ${peers.hecToken}`] },
    { name: 'HEC_TOKEN (wrong one)', value: s.wrongHecToken, extra: [`Splunk ${s.wrongHecToken}`] },
    { name: 'AWS_SECRET_ACCESS_KEY', value: peers.s3!.secretAccessKey },
    { name: 'KAFKA_SASL_PASSWORD', value: s.saslPassword, extra: [Buffer.from(`\0${s.saslUser}\0${s.saslPassword}`).toString('base64'), Buffer.from(`${s.saslUser}:${s.saslPassword}`).toString('base64')] },
    { name: 'KAFKA_SASL_PASSWORD (wrong one)', value: s.wrongSaslPassword },
    { name: 'KAFKA_TLS_KEY_PASSWORD', value: s.keyPassword },
    { name: 'KAFKA_TLS_KEY_PASSWORD (wrong one)', value: s.wrongKeyPassword },
    { name: 'FORMPOST_URL path token', value: s.formPathToken },
    { name: 'FORMPOST_AUTH_VALUE', value: s.formToken, extra: [`Bearer ${s.formToken}`] },
    { name: 'FORMPOST_AUTH_VALUE (wrong one)', value: s.wrongFormToken },
    { name: 'FORMPOST_HEADERS value', value: s.formApiKey },
    { name: 'webhook key', value: s.webhookKey, extra: [`Bearer ${s.webhookKey}`, s.webhookKey.slice(0, 16)] },
    { name: 'webhook key (wrong one)', value: s.wrongWebhookKey },
    // WEBHOOK_KEYS is a secret variable too: only a 12-digit key id may be shown, never the whole hash.
    { name: 'WEBHOOK_KEYS hash', value: s.webhookHash.slice('sha256:'.length) },
  ];
}

/** `node src/main.ts check-config` with `env` (as an instance would get it): stdout + stderr. */
function checkConfig(env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['src/main.ts', 'check-config'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    p.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    p.once('error', reject);
    p.once('close', (code) => resolve(`${out}\n(exit ${code})`));
  });
}

async function webhookCall(i: Instance, how: { bearer?: string; query?: string; product?: string }): Promise<{ status: number; body: string }> {
  const q = how.query === undefined ? '' : `?key=${encodeURIComponent(how.query)}`;
  const res = await fetch(`http://127.0.0.1:${await i.httpPort()}/v1/logstream/${how.product ?? 'web'}${q}`, { headers: how.bearer === undefined ? {} : { authorization: `Bearer ${how.bearer}` } });
  return { status: res.status, body: await res.text() };
}

const failureOf = (sink: string) => (l: LogLine): boolean => l.sink === sink && (l.level === 'warn' || l.level === 'error');

describe('secrets in output', () => {
  it('the scanner finds a planted secret in every form (self-check)', () => {
    // Chosen so that no two forms coincide: '???>>>' gives '/' and '+' in base64, '"' and 'ü' need escaping.
    const planted: SecretSpec = { name: 'planted', value: `???>>>"pl@nted ü/secret"${rand(6)}`, extra: ['Bearer pl@nted'] };
    for (const f of secretForms(planted)) {
      const hits = scanForSecrets([{ name: 'log', text: `{"level":"info"}\n{"msg":"x ${f.text} y"}\n` }], [planted]);
      expect(hits.map((h) => [h.form, h.line]), f.form).toContainEqual([f.form, 2]);
    }
    expect(scanForSecrets([{ name: 'log', text: 'nothing here' }], [planted])).toEqual([]);
    expect(secretForms(planted).map((f) => f.form)).toEqual(['plain', 'url-encoded', 'form-encoded', 'base64', 'base64 (unpadded)', 'base64url', 'hex', 'JSON-escaped', 'extra#1']);
  });

  it('every secret configured and used, error paths provoked, LOG_LEVEL=debug: none in logs, /metrics or check-config', async () => {
    const env: Record<string, string> = {
      LOG_LEVEL: 'debug',
      DRAIN_TIMEOUT: '5s',
      KAFKA_BROKERS: broker.saslSslBootstrap!,
      KAFKA_CONNECTION_TIMEOUT: '5s',
      KAFKA_TLS_CA_FILE: kpki.caFile,
      KAFKA_TLS_CERT_FILE: kpki.clientCertFile,
      KAFKA_TLS_KEY_FILE: encryptedKeyFile,
      KAFKA_TLS_KEY_PASSWORD: s.keyPassword,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: s.saslUser,
      KAFKA_SASL_PASSWORD: s.saslPassword,
      SINKS: 'splunk_hec,s3,sqs,form_post',
      FORMPOST_URL: form.url,
      FORMPOST_PRODUCT: 'web',
      FORMPOST_AUTH_VALUE: `Bearer ${s.formToken}`,
      FORMPOST_HEADERS: JSON.stringify({ 'X-Api-Key': s.formApiKey }),
      FORMPOST_RETRY_MAX: '2s',
      WEBHOOK_PRODUCTS: `web=${webhookTopic}`,
      WEBHOOK_KEYS: `web=${s.webhookHash}`,
      WEBHOOK_CURSOR_TOPIC: `${webhookTopic}-cursors`,
    };
    expect(form.url).toContain(s.formPathToken);
    const specs = secretSpecs();
    const run = await FaultRun.start({ scenario: 'secrets', peers, sinks: SINKS, bootstrap: broker.bootstrap, env, secrets: specs.map((x) => x.value) });
    const metrics: ScanSource[] = [];
    const snapshot = async (label: string): Promise<void> => {
      for (const i of run.alive()) metrics.push({ name: `${i.name} /metrics ${label}`, text: await i.metrics().catch(() => '') });
      await run.snapshotMetrics();
    };
    const extra: Instance[] = [];
    try {
      await underLoad(run, 4000);
      await snapshot('under load');

      // The webhook, with the key as a bearer token and as ?key=, and with wrong keys.
      const [a, b] = run.alive();
      const bearer = await webhookCall(a!, { bearer: s.webhookKey });
      expect(bearer.status, bearer.body.slice(0, 300)).toBe(200);
      expect(bearer.body).toContain(webhookRun);
      const query = await webhookCall(b!, { query: s.webhookKey });
      expect(query.status, query.body.slice(0, 300)).toBe(200);
      expect((await webhookCall(a!, { bearer: s.wrongWebhookKey })).status).toBe(401);
      expect((await webhookCall(b!, { query: s.wrongWebhookKey })).status).toBe(401);
      expect((await webhookCall(a!, { bearer: s.webhookKey, product: 'other' })).status).toBe(401);

      // Wrong credentials, each in a group of its own (nothing of them is committed for the run's group).
      const wrong = (what: string, e: Record<string, string>): Instance => {
        const i = run.startInstance({ KAFKA_GROUP_ID: `${run.group}-${what}`, ...e });
        extra.push(i);
        return i;
      };
      const badHec = wrong('wrong-hec-token', { SINKS: 'splunk_hec', HEC_TOKEN: s.wrongHecToken });
      const badForm = wrong('wrong-form-token', { SINKS: 'form_post', FORMPOST_AUTH_VALUE: `Bearer ${s.wrongFormToken}` });
      const badSasl = wrong('wrong-sasl', { KAFKA_SASL_PASSWORD: s.wrongSaslPassword });
      const badKeyPw = wrong('wrong-key-pw', { KAFKA_TLS_KEY_PASSWORD: s.wrongKeyPassword });
      const exits = Promise.all([badSasl, badKeyPw].map((i) => Promise.race([i.exited, sleep(120_000).then(() => 'timeout' as const)])));
      await badHec.waitForLog(failureOf('splunk_hec'), 60_000);
      await badForm.waitForLog(failureOf('form_post'), 60_000);
      await snapshot('with wrong credentials around');

      // S3 unreachable for a while (meanwhile the start of the two with wrong Kafka secrets fails): the
      // S3 client's errors and retries get logged.
      await peers.shut(['s3']);
      await waitUntil('an s3 failure logged', () => run.alive().some((i) => i.logs.some(failureOf('s3'))), 60_000, 500);
      await underLoad(run, 4000);
      await snapshot('s3 down');
      await peers.reopen(['s3']);
      await Promise.all([badHec, badForm].map((i) => i.stop(20_000)));
      const [saslExit, keyExit] = await exits;
      expect(saslExit, badSasl.tail()).toMatchObject({ code: 1 });
      expect(badSasl.logs.find((l) => l.level === 'fatal')?.msg ?? '').toMatch(/authentication failed.*invalid credentials/i);
      // The key is opened when the configuration is read: a wrong passphrase is a configuration error (exit 2).
      expect(keyExit, badKeyPw.tail()).toMatchObject({ code: 2 });
      expect(badKeyPw.logs.map((l) => l.msg).join('\n'), badKeyPw.tail()).toMatch(/KAFKA_TLS_KEY_FILE: the passphrase \(KAFKA_TLS_KEY_PASSWORD\) does not open it/);

      // check-config for every configuration used.
      const configs: ScanSource[] = [];
      for (const [name, e] of [
        ['main', {}],
        ['wrong HEC token', { SINKS: 'splunk_hec', HEC_TOKEN: s.wrongHecToken }],
        ['wrong form token', { SINKS: 'form_post', FORMPOST_AUTH_VALUE: `Bearer ${s.wrongFormToken}` }],
        ['wrong SASL password', { KAFKA_SASL_PASSWORD: s.wrongSaslPassword }],
        ['wrong key passphrase', { KAFKA_TLS_KEY_PASSWORD: s.wrongKeyPassword }],
      ] as const) {
        const text = await checkConfig({ ...run.envFor('check-config'), ...e });
        configs.push({ name: `check-config (${name})`, text });
      }
      for (const c of configs) expect(c.text, `${c.name}: ${c.text.slice(0, 2000)}`).toMatch(c.name.includes('key passphrase') ? /does not open it[\s\S]*\(exit 2\)$/ : /\(exit 0\)$/);
      expect(configs[0]!.text).toContain('"splunk_hec"');

      await underLoad(run, 3000);
      await snapshot('before finish');
      const r = await run.finish({ dupBound: killDupBound(run), note: 'all secrets configured, error paths provoked, LOG_LEVEL=debug' });
      expect(r.lost).toBe(0);
      expect(r.altered).toBe(0);
      for (const t of r.sinks) expect(t.dup).toBeLessThanOrEqual(r.dupBound);
      const fs = await form.stats();
      expect(fs.rowsAccepted, 'form_post delivered').toBeGreaterThan(0);
      expect(fs.unauthorized, 'the wrong form token was refused').toBeGreaterThan(0);

      // The scan: every instance's whole log, every /metrics snapshot, every check-config output.
      const logs: ScanSource[] = run.started.map((i) => ({ name: `${i.name} log`, text: readFileSync(i.logFile, 'utf8') }));
      const sources = [...logs, ...metrics, ...configs];
      const lines = logs.reduce((n, l) => n + l.text.split('\n').filter((x) => x !== '').length, 0);
      const debugLines = logs.reduce((n, l) => n + (l.text.match(/"level":"debug"/g)?.length ?? 0), 0);
      const metricBytes = metrics.reduce((n, m) => n + Buffer.byteLength(m.text), 0);
      const hits = scanForSecrets(sources, specs);
      process.stdout.write(
        `secrets scanned: ${lines} log lines (${debugLines} at debug) from ${logs.length} instances, ${metrics.length} /metrics snapshots (${metricBytes} bytes), ` +
          `${configs.length} check-config outputs; ${specs.length} secrets x ${specs.reduce((n, x) => n + secretForms(x).length, 0) / specs.length} forms on average; ${hits.length} found\n`,
      );
      expect(lines).toBeGreaterThan(100);
      expect(metricBytes).toBeGreaterThan(10_000);
      expect(describeHits(hits)).toBe('');
      expect(r.secretsFound).toEqual([]);
    } finally {
      await Promise.all([...run.alive(), ...extra].map((i) => i.stop(10_000)));
    }
  }, 10 * 60_000);
});
