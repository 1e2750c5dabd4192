// s3 sink: batches of records as JSON-lines objects in the StrongDM Log Stream layout
// (<prefix>/<logType>/YYYY/MM/DD/HH/MM/<uuid>.json), for SIEMs that ingest from a bucket.
import type { SinkDefinition } from '../../delivery/sink.ts';
import { parseS3Config, s3Vars, type S3Config } from './config.ts';
import { encodeS3Record } from './encoder.ts';
import { recordFolder } from './object-key.ts';
import type { S3Transport } from './transport.ts';

const MiB = 1024 * 1024;

export const s3Sink: SinkDefinition<S3Config> = {
  type: 's3',
  envPrefix: 'S3',
  summary: 'JSON-lines objects in an S3 bucket (or an S3-compatible store), in the StrongDM Log Stream key layout.',
  vars: s3Vars,
  parseConfig: parseS3Config,
  // The seed: records are written immediately, unless a write is in progress; then up to 1000 entries
  // or about 100 MiB accumulate for the next write (accumulateWhileBusy below; the wait is 0).
  deliveryDefaults: { batchMaxRecords: 1000, batchMaxBytes: 100 * MiB, batchMaxWaitMs: 0, concurrency: 16, requestTimeoutMs: 120_000 },
  create(cfg, ctx) {
    // The AWS SDK is loaded when an S3 sink starts, not by every process (about 40 MB and 0.1 CPU-s).
    let transport: S3Transport | undefined;
    const open = async (): Promise<S3Transport> => (transport ??= new (await import('./transport.ts')).S3Transport(cfg, ctx.logger));
    return {
      encode: encodeS3Record,
      accumulateWhileBusy: true,
      // One object per log type and minute: the key's folders hold for every line in it.
      batchKey: (record) => recordFolder(record, cfg),
      async start() {
        const t = await open();
        await t.checkObjectLock();
        t.chain?.start();
        if (!cfg.testOnStart) return;
        const written = await t.writeTestObject();
        ctx.logger.info({ bucket: written.bucket, key: written.key }, 'S3 test object written (S3_TEST_ON_START)');
      },
      async send(batch, signal) {
        await (transport ?? (await open())).send(batch, signal);
      },
      async stop() {
        // The chains' heads are anchored before the client goes (delivery has drained).
        await transport?.chain?.stop().catch((err: unknown) => ctx.logger.warn({ err: String((err as Error)?.message ?? err) }, 'archive chain anchors not written at stop'));
        transport?.close();
      },
    };
  },
};
