import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RotatingFile } from '../../src/sinks/file/rotating-file.ts';
import { fileSink } from '../../src/sinks/file/index.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

describe('file sink', () => {
  it('rotates at the size limit keeping N backups, never splitting a write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-file-'));
    const path = join(dir, 'out.jsonl');
    const f = new RotatingFile(path, { maxBytes: 100, backupCount: 2, fsync: false });
    await f.open();
    for (let i = 0; i < 10; i++) await f.append(Buffer.from(`${JSON.stringify({ i, pad: 'x'.repeat(20) })}\n`)); // 37 bytes: 2 per file
    await f.close();
    expect(readdirSync(dir).sort()).toEqual(['out.jsonl', 'out.jsonl.1', 'out.jsonl.2']);
    const lines = (name: string) => readFileSync(join(dir, name), 'utf8').trim().split('\n').map((l) => JSON.parse(l).i);
    expect(lines('out.jsonl')).toEqual([8, 9]);
    expect(lines('out.jsonl.1')).toEqual([6, 7]);
    expect(lines('out.jsonl.2')).toEqual([4, 5]); // 0..3 were in backups that fell off
  });

  it('appends to an existing file and counts its size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-file-'));
    const path = join(dir, 'out.jsonl');
    const a = new RotatingFile(path, { maxBytes: 50, backupCount: 1, fsync: true });
    await a.append(Buffer.from('a'.repeat(40)));
    await a.close();
    const b = new RotatingFile(path, { maxBytes: 50, backupCount: 1, fsync: false });
    await b.open();
    await b.append(Buffer.from('b'.repeat(20)));
    await b.close();
    expect(readFileSync(path, 'utf8')).toBe('b'.repeat(20));
    expect(readFileSync(`${path}.1`, 'utf8')).toBe('a'.repeat(40));
  });

  it('maps a write failure to a retriable error naming the path', async () => {
    const sink = fileSink.create({ path: '/nonexistent-dir/x.jsonl', maxBytes: 0, backupCount: 0, fsync: false }, { name: 'file', logger: createLogger({ level: 'silent' }), countTruncated: () => undefined });
    const raw = Buffer.from('{}');
    const record = { meta: { topic: 't', partition: 0, offset: '0', timestamp: 0, key: null, headers: {} }, raw, fields: {}, size: 2, unchanged: false };
    await expect(sink.send({ key: 't/0', bytes: 3, items: [{ record, payload: sink.encode(record) }] }, new AbortController().signal)).rejects.toMatchObject({
      deliveryClass: 'retriable',
      code: 'ENOENT',
      message: expect.stringContaining('/nonexistent-dir/x.jsonl'),
    });
  });
});

describe('JSON lines encoding', () => {
  const meta = { topic: 't', partition: 0, offset: '0', timestamp: 0, key: null, headers: {} };
  it('ships an untouched JSON object as its original bytes, and re-serialises otherwise', async () => {
    const { encodeJson, joinLines } = await import('../../src/sinks/json-lines.ts');
    const raw = Buffer.from('{"b":1,  "a":"x"}');
    expect(encodeJson({ meta, raw, fields: { b: 1, a: 'x' }, size: raw.length, unchanged: true })).toBe(raw);
    expect(encodeJson({ meta, raw, fields: { b: 2 }, size: raw.length, unchanged: false }).toString()).toBe('{"b":2}');
    const pretty = Buffer.from('{\n  "a": 1\n}');
    expect(encodeJson({ meta, raw: pretty, fields: { a: 1 }, size: pretty.length, unchanged: true }).toString()).toBe('{"a":1}');
    expect(joinLines([{ payload: Buffer.from('{"a":1}') }, { payload: Buffer.from('{}') }]).toString()).toBe('{"a":1}\n{}\n');
  });
});
