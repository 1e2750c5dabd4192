import { describe, expect, it } from 'vitest';
import type { PipelineRecord } from '../../../src/core/record.ts';
import { encodeForm, encodeRecord, fileName, fileTime, productOf, type FormEncodeConfig } from '../../../src/sinks/form-post/encoder.ts';
import type { BatchItem } from '../../../src/delivery/sink.ts';
import { checkForm, DEFAULT_FORM_RULES } from '../../support/form-receiver/form.ts';

const cfg: FormEncodeConfig = { product: 'web', productField: undefined, parts: { file: 'file', product: 'product', rows: 'rows' }, fileContentType: 'application/x-ndjson' };
const AT = Date.UTC(2026, 10, 22, 23, 59, 59, 123);

function rec(fields: Record<string, unknown>, offset = 41, raw: Buffer | null = null): PipelineRecord {
  return { meta: { topic: 'logs', partition: 3, offset: String(offset), timestamp: 1_700_000_000_000, key: null, headers: {} }, raw, fields, size: 0, unchanged: raw !== null };
}

const items = (records: PipelineRecord[]): BatchItem[] => records.map((record) => ({ record, payload: encodeRecord(record) }));

describe('form POST encoder', () => {
  it('a record is one line of JSON: the original bytes when no query changed them, else its fields', () => {
    expect(encodeRecord(rec({ a: 1, s: 'x\ny' })).toString()).toBe('{"a":1,"s":"x\\ny"}');
    const raw = Buffer.from('{"a": 1}');
    expect(encodeRecord(rec({ a: 1 }, 1, raw))).toBe(raw);
    // pretty-printed original bytes would break the lines: re-serialised
    expect(encodeRecord(rec({ a: 1 }, 1, Buffer.from('{\n "a": 1\n}'))).toString()).toBe('{"a":1}');
    expect(encodeRecord(rec({ _raw: 'not json' })).toString()).toBe('{"_raw":"not json"}');
  });

  it('product: the configured constant, or a record field (non-empty text) with the constant as default', () => {
    const byField = { product: 'web', productField: 'product' };
    expect(productOf(rec({ product: 'email' }), cfg)).toBe('web');
    expect(productOf(rec({ product: 'email' }), byField)).toBe('email');
    expect(productOf(rec({ product: ' casb ' }), byField)).toBe('casb');
    expect(productOf(rec({ product: '' }), byField)).toBe('web');
    expect(productOf(rec({}), byField)).toBe('web');
    expect(productOf(rec({ meta: { product: 'mfa' } }), { product: 'web', productField: 'meta.product' })).toBe('mfa');
    expect(productOf(rec({ product: 'x'.repeat(500) }), byField)).toHaveLength(128);
  });

  it('file name: <product>-<ISO 8601 basic time>-<partition>-<first offset>.json, product reduced to safe characters', () => {
    expect(fileTime(AT)).toBe('20261122T235959.123Z');
    expect(fileName('web', AT, rec({}, 1040))).toBe('web-20261122T235959.123Z-3-1040.json');
    expect(fileName('a/b "c"\r\n', AT, rec({}))).toBe('a_b__c___-20261122T235959.123Z-3-41.json');
    expect(fileName('ü', AT, rec({}))).toBe('_-20261122T235959.123Z-3-41.json');
  });

  it('a batch is one form: product, rows = line count, and the file of JSON lines; busboy reads it back', async () => {
    const records = Array.from({ length: 20 }, (_, i) => rec({ id: i, note: i === 7 ? 'line\r\nbreak --logstream- "q" ✓ 𝄞' : 'plain' }, 100 + i));
    const form = encodeForm(items(records), 'web', cfg, AT);
    const check = await checkForm(form.body, form.contentType, DEFAULT_FORM_RULES);
    if (!check.ok) throw new Error(check.reason);
    expect(check.form.product).toBe('web');
    expect(check.form.rows).toBe(20);
    expect(check.form.filename).toBe('web-20261122T235959.123Z-3-100.json');
    expect(check.form.fileContentType).toBe('application/x-ndjson');
    expect(check.form.records).toEqual(records.map((r) => r.fields));
  });

  it('uses the configured part names and file Content-Type', async () => {
    const custom: FormEncodeConfig = { ...cfg, parts: { file: 'upload', product: 'source', rows: 'count' }, fileContentType: 'application/json' };
    const form = encodeForm(items([rec({ a: 1 })]), 'mfa', custom, AT);
    const check = await checkForm(form.body, form.contentType, { ...DEFAULT_FORM_RULES, fileField: 'upload', productField: 'source', rowsField: 'count', fileContentTypes: ['application/json'] });
    if (!check.ok) throw new Error(check.reason);
    expect(check.form).toMatchObject({ product: 'mfa', rows: 1 });
  });

  it('the receiver\'s checks catch what a wrong sender would do', async () => {
    const ok = encodeForm(items([rec({ a: 1 }), rec({ b: 2 })]), 'web', cfg, AT);
    const swap = (from: string, to: string) => Buffer.from(ok.body.toString('latin1').replace(from, to), 'latin1');
    const reason = async (body: Buffer, ct = ok.contentType) => {
      const c = await checkForm(body, ct, DEFAULT_FORM_RULES);
      return c.ok ? 'accepted' : c.reason;
    };
    expect(await reason(swap('\r\n\r\n2\r\n', '\r\n\r\n3\r\n'))).toMatch(/rows field says 3, the file has 2 lines/);
    expect(await reason(swap('{"b":2}', '{"b":2'))).toMatch(/line 2 is not JSON/);
    expect(await reason(swap('name="rows"\r\n', 'name="rows"\r\nContent-Transfer-Encoding: 8bit\r\n'))).toMatch(/Content-Transfer-Encoding.*not allowed/);
    expect(await reason(Buffer.concat([Buffer.from('preamble\r\n'), ok.body]))).toMatch(/preamble/);
    expect(await reason(ok.body, 'multipart/form-data')).toMatch(/boundary/);
    expect(await reason(ok.body.subarray(0, ok.body.length - 4))).toMatch(/cut short: no close delimiter/);
    const many = encodeForm(items(Array.from({ length: 21 }, (_, i) => rec({ i }))), 'web', cfg, AT);
    expect(await reason(many.body, many.contentType)).toMatch(/rows 21 is over the limit of 20/);
  });
});
