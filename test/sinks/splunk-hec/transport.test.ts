// The HEC transport (src/sinks/splunk-hec/transport.ts) against the HEC spec receiver
// (test/support/hec/receiver.ts) in this process, over real HTTP(S): which URL gets a batch and how a
// failing one leaves the rotation, what each reply becomes (status.ts), the health check, the request
// bodies (gzip, raw), TLS errors, and the load balancer's cookie. Indexer acknowledgement is
// indexer-ack.test.ts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeNodeTestPki } from '../../support/node-pki.ts';
import { TOKEN, ids, onCleanup, origin, receiver, signal, thrown, transport } from './support.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** Freezes Date.now (only: sockets and timers stay real) at `t`; returns a setter for later instants. */
function frozenClock(t: number): (at: number) => void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(t);
  return (at) => vi.setSystemTime(at);
}

const eventRequests = (r: { requests: ReadonlyArray<{ route: string | undefined }> }): number => r.requests.filter((q) => q.route === 'event').length;

describe('HEC transport: which URL', () => {
  it('spreads batches over the URLs in turn', async () => {
    const [a, b] = await Promise.all([receiver(), receiver()]);
    const { t, batch } = transport([a.url, b.url]);
    for (let i = 0; i < 6; i++) expect(await t.send(batch([i]), signal())).toBeUndefined();
    expect(ids(a)).toEqual([0, 2, 4]);
    expect(ids(b)).toEqual([1, 3, 5]);
  });

  it('posts to <url>/services/collector/event, also when the URL already ends in /services/collector', async () => {
    const r = await receiver();
    const { t, batch } = transport([`${r.url}/services/collector`, `${r.url}/`]);
    await t.send(batch([1]), signal());
    await t.send(batch([2]), signal());
    expect(r.requests.map((q) => `${q.method} ${q.path} ${q.status}`)).toEqual(['POST /services/collector/event 200', 'POST /services/collector/event 200']);
  });

  it('a URL that answers 5xx or refuses connections leaves the rotation for 5 s; the error names it', async () => {
    const [a, b, c] = await Promise.all([receiver(), receiver(), receiver()]);
    const at = frozenClock(Date.UTC(2026, 0, 1));
    const t0 = Date.now();
    const { t, batch } = transport([a.url, b.url, c.url]);
    a.setMode('busy503');
    const downPort = c.port;
    await c.stop();

    const busy = await thrown(t.send(batch([0]), signal()));
    expect(busy).toMatchObject({ deliveryClass: 'retriable', code: 'HEC_9' });
    expect(busy.message).toBe(`${origin(a)}: HTTP 503, HEC code 9: Server is busy`);
    expect(await t.send(batch([1]), signal())).toBeUndefined(); // b
    at(t0 + 1_000);
    const refused = await thrown(t.send(batch([2]), signal()));
    expect(refused).toMatchObject({ deliveryClass: 'retriable', code: 'ECONNREFUSED' });
    expect(refused.message).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${downPort}: .*ECONNREFUSED`));

    // a and c are out: everything goes to b, even with a answering again
    a.setMode('ok');
    for (let i = 3; i < 7; i++) expect(await t.send(batch([i]), signal())).toBeUndefined();
    at(t0 + 4_999);
    expect(await t.send(batch([7]), signal())).toBeUndefined();
    expect(ids(b)).toEqual([1, 3, 4, 5, 6, 7]);
    expect(eventRequests(a)).toBe(1);

    // 5 s after its failure a is back in the rotation; c (failed 1 s later) not yet
    at(t0 + 5_000);
    expect(await t.send(batch([8]), signal())).toBeUndefined();
    expect(ids(a)).toEqual([8]);
    expect(eventRequests(a)).toBe(2);
    expect(await t.send(batch([9]), signal())).toBeUndefined();
    expect(ids(b)).toEqual([1, 3, 4, 5, 6, 7, 9]);
  });

  it('when every URL failed recently, tries the one whose 5 s end first', async () => {
    const [a, b] = await Promise.all([receiver(), receiver()]);
    const at = frozenClock(Date.UTC(2026, 0, 1));
    const t0 = Date.now();
    const { t, batch } = transport([a.url, b.url]);
    a.setMode('internal500');
    b.setMode('internal500');
    expect(await thrown(t.send(batch([0]), signal()))).toMatchObject({ code: 'HEC_8', message: expect.stringMatching(new RegExp(`^${origin(a)}: `)) });
    at(t0 + 10);
    expect(await thrown(t.send(batch([1]), signal()))).toMatchObject({ code: 'HEC_8', message: expect.stringMatching(new RegExp(`^${origin(b)}: `)) });
    // both cooling down: a's ends first (it failed first) …
    a.setMode('ok');
    at(t0 + 20);
    expect(await t.send(batch([2]), signal())).toBeUndefined();
    expect(ids(a)).toEqual([2]);
    // … a request that answers does not put it back (its cooldown still runs), so it stays the pick
    await t.send(batch([3]), signal());
    expect(ids(a)).toEqual([2, 3]);
    expect(eventRequests(b)).toBe(1);
  });
});

describe('HEC transport: what each reply becomes (status.ts)', () => {
  it.each([
    ['a wrong token', {}, { HEC_TOKEN: 'not-the-token' }, 'halt', 'HEC_4', 'HTTP 403, HEC code 4: Invalid token', undefined],
    ['a disabled token', { tokens: [{ token: TOKEN, disabled: true }] }, {}, 'halt', 'HEC_1', 'HTTP 403, HEC code 1: Token disabled', undefined],
    ['an index the token may not write', { tokens: [{ token: TOKEN, indexes: ['main'] }] }, { HEC_INDEX: 'secret' }, 'halt', 'HEC_7', 'HTTP 400, HEC code 7: Incorrect index', undefined],
    ['a wrong URL path (404, not a HEC reply)', {}, { path: '/wrong' }, 'halt', 'HEC_404', 'HTTP 404, HEC code 404: The requested URL was not found on this server.', undefined],
  ] as const)('%s halts (nothing dead-lettered, nothing retried fast)', async (_name, opts, env, cls, code, text, retryAfterMs) => {
    const r = await receiver(opts);
    const { path, ...vars } = env as Record<string, string>;
    const { t, batch } = transport(`${r.url}${path ?? ''}`, vars);
    const e = await thrown(t.send(batch([1, 2]), signal()));
    expect(e).toMatchObject({ deliveryClass: cls, code, retryAfterMs });
    expect(e.message).toBe(`${origin(r)}: ${text}`);
    expect(r.events).toEqual([]);
  });

  it.each([
    ['503 server busy', 'busy503', {}, 'retriable', 'HEC_9', undefined],
    ['503 server busy with Retry-After', 'busy503', { retryAfterSeconds: 7 }, 'throttled', 'HEC_9', 7000],
    ['429 with Retry-After', 'tooMany429', { retryAfterSeconds: 3 }, 'throttled', 'HEC_9', 3000],
    ['500 internal error', 'internal500', {}, 'retriable', 'HEC_8', undefined],
    ['503 while unhealthy', 'unhealthy', {}, 'retriable', 'HEC_9', undefined],
  ] as const)('%s is retried (%s)', async (_name, mode, modeOpts, cls, code, retryAfterMs) => {
    const r = await receiver();
    const { t, batch } = transport(r.url);
    r.setMode(mode, { ...modeOpts, times: 1 });
    const e = await thrown(t.send(batch([1, 2]), signal()));
    expect(e).toMatchObject({ deliveryClass: cls, code, retryAfterMs });
    expect(e.message.startsWith(`${origin(r)}: HTTP `)).toBe(true);
    expect(await t.send(batch([1, 2]), signal())).toBeUndefined();
    expect(ids(r)).toEqual([1, 2]);
  });

  it('a bad event (invalid-event-number) is the only failure: those before it were indexed, those after are sent again', async () => {
    const r = await receiver();
    const { t, batch } = transport(r.url);
    r.rejectEvents((e) => (e.event as { id: number }).id === 2);
    const res = await t.send(batch([0, 1, 2, 3, 4]), signal());
    expect(res?.failures).toHaveLength(1);
    expect(res!.failures![0]!.index).toBe(2);
    expect(res!.failures![0]!.error).toMatchObject({ deliveryClass: 'permanent', code: 'HEC_6', message: `${origin(r)}: HTTP 400, HEC code 6: Invalid data format` });
    expect(ids(r)).toEqual([0, 1, 3, 4]);
    expect(eventRequests(r)).toBe(2);
  });

  it('a request too large (413, which names no event) is split in halves until the event too large is alone: only it fails', async () => {
    const r = await receiver({ maxContentLength: 600 });
    const { t, batch } = transport(r.url, { HEC_GZIP: 'false' });
    const res = await t.send(batch([0, 1, 2, 3, 4, 5], (id) => (id === 4 ? { pad: 'x'.repeat(700) } : {})), signal());
    expect(res?.failures?.map((f) => [f.index, f.error.deliveryClass, f.error.code])).toEqual([[4, 'permanent', 'HEC_HTTP_413']]);
    expect(res!.failures![0]!.error.message).toMatch(new RegExp(`^${origin(r)}: HTTP 413`));
    expect(ids(r)).toEqual([0, 1, 2, 3, 5]);
  });
});

describe('HEC transport: health check', () => {
  it('GETs /services/collector/health on every URL and names each that is not healthy', async () => {
    const [a, b, c] = await Promise.all([receiver(), receiver(), receiver()]);
    const { t } = transport([a.url, b.url, c.url]);
    expect(await t.checkHealth()).toEqual([]);
    b.setMode('unhealthy', { healthCode: 19 });
    const downPort = c.port;
    await c.stop();
    const problems = await t.checkHealth();
    expect(problems).toHaveLength(2);
    expect(problems).toContain(`${origin(b)}: {"text":"HEC is unhealthy, ack service unavailable","code":19}`);
    expect(problems.find((p) => p.startsWith(`http://127.0.0.1:${downPort}: `))).toMatch(/ECONNREFUSED/);
    expect(a.requests.map((q) => `${q.method} ${q.path}`)).toEqual(['GET /services/collector/health', 'GET /services/collector/health']);
  });

  it('does not take a URL out of the rotation', async () => {
    const [a, b] = await Promise.all([receiver(), receiver()]);
    const { t, batch } = transport([a.url, b.url]);
    a.setMode('unhealthy', { healthCode: 18, times: 1 });
    expect(await t.checkHealth()).toHaveLength(1);
    await t.send(batch([0]), signal());
    expect(ids(a)).toEqual([0]);
  });
});

describe('HEC transport: request bodies', () => {
  const events = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

  it('gzips the body by default (Content-Encoding: gzip) and sends the token, the channel and JSON', async () => {
    const r = await receiver();
    const { t, batch } = transport(r.url);
    await t.send(batch(events(200), () => ({ msg: 'the same text in every event compresses well' })), signal());
    const [q] = r.requests;
    expect(q!.events).toBe(200);
    expect(q!.bytes).toBeLessThan(q!.decodedBytes / 5);
    expect(r.events[0]!.headers).toMatchObject({ 'content-encoding': 'gzip', 'content-type': 'application/json', 'user-agent': 'logstream', 'x-splunk-request-channel': t.channel });
    expect(q!.token).toBe(TOKEN);
    expect(ids(r)).toEqual(events(200));
  });

  it('sends the body as is with HEC_GZIP=false', async () => {
    const r = await receiver();
    const { t, batch } = transport(r.url, { HEC_GZIP: 'false' });
    const b = batch(events(50));
    await t.send(b, signal());
    const [q] = r.requests;
    expect(q!.bytes).toBe(b.bytes);
    expect(q!.decodedBytes).toBe(b.bytes);
    expect(r.events[0]!.headers['content-encoding']).toBeUndefined();
    expect(ids(r)).toEqual(events(50));
  });

  it('gzip at HEC_GZIP_LEVEL: the body is what gunzip gives back, the events one after another', async () => {
    // a receiver that keeps the body, to compare levels on the same batch
    const bodies: Buffer[] = [];
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
      });
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    onCleanup(() => new Promise<void>((res) => server.close(() => res())));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const fast = transport(url, { HEC_GZIP_LEVEL: '1' });
    const small = transport(url, { HEC_GZIP_LEVEL: '9' });
    const b = fast.batch(events(500), (id) => ({ msg: `event ${id % 7} of a batch`, n: id * 31 }));
    await fast.t.send(b, signal());
    await small.t.send(b, signal());
    const plain = Buffer.concat(b.items.map((i) => i.payload));
    expect(gunzipSync(bodies[0]!)).toEqual(plain);
    expect(gunzipSync(bodies[1]!)).toEqual(plain);
    expect(bodies[1]!.length).toBeLessThan(bodies[0]!.length);
  });

  it('raw endpoint: one line per event, metadata in the query string from the batch key', async () => {
    const r = await receiver();
    const { t, batch } = transport(r.url, { HEC_ENDPOINT: 'raw', HEC_SOURCETYPE: 'fw', HEC_HOST: 'edge-1' });
    await t.send(batch([1, 2, 3]), signal());
    expect(r.requests[0]!.path).toBe('/services/collector/raw');
    expect(r.events.map((e) => [e.endpoint, e.event, e.sourcetype, e.host])).toEqual([1, 2, 3].map((id) => ['raw', `{"id":${id}}`, 'fw', 'edge-1']));
    expect(r.events[0]!.headers['content-type']).toBe('text/plain; charset=utf-8');
  });
});

describe('HEC transport: TLS', () => {
  it('an untrusted certificate halts with an error naming the URL and the TLS cause; nothing is sent; HEC_TLS_CA_FILE fixes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logstream-hec-tls-'));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const pki = await makeNodeTestPki(dir, 'hec transport');
    const plain = await receiver();
    const tls = await receiver({ tls: { cert: readFileSync(pki.serverCertFile), key: readFileSync(pki.serverKeyFile) } });
    expect(tls.url.startsWith('https://')).toBe(true);

    const { t, batch } = transport([plain.url, tls.url]);
    expect(await t.send(batch([0]), signal())).toBeUndefined(); // plain
    const e = await thrown(t.send(batch([1]), signal())); // tls
    expect(e).toMatchObject({ deliveryClass: 'halt', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(e.message.startsWith(`${origin(tls)}: TLS: unable to verify the first certificate`)).toBe(true);
    expect(tls.stats().requests).toBe(0);
    const health = await t.checkHealth();
    expect(health).toHaveLength(1);
    expect(health[0]!.startsWith(`${origin(tls)}: unable to verify the first certificate`)).toBe(true);

    const trusted = transport(tls.url, { HEC_TLS_CA_FILE: pki.caFile });
    expect(await trusted.t.send(trusted.batch([2]), signal())).toBeUndefined();
    expect(ids(tls)).toEqual([2]);
    expect(await trusted.t.checkHealth()).toEqual([]);
  });
});

describe('HEC transport: load balancer cookie', () => {
  it('sends back the cookie each URL set, so later requests reach the same indexer', async () => {
    const [a, b] = await Promise.all([receiver({ lbCookieValue: 'idx-a' }), receiver({ lbCookieValue: 'idx-b' })]);
    const { t, batch } = transport([a.url, b.url]);
    for (let i = 0; i < 4; i++) await t.send(batch([i]), signal());
    expect(a.requests.map((q) => q.lbCookie)).toEqual(['none', 'match']);
    expect(b.requests.map((q) => q.lbCookie)).toEqual(['none', 'match']);
    expect(a.events[1]!.headers.cookie).toBe('hec_lb=idx-a');
  });
});
