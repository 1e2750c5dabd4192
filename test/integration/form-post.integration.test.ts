// Kafka → logstream → the form POST receiver (test/support/form-receiver: busboy plus a structural
// reading of every body, in its own process): every record exactly once in valid forms of at most 20
// rows, products from a field; the receiver killed for 60 s with nothing lost and nothing committed
// past what it holds; a 400 dead-letters the POST's rows with status and body excerpt; 503 and 429
// (Retry-After honoured) retried; wrong credentials halt without dead-lettering; TLS with a private CA.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { committedOffsets, produceJson, readTopic, uniqueName } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';
import { committedTotal, instanceEnv, newGroupSetup, waitForStableGroup, type GroupSetup } from '../support/group.ts';
import { Instance, sleep, tmpDir, waitUntil } from '../support/instance.ts';
import { makeTestPki } from '../support/pki.ts';
import { FormReceiverProcess } from '../support/form-receiver/process.ts';
import { formRows, readFormStore, type FormPost } from '../support/form-receiver/receiver.ts';

const AUTH = 'Bearer form-post-test-token-7f3a';
const running: Instance[] = [];
const receivers: FormReceiverProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
  await Promise.all(receivers.splice(0).map((r) => r.stop('SIGKILL')));
});

async function receiver(args: string[] = []): Promise<FormReceiverProcess> {
  const r = await FormReceiverProcess.start(['--port', '0', '--auth-value', AUTH, ...args]);
  receivers.push(r);
  return r;
}

function start(s: GroupSetup, name: string, url: string, extra: Record<string, string> = {}): Instance {
  const i = new Instance(name, { ...instanceEnv(s, name), SINKS: 'form_post', FORMPOST_URL: url, FORMPOST_PRODUCT: 'web', FORMPOST_AUTH_VALUE: AUTH, FORMPOST_RETRY_MAX: '2s', ...extra });
  running.push(i);
  return i;
}

const readyz = async (i: Instance): Promise<number> => (await fetch(`http://127.0.0.1:${await i.httpPort()}/readyz`)).status;
const header = (h: Record<string, Buffer | string | undefined>, k: string): string | undefined => h[k]?.toString();

/** Every POST's rows: at most 20, and the product field matches each row's own product (or the default). */
function checkPosts(posts: readonly FormPost[], defaultProduct: string): void {
  for (const p of posts) {
    expect(p.rows).toBeLessThanOrEqual(20);
    expect(p.lines.length).toBe(p.rows);
    for (const row of p.lines.map((l) => JSON.parse(l) as { product?: string })) expect(row.product ?? defaultProduct).toBe(p.product);
    expect(p.filename.startsWith(`${p.product}-`)).toBe(true);
    expect(p.headers.authorization).toBe(AUTH);
  }
}

describe('form POST sink (real broker, busboy receiver in its own process)', () => {
  it('20 000 records arrive exactly once in valid forms of at most 20 rows, in partition order, products from a field', async () => {
    const s = await newGroupSetup('form-all', 4);
    const r = await receiver();
    const inst = start(s, 'all', r.url, { FORMPOST_PRODUCT_FIELD: 'product' });
    await waitForStableGroup([inst], 4);
    const run = uniqueName('run');
    const n = 20_000;
    const input = ledgerRecords(run, n, 4).map((rec, i) => (i % 5 === 0 ? { ...rec, value: { ...(rec.value as object), product: 'email' } } : rec));
    await produceJson(s.bootstrap, s.topic, input, { batchSize: 2000 });
    await waitUntil('20 000 committed', async () => (await committedTotal(s)) === BigInt(n), 120_000, 500);
    expect((await inst.stop()).code).toBe(0);

    const stats = await r.stats();
    const posts = await r.posts();
    const t = tally(run, n, formRows(posts));
    process.stdout.write(`form post: lost=${t.lost} dup=${t.dup} altered=${t.altered}; ${stats.accepted} POSTs, rows per POST ${JSON.stringify(stats.rowsHistogram)}\n`);
    expect(t).toEqual({ delivered: n, lost: 0, dup: 0, altered: 0, foreign: 0 });
    expect(stats.invalid).toBe(0);
    expect(stats.maxRows).toBe(20);
    expect(stats.rowsByProduct).toEqual({ web: 16_000, email: 4_000 });
    expect(stats.accepted).toBeGreaterThanOrEqual(n / 20);
    checkPosts(posts, 'web');
    // Order: within a partition (and product: each is its own batch lane) the rows arrive in sequence.
    const last = new Map<string, number>();
    for (const row of formRows(posts) as Array<{ partition: number; seq: number; product?: string }>) {
      const k = `${row.partition}/${row.product ?? 'web'}`;
      expect(row.seq, `order of ${k}`).toBeGreaterThan(last.get(k) ?? -1);
      last.set(k, row.seq);
    }
  });

  it('receiver killed for 60 s mid-run: nothing lost, nothing committed past what it holds, /readyz false meanwhile', async () => {
    const s = await newGroupSetup('form-down', 2);
    const store = join(tmpDir('form-store'), 'posts.jsonl');
    let r = await receiver(['--store', store]);
    const port = r.port;
    const inst = start(s, 'down', r.url, { FORMPOST_CONCURRENCY: '2' });
    await waitForStableGroup([inst], 2);
    const run = uniqueName('run');
    const n = 10_000;
    const input = ledgerRecords(run, n, 2);
    await produceJson(s.bootstrap, s.topic, input.slice(0, 6000), { batchSize: 1000 });
    await waitUntil('2000 rows at the receiver', async () => (await r.stats()).rowsAccepted >= 2000, 60_000, 20);
    await r.stop('SIGKILL'); // mid-stream: POSTs may be in flight
    const downAt = Date.now();
    await produceJson(s.bootstrap, s.topic, input.slice(6000), { batchSize: 1000 });
    await sleep(15_000);

    // Every record below a committed offset must be in the store of what the receiver acknowledged.
    const held = readFormStore(store);
    const stored = new Set(formRows(held).map((row) => `${row.partition}/${row.seq}`));
    const committed = await committedOffsets(s.bootstrap, s.group, s.topic);
    let committedSum = 0n;
    for (const p of [0, 1]) {
      const c = committed.get(p) ?? 0n;
      committedSum += c;
      for (let seq = 0; seq < Number(c); seq++) expect(stored.has(`${p}/${seq}`), `partition ${p} committed to ${c} but seq ${seq} is not at the receiver`).toBe(true);
    }
    expect(committedSum).toBeLessThan(BigInt(n));
    expect(await readyz(inst)).toBe(503);
    expect(await inst.metricSum('logstream_dead_letter_events_total')).toBe(0);

    await sleep(Math.max(0, 60_000 - (Date.now() - downAt)));
    r = await receiver(['--port', String(port), '--store', store]);
    await waitUntil('10 000 committed', async () => (await committedTotal(s)) === BigInt(n), 90_000, 500);
    expect((await inst.stop()).code).toBe(0);
    expect((await r.stats()).invalid).toBe(0);
    const posts = readFormStore(store);
    const t = tally(run, n, formRows(posts));
    process.stdout.write(`form post 60 s outage: lost=${t.lost} dup=${t.dup} altered=${t.altered}; ${held.length} POSTs before the restart, ${posts.length} in all\n`);
    expect(t.lost).toBe(0);
    expect(t.altered).toBe(0);
    expect(t.foreign).toBe(0);
    // Duplicates only from POSTs the receiver stored but could not answer when killed: one per partition at most.
    expect(t.dup).toBeLessThanOrEqual(2 * 20);
    checkPosts(posts, 'web');
  });

  it('a 400 dead-letters the POST\'s rows with the status and a clean body excerpt; the partition moves on', async () => {
    const s = await newGroupSetup('form-400', 1);
    const r = await receiver();
    await r.control({ op: 'rejectRows', field: 'id', values: [42, 150], status: 400, body: 'row 42\r\nrejected:\u0007 schema <b>mismatch</b>' });
    const inst = start(s, 'bad', r.url);
    await waitForStableGroup([inst], 1);
    const run = uniqueName('run');
    const n = 300;
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, n, 1));
    await waitUntil('300 committed', async () => (await committedTotal(s)) === BigInt(n), 60_000, 250);
    const stats = await r.stats();
    expect(stats.rejected).toBe(2);
    const dead = await readTopic(s.bootstrap, s.dlqTopic, { expected: stats.rowsRejected, timeoutMs: 30_000 });
    const deadIds = dead.map((d) => (JSON.parse(d.value!.toString()) as { id: number }).id);
    expect(deadIds).toContain(42);
    expect(deadIds).toContain(150);
    expect(dead.length).toBe(stats.rowsRejected);
    for (const d of dead) {
      expect(header(d.headers, 'logstream.sink')).toBe('form_post');
      expect(header(d.headers, 'logstream.error.code')).toBe('FORMPOST_HTTP_400');
      expect(header(d.headers, 'logstream.error.message')).toMatch(/^HTTP 400 from http:\/\/127\.0\.0\.1:\d+: row 42 rejected: schema <b>mismatch<\/b>$/);
    }
    // Delivered + dead-lettered = everything, each once.
    const t = tally(run, n, [...formRows(await r.posts()), ...dead.map((d) => JSON.parse(d.value!.toString()) as Record<string, unknown>)]);
    expect(t).toEqual({ delivered: n, lost: 0, dup: 0, altered: 0, foreign: 0 });
    expect(await inst.metricSum('logstream_dead_letter_events_total')).toBe(stats.rowsRejected);
    expect((await inst.stop()).code).toBe(0);
  });

  it('503 and 429 are retried (Retry-After honoured) until delivered, without duplicates', async () => {
    const s = await newGroupSetup('form-retry', 1);
    const r = await receiver();
    await r.control({ op: 'fault', status: 503, times: 4, body: 'maintenance' });
    const inst = start(s, 'retry', r.url, { FORMPOST_RETRY_INITIAL: '200ms' });
    await waitForStableGroup([inst], 1);
    const run = uniqueName('run');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 200, 1));
    await waitUntil('the 503s answered', async () => (await r.stats()).faulted >= 4, 60_000, 100);
    await r.control({ op: 'fault', status: 429, times: 2, retryAfter: '2', body: 'slow down' });
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 200, 1, 200));
    await waitUntil('400 committed', async () => (await committedTotal(s)) === 400n, 60_000, 250);
    const stats = await r.stats();
    expect(stats.byStatus['503']).toBe(4);
    expect(stats.byStatus['429']).toBe(2);
    // After each 429 with Retry-After: 2, the next POST came no sooner than 2 s later.
    for (const [i, e] of stats.log.entries()) {
      if (e.status !== 429) continue;
      const next = stats.log[i + 1];
      expect(next, 'a POST after the 429').toBeDefined();
      expect(next!.at - e.at).toBeGreaterThanOrEqual(1990);
    }
    const t = tally(run, 400, formRows(await r.posts()));
    expect(t).toEqual({ delivered: 400, lost: 0, dup: 0, altered: 0, foreign: 0 });
    expect(await inst.metricSum('logstream_sink_retries_total')).toBeGreaterThanOrEqual(6);
    expect(await inst.metricSum('logstream_dead_letter_events_total')).toBe(0);
    expect((await inst.stop()).code).toBe(0);
  });

  it('wrong credentials (401) halt: nothing dead-lettered or committed, /readyz false, the value never logged; resumes once accepted', async () => {
    const s = await newGroupSetup('form-401', 1);
    const r = await receiver();
    const inst = start(s, 'auth', r.url, { FORMPOST_AUTH_VALUE: 'Bearer not-the-right-token-42', FORMPOST_RETRY_MAX: '1s' });
    await waitForStableGroup([inst], 1).catch(() => undefined); // readiness is false by design once it fails
    const run = uniqueName('run');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 100, 1));
    await waitUntil('401s', async () => ((await r.stats()).byStatus['401'] ?? 0) >= 3, 30_000, 200);
    expect(await readyz(inst)).toBe(503);
    expect(await committedTotal(s)).toBe(0n);
    expect(await inst.metricSum('logstream_dead_letter_events_total')).toBe(0);
    expect(inst.logs.some((l) => l.level === 'error' && /halted/.test(l.msg) && /FORMPOST_HTTP_401|HTTP 401/.test(JSON.stringify(l)))).toBe(true);
    await r.control({ op: 'setAuth', auth: { header: 'authorization', value: 'Bearer not-the-right-token-42' } });
    await waitUntil('100 committed after the fix', async () => (await committedTotal(s)) === 100n, 30_000, 250);
    expect(tally(run, 100, formRows(await r.posts()))).toMatchObject({ delivered: 100, lost: 0, dup: 0 });
    expect((await inst.stop()).code).toBe(0);
    expect(inst.logs.map((l) => JSON.stringify(l)).join('\n')).not.toContain('not-the-right-token-42');
  });

  it('TLS: an unknown CA halts with nothing sent; FORMPOST_TLS_CA_FILE makes it deliver', async () => {
    const pki = await makeTestPki(tmpDir('form-pki'), 'form-post');
    const r = await receiver(['--tls-cert', pki.serverCertFile, '--tls-key', pki.serverKeyFile]);
    expect(r.url.startsWith('https://127.0.0.1:')).toBe(true);
    const s = await newGroupSetup('form-tls', 1);
    const run = uniqueName('run');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 100, 1));
    const strict = start(s, 'tls-strict', r.url, { FORMPOST_RETRY_MAX: '500ms', DRAIN_TIMEOUT: '1s' });
    await waitUntil('a refused handshake', async () => (await strict.metricSum('logstream_sink_errors_total')) >= 2, 30_000, 250);
    expect(await readyz(strict)).toBe(503);
    expect((await r.stats()).requests).toBe(0);
    expect(await committedTotal(s)).toBe(0n);
    expect((await strict.stop()).code).toBe(0);
    const trusted = start(s, 'tls-ca', r.url, { FORMPOST_TLS_CA_FILE: pki.caFile });
    await waitUntil('100 committed', async () => (await committedTotal(s)) === 100n, 60_000, 250);
    expect((await trusted.stop()).code).toBe(0);
    expect(tally(run, 100, formRows(await r.posts()))).toMatchObject({ delivered: 100, lost: 0, dup: 0 });
  });
});
