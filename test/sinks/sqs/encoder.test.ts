import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DeliveryError } from '../../../src/core/errors.ts';
import type { PipelineRecord } from '../../../src/core/record.ts';
import {
  attributesBytes,
  deduplicationId,
  encodeSqsBody,
  escapeNonCharacters,
  invalidCharacter,
  messageBytes,
  messageGroupId,
  originAttributes,
} from '../../../src/sinks/sqs/encoder.ts';

function rec(fields: Record<string, unknown>, meta: Partial<PipelineRecord['meta']> = {}, raw: Buffer | null = null): PipelineRecord {
  return {
    meta: { topic: 'logs', partition: 3, offset: '1234', timestamp: 1_700_000_000_000, key: null, headers: {}, ...meta },
    raw,
    fields,
    size: 0,
    unchanged: raw !== null,
  };
}

const opts = { maxBytes: 1024 * 1024, stampOrigin: false };

/** The code points SQS accepts (the allowed set of PROTOCOLS.md), for an independent check of bodies. */
function allowedBySqs(text: string): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const ok = c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
    if (!ok) return false;
  }
  return true;
}

function permanentError(fn: () => unknown): DeliveryError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).deliveryClass).toBe('permanent');
    return err as DeliveryError;
  }
  throw new Error('expected a permanent DeliveryError');
}

describe('SQS message body', () => {
  it('is the record as one JSON object, without a line break', () => {
    expect(encodeSqsBody(rec({ a: 1, b: 'x' }), opts).toString()).toBe('{"a":1,"b":"x"}');
  });

  it('ships an untouched record as its original bytes', () => {
    const raw = Buffer.from('{"b": 2,  "a":1}');
    expect(encodeSqsBody(rec({ b: 2, a: 1 }, {}, raw), opts)).toBe(raw);
  });

  it('keeps every character: controls and lone surrogates escaped by JSON, U+FFFE/U+FFFF escaped here, the rest as is', () => {
    const text = 'tab\t nl\n cr\r nul\u0000 bell\u0007 esc\u001b del\u007f lone\ud800 low\udfff nonchars\ufffe\uffff bom\ufeff repl\ufffd astral𝄞 ünï';
    const body = encodeSqsBody(rec({ text }), opts);
    const s = body.toString('utf8');
    expect(allowedBySqs(s)).toBe(true);
    expect(invalidCharacter(body)).toBeUndefined();
    expect(s).toContain('\\ufffe\\uffff');
    expect(s).toContain('\ufeff'); // allowed: sent as is
    expect(JSON.parse(s)).toEqual({ text }); // nothing lost: the consumer's JSON parser gets the same string
  });

  it('escapes U+FFFE/U+FFFF inside original bytes too (an untouched record)', () => {
    const raw = Buffer.from('{"k":"a\uffffb","\ufffe":1}', 'utf8');
    const body = encodeSqsBody(rec({ k: 'a\uffffb', '\ufffe': 1 }, {}, raw), opts);
    expect(body.toString()).toBe('{"k":"a\\uffffb","\\ufffe":1}');
    expect(JSON.parse(body.toString())).toEqual({ k: 'a\uffffb', '\ufffe': 1 });
  });

  it('leaves other EF BF … sequences (U+FFFD, halfwidth forms) alone', () => {
    const raw = Buffer.from('{"k":"\ufffd\uffe8\uffc0"}', 'utf8');
    expect(escapeNonCharacters(raw)).toBe(raw);
  });

  it('finds what SQS refuses in a body: controls, bytes that are not UTF-8 (encoded surrogates), non-characters', () => {
    expect(invalidCharacter(Buffer.from('ok\t\n\r ✓ 𝄞'))).toBeUndefined();
    expect(invalidCharacter(Buffer.from('a\u0001b'))).toBe('control character U+0001 at byte 1');
    expect(invalidCharacter(Buffer.from([0x61, 0xff]))).toBe('bytes that are not UTF-8');
    expect(invalidCharacter(Buffer.from([0xed, 0xa0, 0x80]))).toBe('bytes that are not UTF-8'); // U+D800 encoded
    expect(invalidCharacter(Buffer.from('x\uffff', 'utf8'))).toBe('the non-character U+FFFE or U+FFFF');
  });

  it('dead-letters a body that is still invalid, with the reason (a record the source let through as _raw)', () => {
    // encodeJson ships untouched JSON objects as their bytes: a raw control character in them (which the
    // source's JSON.parse would have refused) is caught here rather than sent.
    const raw = Buffer.from('{"a":"x\u0002"}');
    const e = permanentError(() => encodeSqsBody(rec({ a: 'x\u0002' }, {}, raw), opts));
    expect(e.code).toBe('SQS_INVALID_CHARACTERS');
    expect(e.message).toContain('control character U+0002');
  });

  it('accepts a message of exactly the limit and dead-letters one byte more, saying sizes and limit', () => {
    const at = (n: number) => rec({ p: 'x'.repeat(n - '{"p":""}'.length) });
    expect(encodeSqsBody(at(1024), { maxBytes: 1024, stampOrigin: false }).length).toBe(1024);
    const e = permanentError(() => encodeSqsBody(at(1025), { maxBytes: 1024, stampOrigin: false }));
    expect(e.code).toBe('SQS_MESSAGE_TOO_LARGE');
    expect(e.message).toBe("the message is 1025 bytes, over the queue's limit of 1024 bytes");
  });

  it('counts UTF-8 bytes, not characters', () => {
    const r = rec({ p: 'é'.repeat(600) }); // 1200 bytes of text
    permanentError(() => encodeSqsBody(r, { maxBytes: 1024, stampOrigin: false }));
  });

  it('counts the origin attributes (name + type + value) towards the limit', () => {
    const meta = { topic: 'logs', partition: 3, offset: '1234' };
    const attrs = originAttributes({ ...rec({}).meta, ...meta });
    expect(attrs).toEqual({
      kafka_topic: { DataType: 'String', StringValue: 'logs' },
      kafka_partition: { DataType: 'Number', StringValue: '3' },
      kafka_offset: { DataType: 'Number', StringValue: '1234' },
    });
    const extra = attributesBytes(attrs);
    expect(extra).toBe('kafka_topic'.length + 6 + 4 + 'kafka_partition'.length + 6 + 1 + 'kafka_offset'.length + 6 + 4);
    const r = rec({ p: 'x'.repeat(1024 - extra - '{"p":""}'.length) });
    expect(messageBytes(encodeSqsBody(r, { maxBytes: 1024, stampOrigin: true }), r.meta, true)).toBe(1024);
    const bigger = rec({ p: 'x'.repeat(1025 - extra - '{"p":""}'.length) });
    const e = permanentError(() => encodeSqsBody(bigger, { maxBytes: 1024, stampOrigin: true }));
    expect(e.message).toContain(`(body ${1025 - extra} + attributes ${extra})`);
  });
});

describe('FIFO ids', () => {
  it('MessageGroupId: the configured field, else <topic>-<partition>', () => {
    expect(messageGroupId(rec({ user: 'alice' }), 'user')).toBe('alice');
    expect(messageGroupId(rec({ device: { id: 42 } }), 'device.id')).toBe('42');
    expect(messageGroupId(rec({ other: 1 }), 'user')).toBe('logs-3');
    expect(messageGroupId(rec({ user: '' }), 'user')).toBe('logs-3');
    expect(messageGroupId(rec({ user: 'alice' }), undefined)).toBe('logs-3');
  });

  it('MessageGroupId: a value SQS would refuse becomes its SHA-256 (same value, same group), ≤ 128 characters', () => {
    const hash = (s: string) => `sha256-${createHash('sha256').update(s).digest('hex')}`;
    expect(messageGroupId(rec({ user: 'alice smith' }), 'user')).toBe(hash('alice smith'));
    expect(messageGroupId(rec({ user: 'ünï' }), 'user')).toBe(hash('ünï'));
    expect(messageGroupId(rec({ user: 'x'.repeat(129) }), 'user')).toBe(hash('x'.repeat(129)));
    expect(messageGroupId(rec({ user: 'x'.repeat(128) }), 'user')).toBe('x'.repeat(128));
    const longTopic = 't'.repeat(200);
    const g = messageGroupId(rec({}, { topic: longTopic }), undefined);
    expect(g).toBe(hash(`${longTopic}-3`));
    expect(g.length).toBeLessThanOrEqual(128);
  });

  it('MessageDeduplicationId: the SHA-256 of topic/partition/offset, the same on every re-send', () => {
    const meta = rec({}).meta;
    const id = deduplicationId(meta);
    expect(id).toBe(createHash('sha256').update('logs/3/1234').digest('hex'));
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(deduplicationId({ ...meta })).toBe(id);
    expect(deduplicationId({ ...meta, offset: '1235' })).not.toBe(id);
    expect(deduplicationId({ ...meta, partition: 4 })).not.toBe(id);
  });
});
