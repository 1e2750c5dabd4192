// The form POST transport against real local HTTP servers: the busboy receiver of
// test/support/form-receiver, and bare node:http servers for replies the receiver does not make.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchedFiles } from '../../../src/config/watched-file.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import type { PipelineRecord } from '../../../src/core/record.ts';
import { parseFormPostConfig } from '../../../src/sinks/form-post/config.ts';
import { encodeRecord } from '../../../src/sinks/form-post/encoder.ts';
import { FormPostTransport } from '../../../src/sinks/form-post/transport.ts';
import type { Batch } from '../../../src/delivery/sink.ts';
import { FormReceiver } from '../../support/form-receiver/receiver.ts';
import { replaceFile } from '../../support/mounted-file.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function rec(id: number, extra: Record<string, unknown> = {}): PipelineRecord {
  return { meta: { topic: 'logs', partition: 1, offset: String(1000 + id), timestamp: 1_700_000_000_000, key: null, headers: {} }, raw: null, fields: { id, ...extra }, size: 0, unchanged: false };
}

function batch(records: PipelineRecord[]): Batch {
  const items = records.map((record) => ({ record, payload: encodeRecord(record) }));
  return { key: 'logs/1', items, bytes: items.reduce((n, i) => n + i.payload.length, 0) };
}

async function receiver(opts: ConstructorParameters<typeof FormReceiver>[0] = {}): Promise<FormReceiver> {
  const r = new FormReceiver(opts);
  await r.start();
  closers.push(() => r.stop());
  return r;
}

function transport(env: Record<string, string>): FormPostTransport {
  const t = new FormPostTransport(parseFormPostConfig({ FORMPOST_PRODUCT: 'web', ...env }), { now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 6) });
  closers.push(() => t.close());
  return t;
}

/** A bare server answering every request with `handler`. */
async function server(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => {
    s.closeAllConnections();
    s.close(() => r());
  }));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function failure(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DeliveryError);
    return err as DeliveryError;
  }
  throw new Error('expected the send to fail');
}

const signal = () => AbortSignal.timeout(10_000);

describe('form POST transport', () => {
  it('POSTs one valid form per batch with the auth header and extra headers; busboy reads every row', async () => {
    const r = await receiver({ auth: { header: 'x-api-key', value: 'k-123456' } });
    const t = transport({ FORMPOST_URL: r.url, FORMPOST_AUTH_HEADER: 'X-Api-Key', FORMPOST_AUTH_VALUE: 'k-123456', FORMPOST_HEADERS: '{"X-Tenant":"acme"}' });
    expect(await t.send(batch(Array.from({ length: 20 }, (_, i) => rec(i))), signal())).toBeUndefined();
    expect(await t.send(batch([rec(20)]), signal())).toBeUndefined();
    expect(r.stats()).toMatchObject({ accepted: 2, rowsAccepted: 21, maxRows: 20, invalid: 0 });
    const [first] = r.posts;
    expect(first).toMatchObject({ product: 'web', rows: 20, filename: 'web-20260102T030405.006Z-1-1000.json', fileContentType: 'application/x-ndjson' });
    expect(first!.headers['x-tenant']).toBe('acme');
    expect(first!.headers['user-agent']).toBe('logstream');
    expect(r.rows().map((x) => x.id)).toEqual(Array.from({ length: 21 }, (_, i) => i));
  });

  it('a 413 splits the POST until it fits: only a row too large on its own fails (permanent, with the status)', async () => {
    const r = await receiver({ maxBodyBytes: 3000 });
    const t = transport({ FORMPOST_URL: r.url });
    const records = Array.from({ length: 20 }, (_, i) => rec(i, { pad: 'x'.repeat(i === 13 ? 5000 : 200) }));
    const result = await t.send(batch(records), signal());
    expect(result?.failures?.map((f) => [f.index, f.error.deliveryClass, f.error.code])).toEqual([[13, 'permanent', 'FORMPOST_HTTP_413']]);
    expect(result?.failures?.[0]?.error.message).toMatch(/^HTTP 413 from http:\/\/127\.0\.0\.1:\d+ \(request too large even for a single row\): request body over 3000 bytes$/);
    expect(r.rows().map((x) => x.id).sort((a, b) => Number(a) - Number(b))).toEqual(records.map((x) => x.fields.id).filter((id) => id !== 13));
    expect(r.stats().invalid).toBe(0);
  });

  it('a 400 fails the whole batch as permanent with the status and a clean excerpt of the body', async () => {
    const r = await receiver();
    r.fault({ status: 400, body: 'bad\r\nrequest: <b>rows</b>\u0007 rejected' });
    const t = transport({ FORMPOST_URL: r.url });
    const e = await failure(t.send(batch([rec(1), rec(2)]), signal()));
    expect([e.deliveryClass, e.code]).toEqual(['permanent', 'FORMPOST_HTTP_400']);
    expect(e.message).toMatch(/^HTTP 400 from http:\/\/127\.0\.0\.1:\d+: bad request: <b>rows<\/b> rejected$/);
  });

  it('503 is retriable, 429 and 503 with Retry-After are throttled for that long, 401 halts', async () => {
    const r = await receiver();
    const t = transport({ FORMPOST_URL: r.url });
    r.fault({ status: 503, times: 1 });
    expect(await failure(t.send(batch([rec(1)]), signal()))).toMatchObject({ deliveryClass: 'retriable', code: 'FORMPOST_HTTP_503' });
    r.fault({ status: 429, times: 1, retryAfter: '3' });
    expect(await failure(t.send(batch([rec(1)]), signal()))).toMatchObject({ deliveryClass: 'throttled', code: 'FORMPOST_HTTP_429', retryAfterMs: 3000 });
    r.fault({ status: 503, times: 1, retryAfter: '2' });
    expect(await failure(t.send(batch([rec(1)]), signal()))).toMatchObject({ deliveryClass: 'throttled', retryAfterMs: 2000 });
    r.fault({ status: 401, times: 1 });
    expect(await failure(t.send(batch([rec(1)]), signal()))).toMatchObject({ deliveryClass: 'halt', code: 'FORMPOST_HTTP_401' });
    expect(await t.send(batch([rec(1)]), signal())).toBeUndefined();
    expect(r.stats().accepted).toBe(1);
  });

  it('does not follow redirects: a 302 halts and the target is never asked', async () => {
    let targetHits = 0;
    const target = await server((_req, res) => {
      targetHits++;
      res.end('ok');
    });
    const redirect = await server((_req, res) => {
      res.writeHead(302, { location: `${target}/upload` });
      res.end();
    });
    const t = transport({ FORMPOST_URL: `${redirect}/upload` });
    const e = await failure(t.send(batch([rec(1)]), signal()));
    expect([e.deliveryClass, e.code]).toEqual(['halt', 'FORMPOST_HTTP_302']);
    expect(e.message).toMatch(/redirects are not followed/);
    expect(targetHits).toBe(0);
  });

  it('a body echoing the URL token or the auth value is masked in the reason; only the origin is named', async () => {
    const url = await server((req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`no such source ${req.url} for ${req.headers.authorization}; tail ${String(req.headers.authorization).slice(0, 14)}`);
    });
    const t = transport({ FORMPOST_URL: `${url}/receiver/v1/http/PathToken123456`, FORMPOST_AUTH_VALUE: 'Bearer authToken98765' });
    const e = await failure(t.send(batch([rec(1)]), signal()));
    expect(e.message).not.toMatch(/PathToken123456|authToken98765|authToken/);
    expect(e.message).toContain('**REDACTED**');
    expect(e.message).toMatch(/^HTTP 400 from http:\/\/127\.0\.0\.1:\d+: /);
  });

  it('connection refused and a timeout are retriable, named by the origin only', async () => {
    const r = await receiver();
    const url = r.url;
    await r.stop();
    const t = transport({ FORMPOST_URL: `${url}?token=QueryToken55` });
    const e = await failure(t.send(batch([rec(1)]), signal()));
    expect([e.deliveryClass, e.code]).toEqual(['retriable', 'ECONNREFUSED']);
    expect(e.message).toMatch(/^http:\/\/127\.0\.0\.1:\d+: /);
    expect(e.message).not.toContain('QueryToken55');
    const slow = await server(() => undefined); // never answers
    const t2 = transport({ FORMPOST_URL: `${slow}/upload` });
    const e2 = await failure(t2.send(batch([rec(1)]), AbortSignal.timeout(300)));
    expect([e2.deliveryClass, e2.code]).toEqual(['retriable', 'TIMEOUT']);
  });
});

describe('form POST settings from rotating files', () => {
  it('FORMPOST_URL_FILE and FORMPOST_HEADERS_FILE: a new token path and new header values are used from the next POST; another origin or bad JSON is refused and the previous value kept', async () => {
    const seen: Array<{ path: string; tenant: string | undefined }> = [];
    const base = await server((req, res) => {
      seen.push({ path: req.url ?? '', tenant: req.headers['x-tenant'] as string | undefined });
      res.writeHead(200).end();
    });
    const dir = mkdtempSync(join(tmpdir(), 'ls-formpost-rotate-'));
    const urlFile = join(dir, 'url');
    const headersFile = join(dir, 'headers');
    replaceFile(urlFile, `${base}/receiver/v1/http/TOKEN-ONE\n`);
    replaceFile(headersFile, '{"X-Tenant":"acme-1"}\n');
    const t = transport({ FORMPOST_URL_FILE: urlFile, FORMPOST_HEADERS_FILE: headersFile });
    const files = watchedFiles.all.filter((f) => f.path === urlFile || f.path === headersFile);
    expect(files.map((f) => f.variable).sort()).toEqual(['FORMPOST_HEADERS_FILE', 'FORMPOST_URL_FILE']);
    const poll = async (): Promise<unknown[]> => Promise.all(files.map((f) => f.poll()));
    await poll();
    await t.send(batch([rec(1)]), new AbortController().signal);

    replaceFile(urlFile, `${base}/receiver/v1/http/TOKEN-TWO\n`);
    replaceFile(headersFile, '{"X-Tenant":"acme-2"}');
    expect(await poll()).toEqual([{ result: 'changed' }, { result: 'changed' }]);
    await t.send(batch([rec(2)]), new AbortController().signal);

    replaceFile(urlFile, 'https://elsewhere.example.com/receiver/v1/http/TOKEN-THREE');
    replaceFile(headersFile, '{"X-Tenant":');
    const refused = (await poll()) as Array<{ result: string; why: string }>;
    expect(refused.map((r) => r.result)).toEqual(['invalid', 'invalid']);
    expect(refused.map((r) => r.why).join(' ')).toContain(`the origin must stay ${base} (another host needs a restart)`);
    expect(JSON.stringify(refused)).not.toContain('TOKEN');
    await t.send(batch([rec(3)]), new AbortController().signal);
    expect(seen).toEqual([
      { path: '/receiver/v1/http/TOKEN-ONE', tenant: 'acme-1' },
      { path: '/receiver/v1/http/TOKEN-TWO', tenant: 'acme-2' },
      { path: '/receiver/v1/http/TOKEN-TWO', tenant: 'acme-2' },
    ]);
  });
});
