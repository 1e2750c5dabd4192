import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { digestsOf, encodeS3Record, objectBody } from '../../../src/sinks/s3/encoder.ts';
import { integrityInput } from '../../../src/sinks/s3/integrity.ts';
import { partRanges, MAX_PARTS } from '../../../src/sinks/s3/multipart.ts';
import { rec } from './support.ts';

const item = (fields: Record<string, unknown>, raw: Buffer | null = null) => {
  const record = rec(fields, {}, raw);
  return { record, payload: encodeS3Record(record) };
};

describe('S3 object body', () => {
  it('JSON lines: one record per line, original bytes when no query changed them', async () => {
    const raw = Buffer.from('{"logType":"activities", "id":"at-1"}');
    const items = [item(JSON.parse(raw.toString()), raw), item({ logType: 'activities', id: 'at-2', text: 'a\nb' }), item({ _raw: 'plain line' })];
    const body = await objectBody(items, { gzip: false, gzipLevel: 6, checksum: 'sha256' });
    expect(body.bytes.toString()).toBe('{"logType":"activities", "id":"at-1"}\n{"logType":"activities","id":"at-2","text":"a\\nb"}\n{"_raw":"plain line"}\n');
    expect(body.digests).toEqual({ sha256: createHash('sha256').update(body.bytes).digest(), md5: undefined });
    expect(body.plainBytes).toBe(body.bytes.length);
  });

  it('gzip: the same lines compressed, MD5 of the compressed bytes (what is stored)', async () => {
    const items = Array.from({ length: 200 }, (_, i) => item({ logType: 'queries', i, query: 'select name from users' }));
    const plain = await objectBody(items, { gzip: false, gzipLevel: 6, checksum: 'md5' });
    const gz = await objectBody(items, { gzip: true, gzipLevel: 9, checksum: 'md5' });
    expect(gunzipSync(gz.bytes)).toEqual(plain.bytes);
    expect(gz.bytes.length).toBeLessThan(plain.bytes.length / 5);
    expect(gz.digests.md5).toEqual(createHash('md5').update(gz.bytes).digest());
    expect(gz.digests.sha256).toEqual(createHash('sha256').update(gz.bytes).digest());
    expect(gz.plainBytes).toBe(plain.bytes.length);
    // Deterministic: a retry of the same batch stores the same bytes under the same name.
    expect((await objectBody(items, { gzip: true, gzipLevel: 9, checksum: 'md5' })).digests).toEqual(gz.digests);
  });
});

describe('integrity headers', () => {
  it('S3_CHECKSUM=sha256: x-amz-checksum-sha256; md5: Content-MD5 (base64 of the digest)', () => {
    const bytes = Buffer.from('{"a":1}\n');
    expect(integrityInput(digestsOf(bytes, 'sha256'))).toEqual({ ChecksumSHA256: createHash('sha256').update(bytes).digest('base64') });
    expect(integrityInput(digestsOf(bytes, 'md5'))).toEqual({ ContentMD5: createHash('md5').update(bytes).digest('base64') });
  });
});

describe('multipart part ranges', () => {
  it('parts of the configured size, the last one smaller, covering every byte once', () => {
    expect(partRanges(12, 5)).toEqual([[0, 5], [5, 10], [10, 12]]);
    expect(partRanges(10, 5)).toEqual([[0, 5], [5, 10]]);
  });
  it('grows the part size when 10 000 parts would not hold the object', () => {
    const r = partRanges(MAX_PARTS * 10 + 1, 5);
    expect(r.length).toBeLessThanOrEqual(MAX_PARTS);
    expect(r[r.length - 1]![1]).toBe(MAX_PARTS * 10 + 1);
  });
});
