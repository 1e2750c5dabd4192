// sqs sink: one record per Amazon SQS message (the seed's "one web hit per message"), sent with
// SendMessageBatch; standard and FIFO queues; works with SQS-compatible servers through SQS_ENDPOINT.
import type { SinkDefinition } from '../../delivery/sink.ts';
import { parseSqsConfig, SQS_MAX_BYTES, sqsVars, type SqsConfig } from './config.ts';
import { encodeSqsBody } from './encoder.ts';
import type { SqsTransport } from './transport.ts';

export const sqsSink: SinkDefinition<SqsConfig> = {
  type: 'sqs',
  envPrefix: 'SQS',
  summary: 'Amazon SQS: one message per record, SendMessageBatch calls in parallel, FIFO queues in order, bad records dead-lettered.',
  vars: sqsVars,
  parseConfig: parseSqsConfig,
  // 100 records = 10 SendMessageBatch calls sent at once; the sink checks the message size limit itself
  // (it is the queue's, known only at start), so the shared per-record limit stays off.
  deliveryDefaults: { batchMaxRecords: 100, batchMaxBytes: 2 * 1024 * 1024, batchMaxWaitMs: 200, concurrency: 8, requestTimeoutMs: 30_000 },
  create(cfg, ctx) {
    // The AWS SDK is loaded when an SQS sink starts, not by every process.
    let transport: SqsTransport | undefined;
    const open = async (): Promise<SqsTransport> => (transport ??= new (await import('./transport.ts')).SqsTransport(cfg, ctx.logger));
    // Before start has read the queue's own limit: the configured one.
    const configuredMax = Math.min(cfg.maxMessageBytes, SQS_MAX_BYTES);
    return {
      encode: (record) => encodeSqsBody(record, { maxBytes: transport?.queue.maxBytes ?? configuredMax, stampOrigin: cfg.stampOrigin }),
      async start() {
        const q = await (await open()).readQueue();
        ctx.logger.info({ queue: cfg.queueUrl, fifo: q.fifo, queueMaxBytes: q.queueMaxBytes ?? null, maxMessageBytes: q.maxBytes }, 'SQS queue ready');
        if (cfg.groupField !== undefined && !q.fifo) ctx.logger.warn({ queue: cfg.queueUrl }, 'SQS_MESSAGE_GROUP_FIELD is set but the queue is not a FIFO queue: it is not used');
      },
      send: async (batch, signal) => (transport ?? (await open())).send(batch, signal),
      stop: async () => transport?.close(),
    };
  },
};
