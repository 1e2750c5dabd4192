// The two endings of a record in a sink's delivery: delivered (counted) or dead-lettered (then acknowledged).
import { describe, expect, it } from 'vitest';
import { permanent } from '../../src/core/errors.ts';
import type { Ack, PipelineRecord } from '../../src/core/record.ts';
import { Acknowledger } from '../../src/delivery/acknowledger.ts';
import { DeadLetterQueue, type DeadLetterMessage } from '../../src/delivery/dead-letter.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';

const logger = createLogger({ level: 'silent' });

function rec(offset: number, timestamp = 0): PipelineRecord {
  const raw = Buffer.from(`{"n":${offset}}`);
  return { meta: { topic: 't', partition: 3, offset: String(offset), timestamp, key: null, headers: {} }, raw, fields: { n: offset }, size: raw.length, unchanged: false };
}

function ack(live = true): Ack & { count: number } {
  const a = { count: 0, live, done: () => void a.count++ };
  return a;
}

describe('Acknowledger', () => {
  it('delivered: acknowledges and counts records and bytes, observes freshness only for known timestamps', async () => {
    const metrics = createMetrics();
    const acks = new Acknowledger({ route: 'r', sink: 's' }, { dlq: new DeadLetterQueue(async () => {}), metrics, logger });
    const a = [ack(), ack()];
    acks.delivered([{ record: rec(0), payload: Buffer.alloc(10), ack: a[0]! }, { record: rec(1), payload: Buffer.alloc(5), ack: a[1]! }]);
    expect(a.map((x) => x.count)).toEqual([1, 1]);
    expect((await metrics.sentEvents.get()).values).toEqual([{ value: 2, labels: { route: 'r', sink: 's' } }]);
    expect((await metrics.sentBytes.get()).values[0]!.value).toBe(15);
    const count = async () => (await metrics.freshness.get()).values.find((v) => v.metricName === 'logstream_sink_freshness_seconds_count')?.value ?? 0;
    expect(await count()).toBe(0); // timestamp 0: unknown
    acks.delivered([{ record: rec(2, Date.now() - 1000), payload: Buffer.alloc(1), ack: ack() }]);
    expect(await count()).toBe(1);
  });

  it('deadLetter: acknowledges only after the dead-letter write; never when it fails or the partition was revoked', async () => {
    const metrics = createMetrics();
    const dead: DeadLetterMessage[] = [];
    let fail = false;
    let release!: () => void;
    const written = new Promise<void>((r) => (release = r));
    const dlq = new DeadLetterQueue(async (m) => {
      await written;
      if (fail) throw new Error('shutting down');
      dead.push(...m);
    }, 1);
    const acks = new Acknowledger({ route: 'r', sink: 'hec' }, { dlq, metrics, logger });
    const a = ack();
    acks.deadLetter(rec(7), a, permanent('HEC_6', 'invalid data format'));
    await new Promise((r) => setTimeout(r, 10));
    expect(a.count).toBe(0); // not yet written
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(a.count).toBe(1);
    expect(dead[0]!.headers).toMatchObject({ 'logstream.sink': 'hec', 'logstream.error.code': 'HEC_6', 'logstream.source.offset': '7' });
    expect((await metrics.deadLettered.get()).values).toEqual([{ value: 1, labels: { route: 'r', sink: 'hec', code: 'HEC_6' } }]);

    const revoked = ack(false);
    acks.deadLetter(rec(8), revoked, permanent('HEC_6', 'invalid data format'));
    await new Promise((r) => setTimeout(r, 10));
    expect(revoked.count).toBe(0);
    expect(dead.length).toBe(1); // its next owner reads it again: no dead letter now

    fail = true;
    const b = ack();
    acks.deadLetter(rec(9), b, permanent('HEC_6', 'invalid data format'));
    await new Promise((r) => setTimeout(r, 10));
    expect(b.count).toBe(0);
  });
});
