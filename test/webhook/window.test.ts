import { describe, expect, it } from 'vitest';
import { compileQuery } from '../../src/query/index.ts';
import { planStart, processMessage } from '../../src/webhook/window.ts';
import { jsonDecoder } from '../../src/source/kafka/decode.ts';
import type { RecordDecoder } from '../../src/source/kafka/interface.ts';

const S = { firstWindowMs: 600_000, cursorExpiryMs: 86_400_000, resetWindowMs: 300_000 };
const NOW = Date.parse('2026-11-22T12:00:00Z');

describe('planStart (seeds/000 cursor rules)', () => {
  it('first call: the previous 10 minutes', () => {
    expect(planStart(undefined, 't', NOW, S)).toEqual({ kind: 'first', fromMs: NOW - 600_000 });
  });
  it('a cursor of another topic counts as none', () => {
    expect(planStart({ topic: 'old', offsets: { 0: 1 }, lastCallAt: NOW - 1000 }, 't', NOW, S).kind).toBe('first');
  });
  it('later calls: from the cursor, up to a day after the last call', () => {
    const c = { topic: 't', offsets: { 0: 10 }, lastCallAt: NOW - 86_400_000 };
    expect(planStart(c, 't', NOW, S)).toEqual({ kind: 'cursor', cursor: c });
  });
  it('more than a day without a call: reset to the last 5 minutes', () => {
    const c = { topic: 't', offsets: { 0: 10 }, lastCallAt: NOW - 86_400_001 };
    expect(planStart(c, 't', NOW, S)).toEqual({ kind: 'reset', fromMs: NOW - 300_000, previous: c });
  });
  it('expiry 0 never resets', () => {
    const c = { topic: 't', offsets: {}, lastCallAt: 0 };
    expect(planStart(c, 't', NOW, { ...S, cursorExpiryMs: 0 }).kind).toBe('cursor');
  });
});

describe('processMessage', () => {
  const msg = (value: string | Buffer | null) => ({ offset: '7', timestamp: String(NOW), key: null, value: typeof value === 'string' ? Buffer.from(value) : value });
  it('applies the query: keeps, reshapes, drops', () => {
    const q = compileQuery("* | where sev = 'high' | project sev, n");
    expect(processMessage(q, jsonDecoder, 't', 0, msg('{"sev":"high","n":1,"x":2}'))).toEqual({ kind: 'line', line: Buffer.from('{"sev":"high","n":1}') });
    expect(processMessage(q, jsonDecoder, 't', 0, msg('{"sev":"low"}'))).toEqual({ kind: 'filtered' });
  });
  it('passes JSON through unchanged and wraps text as _raw', () => {
    const q = compileQuery('*');
    expect(processMessage(q, jsonDecoder, 't', 0, msg('{"a": 1}'))).toEqual({ kind: 'line', line: Buffer.from('{"a": 1}') });
    expect(processMessage(q, jsonDecoder, 't', 0, msg('plain text'))).toEqual({ kind: 'line', line: Buffer.from('{"_raw":"plain text"}') });
  });
  it('a query that only filters ships the kept records as their original bytes; one that writes re-encodes', () => {
    const filter = compileQuery("* | where sev = 'high'");
    expect(processMessage(filter, jsonDecoder, 't', 0, msg('{"sev": "high",  "n": 1}'))).toEqual({ kind: 'line', line: Buffer.from('{"sev": "high",  "n": 1}') });
    const write = compileQuery("* | where sev = 'high' | extend n = '2'");
    expect(processMessage(write, jsonDecoder, 't', 0, msg('{"sev": "high",  "n": 1}'))).toEqual({ kind: 'line', line: Buffer.from('{"sev":"high","n":"2"}') });
    // a step that finds nothing to change (no match) leaves the bytes as they were
    const parse = compileQuery("* | parse-regexp msg, '(\\d+)' as num");
    expect(processMessage(parse, jsonDecoder, 't', 0, msg('{"msg": "none"}'))).toEqual({ kind: 'line', line: Buffer.from('{"msg": "none"}') });
  });
  it('a record read through a schema registry waits for its schema, is re-encoded as JSON and carries its schema for the query', async () => {
    const q = compileQuery("* | where __schema_subject__ = 'auth-value' | extend v = __schema_version__");
    const decoder: RecordDecoder = { decode: () => Promise.resolve({ ok: true, fields: { user: 'alice' }, raw: false, converted: true, schema: { id: 3, subject: 'auth-value', version: 2 } }) };
    const pending = processMessage(q, decoder, 't', 0, msg(Buffer.from([0, 0, 0, 0, 3, 2, 0x61])));
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toEqual({ kind: 'line', line: Buffer.from('{"user":"alice","v":2}') });
    const unchanged: RecordDecoder = { decode: () => ({ ok: true, fields: { user: 'bob' }, raw: false, converted: true, schema: { id: 3 } }) };
    expect(processMessage(compileQuery('*'), unchanged, 't', 0, msg(Buffer.from([0, 0, 0, 0, 3, 2, 0x62])))).toEqual({ kind: 'line', line: Buffer.from('{"user":"bob"}') });
  });

  it('dead-letters what cannot be returned', () => {
    const q = compileQuery('*');
    expect(processMessage(q, jsonDecoder, 't', 0, msg(Buffer.from([0xff, 0xfe])))).toMatchObject({ kind: 'dead-letter', code: 'INVALID_UTF8', stage: 'webhook' });
    expect(processMessage(q, jsonDecoder, 't', 0, msg(null))).toMatchObject({ kind: 'dead-letter', code: 'EMPTY_RECORD' });
  });
});
