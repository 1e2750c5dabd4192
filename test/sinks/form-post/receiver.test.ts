// The form POST test receiver itself (test/support/form-receiver): what it refuses, its fault
// switches, and its store surviving a SIGKILL and a restart on the same port.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMultipart } from '../../../src/sinks/form-post/multipart.ts';
import { FormReceiverProcess } from '../../support/form-receiver/process.ts';
import { FormReceiver, readFormStore } from '../../support/form-receiver/receiver.ts';
import { tmpDir } from '../../support/instance.ts';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function form(lines: string[], rows = lines.length, product = 'web') {
  return encodeMultipart([
    { name: 'product', data: Buffer.from(product) },
    { name: 'rows', data: Buffer.from(String(rows)) },
    { name: 'file', filename: `${product}-1.json`, contentType: 'application/x-ndjson', data: Buffer.from(lines.map((l) => `${l}\n`).join('')) },
  ]);
}

async function post(url: string, lines: string[], opts: { rows?: number; headers?: Record<string, string>; method?: string } = {}): Promise<{ status: number; text: string; retryAfter: string | null }> {
  const f = form(lines, opts.rows);
  const res = await fetch(url, { method: opts.method ?? 'POST', headers: { 'content-type': f.contentType, ...opts.headers }, ...(opts.method === 'GET' ? {} : { body: f.body }) });
  return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
}

describe('form POST test receiver', () => {
  it('accepts valid forms; refuses a wrong path, method, credentials and invalid forms (counted)', async () => {
    const r = new FormReceiver({ auth: { header: 'authorization', value: 'Bearer t' } });
    await r.start();
    closers.push(() => r.stop());
    const auth = { authorization: 'Bearer t' };
    expect((await post(r.url, ['{"a":1}', '{"b":2}'], { headers: auth })).status).toBe(200);
    expect((await post(r.url.replace('/upload', '/other'), ['{"a":1}'], { headers: auth })).status).toBe(404);
    expect((await post(r.url, [], { headers: auth, method: 'GET' })).status).toBe(405);
    expect((await post(r.url, ['{"a":1}'])).status).toBe(401);
    const bad = await post(r.url, ['{"a":1}', 'not json'], { headers: auth });
    expect(bad).toMatchObject({ status: 400, text: 'invalid form: line 2 is not JSON: not json' });
    expect((await post(r.url, ['{"a":1}'], { headers: auth, rows: 2 })).status).toBe(400);
    expect((await post(r.url, Array.from({ length: 21 }, () => '{}'), { headers: auth })).text).toMatch(/over the limit of 20/);
    expect((await post(r.url, ['[1]'], { headers: auth })).text).toMatch(/not a JSON object/);
    const s = r.stats();
    expect(s).toMatchObject({ accepted: 1, rowsAccepted: 2, invalid: 4, unauthorized: 1, byStatus: { 200: 1, 404: 1, 405: 1, 401: 1, 400: 4 } });
    expect(r.rows()).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('fault switches: a status for N POSTs with Retry-After, and rows-based rejection', async () => {
    const r = new FormReceiver();
    await r.start();
    closers.push(() => r.stop());
    r.fault({ status: 429, times: 2, retryAfter: '3', body: 'slow down' });
    expect(await post(r.url, ['{"id":1}'])).toEqual({ status: 429, text: 'slow down', retryAfter: '3' });
    expect((await post(r.url, ['{"id":1}'])).status).toBe(429);
    expect((await post(r.url, ['{"id":1}'])).status).toBe(200);
    r.rejectRows({ field: 'id', values: [7], status: 400, body: 'no 7' });
    expect(await post(r.url, ['{"id":6}', '{"id":7}'])).toMatchObject({ status: 400, text: 'no 7' });
    expect((await post(r.url, ['{"id":8}'])).status).toBe(200);
    expect(r.stats()).toMatchObject({ faulted: 2, rejected: 1, rowsRejected: 2, rowsAccepted: 2 });
  });

  it('as a process: the store survives SIGKILL, and a new process serves the same port', async () => {
    const store = join(tmpDir('form-recv'), 'posts.jsonl');
    const a = await FormReceiverProcess.start(['--port', '0', '--store', store]);
    closers.push(() => a.stop('SIGKILL'));
    expect((await post(a.url, ['{"n":1}'])).status).toBe(200);
    await a.control({ op: 'fault', status: 503 });
    expect((await post(a.url, ['{"n":2}'])).status).toBe(503);
    expect((await a.stats()).byStatus).toEqual({ 200: 1, 503: 1 });
    expect((await a.posts()).map((p) => p.lines)).toEqual([['{"n":1}']]);
    await a.stop('SIGKILL');
    await expect(post(a.url, ['{"n":3}'])).rejects.toThrow();
    const b = await FormReceiverProcess.start(['--port', String(a.port), '--store', store]);
    closers.push(() => b.stop());
    expect(b.url).toBe(a.url);
    expect((await post(b.url, ['{"n":3}'])).status).toBe(200);
    expect(readFormStore(store).map((p) => p.lines)).toEqual([['{"n":1}'], ['{"n":3}']]);
    expect((await b.stop()).code).toBe(0);
  });
});
