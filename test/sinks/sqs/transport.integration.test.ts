// The SQS transport alone against a real ElasticMQ 1.7.1: how a delivery batch becomes SendMessageBatch calls
// and how each entry's outcome comes back, including ElasticMQ's own per-entry refusals (the encoder is
// bypassed to make them), FIFO order across calls, aborts, and start-up failures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import type { PipelineRecord } from '../../../src/core/record.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { parseSqsConfig } from '../../../src/sinks/sqs/config.ts';
import { encodeSqsBody } from '../../../src/sinks/sqs/encoder.ts';
import { SqsTransport } from '../../../src/sinks/sqs/transport.ts';
import type { Batch, SendResult } from '../../../src/delivery/sink.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { ElasticMqPeer, TEST_CREDENTIALS } from '../../support/elasticmq.ts';

let peer: ElasticMqPeer;
const logLines: string[] = [];
const logger = createLogger({ level: 'debug', destination: new Writable({ write: (c, _e, cb) => (logLines.push(String(c)), cb()) }) });

beforeAll(async () => {
  peer = await ElasticMqPeer.start({ queues: { plain: {}, 'ordered.fifo': {}, bad: {} } });
  // The AWS default credential chain reads these (this file runs in its own worker process).
  process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;
});
afterAll(async () => {
  await peer?.close();
});

function transport(queue: string, extra: Record<string, string> = {}, endpoint?: string): SqsTransport {
  const env = peer.env(queue, endpoint);
  return new SqsTransport(parseSqsConfig({ ...env, ...extra }), logger);
}

function rec(i: number, fields: Record<string, unknown> = {}, partition = 0): PipelineRecord {
  return { meta: { topic: 't', partition, offset: String(i), timestamp: 0, key: null, headers: {} }, raw: null, fields: { i, ...fields }, size: 0, unchanged: false };
}

function batch(records: PipelineRecord[], payload = (r: PipelineRecord) => encodeSqsBody(r, { maxBytes: 1024 * 1024, stampOrigin: false })): Batch {
  const items = records.map((record) => ({ record, payload: payload(record) }));
  return { key: 't/0', items, bytes: items.reduce((n, i) => n + i.payload.length, 0) };
}

describe('SQS transport against ElasticMQ', () => {
  it('reads the queue at start: standard, FIFO by attribute, and the limit (ElasticMQ reports no MaximumMessageSize)', async () => {
    expect(await transport('plain').readQueue()).toEqual({ fifo: false, maxBytes: 1024 * 1024, queueMaxBytes: undefined });
    expect(await transport('ordered.fifo', { SQS_MAX_MESSAGE_BYTES: '256KiB' }).readQueue()).toEqual({ fifo: true, maxBytes: 262144, queueMaxBytes: undefined });
  });

  it('start-up failures are one line naming the queue: missing queue, nothing listening, no credentials', async () => {
    await expect(transport('nope').readQueue()).rejects.toThrow(`SQS queue ${peer.queueUrl('nope')} (endpoint ${peer.endpoint}, region elasticmq): GetQueueAttributes failed: QueueDoesNotExist: The specified queue does not exist. (HTTP 400)`);
    await expect(transport('plain', {}, 'http://127.0.0.1:1').readQueue()).rejects.toThrow(/^SQS queue http:\/\/127\.0\.0\.1:1\/000000000000\/plain .*GetQueueAttributes failed: ECONNREFUSED/);
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, key: process.env.AWS_SECRET_ACCESS_KEY, home: process.env.HOME, imds: process.env.AWS_EC2_METADATA_DISABLED };
    Object.assign(process.env, { HOME: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' });
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    try {
      await expect(transport('plain').readQueue()).rejects.toThrow(/GetQueueAttributes failed: CredentialsProviderError: Could not load credentials from any providers$/);
    } finally {
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: saved.id, AWS_SECRET_ACCESS_KEY: saved.key, HOME: saved.home });
      if (saved.imds === undefined) delete process.env.AWS_EC2_METADATA_DISABLED;
    }
  });

  it('a batch of 95 records (10 calls at once): every record one message, nothing reported failed', async () => {
    const t = transport('plain');
    await t.readQueue();
    const records = Array.from({ length: 95 }, (_, i) => rec(i, { s: `ü𝄞\u0001\uffff ${i}` }));
    expect(await t.send(batch(records), AbortSignal.timeout(30_000))).toBeUndefined();
    const got = await peer.drain('plain', { expected: 95, quietMs: 500 });
    expect(got.map((m) => (JSON.parse(m.body) as { i: number }).i).sort((a, b) => a - b)).toEqual([...Array(95).keys()]);
    expect(JSON.parse(got[0]!.body).s).toMatch(/^ü𝄞\u0001\uffff \d+$/);
    await t.close();
  });

  it("ElasticMQ's per-entry refusal (SenderFault) fails only that record, permanently, with its Code and Message", async () => {
    const t = transport('bad');
    await t.readQueue();
    // The encoder would never produce this body: bypass it to see what the peer says.
    const records = Array.from({ length: 12 }, (_, i) => rec(i));
    const result = (await t.send(batch(records, (r) => Buffer.from(r.meta.offset === '3' ? 'raw \u0001 control' : JSON.stringify(r.fields))), AbortSignal.timeout(30_000))) as SendResult;
    expect(result.failures).toHaveLength(1);
    const f = result.failures![0]!;
    expect(f.index).toBe(3);
    expect([f.error.deliveryClass, f.error.code, f.error.message]).toEqual(['permanent', 'SQS_InvalidAttributeValue', 'SQS refused the message: InvalidAttributeValue: InvalidMessageContents']);
    expect((await peer.drain('bad', { expected: 11, quietMs: 500 })).length).toBe(11);
    await t.close();
  });

  it('FIFO: 45 records of 3 groups sent call after call; each group in order, ids deduplicated on a re-send', async () => {
    const t = transport('ordered.fifo', { SQS_MESSAGE_GROUP_FIELD: 'g' });
    await t.readQueue();
    const records = Array.from({ length: 45 }, (_, i) => rec(i, { g: `g${i % 3}` }));
    expect(await t.send(batch(records), AbortSignal.timeout(30_000))).toBeUndefined();
    expect(await t.send(batch(records.slice(0, 20)), AbortSignal.timeout(30_000))).toBeUndefined(); // same dedup ids: dropped by the queue
    const got = await peer.drain('ordered.fifo', { expected: 45, ordered: true, quietMs: 1000 });
    expect(got).toHaveLength(45);
    for (const g of ['g0', 'g1', 'g2']) {
      const ids = got.filter((m) => m.groupId === g).map((m) => (JSON.parse(m.body) as { i: number }).i);
      expect(ids).toEqual([...Array(45).keys()].filter((i) => `g${i % 3}` === g));
    }
    await t.close();
  });

  it('an aborted send is one retriable failure for the whole batch; nothing is logged with message bodies', async () => {
    const t = transport('plain');
    await t.readQueue();
    const ac = new AbortController();
    ac.abort();
    const err = await t.send(batch([rec(1, { secret: 'body-text-not-for-logs' }), rec(2)]), ac.signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect([(err as DeliveryError).deliveryClass, (err as DeliveryError).code]).toEqual(['retriable', 'TIMEOUT']);
    const refused = transport('plain', {}, 'http://127.0.0.1:1');
    const down = await refused.send(batch([rec(3, { secret: 'body-text-not-for-logs' })]), AbortSignal.timeout(5000)).catch((e: unknown) => e);
    expect([(down as DeliveryError).deliveryClass, (down as DeliveryError).code]).toEqual(['retriable', 'ECONNREFUSED']);
    expect(logLines.join('')).not.toContain('body-text-not-for-logs');
    await Promise.all([t.close(), refused.close()]);
  });
});
