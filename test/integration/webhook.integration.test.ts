// The pull webhook against the real broker: logstream replicas as child processes serving
// GET /v1/logstream/{product}; cursors in the compacted topic, shared by the replicas.
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { newKey } from '../../src/webhook/keys.ts';
import { Instance, sleep } from '../support/instance.ts';
import { createTopic, kafkaBootstrap, produceJson, readTopic, uniqueName, type TestRecord } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';

const running: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

interface Setup {
  topic: string;
  cursorTopic: string;
  dlqTopic: string;
  key: string;
  hash: string;
}

async function setup(partitions: number): Promise<Setup> {
  const topic = uniqueName('wh');
  await createTopic(kafkaBootstrap(), topic, partitions);
  const { key, hash } = newKey();
  return { topic, cursorTopic: `${topic}-cursors`, dlqTopic: `${topic}-dlq`, key, hash };
}

async function replica(s: Setup, name: string, env: Record<string, string> = {}): Promise<{ inst: Instance; base: string }> {
  const inst = new Instance(name, {
    KAFKA_BROKERS: kafkaBootstrap(),
    KAFKA_DLQ_TOPIC: s.dlqTopic,
    WEBHOOK_PRODUCTS: `web=${s.topic}`,
    WEBHOOK_KEYS: `web=${s.hash}`,
    WEBHOOK_CURSOR_TOPIC: s.cursorTopic,
    ...env,
  });
  running.push(inst);
  const port = await inst.httpPort();
  return { inst, base: `http://127.0.0.1:${port}/v1/logstream` };
}

interface Call {
  status: number;
  more: boolean;
  rows: Array<Record<string, unknown>>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function call(base: string, key: string, init: { product?: string; query?: boolean; gzip?: boolean; method?: string; body?: string } = {}): Promise<Call> {
  const url = `${base}/${init.product ?? 'web'}${init.query ? `?key=${encodeURIComponent(key)}` : ''}`;
  const headers: Record<string, string> = {};
  if (!init.query) headers['authorization'] = `Bearer ${key}`;
  if (init.gzip) headers['accept-encoding'] = 'gzip';
  // undici's request() hands over the body as sent (fetch would gunzip it behind our back)
  const res = await request(url, { method: (init.method ?? 'GET') as 'GET', headers, ...(init.body === undefined ? {} : { body: init.body }) });
  const raw = Buffer.from(await res.body.arrayBuffer());
  const body = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
  const rows = res.statusCode === 200 ? body.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  if (res.statusCode === 200) expect(Number(res.headers['logstream-records'])).toBe(rows.length);
  return { status: res.statusCode, more: res.headers['logstream-more'] === 'true', rows, headers: res.headers, body };
}

/** One call, repeated while another call holds the key (409). */
async function callOk(base: string, key: string): Promise<Call> {
  for (let i = 0; ; i++) {
    const c = await call(base, key);
    if (c.status !== 409 || i >= 100) {
      expect(c.status, c.body).toBe(200);
      return c;
    }
    await sleep(200);
  }
}

/** Calls until a call returns no more (409s are retried after a pause). */
async function drain(base: string, key: string, out: Array<Record<string, unknown>>): Promise<{ calls: number; conflicts: number }> {
  let calls = 0;
  let conflicts = 0;
  for (;;) {
    const c = await call(base, key);
    if (c.status === 409) {
      conflicts++;
      await sleep(100);
      continue;
    }
    expect(c.status, c.body).toBe(200);
    calls++;
    out.push(...c.rows);
    if (!c.more) return { calls, conflicts };
  }
}

describe('webhook (pull) with cursors in Kafka', () => {
  it('first call returns about the last 10 minutes; later calls continue from the cursor on any replica, across kill -9', async () => {
    const s = await setup(4);
    const run = uniqueName('run');
    const now = Date.now();
    // 200 records from 20 minutes ago (before the first window), then 500 current ones
    const old: TestRecord[] = ledgerRecords(run, 200, 4, 0).map((r) => ({ ...r, timestamp: now - 20 * 60_000 }));
    await produceJson(kafkaBootstrap(), s.topic, [...old, ...ledgerRecords(run, 500, 4, 200)]);
    const env = { WEBHOOK_LEASE_TIMEOUT: '6s' };
    const a = await replica(s, 'wh-a', env);
    const b = await replica(s, 'wh-b', env);

    const rows: Array<Record<string, unknown>> = [];
    const first = await call(a.base, s.key);
    expect(first.status).toBe(200);
    expect(first.more).toBe(false);
    expect(first.headers['content-type']).toBe('application/x-ndjson');
    rows.push(...first.rows);
    expect(tally(run, 500, first.rows, 200)).toMatchObject({ delivered: 500, lost: 0, dup: 0, altered: 0, foreign: 0 });

    await produceJson(kafkaBootstrap(), s.topic, ledgerRecords(run, 1000, 4, 700));
    const second = await callOk(b.base, s.key); // the other replica knows the cursor
    expect(tally(run, 1000, second.rows, 700)).toMatchObject({ delivered: 1000, lost: 0, dup: 0, foreign: 0 });
    rows.push(...second.rows);
    expect((await call(a.base, s.key)).rows).toEqual([]);

    // killed right after answering: its cursor write may not have happened, its lease may be held;
    // the key is served again at the latest when the lease times out, from the stored cursor
    a.inst.kill('SIGKILL');
    await a.inst.exited;
    await produceJson(kafkaBootstrap(), s.topic, ledgerRecords(run, 300, 4, 1700));
    const third = await callOk(b.base, s.key);
    expect(tally(run, 300, third.rows, 1700)).toMatchObject({ delivered: 300, lost: 0, dup: 0 });
    rows.push(...third.rows);

    // a new replica (nothing on disk anywhere) replays the cursor topic and carries on
    const c = await replica(s, 'wh-c', env);
    await produceJson(kafkaBootstrap(), s.topic, ledgerRecords(run, 100, 4, 2000));
    const fourth = await callOk(c.base, s.key);
    rows.push(...fourth.rows);
    expect(tally(run, 1900, rows, 200)).toMatchObject({ delivered: 1900, lost: 0, dup: 0, altered: 0, foreign: 0 });
    // every call was logged, never with the key
    for (const inst of [b.inst, c.inst]) {
      await inst.waitForLog((l) => l.msg === 'webhook call' && l.status === 200 && typeof l.keyId === 'string' && l.records !== undefined, 10_000);
      expect(JSON.stringify(inst.logs)).not.toContain(s.key);
    }
  });

  it('capped responses say more; concurrent callers on two replicas never get the same record; all 25 000 exactly once', async () => {
    const s = await setup(4);
    const run = uniqueName('run');
    const env = { WEBHOOK_MAX_RECORDS: '1500', WEBHOOK_RATE_LIMIT: '0' };
    const a = await replica(s, 'wh-cap-a', env);
    const b = await replica(s, 'wh-cap-b', env);
    // the first call stores the cursor at the end (nothing in the last 10 minutes yet)
    expect((await call(a.base, s.key)).rows).toEqual([]);
    await produceJson(kafkaBootstrap(), s.topic, ledgerRecords(run, 25_000, 4));

    const c1 = await call(a.base, s.key);
    expect(c1.rows.length).toBe(1500);
    expect(c1.more).toBe(true);
    const rows = [...c1.rows];
    // six clients at once, three per replica, each calling until nothing more is left
    const perClient = await Promise.all([a, a, a, b, b, b].map(async (r) => {
      const got: Array<Record<string, unknown>> = [];
      const stats = await drain(r.base, s.key, got);
      return { got, ...stats };
    }));
    for (const p of perClient) rows.push(...p.got);
    // with overlapping calls a broken lock would hand the same window to two callers
    expect(tally(run, 25_000, rows)).toMatchObject({ delivered: 25_000, lost: 0, dup: 0, altered: 0, foreign: 0 });
    const calls = perClient.reduce((n, p) => n + p.calls, 1);
    expect(calls).toBeGreaterThanOrEqual(17); // 25 000 / 1500 rounded up, plus the empty last calls
    expect(await a.inst.metricSum('logstream_webhook_records_total') + await b.inst.metricSum('logstream_webhook_records_total')).toBe(25_000);
  });

  it('authenticates by bearer or ?key=, answers 401 alike for a wrong key and an unknown product, limits rate and requests, applies the query, gzips, dead-letters what it cannot return', async () => {
    const s = await setup(2);
    const run = uniqueName('run');
    const r = await replica(s, 'wh-auth', { WEBHOOK_RATE_LIMIT: '4', QUERY: "* | where severity = 'high' | project id, severity, run" });
    expect((await call(r.base, s.key, { query: true })).status).toBe(200); // cursor at the end

    await produceJson(kafkaBootstrap(), s.topic, [
      ...ledgerRecords(run, 300, 2),
      { partition: 0, value: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }, // not UTF-8
    ]);
    const got = await call(r.base, s.key, { gzip: true });
    expect(got.status).toBe(200);
    expect(got.headers['content-encoding']).toBe('gzip');
    expect(got.rows).toHaveLength(100);
    expect(got.rows.every((row) => row.severity === 'high' && Object.keys(row).sort().join() === 'id,run,severity')).toBe(true);
    const dead = await readTopic(kafkaBootstrap(), s.dlqTopic, { expected: 1 });
    expect(dead).toHaveLength(1);
    expect(String(dead[0]!.headers['logstream.sink'])).toBe('webhook');
    expect(String(dead[0]!.headers['logstream.error.code'])).toBe('INVALID_UTF8');
    expect(dead[0]!.value).toEqual(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));

    const wrongKey = await call(r.base, newKey().key);
    const unknownProduct = await call(r.base, s.key, { product: 'casb' });
    const noKey = await fetch(`${r.base}/web`);
    expect([wrongKey.status, unknownProduct.status, noKey.status]).toEqual([401, 401, 401]);
    expect(unknownProduct.body).toBe(wrongKey.body);
    expect(await noKey.text()).toBe(wrongKey.body);
    expect((await call(r.base, s.key, { method: 'POST', body: 'x' })).status).toBe(405);
    const long = await fetch(`${r.base}/web?key=${s.key}&pad=${'x'.repeat(3000)}`);
    expect(long.status).toBe(414);

    // 4 calls a minute: two went already; two more pass, the next is refused with Retry-After
    expect((await call(r.base, s.key)).status).toBe(200);
    expect((await call(r.base, s.key)).status).toBe(200);
    const limited = await call(r.base, s.key);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

    const metrics = await r.inst.metrics();
    expect(metrics).toMatch(/logstream_webhook_requests_total\{product="web",status="401"\} 2/);
    expect(metrics).toMatch(/logstream_webhook_requests_total\{product="unknown",status="401"\} 1/);
    expect(metrics).toMatch(/logstream_dead_letter_events_total\{sink="webhook",code="INVALID_UTF8"\} 1/);
    expect(metrics).not.toContain(s.key);
    expect(metrics).not.toContain(s.hash.slice(7));
    expect(JSON.stringify(r.inst.logs)).not.toContain(s.key);
  });

  it('a key not called for longer than WEBHOOK_CURSOR_EXPIRY restarts at the last WEBHOOK_RESET_WINDOW; the skipped records are counted', async () => {
    const s = await setup(2);
    const run = uniqueName('run');
    const r = await replica(s, 'wh-expiry', { WEBHOOK_CURSOR_EXPIRY: '3s', WEBHOOK_RESET_WINDOW: '2s' });
    expect((await call(r.base, s.key)).status).toBe(200);
    await produceJson(kafkaBootstrap(), s.topic, ledgerRecords(run, 100, 2));
    await sleep(4500);
    await produceJson(kafkaBootstrap(), s.topic, ledgerRecords(run, 50, 2, 100));
    const after = await call(r.base, s.key);
    expect(after.headers['logstream-cursor-reset']).toBe('true');
    expect(after.headers['logstream-skipped-records']).toBe('100');
    expect(tally(run, 50, after.rows, 100)).toMatchObject({ delivered: 50, lost: 0, dup: 0, foreign: 0 });
    expect(await r.inst.metricSum('logstream_webhook_skipped_records_total')).toBe(100);
    expect(await r.inst.metricSum('logstream_webhook_cursor_resets_total')).toBe(1);
    // called in time: no reset
    await produceJson(kafkaBootstrap(), s.topic, ledgerRecords(run, 10, 2, 150));
    const next = await call(r.base, s.key);
    expect(next.headers['logstream-cursor-reset']).toBeUndefined();
    expect(tally(run, 10, next.rows, 150)).toMatchObject({ delivered: 10, dup: 0, foreign: 0 });
  });
});
