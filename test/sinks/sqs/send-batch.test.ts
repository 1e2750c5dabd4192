import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PipelineRecord } from '../../../src/core/record.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { buildEntries, entryOutcomes, MAX_ENTRIES, sendInGroupOrder, splitIntoCalls } from '../../../src/sinks/sqs/send-batch.ts';
import type { BatchItem } from '../../../src/delivery/sink.ts';

function item(i: number, body = `{"i":${i}}`): BatchItem {
  const record: PipelineRecord = { meta: { topic: 'logs', partition: 1, offset: String(100 + i), timestamp: 0, key: null, headers: {} }, raw: null, fields: { i }, size: 0, unchanged: false };
  return { record, payload: Buffer.from(body) };
}
const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');

describe('splitting a delivery batch into SendMessageBatch calls', () => {
  it('at most 10 entries per call, in order, every item once', () => {
    const calls = splitIntoCalls(new Array(100).fill(1000), 1024 * 1024);
    expect(calls).toHaveLength(10);
    expect(calls.every((c) => c.length === MAX_ENTRIES)).toBe(true);
    expect(calls.flat()).toEqual([...Array(100).keys()]);
    expect(splitIntoCalls(new Array(23).fill(1), 1024 * 1024).map((c) => c.length)).toEqual([10, 10, 3]);
    expect(splitIntoCalls([], 1024)).toEqual([]);
  });

  it('within the byte limit of a call', () => {
    const limit = 256 * 1024;
    const sizes = [100_000, 100_000, 62_144, 1, 200_000, 62_143, 262_144, 5]; // the first two calls exactly at the limit
    const calls = splitIntoCalls(sizes, limit);
    expect(calls).toEqual([[0, 1, 2], [3, 4, 5], [6], [7]]);
    for (const c of calls) expect(c.reduce((n, i) => n + sizes[i]!, 0)).toBeLessThanOrEqual(limit);
  });

  it('random sizes: never over 10 entries or the limit (unless one item alone is), order kept', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const limit = 1024 + Math.floor(rnd() * 300_000);
      const sizes = Array.from({ length: Math.floor(rnd() * 300) }, () => 1 + Math.floor(rnd() * limit * (rnd() < 0.05 ? 1.5 : 0.3)));
      const calls = splitIntoCalls(sizes, limit);
      expect(calls.flat()).toEqual([...sizes.keys()]);
      for (const c of calls) {
        expect(c.length).toBeGreaterThan(0);
        expect(c.length).toBeLessThanOrEqual(10);
        const bytes = c.reduce((n, i) => n + sizes[i]!, 0);
        if (c.length > 1) expect(bytes).toBeLessThanOrEqual(limit);
      }
    }
  });
});

describe('SendMessageBatch entries', () => {
  it('Ids are the positions in the call (unique, [0-9]); bodies as text; attributes and FIFO ids when asked', () => {
    const items = [item(0), item(1, '{"s":"ü𝄞"}'), item(2)];
    const plain = buildEntries(items, [1, 2], { stampOrigin: false });
    expect(plain).toEqual([
      { Id: '0', MessageBody: '{"s":"ü𝄞"}' },
      { Id: '1', MessageBody: '{"i":2}' },
    ]);
    const fifo = buildEntries(items, [0, 2], { stampOrigin: true, groups: ['g0', 'g1', 'g2'] });
    expect(fifo[1]).toEqual({
      Id: '1',
      MessageBody: '{"i":2}',
      MessageAttributes: { kafka_topic: { DataType: 'String', StringValue: 'logs' }, kafka_partition: { DataType: 'Number', StringValue: '1' }, kafka_offset: { DataType: 'Number', StringValue: '102' } },
      MessageGroupId: 'g2',
      MessageDeduplicationId: createHash('sha256').update('logs/1/102').digest('hex'),
    });
    const ids = buildEntries(Array.from({ length: 10 }, (_, i) => item(i)), [...Array(10).keys()], { stampOrigin: false }).map((e) => e.Id!);
    expect(new Set(ids).size).toBe(10);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });
});

describe('reading a SendMessageBatch reply per entry', () => {
  const items = [item(0), item(1), item(2), item(3)];
  const call = [0, 1, 2, 3];

  it('successful entries with our MD5 are delivered', () => {
    const out = entryOutcomes(items, call, { Successful: call.map((i) => ({ Id: String(i), MessageId: `m${i}`, MD5OfMessageBody: md5(items[i]!.payload) })), Failed: [] });
    expect(out).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('Failed[]: SenderFault=true → permanent with Code and Message; false → retriable; throttling → throttled', () => {
    const out = entryOutcomes(items, call, {
      Successful: [{ Id: '0', MessageId: 'm0', MD5OfMessageBody: md5(items[0]!.payload) }],
      Failed: [
        { Id: '1', SenderFault: true, Code: 'InvalidMessageContents', Message: 'bad character' },
        { Id: '2', SenderFault: false, Code: 'InternalError', Message: 'try again' },
        { Id: '3', SenderFault: true, Code: 'KmsThrottled', Message: 'slow down' },
      ],
    });
    expect(out[0]).toBeUndefined();
    expect([out[1]!.deliveryClass, out[1]!.code, out[1]!.message]).toEqual(['permanent', 'SQS_InvalidMessageContents', 'SQS refused the message: InvalidMessageContents: bad character']);
    expect([out[2]!.deliveryClass, out[2]!.code]).toEqual(['retriable', 'SQS_InternalError']);
    expect([out[3]!.deliveryClass, out[3]!.retryAfterMs]).toEqual(['throttled', 1000]);
  });

  it('an MD5 that is not ours, or an entry the reply leaves out, is retriable for that entry alone', () => {
    const out = entryOutcomes(items, call, {
      Successful: [
        { Id: '0', MessageId: 'm0', MD5OfMessageBody: md5(items[0]!.payload) },
        { Id: '1', MessageId: 'm1', MD5OfMessageBody: md5('something else') },
        { Id: '3', MessageId: 'm3', MD5OfMessageBody: md5(items[3]!.payload) },
        { Id: '17', MessageId: 'mx', MD5OfMessageBody: 'x' }, // not ours: ignored
      ],
      Failed: [],
    });
    expect(out[0]).toBeUndefined();
    expect([out[1]!.deliveryClass, out[1]!.code]).toEqual(['retriable', 'SQS_MD5_MISMATCH']);
    expect([out[2]!.deliveryClass, out[2]!.code]).toEqual(['retriable', 'SQS_ENTRY_MISSING']);
    expect(out[3]).toBeUndefined();
  });

  it('maps positions back to batch indexes of a sub-call', () => {
    const sub = [2, 3];
    const out = entryOutcomes(items, sub, { Successful: [{ Id: '1', MessageId: 'm', MD5OfMessageBody: md5(items[3]!.payload) }], Failed: [{ Id: '0', SenderFault: true, Code: 'X', Message: 'y' }] });
    expect(out[0]!.code).toBe('SQS_X');
    expect(out[1]).toBeUndefined();
  });
});

describe('FIFO: calls in order, a failed group held back', () => {
  const err = (cls: 'retriable' | 'permanent', code: string) => new DeliveryError(cls, code, code);

  it('sends calls one after the other; after a retriable failure, later entries of that group are not sent and fail the same way', async () => {
    // items 0..9, groups a/b alternating; calls of 3
    const groups = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'a' : 'b'));
    const calls = splitIntoCalls(new Array(10).fill(1), 1000, 3);
    const outcomes: Array<DeliveryError | undefined> = new Array(10).fill(undefined);
    const sent: number[][] = [];
    const boom = err('retriable', 'SQS_InternalError');
    let inFlight = 0;
    await sendInGroupOrder(calls, groups, outcomes, async (call) => {
      expect(++inFlight).toBe(1); // never two calls at once
      await new Promise((r) => setTimeout(r, 1));
      sent.push(call);
      if (call.includes(2)) outcomes[2] = boom; // entry 2 (group a) fails
      inFlight--;
    });
    expect(sent).toEqual([[0, 1, 2], [3, 5], [7], [9]]); // 4, 6, 8 (group a) held back
    expect(outcomes.map((e, i) => (e ? i : -1)).filter((i) => i >= 0)).toEqual([2, 4, 6, 8]);
    expect(outcomes[4]).toBe(boom);
  });

  it('a dead-lettered entry holds nothing back', async () => {
    const groups = ['g', 'g', 'g', 'g'];
    const outcomes: Array<DeliveryError | undefined> = new Array(4).fill(undefined);
    const sent: number[][] = [];
    await sendInGroupOrder([[0, 1], [2, 3]], groups, outcomes, async (call) => {
      sent.push(call);
      if (call.includes(1)) outcomes[1] = err('permanent', 'SQS_InvalidMessageContents');
    });
    expect(sent).toEqual([[0, 1], [2, 3]]);
    expect(outcomes.map((e) => e?.code)).toEqual([undefined, 'SQS_InvalidMessageContents', undefined, undefined]);
  });
});
