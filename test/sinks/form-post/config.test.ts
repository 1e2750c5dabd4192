import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/app-config.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import { parseFormPostConfig } from '../../../src/sinks/form-post/config.ts';

const URL_TOKEN = 'ZaP7kQ2mUrlToken';
const BASE = { FORMPOST_URL: `https://collector.example.com/receiver/v1/http/${URL_TOKEN}`, FORMPOST_PRODUCT: 'web' };

function problems(env: Record<string, string>): string[] {
  try {
    parseFormPostConfig({ ...BASE, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('accepted');
}

describe('form POST configuration', () => {
  it('defaults', () => {
    const c = parseFormPostConfig(BASE);
    expect(c.origin).toBe('https://collector.example.com');
    expect(c.url.reveal()).toBe(BASE.FORMPOST_URL);
    expect(c).toMatchObject({
      product: 'web',
      productField: undefined,
      auth: undefined,
      headers: [],
      parts: { file: 'file', product: 'product', rows: 'rows' },
      fileContentType: 'application/x-ndjson',
      haltStatuses: [401, 403, 404, 405, 407],
      connections: 8,
      tls: { insecure: false },
    });
  });

  it('reads every variable, secrets from files too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'formpost-cfg-'));
    writeFileSync(join(dir, 'auth'), 'Bearer abc.def\n');
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    writeFileSync(join(dir, 'cert.pem'), 'CERT');
    writeFileSync(join(dir, 'key.pem'), 'KEY');
    const c = parseFormPostConfig({
      ...BASE,
      FORMPOST_PRODUCT: 'email', FORMPOST_PRODUCT_FIELD: 'meta.product', FORMPOST_AUTH_HEADER: 'X-Api-Key', FORMPOST_AUTH_VALUE_FILE: join(dir, 'auth'),
      FORMPOST_HEADERS: '{"X-Tenant":"acme","X-Trace":"a, b"}', FORMPOST_FILE_PART: 'upload', FORMPOST_PRODUCT_PART: 'source', FORMPOST_ROWS_PART: 'count',
      FORMPOST_FILE_CONTENT_TYPE: 'application/json; charset=utf-8', FORMPOST_HALT_STATUSES: '401, 403', FORMPOST_CONNECTIONS: '2',
      FORMPOST_TLS_CA_FILE: join(dir, 'ca.pem'), FORMPOST_TLS_CERT_FILE: join(dir, 'cert.pem'), FORMPOST_TLS_KEY_FILE: join(dir, 'key.pem'), FORMPOST_TLS_INSECURE: 'true',
    });
    expect(c.product).toBe('email');
    expect(c.productField).toBe('meta.product');
    expect(c.auth?.header).toBe('X-Api-Key');
    expect(c.auth?.value.reveal()).toBe('Bearer abc.def');
    expect(c.headers.map(([n, v]) => [n, v.reveal()])).toEqual([['X-Tenant', 'acme'], ['X-Trace', 'a, b']]);
    expect(c.parts).toEqual({ file: 'upload', product: 'source', rows: 'count' });
    expect(c.fileContentType).toBe('application/json; charset=utf-8');
    expect(c.haltStatuses).toEqual([401, 403]);
    expect(c.connections).toBe(2);
    expect(c.tls.ca?.toString()).toBe('CA');
    expect(c.tls.cert?.toString()).toBe('CERT');
    expect(c.tls.key?.reveal()).toBe('KEY');
    expect(c.tls.insecure).toBe(true);
    expect(parseFormPostConfig({ ...BASE, FORMPOST_HALT_STATUSES: 'none' }).haltStatuses).toEqual([]);
  });

  it('never prints the URL\'s path, the auth value, header values or the TLS key (check-config prints the config)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'formpost-cfg-'));
    writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----SECRETKEY');
    writeFileSync(join(dir, 'cert.pem'), 'CERT');
    const c = parseFormPostConfig({ ...BASE, FORMPOST_AUTH_VALUE: 'Bearer authSecret99', FORMPOST_HEADERS: '{"X-Api-Key":"headerSecret77"}', FORMPOST_TLS_CERT_FILE: join(dir, 'cert.pem'), FORMPOST_TLS_KEY_FILE: join(dir, 'key.pem') });
    for (const text of [JSON.stringify(c), inspect(c, { depth: 10 })]) {
      for (const secret of [URL_TOKEN, 'authSecret99', 'headerSecret77', 'SECRETKEY']) expect(text).not.toContain(secret);
      expect(text).toContain('https://collector.example.com');
    }
  });

  it('reports every problem naming its variable, without repeating secret values', () => {
    expect(problems({ FORMPOST_URL: '' })).toEqual(['FORMPOST_URL: is required but not set']);
    expect(problems({ FORMPOST_PRODUCT: '' })).toEqual(['FORMPOST_PRODUCT: is required but not set']);
    const badUrl = problems({ FORMPOST_URL: 'ftp://host/secretPath1' });
    expect(badUrl).toEqual(['FORMPOST_URL: the value (ftp:) is not an http(s) URL']);
    expect(problems({ FORMPOST_URL: 'not a url secretPath2' })).toEqual(['FORMPOST_URL: the value is not a URL']);
    expect(problems({ FORMPOST_URL: 'https://user:pw@host/x' })).toEqual(['FORMPOST_URL: "https://host" must not carry credentials (use FORMPOST_AUTH_VALUE)']);
    expect(problems({ FORMPOST_PRODUCT: 'web mail' })[0]).toMatch(/^FORMPOST_PRODUCT: must be 1–64 letters/);
    expect(problems({ FORMPOST_FILE_PART: 'a"b' })[0]).toMatch(/^FORMPOST_FILE_PART: must be/);
    expect(problems({ FORMPOST_ROWS_PART: 'file' })).toEqual(['FORMPOST_FILE_PART: FORMPOST_FILE_PART, FORMPOST_PRODUCT_PART and FORMPOST_ROWS_PART must differ']);
    expect(problems({ FORMPOST_AUTH_HEADER: 'Bad Header' })[0]).toMatch(/^FORMPOST_AUTH_HEADER: must be an HTTP header name/);
    expect(problems({ FORMPOST_FILE_CONTENT_TYPE: 'ndjson' })[0]).toMatch(/^FORMPOST_FILE_CONTENT_TYPE: must be a media type/);
    expect(problems({ FORMPOST_HALT_STATUSES: '401,500' })[0]).toMatch(/^FORMPOST_HALT_STATUSES: "500" is not a 4xx status/);
    expect(problems({ FORMPOST_HALT_STATUSES: '429' })[0]).toMatch(/429 is always retried/);
    expect(problems({ FORMPOST_HALT_STATUSES: 'none,401' })).toEqual(['FORMPOST_HALT_STATUSES: `none` cannot be combined with statuses']);
    expect(problems({ FORMPOST_TLS_CERT_FILE: '/nonexistent/cert.pem' })).toEqual([
      'FORMPOST_TLS_CERT_FILE: a client certificate needs FORMPOST_TLS_KEY_FILE too (and the reverse)',
      'FORMPOST_TLS_CERT_FILE: cannot read "/nonexistent/cert.pem": ENOENT',
    ]);
    const headerProblems = problems({ FORMPOST_HEADERS: '{"Content-Type":"text/plain","Authorization":"x","X-Ok":"v\\r\\nInjected: headerSecret1","Bad Name":"y","X-N":5}' });
    expect(headerProblems).toEqual([
      'FORMPOST_HEADERS: "Content-Type" is set by logstream and cannot be configured',
      'FORMPOST_HEADERS: "Authorization" is FORMPOST_AUTH_HEADER; set its value with FORMPOST_AUTH_VALUE',
      'FORMPOST_HEADERS: the value of "X-Ok" holds a control character or a character above U+00FF',
      'FORMPOST_HEADERS: "Bad Name" is not an HTTP header name',
      'FORMPOST_HEADERS: the value of "X-N" must be a string',
    ]);
    expect(problems({ FORMPOST_HEADERS: 'headerSecret2' })).toEqual(['FORMPOST_HEADERS: must be a JSON object such as {"X-Tenant":"acme"} (not valid JSON)']);
    expect(problems({ FORMPOST_HEADERS: '["headerSecret3"]' })).toEqual(['FORMPOST_HEADERS: must be a JSON object such as {"X-Tenant":"acme"}']);
    expect(problems({ FORMPOST_AUTH_VALUE: 'a\u0000b' })).toEqual(['FORMPOST_AUTH_VALUE: holds a line break or NUL']);
  });

  it('is a sink of the daemon: SINKS=form_post with the shared delivery defaults (20 rows, 1 s)', () => {
    const cfg = loadConfig({ KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_TOPICS: 't', SINKS: 'form_post', ...BASE });
    const sink = cfg.routes[0]!.sinks[0]!;
    expect(sink.definition.type).toBe('form_post');
    expect(sink.delivery).toMatchObject({ batchMaxRecords: 20, batchMaxBytes: 1_000_000, batchMaxWaitMs: 1000, concurrency: 8, requestTimeoutMs: 30_000 });
    const five = loadConfig({ KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_TOPICS: 't', SINKS: 'form_post', ...BASE, FORMPOST_BATCH_MAX_WAIT: '5m', FORMPOST_BATCH_MAX_RECORDS: '100' });
    expect(five.routes[0]!.sinks[0]!.delivery).toMatchObject({ batchMaxWaitMs: 300_000, batchMaxRecords: 100 });
  });
});
