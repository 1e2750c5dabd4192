// What an S3 object holds: the batch's records as JSON lines (one record per line, as the Log Stream
// files are), gzip-compressed when S3_GZIP is on, and the digests of the stored bytes. No I/O.
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { encodeJson, joinLines } from '../json-lines.ts';
import type { BatchItem } from '../../delivery/sink.ts';

const gzipAsync = promisify(gzip);

/** One record's line (without the line feed): its original bytes when no query changed it. */
export const encodeS3Record = encodeJson;

export type ChecksumMode = 'sha256' | 'md5';

/** Digests of bytes to store. SHA-256 is always computed: it signs the payload (S3 verifies it:
 *  XAmzContentSHA256Mismatch) and names the object. MD5 only for S3_CHECKSUM=md5 (Content-MD5). */
export interface Digests {
  readonly sha256: Buffer;
  readonly md5: Buffer | undefined;
}

export function digestsOf(bytes: Buffer, mode: ChecksumMode): Digests {
  return { sha256: createHash('sha256').update(bytes).digest(), md5: mode === 'md5' ? createHash('md5').update(bytes).digest() : undefined };
}

export interface ObjectBody {
  /** The bytes stored: JSON lines, compressed when gzip is on. */
  readonly bytes: Buffer;
  readonly digests: Digests;
  /** Size before compression. */
  readonly plainBytes: number;
}

export async function objectBody(items: readonly BatchItem[], opts: { gzip: boolean; gzipLevel: number; checksum: ChecksumMode }): Promise<ObjectBody> {
  const plain = joinLines(items);
  const bytes = opts.gzip ? await gzipAsync(plain, { level: opts.gzipLevel }) : plain;
  return { bytes, digests: digestsOf(bytes, opts.checksum), plainBytes: plain.length };
}
