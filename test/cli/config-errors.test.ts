// A bad configuration fails at start, before any connection, naming the variable and the problem.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { REPO_ROOT, tmpDir } from '../support/instance.ts';
import { makeNodeTestPki } from '../support/node-pki.ts';

function run(env: Record<string, string>, args = ['run']) {
  const r = spawnSync(process.execPath, ['src/main.ts', ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

const ok = { KAFKA_BROKERS: '127.0.0.1:1', KAFKA_TOPICS: 'logs', SINKS: 'stdout' };

describe('configuration errors at start', () => {
  it('exits 2 naming KAFKA_BROKERS when it is missing', () => {
    const r = run({ KAFKA_TOPICS: 'logs', SINKS: 'stdout' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('KAFKA_BROKERS: is required but not set');
  });

  it('exits 2 naming the variable when a number is not a number', () => {
    const r = run({ ...ok, INFLIGHT_MAX_RECORDS: 'many', KAFKA_COMMIT_INTERVAL: 'often' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('INFLIGHT_MAX_RECORDS: must be a whole number, got "many"');
    expect(r.stderr).toContain('KAFKA_COMMIT_INTERVAL: must be a duration');
  });

  it('exits 2 with line and column when the query is wrong', () => {
    const r = run({ ...ok, QUERY: "* | where severity in ('high'\n| project a" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line 2, column \d+/);
  });

  it('suppress in the pull webhook\'s query is refused at start; in a route\'s query it is accepted', () => {
    const key = `sha256:${'a'.repeat(64)}`;
    const webhook = { KAFKA_BROKERS: '127.0.0.1:1', WEBHOOK_PRODUCTS: 'web=logs-web', WEBHOOK_KEYS: `web=${key}` };
    const refused = run({ ...webhook, QUERY: '* | suppress -window=60 by user' }, ['check-config']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/line 1, column 5: suppress keeps state per partition as a route reads it; the pull webhook's query/);
    const routed = run({ ...webhook, ROUTES: 'siem', SINKS: 'stdout', KAFKA_TOPICS: 'logs', ROUTE_SIEM_QUERY: '* | suppress -window=60 by user' }, ['check-config']);
    expect(routed.code, routed.stderr).toBe(0);
  });

  it('check-config prints the resolved configuration with secrets masked', () => {
    const r = run({ ...ok, QUERY: "* | where severity = 'high'" }, ['check-config']);
    expect(r.code).toBe(0);
    const cfg = JSON.parse(r.stdout);
    expect(cfg.kafka.brokers).toEqual(['127.0.0.1:1']);
    expect(cfg.routes).toHaveLength(1);
    expect(cfg.routes[0]).toMatchObject({ name: 'default', query: "* | where severity = 'high'", kafka: { groupId: 'logstream', topics: ['logs'] } });
    expect(cfg.routes[0].sinks[0].type).toBe('stdout');
  });

  it('check-config never prints TLS private keys or passwords, only that files were read', async () => {
    const pki = await makeNodeTestPki(tmpDir('cc-pki'), 'check-config');
    const r = run(
      {
        ...ok,
        KAFKA_TLS_CA_FILE: pki.caFile,
        KAFKA_TLS_CERT_FILE: pki.clientCertFile,
        KAFKA_TLS_KEY_FILE: pki.clientKeyFile,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'svc',
        KAFKA_SASL_PASSWORD: 'pw-must-not-show',
      },
      ['check-config'],
    );
    expect(r.code, r.stderr).toBe(0);
    const key = readFileSync(pki.clientKeyFile, 'utf8');
    const keyBody = key.split('\n')[1]!;
    expect(r.stdout).not.toContain(keyBody);
    expect(r.stdout).not.toContain('pw-must-not-show');
    const cfg = JSON.parse(r.stdout);
    expect(cfg.kafka.security.tls.files.key).toMatch(/^<\d+ bytes read>$/);
    expect(cfg.kafka.security.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: '**REDACTED**' });
  });

  it('an unknown command is a usage error', () => {
    const r = run({}, ['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
  });
});
