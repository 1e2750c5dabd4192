// Kafka → logstream → Splunk HEC receiver (test/support/hec, written to Splunk's published protocol):
// exactly-once with order and metadata, a 503 storm and a receiver restart, indexer acknowledgement,
// bad-event isolation (code 6 and 413), origin stamping, and a wrong token that halts without loss.
import { afterEach, describe, expect, it } from 'vitest';
import { produceJson, readTopic, uniqueName } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';
import { committedTotal, newGroupSetup, instanceEnv, waitForStableGroup, type GroupSetup } from '../support/group.ts';
import { Instance, sleep, waitUntil } from '../support/instance.ts';
import { HecReceiver } from '../support/hec/receiver.ts';

const TOKEN = '6f1c1c4e-0000-4000-8000-logstream-test';
const running: Instance[] = [];
const receivers: HecReceiver[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(opts: ConstructorParameters<typeof HecReceiver>[0] = {}): Promise<HecReceiver> {
  const r = new HecReceiver({ tokens: [TOKEN], ...opts });
  await r.start();
  receivers.push(r);
  return r;
}

function hecEnv(s: GroupSetup, name: string, r: HecReceiver, extra: Record<string, string> = {}): Record<string, string> {
  return { ...instanceEnv(s, name), SINKS: 'splunk_hec', HEC_URLS: r.url, HEC_TOKEN: TOKEN, HEC_RETRY_MAX: '2s', ...extra };
}

function start(name: string, env: Record<string, string>): Instance {
  const i = new Instance(name, env);
  running.push(i);
  return i;
}

const rows = (r: HecReceiver) => r.events.map((e) => e.event as Record<string, unknown>);

describe('Splunk HEC sink (real broker, spec receiver)', () => {
  it('100 000 records arrive exactly once, in partition order, with metadata from fields and a valid time', async () => {
    const s = await newGroupSetup('hec-all', 4);
    const r = await receiver();
    const extra = {
      HEC_INDEX_FIELD: 'idx', HEC_INDEX: 'main', HEC_SOURCETYPE: 'logstream:test', HEC_SOURCE: 'kafka',
      HEC_HOST_FIELD: 'device', HEC_TIME_FIELD: 'ts', HEC_FIELDS: 'severity', HEC_STAMP_ORIGIN: 'true',
    };
    const inst = [start('h1', hecEnv(s, 'h1', r, extra)), start('h2', hecEnv(s, 'h2', r, extra))];
    await waitForStableGroup(inst, 4);
    const run = uniqueName('run');
    const records = ledgerRecords(run, 100_000, 4).map((rec, i) => ({
      ...rec,
      value: { ...(rec.value as object), ts: 1_790_000_000_000 + i, device: `fw-${i % 5}`, ...(i % 10 === 0 ? { idx: 'security' } : {}) },
    }));
    await produceJson(s.bootstrap, s.topic, records, { batchSize: 2000 });
    await waitUntil('100 000 committed', async () => (await committedTotal(s)) === 100_000n, 180_000, 1000);
    await Promise.all(inst.map((i) => i.stop()));

    const t = tally(run, 100_000, rows(r));
    process.stdout.write(`hec: lost=${t.lost} dup=${t.dup} altered=${t.altered}\n`);
    expect(t).toEqual({ delivered: 100_000, lost: 0, dup: 0, altered: 0, foreign: 0 });
    const lastOffset = new Map<string, number>();
    for (const e of r.events) {
      const ev = e.event as { id: number; ts: number; device: string; idx?: string; severity: string };
      expect(e.time).toBe(ev.ts / 1000);
      expect(e.host).toBe(ev.device);
      expect(e.index).toBe(ev.idx ?? 'main');
      expect(e.sourcetype).toBe('logstream:test');
      expect(e.source).toBe('kafka');
      expect(e.fields?.severity).toBe(ev.severity);
      const p = String(e.fields?.kafka_partition);
      const offset = Number(e.fields?.kafka_offset);
      expect(e.fields?.kafka_topic).toBe(s.topic);
      expect(offset, `partition ${p} order`).toBeGreaterThan(lastOffset.get(p) ?? -1);
      lastOffset.set(p, offset);
    }
    expect(r.stats().byCode['0']).toBeGreaterThan(0);
  });

  it('Kafka key and headers: usable in the query and stamped into indexed fields', async () => {
    const s = await newGroupSetup('hec-meta', 2);
    const r = await receiver();
    const inst = start('meta', hecEnv(s, 'meta', r, {
      QUERY: "* | where __headers__.tenant = 't-1'",
      HEC_FIELDS: 'tenant=__headers__.tenant,kafka_key=__key__,severity',
      HEC_INDEX_FIELD: '__headers__.index',
    }));
    const run = uniqueName('run');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 100, 2).map((rec, i) => ({ ...rec, key: `user-${i}`, headers: { tenant: `t-${i % 2}`, index: 'audit' } })));
    await waitUntil('100 committed', async () => (await committedTotal(s)) === 100n, 60_000, 500);
    expect(r.events).toHaveLength(50);
    for (const e of r.events) {
      const ev = e.event as { id: number; severity: string };
      expect(ev.id % 2).toBe(1);
      expect(e.fields).toEqual({ tenant: 't-1', kafka_key: `user-${ev.id}`, severity: ev.severity });
      expect(e.index).toBe('audit');
    }
    expect((await inst.stop()).code).toBe(0);
  });

  it('a 60-second 503 storm and a receiver restart lose nothing', async () => {
    const s = await newGroupSetup('hec-storm', 2);
    const r = await receiver();
    const inst = start('storm', hecEnv(s, 'storm', r, { HEC_STAMP_ORIGIN: 'true', INFLIGHT_MAX_RECORDS: '5000' }));
    await waitForStableGroup([inst], 2);
    const run = uniqueName('run');
    const n = 20_000;
    r.setMode('busy503');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, n, 2), { batchSize: 2000 });
    await sleep(30_000);
    expect(r.stats().byCode['9']).toBeGreaterThan(3);
    expect(await committedTotal(s)).toBe(0n); // nothing delivered, nothing committed
    expect((await fetch(`http://127.0.0.1:${await inst.httpPort()}/readyz`)).status).toBe(503);
    await sleep(30_000);
    r.setMode('ok');
    await r.waitForEvents(2000, 60_000);
    await r.restart({ keepState: true, downMs: 3000 });
    await waitUntil('all committed', async () => (await committedTotal(s)) === BigInt(n), 120_000, 1000);
    expect((await inst.stop()).code).toBe(0);
    const t = tally(run, n, rows(r));
    process.stdout.write(`hec 503 storm + restart: lost=${t.lost} dup=${t.dup} (503 replies: ${r.stats().byCode['9']})\n`);
    expect(t.lost).toBe(0);
    expect(t.altered).toBe(0);
  });

  it('indexer acknowledgement: commits only after the ack says indexed; a lost ack makes the batch re-sent', async () => {
    const s = await newGroupSetup('hec-ack', 1);
    const r = await receiver({ ack: true, ackDelayMs: 2500, lbCookieName: 'lb', lbCookieValue: 'idx-7' });
    const inst = start('ack', hecEnv(s, 'ack', r, { HEC_ACK: 'true', HEC_ACK_POLL_INTERVAL: '200ms', HEC_ACK_TIMEOUT: '4s', HEC_BATCH_MAX_RECORDS: '100' }));
    await waitForStableGroup([inst], 1);
    const run = uniqueName('run');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 500, 1));
    await r.waitForEvents(500, 30_000);
    expect(await committedTotal(s)).toBe(0n); // received, not yet indexed: nothing committed
    await waitUntil('500 committed after the acks', async () => (await committedTotal(s)) === 500n, 30_000, 200);

    // The next batch's ack is lost (and its events with it): logstream must send it again.
    r.setAckDelay(0);
    r.dropAcks(1, { discardEvents: true });
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 100, 1, 500));
    await waitUntil('600 committed', async () => (await committedTotal(s)) === 600n, 60_000, 200);
    expect((await inst.stop()).code).toBe(0);
    const t = tally(run, 600, rows(r));
    process.stdout.write(`hec ack: lost=${t.lost} dup=${t.dup}\n`);
    expect(t.lost).toBe(0);
    const ch = r.channelStats(r.events[0]!.channel!)!;
    expect(ch.withLbCookie).toBeGreaterThan(0); // the load balancer's cookie was sent back
    expect(r.requests.filter((q) => q.route === 'event').length).toBeGreaterThan(6); // the lost batch was re-sent
  });

  it('one malformed event in a batch of 500: 499 delivered, 1 dead-lettered with the HEC text; the same for a 413', async () => {
    const s = await newGroupSetup('hec-bad', 1);
    const r = await receiver({ maxContentLength: 40_000 });
    r.rejectEvents((e) => (e.event as { id?: number })?.id === 42);
    const inst = start('bad', hecEnv(s, 'bad', r, { HEC_BATCH_MAX_RECORDS: '500', HEC_BATCH_MAX_WAIT: '2s', HEC_GZIP: 'false', HEC_BATCH_MAX_BYTES: '30000' }));
    await waitForStableGroup([inst], 1);
    const run = uniqueName('run');
    const records = ledgerRecords(run, 500, 1);
    (records[300]!.value as Record<string, unknown>).pad = 'x'.repeat(60_000); // alone it is over the receiver's 40 000-byte limit
    await produceJson(s.bootstrap, s.topic, records);
    await waitUntil('500 committed', async () => (await committedTotal(s)) === 500n, 60_000, 250);
    const t = tally(run, 500, rows(r));
    expect(t.delivered).toBe(498);
    expect(t.dup).toBe(0);
    const got = new Set(rows(r).map((e) => e.id));
    expect(got.has(42)).toBe(false);
    expect(got.has(300)).toBe(false);
    const dead = await readTopic(s.bootstrap, s.dlqTopic, { expected: 2, timeoutMs: 20_000 });
    const reasons = dead.map((d) => [JSON.parse(d.value!.toString()).id, d.headers['logstream.error.code']?.toString(), d.headers['logstream.error.message']?.toString()]);
    expect(reasons).toContainEqual([42, 'HEC_6', expect.stringContaining('Invalid data format')]);
    expect(reasons).toContainEqual([300, 'HEC_HTTP_413', expect.stringContaining('413')]);
    expect((await inst.stop()).code).toBe(0);
  });

  it('spreads over several URLs and skips one that is down; a failing health check shows in /readyz', async () => {
    const s = await newGroupSetup('hec-urls', 2);
    const a = await receiver();
    const b = await receiver();
    a.setMode('unhealthy'); // HEC says its queues are full: the start-up health check reports it
    await b.stop(); // b is down: connection refused
    const inst = start('urls', hecEnv(s, 'urls', a, { HEC_URLS: `${a.url},${b.url}`, HEC_RETRY_MAX: '500ms' }));
    await inst.httpPort();
    const ready = await (await fetch(`http://127.0.0.1:${await inst.httpPort()}/readyz`)).json() as { ready: boolean; reasons: string[] };
    expect(ready.ready).toBe(false);
    expect(ready.reasons.join(' ')).toMatch(/HEC health: .*queues are full/);
    expect(ready.reasons.join(' ')).toContain(b.url.replace(/\/$/, ''));
    a.setMode('ok');
    const run = uniqueName('run');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 3000, 2));
    await waitUntil('3000 committed', async () => (await committedTotal(s)) === 3000n, 60_000, 250);
    expect((await inst.stop()).code).toBe(0);
    expect(tally(run, 3000, rows(a))).toMatchObject({ delivered: 3000, lost: 0, dup: 0 });
  });

  it('a wrong token halts delivery: nothing dead-lettered or committed, /readyz false, and it resumes once fixed', async () => {
    const s = await newGroupSetup('hec-token', 1);
    const r = await receiver();
    const inst = start('tok', hecEnv(s, 'tok', r, { HEC_TOKEN: 'not-the-token', HEC_RETRY_MAX: '1s' }));
    await waitForStableGroup([inst], 1).catch(() => undefined); // readiness is false by design once it fails
    const run = uniqueName('run');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 200, 1));
    await waitUntil('403s', () => (r.stats().byCode['4'] ?? 0) >= 3, 30_000, 200);
    const ready = await fetch(`http://127.0.0.1:${await inst.httpPort()}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toContain('HEC_4');
    expect(await committedTotal(s)).toBe(0n);
    expect(await inst.metricSum('logstream_dead_letter_events_total')).toBe(0);
    expect(inst.logs.some((l) => l.level === 'error' && /halted/.test(l.msg))).toBe(true);
    expect(inst.logs.map((l) => JSON.stringify(l)).join('\n')).not.toContain('not-the-token'); // the token never reaches the logs
    r.addToken('not-the-token');
    await waitUntil('200 committed after the fix', async () => (await committedTotal(s)) === 200n, 30_000, 250);
    expect(tally(run, 200, rows(r))).toMatchObject({ delivered: 200, lost: 0, dup: 0 });
    expect((await inst.stop()).code).toBe(0);
  });
});
