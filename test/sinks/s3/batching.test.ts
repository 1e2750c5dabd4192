// The S3 sink's batch key on the real delivery layer: records of different log types, minutes or
// partitions never share an object, and an object holds at most S3_BATCH_MAX_RECORDS records.
import { describe, expect, it } from 'vitest';
import { PartitionTracker } from '../../../src/checkpoint/offset-tracker.ts';
import { DELIVERY_DEFAULTS } from '../../../src/delivery/config.ts';
import { DeadLetterQueue } from '../../../src/delivery/dead-letter.ts';
import { SinkRunner } from '../../../src/delivery/sink-runner.ts';
import { s3Sink } from '../../../src/sinks/s3/index.ts';
import { recordFolder } from '../../../src/sinks/s3/object-key.ts';
import type { Batch, Sink } from '../../../src/delivery/sink.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { createMetrics } from '../../../src/telemetry/metrics.ts';
import { cfg, rec } from './support.ts';

const logger = createLogger({ level: 'silent' });

describe('S3 batching', () => {
  it('one object per partition, log type and minute; at most S3_BATCH_MAX_RECORDS records each', async () => {
    const c = cfg();
    const real = s3Sink.create(c, { name: 's3', logger, countTruncated: () => {} });
    const batches: Batch[] = [];
    const sink: Sink = {
      encode: real.encode,
      batchKey: real.batchKey!,
      async send(batch) {
        await new Promise((r) => setTimeout(r, 1));
        batches.push(batch);
      },
    };
    const runner = new SinkRunner('s3', sink, { ...DELIVERY_DEFAULTS, ...s3Sink.deliveryDefaults, batchMaxRecords: 100, batchMaxWaitMs: 5 }, {
      dlq: new DeadLetterQueue(async () => {}, 1),
      metrics: createMetrics(),
      logger,
      route: 'default',
    });
    const types = ['activities', 'queries', 'replays'];
    const t0 = Date.UTC(2024, 1, 1, 18, 58, 59, 500); // records span 18:58, 18:59 and 19:00
    const trackers = [new PartitionTracker('audit', 0), new PartitionTracker('audit', 1)];
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const partition = i % 2;
      const [ack] = trackers[partition]!.track(i, 1);
      const fields = { logType: types[i % 3], id: i, timestamp: new Date(t0 + i * 30).toISOString() };
      runner.push(rec(fields, { partition, offset: String(i) }), ack!);
    }
    runner.flush();
    await runner.idle();
    real.stop?.();

    const seen = new Set<number>();
    const folders = new Set<string>();
    for (const b of batches) {
      expect(b.items.length).toBeLessThanOrEqual(100);
      const folder = recordFolder(b.items[0]!.record, c);
      folders.add(folder);
      for (const it of b.items) {
        expect(recordFolder(it.record, c)).toBe(folder);
        expect(it.record.meta.partition).toBe(b.items[0]!.record.meta.partition);
        expect(seen.has(it.record.fields.id as number)).toBe(false);
        seen.add(it.record.fields.id as number);
      }
    }
    expect(seen.size).toBe(n);
    expect([...folders].sort()).toEqual(['18/58', '18/59', '19/00'].flatMap((m) => types.map((t) => `${t}/2024/02/01/${m}`)).sort());
  });
});
