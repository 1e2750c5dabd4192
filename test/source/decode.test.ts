import { describe, expect, it } from 'vitest';
import { decodeValue, messageMeta } from '../../src/source/kafka/decode.ts';

describe('decode', () => {
  it('parses JSON objects and keeps everything else as _raw', () => {
    expect(decodeValue(Buffer.from('{"a":1,"b":{"c":"x"}}'))).toEqual({ ok: true, raw: false, fields: { a: 1, b: { c: 'x' } } });
    expect(decodeValue(Buffer.from('  {"a":1}'))).toEqual({ ok: true, raw: false, fields: { a: 1 } });
    expect(decodeValue(Buffer.from('<34>Oct 11 22:14:15 host su: failed'))).toEqual({ ok: true, raw: true, fields: { _raw: '<34>Oct 11 22:14:15 host su: failed' } });
    expect(decodeValue(Buffer.from('{"broken'))).toEqual({ ok: true, raw: true, fields: { _raw: '{"broken' } });
    expect(decodeValue(Buffer.from('[1,2]'))).toEqual({ ok: true, raw: true, fields: { _raw: '[1,2]' } });
    expect(decodeValue(Buffer.from('42'))).toEqual({ ok: true, raw: true, fields: { _raw: '42' } });
  });

  it('refuses what cannot be shipped faithfully as JSON text', () => {
    expect(decodeValue(null)).toMatchObject({ ok: false, code: 'EMPTY_RECORD' });
    expect(decodeValue(Buffer.alloc(0))).toMatchObject({ ok: false, code: 'EMPTY_RECORD' });
    expect(decodeValue(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).toMatchObject({ ok: false, code: 'INVALID_UTF8' });
  });

  it('exposes key, headers and position as metadata', () => {
    const meta = messageMeta('logs', 3, { offset: '42', timestamp: '1700000000000', key: Buffer.from('k1'), value: null, headers: { a: Buffer.from('x'), b: [Buffer.from('1'), Buffer.from('2')], c: undefined } });
    expect(meta).toEqual({ topic: 'logs', partition: 3, offset: '42', timestamp: 1700000000000, key: 'k1', headers: { a: 'x', b: '2' } });
  });
});
