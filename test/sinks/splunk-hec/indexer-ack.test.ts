// Splunk indexer acknowledgement (src/sinks/splunk-hec/indexer-ack.ts, and how the transport uses it)
// against the HEC spec receiver (test/support/hec/receiver.ts) in this process: the receiver issues
// an ackId per accepted request on a channel, reports it true once and then forgets it, and can lose
// acks (dropAcks, loseAck) as an indexer that lost the data would.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { IndexerAcks, type AckTarget, type IndexerAckOptions } from '../../../src/sinks/splunk-hec/indexer-ack.ts';
import type { HecReceiver } from '../../support/hec/receiver.ts';
import { TOKEN, captureLogger, ids, onCleanup, origin, receiver, signal, transport } from './support.ts';

const ACK_PATH = '/services/collector/ack';

/** An IndexerAcks as the transport makes it (polling every 20 ms), closed after the test. */
function poller(channel: string, o: Partial<IndexerAckOptions> = {}) {
  const { logger, lines } = captureLogger();
  const acks = new IndexerAcks({ channel, authorization: () => `Splunk ${TOKEN}`, pollIntervalMs: 20, timeoutMs: 5_000, maxPending: 100, logger, ...o });
  onCleanup(() => acks.close());
  return { acks, lines };
}

/** A receiver as an ack target: a pool to it and its ack path. */
function target(r: HecReceiver): AckTarget {
  const pool = new Pool(origin(r));
  onCleanup(() => pool.close());
  return { pool, ackPath: ACK_PATH, cookie: undefined };
}

/** POSTs one event on `channel`; returns the ackId HEC answered. */
async function post(r: HecReceiver, channel: string, id = 0): Promise<number> {
  const res = await request(`${r.url}/services/collector/event`, {
    method: 'POST',
    headers: { authorization: `Splunk ${TOKEN}`, 'x-splunk-request-channel': channel },
    body: JSON.stringify({ event: { id } }),
  });
  const body = (await res.body.json()) as { ackId?: number };
  expect(res.statusCode).toBe(200);
  return body.ackId!;
}

const ackPolls = (r: HecReceiver) => r.requests.filter((q) => q.route === 'ack');

// Every wait here settles in well under a second; a bound makes a poller that never settles fail fast.
describe('IndexerAcks', { timeout: 10_000 }, () => {
  it('resolves true as soon as a poll reports the ackId indexed (HEC says so only once), and stops polling when none is pending', async () => {
    const r = await receiver({ ack: true, ackDelayMs: 150 });
    const ch = randomUUID();
    const { acks } = poller(ch);
    const tg = target(r);
    const issued = [await post(r, ch, 0), await post(r, ch, 1), await post(r, ch, 2)];
    expect(issued).toEqual([0, 1, 2]);
    const t0 = Date.now();
    const waits = issued.map((id) => acks.wait(tg, id));
    expect(acks.pending).toBe(3);
    expect(await Promise.all(waits)).toEqual([true, true, true]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100); // not before the receiver said so
    expect(acks.pending).toBe(0);
    const stats = r.stats();
    expect(stats.acks).toMatchObject({ issued: 3, reportedTrue: 3, pending: 0 });
    expect(issued.map((id) => r.ackState(ch, id))).toEqual([undefined, undefined, undefined]); // forgotten by HEC
    expect(stats.acks.queries).toBeGreaterThan(1); // polled while they were pending …
    await sleep(150);
    expect(r.stats().acks.queries).toBe(stats.acks.queries); // … and not after:
    // the poll interval is gone (close() finds no timer left to clear)
    const timers = (): number => process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
    const left = timers();
    acks.close();
    expect(timers()).toBe(left);
    expect(ackPolls(r).every((q) => q.channel === ch && q.token === TOKEN && q.status === 200)).toBe(true);
  });

  it('polls each channel for its own ackIds: the same number on two channels is two batches', async () => {
    const r = await receiver({ ack: true });
    const [ch1, ch2] = [randomUUID(), randomUUID()];
    const p1 = poller(ch1, { timeoutMs: 300 });
    const p2 = poller(ch2, { timeoutMs: 300 });
    const tg = target(r);
    expect(await post(r, ch1)).toBe(0);
    expect(await post(r, ch2)).toBe(0);
    expect(r.loseAck(0, { channel: ch2 })).toBe(1);
    const [on1, on2] = await Promise.all([p1.acks.wait(tg, 0), p2.acks.wait(tg, 0)]);
    expect(on1).toBe(true);
    expect(on2).toBe(false);
    expect(new Set(ackPolls(r).map((q) => q.channel))).toEqual(new Set([ch1, ch2]));
  });

  it('polls each URL for its own ackIds', async () => {
    const [a, b] = await Promise.all([receiver({ ack: true }), receiver({ ack: true })]);
    const ch = randomUUID();
    const { acks } = poller(ch, { timeoutMs: 300 });
    expect(await post(a, ch)).toBe(0);
    expect(await post(b, ch)).toBe(0);
    b.loseAck(0);
    expect(await Promise.all([acks.wait(target(a), 0), acks.wait(target(b), 0)])).toEqual([true, false]);
    expect(ackPolls(a).length).toBeGreaterThan(0);
    expect(ackPolls(b).length).toBeGreaterThan(0);
  });

  it('an ack that never comes (lost by the indexer) resolves false once the timeout has passed', async () => {
    const r = await receiver({ ack: true });
    const ch = randomUUID();
    const { acks } = poller(ch, { timeoutMs: 250 });
    r.dropAcks(1);
    const id = await post(r, ch);
    expect(r.ackState(ch, id)).toBe('lost');
    const t0 = Date.now();
    expect(await acks.wait(target(r), id)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(ackPolls(r).length).toBeGreaterThan(3); // asked, and heard false, until then
  });

  it('a failed poll is logged and polled again', async () => {
    const r = await receiver({ ack: true });
    const ch = randomUUID();
    const { acks, lines } = poller(ch);
    const id = await post(r, ch);
    r.setMode('busy503', { times: 1 }); // the next request is the first poll
    expect(await acks.wait(target(r), id)).toBe(true);
    expect(ackPolls(r).map((q) => q.status)).toEqual([503, 200]);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['indexer acknowledgement poll failed (will poll again): {"text":"Server is busy","code":9}']);
  });

  it('room() waits while maxPending acks are pending, until one is settled or the signal aborts', async () => {
    const r = await receiver({ ack: true, ackDelayMs: 400 });
    const ch = randomUUID();
    const { acks } = poller(ch, { maxPending: 1 });
    await acks.room(signal()); // nothing pending
    const first = acks.wait(target(r), await post(r, ch));
    let roomy = false;
    const room = acks.room(signal()).then(() => (roomy = true));
    await sleep(80);
    expect(roomy).toBe(false);
    expect(await first).toBe(true);
    await room;
    expect(acks.pending).toBe(0);

    const second = acks.wait(target(r), await post(r, ch));
    const abort = new AbortController();
    const aborted = acks.room(abort.signal);
    abort.abort();
    await aborted;
    expect(acks.pending).toBe(1);
    expect(await second).toBe(true);
  });

  it('close() resolves every pending wait false', async () => {
    const r = await receiver({ ack: true, ackDelayMs: 60_000 });
    const ch = randomUUID();
    const { acks } = poller(ch);
    const w = acks.wait(target(r), await post(r, ch));
    acks.close();
    expect(await w).toBe(false);
    expect(acks.pending).toBe(0);
  });
});

describe('HEC transport with HEC_ACK=true', { timeout: 10_000 }, () => {
  const ACK_ENV = { HEC_ACK: 'true', HEC_ACK_TIMEOUT: '300ms', HEC_ACK_POLL_INTERVAL: '20ms' };

  it('a batch is confirmed when indexed; a lost ack lists every item of the batch to be sent again, and the resend is confirmed', async () => {
    const r = await receiver({ ack: true });
    const { t, batch } = transport(r.url, ACK_ENV);
    const ok = await t.send(batch([0, 1, 2]), signal());
    expect(ok?.failures).toEqual([]);
    expect(await ok!.confirm).toEqual({ failures: [] });

    r.dropAcks(1); // the indexer loses the next batch
    const b = batch([3, 4, 5]);
    const sent = await t.send(b, signal());
    expect(sent?.failures).toEqual([]);
    const t0 = Date.now();
    const confirmed = await sent!.confirm!;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(confirmed.failures?.map((f) => [f.index, f.error.deliveryClass, f.error.code])).toEqual([0, 1, 2].map((i) => [i, 'retriable', 'HEC_ACK_TIMEOUT']));
    expect(confirmed.failures![0]!.error.message).toBe('no indexer acknowledgement within 300 ms; sending again');
    expect(ids(r)).toEqual([0, 1, 2]); // lost with its ack

    const again = await t.send(b, signal());
    expect(await again!.confirm).toEqual({ failures: [] });
    expect(ids(r)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('an ack lost after the data was indexed makes a duplicate on resend (at least once)', async () => {
    const r = await receiver({ ack: true, ackDelayMs: 60_000 });
    const { t, batch } = transport(r.url, ACK_ENV);
    const sent = await t.send(batch([7]), signal());
    expect(r.loseAck(0, { channel: t.channel, discardEvents: false })).toBe(1);
    expect((await sent!.confirm!).failures?.map((f) => f.index)).toEqual([0]);
    r.setAckDelay(0);
    const again = await t.send(batch([7]), signal());
    expect(await again!.confirm).toEqual({ failures: [] });
    expect(ids(r)).toEqual([7, 7]);
  });

  it('a batch split around bad events waits for the ack of each part; a lost ack fails only the items of its part', async () => {
    const r = await receiver({ ack: true });
    const { t, batch } = transport(r.url, ACK_ENV);
    r.rejectEvents((e) => [1, 4].includes((e.event as { id: number }).id));
    // HEC indexes [0] and refuses 1 (no ackId), indexes [2, 3] and refuses 4 (no ackId), then takes [5]
    // under an ackId, which it loses
    r.dropAcks(1);
    const sent = await t.send(batch([0, 1, 2, 3, 4, 5]), signal());
    expect(sent?.failures?.map((f) => [f.index, f.error.code])).toEqual([[1, 'HEC_6'], [4, 'HEC_6']]);
    expect((await sent!.confirm!).failures?.map((f) => [f.index, f.error.code])).toEqual([[5, 'HEC_ACK_TIMEOUT']]);
  });

  it('polls the URL that took the batch, on the transport\'s channel, with that URL\'s load balancer cookie', async () => {
    const [a, b] = await Promise.all([receiver({ ack: true, lbCookieValue: 'idx-a' }), receiver({ ack: true, lbCookieValue: 'idx-b' })]);
    const { t, batch } = transport([a.url, b.url], ACK_ENV);
    const sent = [await t.send(batch([0]), signal()), await t.send(batch([1]), signal())];
    for (const s of sent) expect(await s!.confirm).toEqual({ failures: [] });
    for (const r of [a, b]) {
      const polls = ackPolls(r);
      expect(polls.length).toBeGreaterThan(0);
      expect(polls.every((q) => q.channel === t.channel && q.lbCookie === 'match' && q.path === ACK_PATH)).toBe(true);
    }
    expect([ids(a), ids(b)]).toEqual([[0], [1]]);
  });

  it('at most HEC_ACK_MAX_PENDING batches wait for their ack: the next send waits for room', async () => {
    const r = await receiver({ ack: true, ackDelayMs: 400 });
    const { t, batch } = transport(r.url, { ...ACK_ENV, HEC_ACK_TIMEOUT: '5s', HEC_ACK_MAX_PENDING: '1' });
    const first = await t.send(batch([0]), signal());
    let secondSent = false;
    const second = t.send(batch([1]), signal()).then((res) => {
      secondSent = true;
      return res;
    });
    await sleep(100);
    expect(secondSent).toBe(false);
    expect(r.requests.filter((q) => q.route === 'event')).toHaveLength(1);
    expect(await first!.confirm).toEqual({ failures: [] });
    expect(await (await second)!.confirm).toEqual({ failures: [] });
    expect(ids(r)).toEqual([0, 1]);
  });

  it('a token without indexer acknowledgement: one warning, and accepted batches count as delivered at once', async () => {
    const r = await receiver({ ack: false });
    const { t, batch, lines } = transport(r.url, ACK_ENV);
    expect(await t.send(batch([0]), signal())).toBeUndefined();
    expect(await t.send(batch([1]), signal())).toBeUndefined();
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['HEC_ACK=true but HEC answered without an ackId: indexer acknowledgement is off for this token; treating accepted events as delivered']);
    expect(ackPolls(r)).toEqual([]);
  });
});
