/**
 * The HEC test receiver itself, over real HTTP: each protocol rule and fault switch, so tests of the
 * Splunk HEC sink can trust what it answers.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Agent, request, type Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { HecProcess } from '../support/hec/process.ts';
import { HecReceiver, type HecReceiverOptions } from '../support/hec/receiver.ts';
import { makeNodeTestPki } from '../support/node-pki.ts';

const T = 'tok-1';
const EV = '/services/collector/event';

const receivers: HecReceiver[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

async function start(opts: HecReceiverOptions = {}): Promise<HecReceiver> {
  const r = new HecReceiver({ tokens: [T], ...opts });
  receivers.push(r);
  await r.start();
  return r;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown> | undefined;
}

interface Req {
  method?: 'GET' | 'POST' | 'HEAD' | 'OPTIONS';
  body?: string | Buffer | Readable;
  token?: string | null;
  auth?: string;
  channel?: string;
  headers?: Record<string, string>;
  gzip?: boolean;
  dispatcher?: Dispatcher;
}

async function send(r: HecReceiver | string, path: string, o: Req = {}): Promise<Reply> {
  const base = typeof r === 'string' ? r : r.url;
  const headers: Record<string, string> = { ...o.headers };
  if (o.auth !== undefined) headers.authorization = o.auth;
  else if (o.token !== null) headers.authorization = `Splunk ${o.token ?? T}`;
  if (o.channel) headers['x-splunk-request-channel'] = o.channel;
  let body = o.body;
  if (o.gzip && body !== undefined && !(body instanceof Readable)) {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  const res = await request(`${base}${path}`, {
    method: o.method ?? 'POST',
    headers,
    ...(body !== undefined ? { body } : {}),
    reset: true,
    ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
  });
  const text = await res.body.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

const lines = (events: unknown[]): string => events.map((e) => JSON.stringify(e)).join('');
const ev = (n: number, extra: Record<string, unknown> = {}): Array<Record<string, unknown>> =>
  Array.from({ length: n }, (_, i) => ({ event: { id: i }, ...extra }));

describe('HEC receiver: endpoints', () => {
  it('accepts events on /services/collector, /event and /event/1.0', async () => {
    const r = await start();
    for (const p of ['/services/collector', EV, `${EV}/1.0`]) {
      const res = await send(r, p, { body: JSON.stringify({ event: p }) });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ text: 'Success', code: 0 });
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    }
    expect(r.events.map((e) => e.event)).toEqual(['/services/collector', EV, `${EV}/1.0`]);
  });

  it('answers 404 for other paths and 405 for a wrong method', async () => {
    const r = await start();
    const nf = await send(r, '/services/collector/nope', { body: '{"event":1}' });
    expect(nf.status).toBe(404);
    expect(nf.json).toEqual({ text: 'The requested URL was not found on this server.', code: 404 });
    expect((await send(r, '/', { method: 'GET' })).status).toBe(404);
    expect((await send(r, '/_control', { body: '{}' })).status).toBe(404); // control endpoints are off by default
    const wrong = await send(r, EV, { method: 'GET' });
    expect(wrong.status).toBe(405);
    const opt = await send(r, EV, { method: 'OPTIONS', token: null });
    expect(opt.status).toBe(200);
    expect(opt.headers.allow).toBe('POST,OPTIONS');
    expect(r.events).toHaveLength(0);
  });

  it('health: GET and POST on /health and /health/1.0, without looking at the token', async () => {
    const r = await start();
    for (const p of ['/services/collector/health', '/services/collector/health/1.0']) {
      for (const method of ['GET', 'POST'] as const) {
        const res = await send(r, p, { method, token: null });
        expect(res.status).toBe(200);
        expect(res.json).toEqual({ text: 'HEC is healthy', code: 17 });
      }
    }
    expect((await send(r, '/services/collector/health', { method: 'GET', token: 'bogus' })).json?.code).toBe(17);
  });
});

describe('HEC receiver: authorization', () => {
  it('answers the documented codes for a missing, malformed, unknown and disabled token', async () => {
    const r = await start({ tokens: [T, { token: 'off', disabled: true }] });
    const body = '{"event":"x"}';
    expect(await send(r, EV, { body, token: null })).toMatchObject({ status: 401, json: { text: 'Token is required', code: 2 } });
    expect(await send(r, EV, { body, auth: `Bearer ${T}` })).toMatchObject({ status: 401, json: { text: 'Invalid authorization', code: 3 } });
    expect(await send(r, EV, { body, auth: 'Splunk' })).toMatchObject({ status: 401, json: { text: 'Invalid authorization', code: 3 } });
    expect(await send(r, EV, { body, auth: T })).toMatchObject({ status: 401, json: { code: 3 } });
    expect(await send(r, EV, { body, token: 'nope' })).toMatchObject({ status: 403, json: { text: 'Invalid token', code: 4 } });
    expect(await send(r, EV, { body, token: 'off' })).toMatchObject({ status: 403, json: { text: 'Token disabled', code: 1 } });
    expect(r.events).toHaveLength(0);
    expect(r.stats().byCode).toMatchObject({ 1: 1, 2: 1, 3: 3, 4: 1 });
    expect(r.stats().byStatus).toMatchObject({ 401: 4, 403: 2 });
  });

  it('accepts basic auth with the token as the password; query-string tokens only where allowed', async () => {
    const r = await start({ tokens: [T, { token: 'q', allowQueryStringAuth: true }] });
    const basic = `Basic ${Buffer.from(`anyone:${T}`).toString('base64')}`;
    expect((await send(r, EV, { body: '{"event":1}', auth: basic })).status).toBe(200);
    expect(await send(r, `${EV}?token=${T}`, { body: '{"event":2}', token: null })).toMatchObject({
      status: 400,
      json: { text: 'Query string authorization is not enabled', code: 16 },
    });
    expect((await send(r, `${EV}?token=q`, { body: '{"event":3}', token: null })).status).toBe(200);
    expect(r.events.map((e) => [e.token, e.event])).toEqual([[T, 1], ['q', 3]]);
  });

  it('tokens change at run time: disable, then the fixed token resumes', async () => {
    const r = await start();
    r.disableToken(T);
    expect((await send(r, EV, { body: '{"event":1}' })).json?.code).toBe(1);
    r.enableToken(T);
    expect((await send(r, EV, { body: '{"event":2}' })).status).toBe(200);
    r.setTokens(['new']);
    expect((await send(r, EV, { body: '{"event":3}' })).json?.code).toBe(4);
    expect((await send(r, EV, { body: '{"event":4}', token: 'new' })).status).toBe(200);
    expect(r.events.map((e) => e.event)).toEqual([2, 4]);
  });
});

describe('HEC receiver: event bodies', () => {
  it('records concatenated events in order, with the envelope, channel and headers', async () => {
    const r = await start();
    const ch = randomUUID();
    const batch = [
      { time: 1433188255.5, host: 'h1', source: 's', sourcetype: 'st', index: 'main', fields: { a: 'x', b: ['y', 'z'], n: 3 }, event: { msg: 'has } and { and "quotes" and \\' } },
      { time: '1433188256.250', event: 'plain string' },
      { event: 0 },
      { event: {} },
    ];
    const body = `${JSON.stringify(batch[0])}\n${JSON.stringify(batch[1])}  ${JSON.stringify(batch[2])}${JSON.stringify(batch[3])}\n`;
    const res = await send(r, EV, { body, channel: ch, headers: { 'user-agent': 'logstream-test' } });
    expect(res.json).toEqual({ text: 'Success', code: 0 });
    expect(r.events).toHaveLength(4);
    const [a, b] = r.events;
    expect(a).toMatchObject({ seq: 0, endpoint: 'event', token: T, channel: ch, ackId: undefined, time: 1433188255.5, host: 'h1', source: 's', sourcetype: 'st', index: 'main' });
    expect(a?.fields).toEqual({ a: 'x', b: ['y', 'z'], n: 3 });
    expect(a?.event).toEqual(batch[0]?.event);
    expect(a?.headers['user-agent']).toBe('logstream-test');
    expect(a?.headers['x-splunk-request-channel']).toBe(ch);
    expect(b).toMatchObject({ seq: 1, time: 1433188256.25, event: 'plain string', host: undefined, fields: undefined });
    expect(r.events.map((e) => e.event)).toEqual([batch[0]?.event, 'plain string', 0, {}]);
    expect(r.requests[0]).toMatchObject({ status: 200, code: 0, events: 4, channel: ch });
  });

  it('takes gzip bodies, counting compressed and decoded bytes; bad gzip is invalid data; deflate is 415', async () => {
    const r = await start();
    const body = lines(ev(200, { sourcetype: 'x'.repeat(50) }));
    const res = await send(r, EV, { body, gzip: true });
    expect(res.status).toBe(200);
    expect(r.events).toHaveLength(200);
    const s = r.stats();
    expect(s.bytesDecoded).toBe(Buffer.byteLength(body));
    expect(s.bytesReceived).toBe(gzipSync(body).length);
    expect(s.bytesReceived).toBeLessThan(s.bytesDecoded);

    const bad = await send(r, EV, { body: Buffer.from('not gzip at all'), headers: { 'content-encoding': 'gzip' } });
    expect(bad).toMatchObject({ status: 400, json: { text: 'Invalid data format', code: 6 } });
    expect((await send(r, EV, { body: Buffer.from('x'), headers: { 'content-encoding': 'deflate' } })).status).toBe(415);
    expect(r.events).toHaveLength(200);
  });

  it('an empty or blank body is No data (5)', async () => {
    const r = await start();
    expect(await send(r, EV, { body: '' })).toMatchObject({ status: 400, json: { text: 'No data', code: 5 } });
    expect(await send(r, EV, { body: ' \n\t ' })).toMatchObject({ status: 400, json: { code: 5 } });
    expect(await send(r, EV, { body: '', gzip: true })).toMatchObject({ status: 400, json: { code: 5 } });
  });

  it('partial batch: events before invalid-event-number are indexed, that one and the rest are not', async () => {
    const r = await start();
    const good = ev(5).map((e) => JSON.stringify(e));
    const body = `${good[0]}${good[1]}{"event": "broken",}${good[3]}${good[4]}`;
    const res = await send(r, EV, { body });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ text: 'Invalid data format', code: 6, 'invalid-event-number': 2 });
    expect(r.events.map((e) => e.event)).toEqual([{ id: 0 }, { id: 1 }]);
    expect(r.requests[0]).toMatchObject({ status: 400, code: 6, invalidEventNumber: 2, events: 2 });
  });

  it('not concatenated objects: an array, commas or garbage are invalid data at the right number', async () => {
    const r = await start();
    expect((await send(r, EV, { body: '[{"event":1},{"event":2}]' })).json).toEqual({ text: 'Invalid data format', code: 6, 'invalid-event-number': 0 });
    expect((await send(r, EV, { body: '{"event":1},{"event":2}' })).json).toMatchObject({ code: 6, 'invalid-event-number': 1 });
    expect((await send(r, EV, { body: '{"event":3}{"event":4} trailing' })).json).toMatchObject({ code: 6, 'invalid-event-number': 2 });
    expect((await send(r, EV, { body: '{"event":5}{"event":"unterminated}' })).json).toMatchObject({ code: 6, 'invalid-event-number': 1 });
    expect(r.events.map((e) => e.event)).toEqual([1, 3, 4, 5]);
  });

  it('event field: missing (12), blank string (13), null or false (6); 0, {} and fields-only are accepted', async () => {
    const r = await start();
    const req = async (o: unknown): Promise<Reply> => send(r, EV, { body: `{"event":"ok"}${JSON.stringify(o)}` });
    expect((await req({ host: 'h' })).json).toEqual({ text: 'Event field is required', code: 12, 'invalid-event-number': 1 });
    expect((await req({ event: '' })).json).toEqual({ text: 'Event field cannot be blank', code: 13, 'invalid-event-number': 1 });
    expect((await req({ event: '   ' })).json).toMatchObject({ code: 13, 'invalid-event-number': 1 });
    expect((await req({ event: null })).json).toMatchObject({ code: 6, 'invalid-event-number': 1 });
    expect((await req({ event: false })).json).toMatchObject({ code: 6, 'invalid-event-number': 1 });
    expect((await req({ event: 0 })).status).toBe(200);
    expect((await req({ event: [] })).status).toBe(200);
    // The metrics form: fields and no event is accepted and not indexed as an event.
    expect((await req({ fields: { metric_name: 'cpu', _value: 1.5 } })).status).toBe(200);
    expect(r.events.map((e) => e.event)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 0, 'ok', [], 'ok']);
  });

  it('fields must be flat (15); time must be numeric; metadata must be strings', async () => {
    const r = await start();
    const one = async (o: unknown): Promise<Reply> => send(r, EV, { body: JSON.stringify(o) });
    expect((await one({ event: 1, fields: { a: { nested: 'x' } } })).json).toEqual({ text: 'Error in handling indexed fields', code: 15, 'invalid-event-number': 0 });
    expect((await one({ event: 1, fields: { a: [['x']] } })).json).toMatchObject({ code: 15 });
    expect((await one({ event: 1, fields: ['a'] })).json).toMatchObject({ code: 15 });
    expect((await one({ event: 1, fields: { a: 'x', b: ['1', '2'], c: 3 } })).status).toBe(200);
    expect((await one({ event: 2, time: 'yesterday' })).json).toMatchObject({ code: 6, 'invalid-event-number': 0 });
    expect((await one({ event: 3, time: '1700000000' })).status).toBe(200);
    expect((await one({ event: 4, time: 1700000000.123 })).status).toBe(200);
    expect((await one({ event: 5, host: 42 })).json).toMatchObject({ code: 6 });
    expect(r.events.map((e) => [e.event, e.time])).toEqual([[1, undefined], [3, 1700000000], [4, 1700000000.123]]);
  });

  it('an index the token does not allow is Incorrect index (7) at its event number', async () => {
    const r = await start({ tokens: [{ token: T, indexes: ['main', 'sec'] }, 'any'] });
    const res = await send(r, EV, { body: lines([{ event: 1, index: 'main' }, { event: 2 }, { event: 3, index: 'other' }, { event: 4, index: 'sec' }]) });
    expect(res.json).toEqual({ text: 'Incorrect index', code: 7, 'invalid-event-number': 2 });
    expect(r.events.map((e) => e.event)).toEqual([1, 2]);
    expect((await send(r, EV, { body: lines([{ event: 5, index: 'other' }]), token: 'any' })).status).toBe(200); // default: all allowed
    expect((await send(r, `${EV}?index=other`, { body: '{"event":6}' })).json).toMatchObject({ code: 7, 'invalid-event-number': 0 });
    expect((await send(r, `${EV}?index=sec&sourcetype=qs`, { body: '{"event":7}' })).status).toBe(200);
    expect(r.events.at(-1)).toMatchObject({ event: 7, index: 'sec', sourcetype: 'qs' });
  });

  it('rejectEvents: one bad event in a batch of 500 is refused as invalid data at its number', async () => {
    const r = await start();
    r.rejectEvents((e) => e.event?.id === 42);
    const res = await send(r, EV, { body: lines(ev(500)), gzip: true });
    expect(res.json).toEqual({ text: 'Invalid data format', code: 6, 'invalid-event-number': 42 });
    expect(r.events).toHaveLength(42);
    expect(r.events.at(-1)?.event).toEqual({ id: 41 });
    r.rejectEvents(undefined);
    expect((await send(r, EV, { body: lines(ev(500).slice(42)) })).status).toBe(200);
    expect(r.events.map((e) => (e.event as { id: number }).id)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('413 over max_content_length, counting the bytes sent (compressed); nothing indexed', async () => {
    const r = await start({ maxContentLength: 2000 });
    const big = lines(ev(100));
    const bigger = big + big;
    expect(Buffer.byteLength(bigger)).toBeGreaterThan(2000);
    const res = await send(r, EV, { body: bigger });
    expect(res.status).toBe(413);
    expect(res.text).toContain(`Content-Length of ${Buffer.byteLength(bigger)} too large (maximum is 2000)`);
    expect(res.json).toBeUndefined(); // the HTTP layer's page, not a HEC reply
    // Same data gzipped is under the limit: the limit applies to what is sent.
    expect(gzipSync(bigger).length).toBeLessThan(2000);
    expect((await send(r, EV, { body: bigger, gzip: true })).status).toBe(200);
    // A chunked body (no Content-Length) over the limit.
    const chunked = await send(r, EV, { body: Readable.from([Buffer.from(big), Buffer.from(big)]) });
    expect(chunked.status).toBe(413);
    expect(r.events).toHaveLength(200);
    expect(r.stats().byStatus).toMatchObject({ 200: 1, 413: 2 });
  });

  it('default max_content_length is 800 MiB (838860800), not the old 1000000', async () => {
    const r = await start();
    expect(r.maxContentLength).toBe(838_860_800);
    expect((await send(r, EV, { body: `{"event":"${'x'.repeat(1_100_000)}"}` })).status).toBe(200);
  });
});

describe('HEC receiver: raw endpoint', () => {
  it('each line is an event with metadata from the query string; channel required by default', async () => {
    const r = await start();
    const ch = randomUUID();
    const body = 'first line\r\nsecond line\n\n  \nthird line';
    expect(await send(r, '/services/collector/raw', { body })).toMatchObject({ status: 400, json: { text: 'Data channel is missing', code: 10 } });
    const res = await send(r, '/services/collector/raw?index=main&sourcetype=syslog&source=s&host=h&time=1700000000.5', { body, channel: ch });
    expect(res.json).toEqual({ text: 'Success', code: 0 });
    expect(r.events.map((e) => e.event)).toEqual(['first line', 'second line', 'third line']);
    expect(r.events[0]).toMatchObject({ endpoint: 'raw', channel: ch, index: 'main', sourcetype: 'syslog', source: 's', host: 'h', time: 1700000000.5 });
    expect((await send(r, `/services/collector/raw/1.0?channel=${ch}`, { body: 'via 1.0', gzip: true })).status).toBe(200);
    expect(r.events.at(-1)?.event).toBe('via 1.0');
    expect((await send(r, '/services/collector/raw', { body: '', channel: ch })).json?.code).toBe(5);
  });

  it('raw: channel optional when configured; index checked', async () => {
    const r = await start({ rawRequiresChannel: false, tokens: [{ token: T, indexes: ['main'] }] });
    expect((await send(r, '/services/collector/raw', { body: 'a' })).status).toBe(200);
    expect((await send(r, '/services/collector/raw?index=nope', { body: 'b' })).json).toEqual({ text: 'Incorrect index', code: 7 });
    expect(r.events.map((e) => e.event)).toEqual(['a']);
  });
});

describe('HEC receiver: indexer acknowledgement', () => {
  it('requires a GUID channel on an ack token', async () => {
    const r = await start({ tokens: [{ token: T, ack: true }] });
    expect(await send(r, EV, { body: '{"event":1}' })).toMatchObject({ status: 400, json: { text: 'Data channel is missing', code: 10 } });
    expect(await send(r, EV, { body: '{"event":1}', channel: 'not-a-guid' })).toMatchObject({ status: 400, json: { text: 'Invalid data channel', code: 11 } });
    expect(r.events).toHaveLength(0);
  });

  it('ackIds count from 0 per channel; an id reports true once, then is forgotten', async () => {
    const r = await start({ tokens: [{ token: T, ack: true }] });
    const a = randomUUID();
    const b = randomUUID();
    expect((await send(r, EV, { body: '{"event":1}', channel: a })).json).toEqual({ text: 'Success', code: 0, ackId: 0 });
    expect((await send(r, EV, { body: '{"event":2}', channel: a })).json).toEqual({ text: 'Success', code: 0, ackId: 1 });
    expect((await send(r, `${EV}?channel=${b}`, { body: '{"event":3}' })).json).toEqual({ text: 'Success', code: 0, ackId: 0 });
    expect(r.events.map((e) => [e.channel, e.ackId])).toEqual([[a, 0], [a, 1], [b, 0]]);

    const q1 = await send(r, '/services/collector/ack', { body: '{"acks":[0,1,5]}', channel: a });
    expect(q1.json).toEqual({ acks: { 0: true, 1: true, 5: false } });
    expect((await send(r, '/services/collector/ack', { body: '{"acks":[0,1]}', channel: a })).json).toEqual({ acks: { 0: false, 1: false } });
    expect((await send(r, `/services/collector/ack/1.0?channel=${b}`, { body: '{"acks":[0,1]}' })).json).toEqual({ acks: { 0: true, 1: false } });
    expect(r.stats().acks).toMatchObject({ issued: 3, queries: 3, reportedTrue: 3, pending: 0 });
  });

  it('indexing completes after the configured delay: false, then true', async () => {
    const r = await start({ tokens: [{ token: T, ack: true }], ackDelayMs: 300 });
    const ch = randomUUID();
    const { json } = await send(r, EV, { body: '{"event":1}', channel: ch });
    expect(json?.ackId).toBe(0);
    expect(r.ackState(ch, 0)).toBe('pending');
    expect((await send(r, '/services/collector/ack', { body: '{"acks":[0]}', channel: ch })).json).toEqual({ acks: { 0: false } });
    await new Promise((res) => setTimeout(res, 400));
    expect((await send(r, '/services/collector/ack', { body: '{"acks":[0]}', channel: ch })).json).toEqual({ acks: { 0: true } });
    expect(r.ackState(ch, 0)).toBeUndefined();
  });

  it('ack endpoint: ACK is disabled (14) on a token without ack; channel and body are checked', async () => {
    const r = await start({ tokens: [T, { token: 'acked', ack: true }] });
    const ch = randomUUID();
    expect(await send(r, '/services/collector/ack', { body: '{"acks":[0]}', channel: ch })).toMatchObject({ status: 400, json: { text: 'ACK is disabled', code: 14 } });
    expect((await send(r, '/services/collector/ack', { body: '{"acks":[0]}', token: 'acked' })).json?.code).toBe(10);
    expect((await send(r, '/services/collector/ack', { body: '{"acks":"x"}', token: 'acked', channel: ch })).json?.code).toBe(6);
    expect((await send(r, '/services/collector/ack', { body: '', token: 'acked', channel: ch })).json?.code).toBe(5);
  });

  it('a partial batch on an ack token gets no ackId; its leading events are still indexed', async () => {
    const r = await start({ tokens: [{ token: T, ack: true }] });
    const ch = randomUUID();
    const res = await send(r, EV, { body: '{"event":1}{"event":""}', channel: ch });
    expect(res.json).toEqual({ text: 'Event field cannot be blank', code: 13, 'invalid-event-number': 1 });
    expect(r.events.map((e) => [e.event, e.ackId])).toEqual([[1, undefined]]);
    expect((await send(r, EV, { body: '{"event":2}', channel: ch })).json?.ackId).toBe(0);
  });

  it('dropAcks: lost acks never turn true; their events are discarded, or kept when asked', async () => {
    const r = await start({ tokens: [{ token: T, ack: true }] });
    const ch = randomUUID();
    r.dropAcks(1);
    expect((await send(r, EV, { body: '{"event":"lost"}', channel: ch })).json?.ackId).toBe(0);
    expect((await send(r, EV, { body: '{"event":"kept"}', channel: ch })).json?.ackId).toBe(1);
    r.dropAcks(1, { discardEvents: false });
    expect((await send(r, EV, { body: '{"event":"indexed, ack lost"}', channel: ch })).json?.ackId).toBe(2);
    for (let i = 0; i < 2; i++) {
      expect((await send(r, '/services/collector/ack', { body: '{"acks":[0,1,2]}', channel: ch })).json).toEqual({ acks: { 0: false, 1: i === 0, 2: false } });
    }
    expect(r.events.map((e) => e.event)).toEqual(['kept', 'indexed, ack lost']);
    expect(r.stats()).toMatchObject({ eventsIndexed: 2, eventsDiscarded: 1, acks: { lost: 2 } });
    expect(r.ackState(ch, 0)).toBe('lost');
  });

  it('loseAck: an issued, still pending ack is lost and its events taken back', async () => {
    const r = await start({ tokens: [{ token: T, ack: true }], ackDelayMs: 60_000 });
    const ch = randomUUID();
    await send(r, EV, { body: lines(ev(3)), channel: ch });
    await send(r, EV, { body: '{"event":"other"}', channel: ch });
    expect(r.loseAck(0, { channel: ch })).toBe(1);
    expect(r.loseAck(0, { channel: ch })).toBe(0);
    expect(r.events.map((e) => e.event)).toEqual(['other']);
    expect(r.stats()).toMatchObject({ eventsIndexed: 1, eventsDiscarded: 3 });
    r.setAckDelay(0);
    await send(r, EV, { body: '{"event":"fast"}', channel: ch });
    expect((await send(r, '/services/collector/ack', { body: '{"acks":[0,1,2]}', channel: ch })).json).toEqual({ acks: { 0: false, 1: false, 2: true } });
  });

  it('sets a stickiness cookie and records, per channel, whether requests came back with it', async () => {
    const r = await start({ tokens: [{ token: T, ack: true }], lbCookieValue: 'node-a' });
    const ch = randomUUID();
    const first = await send(r, EV, { body: '{"event":1}', channel: ch });
    const setCookie = String(first.headers['set-cookie']);
    expect(setCookie).toMatch(/^hec_lb=node-a; Path=\//);
    const cookie = setCookie.split(';')[0] as string;
    await send(r, EV, { body: '{"event":2}', channel: ch, headers: { cookie: `other=1; ${cookie}` } });
    await send(r, '/services/collector/ack', { body: '{"acks":[0,1]}', channel: ch, headers: { cookie } });
    await send(r, EV, { body: '{"event":3}', channel: ch, headers: { cookie: 'hec_lb=node-b' } });
    expect(r.channelStats(ch)).toEqual({ requests: 4, withLbCookie: 2, withoutLbCookie: 1, foreignLbCookie: 1, acksIssued: 3 });
    expect(r.requests.map((q) => q.lbCookie)).toEqual(['none', 'match', 'match', 'other']);
    expect(r.lbCookie).toEqual({ name: 'hec_lb', value: 'node-a' });
  });
});

describe('HEC receiver: fault modes', () => {
  it('busy503 for a number of requests, then back to ok', async () => {
    const r = await start();
    r.setMode('busy503', { times: 2 });
    expect(await send(r, EV, { body: '{"event":1}' })).toMatchObject({ status: 503, json: { text: 'Server is busy', code: 9 } });
    expect((await send(r, '/services/collector/health', { method: 'GET' })).status).toBe(200); // health is not counted
    expect((await send(r, EV, { body: '{"event":2}' })).status).toBe(503);
    expect(r.mode).toBe('ok');
    expect((await send(r, EV, { body: '{"event":3}' })).status).toBe(200);
    expect(r.events.map((e) => e.event)).toEqual([3]);
  });

  it('tooMany429 with Retry-After; internal500', async () => {
    const r = await start({ retryAfterSeconds: 7 });
    r.setMode('tooMany429');
    const res = await send(r, EV, { body: '{"event":1}' });
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    r.setMode('tooMany429', { retryAfterSeconds: 2 });
    expect((await send(r, EV, { body: '{"event":1}' })).headers['retry-after']).toBe('2');
    r.setMode('internal500');
    expect(await send(r, EV, { body: '{"event":1}' })).toMatchObject({ status: 500, json: { text: 'Internal server error', code: 8 } });
    r.setMode('ok');
    expect((await send(r, EV, { body: '{"event":1}' })).status).toBe(200);
  });

  it('slow delays each reply', async () => {
    const r = await start();
    r.setMode('slow', { slowMs: 300 });
    const t0 = performance.now();
    expect((await send(r, EV, { body: '{"event":1}' })).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(r.events).toHaveLength(1);
  });

  it('drop closes the connection without a reply; afterIndexing indexes first (a lost response)', async () => {
    const r = await start();
    r.setMode('drop', { times: 1 });
    await expect(send(r, EV, { body: '{"event":"never"}' })).rejects.toThrow();
    expect(r.events).toHaveLength(0);
    r.setMode('drop', { times: 1, afterIndexing: true });
    await expect(send(r, EV, { body: '{"event":"indexed, reply lost"}' })).rejects.toThrow();
    expect(r.events.map((e) => e.event)).toEqual(['indexed, reply lost']);
    expect((await send(r, EV, { body: '{"event":"after"}' })).status).toBe(200);
    expect(r.stats()).toMatchObject({ droppedConnections: 2, byStatus: { dropped: 2, 200: 1 } });
  });

  it('unhealthy: health answers 503 with 18, 19 or 20; data is refused as busy', async () => {
    const r = await start();
    r.setMode('unhealthy');
    expect(await send(r, '/services/collector/health', { method: 'GET' })).toMatchObject({ status: 503, json: { text: 'HEC is unhealthy, queues are full', code: 18 } });
    expect(await send(r, EV, { body: '{"event":1}' })).toMatchObject({ status: 503, json: { code: 9 } });
    r.setMode('unhealthy', { healthCode: 19 });
    expect((await send(r, '/services/collector/health', { method: 'GET' })).json).toEqual({ text: 'HEC is unhealthy, ack service unavailable', code: 19 });
    r.setMode('unhealthy', { healthCode: 20 });
    expect((await send(r, '/services/collector/health/1.0', { method: 'GET' })).json).toEqual({ text: 'HEC is unhealthy, queues are full, ack service unavailable', code: 20 });
  });

  it('stop, restart on the same port, keeping or clearing state', async () => {
    const r = await start({ tokens: [{ token: T, ack: true }] });
    const ch = randomUUID();
    const port = r.port;
    await send(r, EV, { body: '{"event":1}', channel: ch });
    await r.stop();
    await expect(send(r, EV, { body: '{"event":2}', channel: ch })).rejects.toThrow();
    await r.start();
    expect(r.port).toBe(port);
    expect((await send(r, EV, { body: '{"event":3}', channel: ch })).json?.ackId).toBe(1); // state kept
    await r.restart({ keepState: false, downMs: 50 });
    expect(r.port).toBe(port);
    expect(r.events).toHaveLength(0);
    expect((await send(r, EV, { body: '{"event":4}', channel: ch })).json?.ackId).toBe(0);
    expect(r.events.map((e) => e.event)).toEqual([4]);
  });
});

describe('HEC receiver: recording', () => {
  it('count-only mode counts without storing; waitForEvents; 100 000 events', async () => {
    const r = await start({ record: 'count' });
    const waiting = r.waitForEvents(100_000, 60_000);
    const batch = lines(ev(5000));
    for (let i = 0; i < 20; i++) expect((await send(r, EV, { body: batch, gzip: i % 2 === 0 })).status).toBe(200);
    await waiting;
    expect(r.events).toHaveLength(0);
    expect(r.requests).toHaveLength(0);
    expect(r.stats()).toMatchObject({ eventsIndexed: 100_000, requests: 20, byStatus: { 200: 20 } });
  });

  it('records 100 000 events in full', async () => {
    const r = await start();
    const agent = new Agent({ connections: 4 });
    agents.push(agent);
    const batch = (k: number): string => lines(Array.from({ length: 1000 }, (_, i) => ({ time: 1700000000 + i, host: 'h', sourcetype: 'st', event: { id: k * 1000 + i, msg: 'm'.repeat(100) } })));
    for (let k = 0; k < 100; k += 4) {
      await Promise.all([0, 1, 2, 3].map((j) => send(r, EV, { body: batch(k + j), gzip: true, dispatcher: agent })));
    }
    expect(r.events).toHaveLength(100_000);
    const ids = new Set(r.events.map((e) => (e.event as { id: number }).id));
    expect(ids.size).toBe(100_000);
    expect(r.events.every((e, i) => e.seq === i)).toBe(true);
  });

  it('waitForEvents times out with a useful message', async () => {
    const r = await start();
    await expect(r.waitForEvents(1, 50)).rejects.toThrow(/0 events indexed after 50 ms, waiting for 1/);
  });
});

describe('HEC receiver: TLS', () => {
  it('serves HTTPS with the given certificate', async () => {
    const pki = await makeNodeTestPki(mkdtempSync(join(tmpdir(), 'hec-tls-')), 'hec-receiver');
    const r = await start({ tls: { cert: readFileSync(pki.serverCertFile), key: readFileSync(pki.serverKeyFile) } });
    expect(r.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const agent = new Agent({ connect: { ca: readFileSync(pki.caFile) } });
    agents.push(agent);
    expect((await send(r, EV, { body: '{"event":"tls"}', dispatcher: agent })).status).toBe(200);
    expect(r.events[0]?.event).toBe('tls');
  });
});

describe('HEC receiver: as a process', () => {
  it('prints HEC_URL, obeys /_control, reports /_stats and /_events, restarts, exits 0 on SIGTERM', async () => {
    const p = await HecProcess.start(['--port', '0', '--token', T, '--ack', '--ack-delay-ms', '0']);
    try {
      expect(p.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const ch = randomUUID();
      expect((await send(p.url, EV, { body: lines(ev(3)), channel: ch })).json).toEqual({ text: 'Success', code: 0, ackId: 0 });

      await p.control({ op: 'rejectEvents', match: { 'event.id': 1 } });
      expect((await send(p.url, EV, { body: lines(ev(3)), channel: ch })).json).toMatchObject({ code: 6, 'invalid-event-number': 1 });
      await p.control({ op: 'rejectEvents', match: null });

      await p.control({ op: 'setMode', mode: 'busy503', times: 1 });
      expect((await send(p.url, EV, { body: '{"event":1}', channel: ch })).status).toBe(503);
      expect((await send(p.url, EV, { body: '{"event":1}', channel: ch })).json?.ackId).toBe(1);

      await p.control({ op: 'disableToken', token: T });
      expect((await send(p.url, EV, { body: '{"event":1}', channel: ch })).json?.code).toBe(1);
      await p.control({ op: 'enableToken', token: T });

      await p.control({ op: 'dropAcks', n: 1 });
      expect((await send(p.url, EV, { body: '{"event":"lost"}', channel: ch })).json?.ackId).toBe(2);
      expect((await send(p.url, '/services/collector/ack', { body: '{"acks":[0,1,2]}', channel: ch })).json).toEqual({ acks: { 0: true, 1: true, 2: false } });

      const stats = await p.stats();
      expect(stats).toMatchObject({ eventsIndexed: 5, eventsDiscarded: 1, byStatus: { 200: 4, 400: 1, 403: 1, 503: 1 } });
      const { total, events } = await p.events();
      expect(total).toBe(5);
      expect(events.map((e) => e.event)).toEqual([{ id: 0 }, { id: 1 }, { id: 2 }, { id: 0 }, 1]);

      // Receiver restart: down for a while, then up on the same port with its state.
      await p.control({ op: 'restart', keepState: true, downMs: 500 });
      const healthy = (): Promise<boolean> => send(p.url, '/services/collector/health', { method: 'GET' }).then(() => true, () => false);
      const until = async (want: boolean): Promise<void> => {
        for (let t = Date.now(); Date.now() - t < 10_000; await new Promise((res) => setTimeout(res, 20))) if ((await healthy()) === want) return;
        throw new Error(`receiver never became ${want ? 'reachable' : 'unreachable'}`);
      };
      await until(false);
      await until(true);
      expect((await send(p.url, EV, { body: '{"event":"up"}', channel: ch })).json?.ackId).toBe(3);
      await expect(p.control({ op: 'nope' } as never)).rejects.toThrow(/unknown op/);
    } finally {
      const exit = await p.stop();
      expect(exit).toEqual({ code: 0, signal: null });
    }
  });

  it('count-only process, for benchmarks', async () => {
    const p = await HecProcess.start(['--port', '0', '--token', T, '--count-only']);
    try {
      expect((await send(p.url, EV, { body: lines(ev(1000)), gzip: true })).status).toBe(200);
      expect(await p.stats()).toMatchObject({ eventsIndexed: 1000 });
      expect((await p.events()).total).toBe(0);
    } finally {
      await p.stop();
    }
  });
});
