import { describe, expect, it } from 'vitest';
import { PartitionTracker } from '../../src/checkpoint/offset-tracker.ts';
import { permanent, retriable, throttled } from '../../src/core/errors.ts';
import type { PipelineRecord } from '../../src/core/record.ts';
import { DELIVERY_DEFAULTS, type DeliveryConfig } from '../../src/delivery/config.ts';
import { DeadLetterQueue, type DeadLetterMessage } from '../../src/delivery/dead-letter.ts';
import { SinkRunner } from '../../src/delivery/sink-runner.ts';
import type { Batch, SendResult, Sink } from '../../src/delivery/sink.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';

const logger = createLogger({ level: 'silent' });

function rec(partition: number, offset: number, fields: Record<string, unknown> = { n: offset }): PipelineRecord {
  const raw = Buffer.from(JSON.stringify(fields));
  return { meta: { topic: "t", partition, offset: String(offset), timestamp: 0, key: null, headers: { h: "v" } }, raw, fields, size: raw.length, unchanged: false };
}

/** A sink whose behaviour per call is scripted by the test. */
class ScriptedSink implements Sink {
  batches: Array<{ key: string; ids: number[] }> = [];
  script: Array<(b: Batch) => SendResult | void> = [];
  inFlightPerKey = new Map<string, number>();
  maxParallelPerKey = 0;
  encode(r: PipelineRecord): Buffer {
    if (r.fields.bad) throw permanent('TOO_BIG', 'record too large for this sink');
    return Buffer.from(`${JSON.stringify(r.fields)}\n`);
  }
  async send(batch: Batch): Promise<SendResult | void> {
    const n = (this.inFlightPerKey.get(batch.key) ?? 0) + 1;
    this.inFlightPerKey.set(batch.key, n);
    this.maxParallelPerKey = Math.max(this.maxParallelPerKey, n);
    await new Promise((r) => setTimeout(r, 2));
    this.inFlightPerKey.set(batch.key, n - 1);
    this.batches.push({ key: batch.key, ids: batch.items.map((i) => Number(i.record.meta.offset)) });
    const step = this.script.shift();
    return step?.(batch);
  }
}

function setup(cfg: Partial<DeliveryConfig> = {}) {
  const sink = new ScriptedSink();
  const dead: DeadLetterMessage[] = [];
  const dlq = new DeadLetterQueue(async (m) => {
    dead.push(...m);
  }, 1);
  const runner = new SinkRunner('test', sink, { ...DELIVERY_DEFAULTS, retryInitialMs: 1, retryMaxMs: 5, batchMaxWaitMs: 5, ...cfg }, { dlq, metrics: createMetrics(), logger, route: 'default' });
  const trackers = new Map<number, PartitionTracker>();
  const push = (partition: number, offset: number, fields?: Record<string, unknown>) => {
    let t = trackers.get(partition);
    if (!t) trackers.set(partition, (t = new PartitionTracker('t', partition)));
    const [ack] = t.track(offset, 1);
    runner.push(rec(partition, offset, fields), ack!);
  };
  return { sink, dead, runner, trackers, push };
}

describe('SinkRunner', () => {
  it('batches by record count and acknowledges everything delivered', async () => {
    const { sink, runner, trackers, push } = setup({ batchMaxRecords: 3 });
    for (let o = 0; o < 10; o++) push(0, o);
    runner.flush();
    await runner.idle();
    expect(sink.batches.map((b) => b.ids)).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
    expect(trackers.get(0)!.committable).toBe(10);
  });

  it('batches by bytes, and flushes a partial batch after the max wait', async () => {
    const { sink, runner, trackers, push } = setup({ batchMaxBytes: 20, batchMaxWaitMs: 10 });
    for (let o = 0; o < 4; o++) push(0, o, { n: o, pad: 'xx' }); // 17 bytes each: one per batch
    await new Promise((r) => setTimeout(r, 50));
    await runner.idle();
    expect(sink.batches.map((b) => b.ids)).toEqual([[0], [1], [2], [3]]);
    expect(trackers.get(0)!.committable).toBe(4);
  });

  it('accumulateWhileBusy: while a key\'s batch is being sent, the next one grows instead of being sealed on time', async () => {
    const timed = setup({ batchMaxWaitMs: 0, batchMaxRecords: 1000 });
    const acc = setup({ batchMaxWaitMs: 0, batchMaxRecords: 1000 });
    Object.assign(acc.sink, { accumulateWhileBusy: true });
    for (const t of [timed, acc]) {
      // a slow peer: each send takes ~30 ms; a record arrives every ~3 ms
      const send = t.sink.send.bind(t.sink);
      t.sink.send = async (b) => {
        await new Promise((r) => setTimeout(r, 30));
        return send(b);
      };
      for (let o = 0; o < 40; o++) {
        t.push(0, o);
        await new Promise((r) => setTimeout(r, 3));
      }
      t.runner.flush();
      await t.runner.idle();
      expect(t.sink.batches.flatMap((b) => b.ids)).toEqual([...Array(40).keys()]);
      expect(t.trackers.get(0)!.committable).toBe(40);
    }
    // sealed on time: one batch per wait (tiny batches queue up behind the slow send)
    expect(timed.sink.batches.length).toBeGreaterThan(15);
    // accumulated: the first record goes at once, then one batch per send
    expect(acc.sink.batches[0]!.ids).toEqual([0]);
    // (~40 × 3 ms of arrivals over 30 ms sends: about 5 batches; a loaded machine's late timers add a few)
    expect(acc.sink.batches.length).toBeLessThanOrEqual(10);
    expect(acc.sink.batches.length * 2).toBeLessThan(timed.sink.batches.length);
    expect(acc.sink.maxParallelPerKey).toBe(1);
  });

  it('accumulateWhileBusy still honours the caps and other keys', async () => {
    const t = setup({ batchMaxWaitMs: 0, batchMaxRecords: 5 });
    Object.assign(t.sink, { accumulateWhileBusy: true });
    for (let o = 0; o < 23; o++) t.push(o % 2, o);
    await new Promise((r) => setTimeout(r, 5));
    for (let o = 23; o < 40; o++) t.push(o % 2, o);
    t.runner.flush();
    await t.runner.idle();
    expect(t.sink.batches.every((b) => b.ids.length <= 5)).toBe(true);
    for (const p of [0, 1]) expect(t.sink.batches.filter((b) => b.key === `t/${p}`).flatMap((b) => b.ids)).toEqual([...Array(40).keys()].filter((o) => o % 2 === p));
  });

  it('keeps partition order: one batch per partition in flight, partitions in parallel', async () => {
    const { sink, runner, push } = setup({ batchMaxRecords: 2, concurrency: 8 });
    for (let o = 0; o < 40; o++) push(o % 4, o);
    runner.flush();
    await runner.idle();
    expect(sink.maxParallelPerKey).toBe(1);
    for (let p = 0; p < 4; p++) {
      const seen = sink.batches.filter((b) => b.key === `t/${p}`).flatMap((b) => b.ids);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(seen.length).toBe(10);
    }
  });

  it('retries transient and throttled failures until they succeed, never dead-lettering them', async () => {
    const { sink, dead, runner, trackers, push } = setup();
    sink.script = [
      () => {
        throw retriable('HTTP_503', 'busy');
      },
      () => {
        throw throttled('HTTP_429', 'slow down', 20);
      },
      () => {
        throw new Error('socket hang up'); // unknown errors are retried, not dropped
      },
    ];
    const started = Date.now();
    for (let o = 0; o < 5; o++) push(1, o);
    runner.flush();
    await runner.idle();
    expect(Date.now() - started).toBeGreaterThanOrEqual(20); // Retry-After honoured
    expect(sink.batches.length).toBe(4);
    expect(sink.batches.at(-1)!.ids).toEqual([0, 1, 2, 3, 4]);
    expect(dead).toEqual([]);
    expect(trackers.get(1)!.committable).toBe(5);
  });

  it('dead-letters a permanently failing batch with reason headers, then acknowledges it', async () => {
    const { sink, dead, runner, trackers, push } = setup();
    sink.script = [
      () => {
        throw permanent('HEC_6', 'invalid data format');
      },
    ];
    push(2, 7);
    push(2, 8);
    runner.flush();
    await runner.idle();
    await new Promise((r) => setTimeout(r, 20));
    expect(dead.map((d) => d.headers['logstream.source.offset'])).toEqual(['7', '8']);
    expect(dead[0]!.headers).toMatchObject({
      h: 'v',
      'logstream.source.topic': 't',
      'logstream.source.partition': '2',
      'logstream.sink': 'test',
      'logstream.error.class': 'permanent',
      'logstream.error.code': 'HEC_6',
      'logstream.error.message': 'invalid data format',
    });
    expect(dead[0]!.value!.toString()).toBe('{"n":7}');
    expect(trackers.get(2)!.committable).toBe(9);
  });

  it('a sink that copied the record\'s bytes into its payload (rawIn) holds the record by that copy; a dead letter still has the bytes', async () => {
    const { sink, dead, runner } = setup();
    const sent: Batch['items'][] = [];
    // ScriptedSink's payload is the record's JSON and a newline: the bytes are its first part.
    (sink as Sink).rawIn = (r, payload) => (r.raw && payload.subarray(0, r.raw.length).equals(r.raw) ? payload.subarray(0, r.raw.length) : undefined);
    sink.script = [
      (b) => {
        sent.push(b.items);
        throw permanent('HEC_6', 'invalid data format');
      },
    ];
    // The record's bytes are a view into a fetched response of their own (not Node's shared pool).
    const response = Buffer.alloc(64 * 1024);
    const record = rec(2, 7);
    response.write(record.raw!.toString(), 100);
    const [ack] = new PartitionTracker('t', 2).track(7, 1);
    runner.push({ ...record, raw: response.subarray(100, 100 + record.raw!.length) }, ack!);
    runner.flush();
    await runner.idle();
    await new Promise((r) => setTimeout(r, 20));
    const [item] = sent[0]!;
    expect(item!.record.raw!.buffer).not.toBe(response.buffer); // the response is not held for it
    expect(item!.record.raw!.buffer).toBe(item!.payload.buffer);
    expect(item!.record).toMatchObject({ meta: { topic: 't', partition: 2, offset: '7' }, fields: { n: 7 }, unchanged: false });
    expect(dead[0]!.value!.toString()).toBe('{"n":7}');
  });

  it('handles per-record outcomes: delivers the good, dead-letters the bad, retries only the transient', async () => {
    const { sink, dead, runner, trackers, push } = setup();
    sink.script = [
      () => ({ failures: [{ index: 1, error: permanent('BAD', 'rejected') }, { index: 3, error: retriable('LATER', 'try again') }] }),
    ];
    for (let o = 0; o < 5; o++) push(0, o);
    runner.flush();
    await runner.idle();
    await new Promise((r) => setTimeout(r, 20));
    expect(sink.batches.map((b) => b.ids)).toEqual([[0, 1, 2, 3, 4], [3]]);
    expect(dead.map((d) => d.headers['logstream.source.offset'])).toEqual(['1']);
    expect(trackers.get(0)!.committable).toBe(5);
  });

  it('dead-letters a record the encoder refuses without stalling the partition', async () => {
    const { sink, dead, runner, trackers, push } = setup();
    push(0, 0);
    push(0, 1, { bad: true });
    push(0, 2);
    runner.flush();
    await runner.idle();
    await new Promise((r) => setTimeout(r, 20));
    expect(sink.batches.flatMap((b) => b.ids)).toEqual([0, 2]);
    expect(dead[0]!.headers['logstream.error.code']).toBe('TOO_BIG');
    expect(trackers.get(0)!.committable).toBe(3);
  });

  it('stops sending records of a revoked partition', async () => {
    const { sink, runner, trackers, push } = setup();
    sink.script = [
      (b) => {
        trackers.get(0)!.close(); // revoked while this batch failed
        throw retriable('X', 'fail');
      },
    ];
    push(0, 0);
    push(0, 1);
    runner.flush();
    await runner.idle();
    expect(sink.batches.length).toBe(1);
  });

  it('deferred confirmation: acknowledges only when confirmed, and sends again what was not', async () => {
    const { sink, dead, runner, trackers, push } = setup({ batchMaxRecords: 3 });
    let confirmFirst!: (r: SendResult) => void;
    sink.script = [
      () => ({ confirm: new Promise<SendResult>((r) => (confirmFirst = r)) }),
      () => ({ confirm: Promise.resolve({}) }),
    ];
    for (let o = 0; o < 3; o++) push(0, o);
    runner.flush();
    await new Promise((r) => setTimeout(r, 20));
    expect(trackers.get(0)!.committable).toBe(0); // accepted, not yet confirmed
    push(0, 3);
    runner.flush();
    await new Promise((r) => setTimeout(r, 20));
    expect(sink.batches.map((b) => b.ids)).toEqual([[0, 1, 2], [3]]); // the lane did not wait for the confirmation
    expect(trackers.get(0)!.committable).toBe(0);
    confirmFirst({ failures: [{ index: 1, error: retriable('HEC_ACK_TIMEOUT', 'no ack') }, { index: 2, error: permanent('BAD', 'rejected') }] });
    await runner.idle();
    await new Promise((r) => setTimeout(r, 20));
    expect(sink.batches.map((b) => b.ids)).toEqual([[0, 1, 2], [3], [1]]); // 1 sent again
    expect(dead.map((d) => d.headers['logstream.source.offset'])).toEqual(['2']);
    expect(trackers.get(0)!.committable).toBe(4);
  });

  it('abort() ends retry loops so shutdown can finish', async () => {
    const { sink, runner, trackers, push } = setup({ retryInitialMs: 50, retryMaxMs: 50 });
    sink.script = Array.from({ length: 1000 }, () => () => {
      throw retriable('DOWN', 'down');
    });
    push(0, 0);
    runner.flush();
    await new Promise((r) => setTimeout(r, 120));
    runner.abort();
    await runner.idle();
    expect(trackers.get(0)!.committable).toBe(0); // nothing acknowledged: it will be read again
    expect(runner.healthy).toBe(false);
  });
});
