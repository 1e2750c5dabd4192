// Compression codecs kafkajs lacks (it ships only gzip): snappy, lz4 and zstd record batches must all
// be readable, whatever producer wrote them (Java clients, librdkafka/kcat, Go, managed services).
//   snappy  `snappy` (napi-rs; its native build is an npm optional dependency, nothing is downloaded
//           from elsewhere). Java producers write the xerial framing (magic, version, then
//           length-prefixed chunks); librdkafka writes raw snappy: both are read.
//   lz4     `lz4-napi` (napi-rs, lz4_flex): Kafka's record batches (v2) use the LZ4 frame format.
//   zstd    Node's own zlib (zstd is built into Node ≥ 22.15): no package at all.
// Registered once, before any client is created (createKafka calls it).
import { promisify } from 'node:util';
import { zstdCompress, zstdDecompress } from 'node:zlib';
import kafkajs from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';

const zstdC = promisify(zstdCompress);
const zstdD = promisify(zstdDecompress);

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** 0x82 'SNAPPY' 0x00: the xerial snappy-java stream header. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16; // magic (8) + version (4) + compatible version (4)

export function isXerial(buf: Buffer): boolean {
  return buf.length >= XERIAL_HEADER_BYTES && buf.subarray(0, 8).equals(XERIAL_MAGIC);
}

/** Raw snappy, or xerial-framed snappy (chunks of [int32 BE length][raw snappy block]). */
export async function snappyDecompress(buf: Buffer): Promise<Buffer> {
  if (!isXerial(buf)) return (await snappyUncompress(buf)) as Buffer;
  const parts: Buffer[] = [];
  let at = XERIAL_HEADER_BYTES;
  while (at < buf.length) {
    if (at + 4 > buf.length) throw new Error('truncated xerial snappy chunk header');
    const len = buf.readUInt32BE(at);
    at += 4;
    if (at + len > buf.length) throw new Error('truncated xerial snappy chunk');
    parts.push((await snappyUncompress(buf.subarray(at, at + len))) as Buffer);
    at += len;
  }
  return Buffer.concat(parts);
}

const snappyCodec: Codec = {
  compress: async (encoder) => (await snappyCompress(encoder.buffer)) as Buffer,
  decompress: snappyDecompress,
};

const lz4Codec: Codec = {
  compress: async (encoder) => compressFrame(encoder.buffer),
  decompress: async (buf) => decompressFrame(buf),
};

const zstdCodec: Codec = {
  compress: async (encoder) => zstdC(encoder.buffer),
  decompress: async (buf) => zstdD(buf),
};

// kafkajs is CommonJS and Node's ESM loader cannot see these two as named exports.
const { CompressionCodecs, CompressionTypes } = kafkajs;

let registered = false;

export function registerCodecs(): void {
  if (registered) return;
  registered = true;
  const codecs = CompressionCodecs as unknown as Record<number, () => Codec>;
  codecs[CompressionTypes.Snappy] = () => snappyCodec;
  codecs[CompressionTypes.LZ4] = () => lz4Codec;
  codecs[CompressionTypes.ZSTD] = () => zstdCodec;
}
