// The delivery loop alone: per-record outcomes, the time limit of a send, retry with backoff,
// deferred confirmation, and how it reports health and metrics.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { permanent, retriable } from '../../src/core/errors.ts';
import type { Ack, PipelineRecord } from '../../src/core/record.ts';
import { Acknowledger, type DeliveryItem } from '../../src/delivery/acknowledger.ts';
import { DELIVERY_DEFAULTS, type DeliveryConfig } from '../../src/delivery/config.ts';
import { DeadLetterQueue, type DeadLetterMessage } from '../../src/delivery/dead-letter.ts';
import { SendLoop, sortFailures } from '../../src/delivery/send-loop.ts';
import { SinkHealth } from '../../src/delivery/sink-health.ts';
import type { Batch, SendResult, Sink } from '../../src/delivery/sink.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createMetrics, type Metrics } from '../../src/telemetry/metrics.ts';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits (up to 5 s) until `done()` holds: a retry comes after a 1–4 ms backoff, but on a busy 2-core CI
 * machine a fixed 20 ms was once not enough (the resend had not happened yet). The test's assertions
 * follow, so a state that never comes still fails, with its message.
 */
async function settled(done: () => boolean): Promise<void> {
  for (const end = Date.now() + 5000; !done() && Date.now() < end; ) await tick(5);
}

interface TestItem extends DeliveryItem {
  readonly acked: () => number;
}

function item(offset: number, live = () => true): TestItem {
  const raw = Buffer.from(`{"n":${offset}}`);
  const record: PipelineRecord = { meta: { topic: 't', partition: 0, offset: String(offset), timestamp: 0, key: null, headers: {} }, raw, fields: { n: offset }, size: raw.length, unchanged: false };
  let acked = 0;
  const ack: Ack = { done: () => void acked++, get live() { return live(); } };
  return { record, payload: raw, ack, acked: () => acked };
}

async function counter(metrics: Metrics, name: 'retries' | 'sentEvents' | 'sinkErrors'): Promise<number> {
  return (await metrics[name].get()).values.reduce((n, v) => n + v.value, 0);
}

function setup(send: (b: Batch, signal: AbortSignal) => Promise<SendResult | void>, cfg: Partial<DeliveryConfig> = {}) {
  const metrics = createMetrics();
  const labels = { route: 'r', sink: 's' };
  const lines: Array<{ level: string; msg: string }> = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }) });
  const dead: DeadLetterMessage[] = [];
  const dlq = new DeadLetterQueue(async (m) => void dead.push(...m), 1);
  const acks = new Acknowledger(labels, { dlq, metrics, logger });
  const health = new SinkHealth(labels, metrics, logger);
  const abort = new AbortController();
  let work = 0;
  const sink: Sink = { encode: () => Buffer.alloc(0), send };
  const loop = new SendLoop(sink, { ...DELIVERY_DEFAULTS, retryInitialMs: 1, retryMaxMs: 4, ...cfg }, {
    acks, health, metrics, labels, signal: abort.signal, work: { add: () => void work++, done: () => void work-- },
  });
  return { loop, metrics, health, dead, lines, abort, work: () => work };
}

describe('sortFailures', () => {
  it('splits permanent from transient, in order, ignoring repeated and unknown indexes', () => {
    const items = ['a', 'b', 'c', 'd'];
    const later = retriable('LATER', 'later');
    const s = sortFailures(items, [
      { index: 2, error: permanent('BAD', 'bad') },
      { index: 1, error: later },
      { index: 9, error: permanent('X', 'no such record') },
      { index: 2, error: retriable('DUP', 'named twice') },
      { index: 0, error: permanent('WORSE', 'worse') },
      { index: 3, error: retriable('OTHER', 'other') },
    ]);
    expect(s.permanent.map((p) => [p.item, p.error.code])).toEqual([['c', 'BAD'], ['a', 'WORSE']]);
    expect(s.again).toEqual(['b', 'd']);
    expect(s.againError).toBe(later);
    expect([...s.failed]).toEqual(['c', 'b', 'a', 'd']);
  });

  it('no failures: nothing failed, nothing to send again', () => {
    expect(sortFailures([1, 2], undefined)).toEqual({ failed: new Set(), permanent: [], again: [], againError: undefined });
  });
});

describe('SendLoop', () => {
  it('cuts a send off at the time limit and retries it, counting the retry and the error', async () => {
    let calls = 0;
    const t = setup(async (_b, signal) => {
      if (++calls === 1) {
        // a peer that never answers: only the signal ends the attempt
        await new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      }
    }, { requestTimeoutMs: 30 });
    const items = [item(0), item(1)];
    const started = Date.now();
    await t.loop.deliver('t/0', items);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(25);
    expect(took).toBeLessThan(2000);
    expect(calls).toBe(2);
    expect(items.map((i) => i.acked())).toEqual([1, 1]);
    expect(await counter(t.metrics, 'retries')).toBe(1);
    expect((await t.metrics.sinkErrors.get()).values.map((v) => v.labels.code)).toEqual(['TIMEOUT']);
    expect(await counter(t.metrics, 'sentEvents')).toBe(2);
    expect(t.health.healthy).toBe(true); // unhealthy while failing, healthy again once delivered
    expect(t.lines.map((l) => l.msg)).toEqual([expect.stringMatching(/^send failed, will retry/), 'sink delivers again']);
  });

  it('sends again only the records that failed transiently; a permanent batch error dead-letters the rest', async () => {
    const seen: number[][] = [];
    const t = setup(async (b) => {
      seen.push(b.items.map((i) => Number(i.record.meta.offset)));
      if (seen.length === 1) return { failures: [{ index: 0, error: retriable('LATER', 'later') }, { index: 2, error: retriable('LATER', 'later') }] };
      throw permanent('REFUSED', 'refused for good');
    });
    const items = [item(0), item(1), item(2)];
    await t.loop.deliver('t/0', items);
    await settled(() => items.every((i) => i.acked() === 1));
    expect(seen).toEqual([[0, 1, 2], [0, 2]]);
    expect(t.dead.map((d) => d.headers['logstream.source.offset'])).toEqual(['0', '2']);
    expect(t.dead[0]!.headers['logstream.error.code']).toBe('REFUSED');
    expect(items.map((i) => i.acked())).toEqual([1, 1, 1]);
  });

  it('drops records whose partition was revoked before sending them again', async () => {
    let live = true;
    const seen: number[] = [];
    const t = setup(async (b) => {
      seen.push(b.items.length);
      live = false;
      throw retriable('DOWN', 'down');
    });
    await t.loop.deliver('t/0', [item(0, () => live), item(1, () => live)]);
    expect(seen).toEqual([2]);
  });

  it('deferred confirmation: deliver() returns at once; records are acknowledged when confirmed, and a lost confirmation sends them again', async () => {
    let confirm!: { resolve: (r: Omit<SendResult, 'confirm'>) => void; reject: (e: unknown) => void };
    const sends: number[][] = [];
    const t = setup(async (b) => {
      sends.push(b.items.map((i) => Number(i.record.meta.offset)));
      if (sends.length === 1) return { confirm: new Promise((resolve, reject) => (confirm = { resolve, reject })) };
      return { confirm: Promise.resolve({}) };
    });
    const items = [item(0), item(1)];
    await t.loop.deliver('t/0', items);
    expect(items.map((i) => i.acked())).toEqual([0, 0]);
    expect(t.work()).toBe(1); // the pending confirmation keeps the runner busy
    confirm.reject(retriable('HEC_ACK_LOST', 'the channel was reset'));
    await settled(() => items.every((i) => i.acked() === 1) && t.work() === 0);
    expect(sends).toEqual([[0, 1], [0, 1]]);
    expect(items.map((i) => i.acked())).toEqual([1, 1]);
    expect(t.work()).toBe(0);
    expect(t.health.healthy).toBe(true);
    expect(await counter(t.metrics, 'retries')).toBe(1);
  });

  it('stays unhealthy until a confirmation succeeds', async () => {
    let confirm!: (r: Omit<SendResult, 'confirm'>) => void;
    let first = true;
    const t = setup(async () => {
      if (first) {
        first = false;
        throw retriable('DOWN', 'down');
      }
      return { confirm: new Promise((r) => (confirm = r)) };
    });
    await t.loop.deliver('t/0', [item(0)]);
    expect(t.health.healthy).toBe(false); // accepted, not yet confirmed
    confirm({});
    await tick();
    expect(t.health.healthy).toBe(true);
  });

  it('abort ends a retry loop without acknowledging anything', async () => {
    const t = setup(async () => {
      throw retriable('DOWN', 'down');
    }, { retryInitialMs: 10_000, retryMaxMs: 10_000 });
    const items = [item(0)];
    const done = t.loop.deliver('t/0', items);
    await tick(5);
    t.abort.abort();
    await done;
    expect(items[0]!.acked()).toBe(0);
    expect(t.health.lastError).toBe('DOWN: down');
  });
});
