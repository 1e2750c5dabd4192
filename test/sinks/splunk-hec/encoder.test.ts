import { describe, expect, it, vi } from 'vitest';
import { JsonBytesRecord, type PipelineRecord } from '../../../src/core/record.ts';
import { encodeHecEvent, hecShipsBytes, hecTime, rawBatchKey, rawEventIn, type HecEncodeConfig } from '../../../src/sinks/splunk-hec/encoder.ts';
import { classifyHecReply, parseHecReply, parseRetryAfter } from '../../../src/sinks/splunk-hec/status.ts';
import { parseEventTime } from '../../../src/sinks/record-field.ts';

const none = { constant: undefined, field: undefined };
const base: HecEncodeConfig = { endpoint: 'event', index: none, source: none, sourcetype: { constant: '_json', field: undefined }, host: none, timeField: undefined, fields: [], stampOrigin: false };

function rec(fields: Record<string, unknown>, timestamp = 1_700_000_000_123): PipelineRecord {
  return { meta: { topic: 'logs', partition: 2, offset: '41', timestamp, key: null, headers: {} }, raw: null, fields, size: 0, unchanged: false };
}

describe('HEC encoder', () => {
  it('writes the envelope with the Kafka timestamp in epoch seconds with milliseconds', () => {
    expect(encodeHecEvent(rec({ a: 1 }), base).toString()).toBe('{"time":1700000000.123,"sourcetype":"_json","event":{"a":1}}');
  });

  it('an unchanged JSON record is the event as its original bytes, spliced after the envelope', () => {
    const raw = Buffer.from('{"b": 2,\n "a": "é"}');
    const unchanged = { ...rec({ b: 2, a: 'é' }), raw, unchanged: true };
    const cfg: HecEncodeConfig = { ...base, host: { constant: 'hôte', field: undefined }, fields: [{ name: 'a', path: 'a' }] };
    const out = encodeHecEvent(unchanged, cfg).toString();
    expect(out).toBe('{"time":1700000000.123,"host":"hôte","sourcetype":"_json","fields":{"a":"é"},"event":{"b": 2,\n "a": "é"}}');
    expect(JSON.parse(out).event).toEqual({ b: 2, a: 'é' });
    // changed by a query, not an object, or a record that is only {"_raw": text}: serialised from the fields
    expect(encodeHecEvent({ ...unchanged, unchanged: false, fields: { b: 3 } }, base).toString()).toBe('{"time":1700000000.123,"sourcetype":"_json","event":{"b":3}}');
    const onlyRaw = Buffer.from('{"_raw":"text"}');
    expect(encodeHecEvent({ ...rec({ _raw: 'text' }), raw: onlyRaw, unchanged: true }, base).toString()).toBe('{"time":1700000000.123,"sourcetype":"_json","event":"text"}');
  });

  it('rawEventIn finds the record\'s bytes in its encoded event, only where they are there verbatim', () => {
    const response = Buffer.from('xx{"b": 2}yy'); // the record's bytes are a view into a larger fetched response
    const raw = response.subarray(2, 10);
    const unchanged = { ...rec({ b: 2 }), raw, unchanged: true };
    const payload = encodeHecEvent(unchanged, base);
    const view = rawEventIn(unchanged, payload)!;
    expect(view.toString()).toBe('{"b": 2}');
    expect(view.buffer).toBe(payload.buffer); // a view into the payload, before its closing brace
    expect(view.byteOffset - payload.byteOffset).toBe(payload.length - 1 - raw.length);
    // serialised from changed fields, or the /raw endpoint: not there
    const changed = { ...unchanged, unchanged: false, fields: { b: 3 } };
    expect(rawEventIn(changed, encodeHecEvent(changed, base))).toBeUndefined();
    expect(rawEventIn(unchanged, encodeHecEvent(unchanged, { ...base, endpoint: 'raw' }))).toBeUndefined();
    expect(rawEventIn(rec({ b: 2 }), payload)).toBeUndefined(); // no bytes
  });

  it('a record shipped as its bytes is not parsed for the event, unless its bytes could name a _raw field', () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const bytes = new JsonBytesRecord({ topic: 'logs', partition: 2, offset: '41', timestamp: 1_700_000_000_123, key: null, headers: {} }, Buffer.from('{"a": 1}'), 8);
      expect(encodeHecEvent(bytes, base).toString()).toBe('{"time":1700000000.123,"sourcetype":"_json","event":{"a": 1}}');
      const spaced = new JsonBytesRecord(bytes.meta, Buffer.from('{\n  "a": 1, "_raw": "x"}'), 22);
      expect(encodeHecEvent(spaced, base).toString()).toBe('{"time":1700000000.123,"sourcetype":"_json","event":{\n  "a": 1, "_raw": "x"}}');
      expect(parse).not.toHaveBeenCalled();
      // a first key starting with "_" or an escape could be a lone _raw: the fields decide
      const underscore = new JsonBytesRecord(bytes.meta, Buffer.from('{"_other": 1}'), 13);
      expect(encodeHecEvent(underscore, base).toString()).toBe('{"time":1700000000.123,"sourcetype":"_json","event":{"_other": 1}}');
      const escaped = new JsonBytesRecord(bytes.meta, Buffer.from('{"\\u005fraw": "text"}'), 20);
      expect(encodeHecEvent(escaped, base).toString()).toBe('{"time":1700000000.123,"sourcetype":"_json","event":"text"}');
    } finally {
      parse.mockRestore();
    }
  });

  it('ships records as bytes (no field read) only when nothing in the envelope comes from a field', () => {
    expect(hecShipsBytes(base)).toBe(true);
    expect(hecShipsBytes({ ...base, index: { constant: undefined, field: '__topic__' }, fields: [{ name: 'p', path: '__partition__' }, { name: 'h', path: '__headers__.env' }] })).toBe(true);
    expect(hecShipsBytes({ ...base, timeField: 'ts' })).toBe(false);
    expect(hecShipsBytes({ ...base, host: { constant: 'h', field: 'device' } })).toBe(false);
    expect(hecShipsBytes({ ...base, fields: [{ name: 'user', path: 'user' }] })).toBe(false);
    expect(hecShipsBytes({ ...base, endpoint: 'raw' })).toBe(false);
  });

  it('maps metadata from record fields with constants as defaults, and indexed fields', () => {
    const cfg: HecEncodeConfig = {
      ...base,
      index: { constant: 'main', field: 'idx' },
      host: { constant: undefined, field: 'device.name' },
      source: { constant: 'logstream', field: undefined },
      fields: ['user', 'tags', 'n', 'obj', 'missing'].map((name) => ({ name, path: name })),
      stampOrigin: true,
      timeField: 'ts',
    };
    const out = JSON.parse(encodeHecEvent(rec({ idx: 'security', device: { name: 'fw01' }, user: 'alice', tags: ['a', 2], n: 5, obj: { x: 1 }, ts: '2026-11-22T10:00:00.250Z' }), cfg).toString());
    expect(out).toEqual({
      time: 1795341600.25,
      host: 'fw01',
      source: 'logstream',
      sourcetype: '_json',
      index: 'security',
      fields: { user: 'alice', tags: ['a', '2'], n: '5', obj: '{"x":1}', kafka_topic: 'logs', kafka_partition: '2', kafka_offset: '41' },
      event: { idx: 'security', device: { name: 'fw01' }, user: 'alice', tags: ['a', 2], n: 5, obj: { x: 1 }, ts: '2026-11-22T10:00:00.250Z' },
    });
    expect(JSON.parse(encodeHecEvent(rec({ idx: '' }), cfg).toString()).index).toBe('main'); // empty field → default
  });

  it('indexed fields and metadata can come from Kafka metadata: topic, partition, offset, key, headers', () => {
    const r: PipelineRecord = { ...rec({ a: 1 }), meta: { topic: 'logs', partition: 3, offset: '99', timestamp: 1_700_000_000_000, key: 'k-7', headers: { tenant: 't-9' } } };
    const cfg: HecEncodeConfig = {
      ...base,
      index: { constant: 'main', field: '__headers__.tenant' },
      fields: [
        { name: 'tenant', path: '__headers__.tenant' },
        { name: 'kafka_key', path: '__key__' },
        { name: 'src', path: '__topic__' },
        { name: 'p', path: '__partition__' },
        { name: 'o', path: '__offset__' },
        { name: 'nope', path: '__headers__.absent' },
      ],
    };
    const out = JSON.parse(encodeHecEvent(r, cfg).toString());
    expect(out.index).toBe('t-9');
    expect(out.fields).toEqual({ tenant: 't-9', kafka_key: 'k-7', src: 'logs', p: '3', o: '99' });
  });

  it('sends a raw line as a string event, and the raw endpoint as plain text with metadata in the key', () => {
    expect(JSON.parse(encodeHecEvent(rec({ _raw: '<34>Oct 11 su: failed' }), base).toString()).event).toBe('<34>Oct 11 su: failed');
    const raw: HecEncodeConfig = { ...base, endpoint: 'raw', index: { constant: 'main', field: 'idx' } };
    expect(encodeHecEvent(rec({ _raw: 'line one' }), raw).toString()).toBe('line one');
    expect(encodeHecEvent(rec({ a: 1 }), raw).toString()).toBe('{"a":1}');
    expect(rawBatchKey(rec({ idx: 'fw' }), raw)).toBe('index=fw&sourcetype=_json');
  });

  it('parses event times: epoch seconds, milliseconds, numeric text, ISO 8601; else undefined', () => {
    expect(parseEventTime(1700000000)).toBe(1700000000000);
    expect(parseEventTime(1700000000123)).toBe(1700000000123);
    expect(parseEventTime('1700000000.5')).toBe(1700000000500);
    expect(parseEventTime('2026-01-02T03:04:05+01:00')).toBe(Date.UTC(2026, 0, 2, 2, 4, 5));
    expect(parseEventTime('yesterday')).toBeUndefined();
    expect(parseEventTime(null)).toBeUndefined();
    expect(hecTime(rec({ ts: 'garbage' }), 'ts')).toBe(1700000000.123); // falls back to the Kafka timestamp
  });
});

describe('HEC reply classification (one function, the protocol table)', () => {
  const reply = (status: number, body: unknown, retryAfter?: string) => classifyHecReply(parseHecReply(status, JSON.stringify(body), retryAfter));
  it('maps every documented code to its class', () => {
    expect(reply(200, { text: 'Success', code: 0 })).toEqual({ kind: 'ok', ackId: undefined });
    expect(reply(200, { text: 'Success', code: 0, ackId: 7 })).toEqual({ kind: 'ok', ackId: 7 });
    for (const [status, code] of [[403, 1], [401, 2], [401, 3], [403, 4], [400, 7], [400, 10], [400, 11], [400, 14], [400, 16]] as const) {
      const o = reply(status, { text: 'x', code });
      expect(o.kind, `code ${code}`).toBe('failed');
      expect(o.kind === 'failed' && o.error.deliveryClass, `code ${code}`).toBe('halt');
    }
    for (const code of [5, 6, 12, 13, 15]) expect(reply(400, { text: 'bad', code, 'invalid-event-number': 3 })).toMatchObject({ kind: 'data', invalidEventNumber: 3 });
    for (const [status, code] of [[500, 8], [503, 9], [503, 18], [503, 19], [503, 20]] as const) {
      const o = reply(status, { text: 'busy', code });
      expect(o.kind === 'failed' && o.error.deliveryClass, `code ${code}`).toBe('retriable');
    }
    expect(reply(503, { text: 'Server is busy', code: 9 }, '7')).toMatchObject({ kind: 'failed', error: { deliveryClass: 'throttled', retryAfterMs: 7000 } });
  });

  it('classifies by HTTP status when the body is not HEC JSON', () => {
    const raw = (status: number, retryAfter?: string) => classifyHecReply(parseHecReply(status, '<html>gateway</html>', retryAfter));
    expect(raw(429, '3')).toMatchObject({ kind: 'failed', error: { deliveryClass: 'throttled', retryAfterMs: 3000 } });
    expect(raw(408)).toMatchObject({ kind: 'failed', error: { deliveryClass: 'throttled' } });
    expect(raw(502)).toMatchObject({ kind: 'failed', error: { deliveryClass: 'retriable', code: 'HEC_HTTP_502' } });
    expect(raw(501)).toMatchObject({ kind: 'failed', error: { deliveryClass: 'halt' } });
    expect(raw(404)).toMatchObject({ kind: 'failed', error: { deliveryClass: 'halt' } });
    expect(raw(301)).toMatchObject({ kind: 'failed', error: { deliveryClass: 'halt' } });
    expect(raw(413).kind).toBe('too-large');
    expect(raw(200, undefined)).toEqual({ kind: 'ok', ackId: undefined });
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.UTC(2015, 9, 21, 7, 28, 0))).toBe(10_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
