import { describe, expect, it } from 'vitest';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { compressSync as snappyRaw } from 'snappy';
import { isXerial, registerCodecs, snappyDecompress } from '../../../src/source/kafkajs/codecs.ts';

const text = Buffer.from(JSON.stringify({ user: 'alice', action: 'login', n: 'x'.repeat(5000) }).repeat(20));

describe('Kafka compression codecs', () => {
  registerCodecs();
  const codec = (t: number) => (CompressionCodecs as unknown as Record<number, () => { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> }>)[t]!();

  for (const [name, type] of [['snappy', CompressionTypes.Snappy], ['lz4', CompressionTypes.LZ4], ['zstd', CompressionTypes.ZSTD]] as const) {
    it(`${name}: round trip, and compresses`, async () => {
      const c = codec(type);
      const packed = await c.compress({ buffer: text });
      expect(packed.length).toBeLessThan(text.length / 5);
      expect((await c.decompress(packed)).equals(text)).toBe(true);
    });
  }

  it('lz4 writes the LZ4 frame format (magic 0x184D2204), as Kafka expects', async () => {
    const packed = await codec(CompressionTypes.LZ4).compress({ buffer: text });
    expect(packed.readUInt32LE(0)).toBe(0x184d2204);
  });

  it('zstd writes a zstd frame (magic 0xFD2FB528)', async () => {
    const packed = await codec(CompressionTypes.ZSTD).compress({ buffer: text });
    expect(packed.readUInt32LE(0)).toBe(0xfd2fb528);
  });

  it('snappy reads the xerial framing Java producers write: header, then length-prefixed raw blocks', async () => {
    const a = text.subarray(0, 40_000);
    const b = text.subarray(40_000);
    const chunk = (buf: Buffer) => {
      const raw = snappyRaw(buf) as Buffer;
      const len = Buffer.alloc(4);
      len.writeUInt32BE(raw.length);
      return Buffer.concat([len, raw]);
    };
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
    const framed = Buffer.concat([header, chunk(a), chunk(b)]);
    expect(isXerial(framed)).toBe(true);
    expect((await snappyDecompress(framed)).equals(text)).toBe(true);
    expect(isXerial(snappyRaw(text) as Buffer)).toBe(false);
    await expect(snappyDecompress(framed.subarray(0, framed.length - 3))).rejects.toThrow(/truncated/);
  });
});
