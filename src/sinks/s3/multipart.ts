// Multipart upload of one object above S3_MULTIPART_THRESHOLD (at most the 5 GiB single-PUT limit):
// create, parts (each with its own signed SHA-256 and checksum, a few at once), complete. Any failure
// aborts the upload (best effort: a bucket lifecycle rule "AbortIncompleteMultipartUpload" cleans up
// what an abort misses) and is thrown, so the delivery layer sends the whole object again.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { halt } from '../../core/errors.ts';
import { digestsOf, type ChecksumMode } from './encoder.ts';
import { integrityInput, signedPayload } from './integrity.ts';
import { mapLimit } from '../../core/map-limit.ts';

/** S3 takes at most 10 000 parts per upload. */
export const MAX_PARTS = 10_000;
const ABORT_TIMEOUT_MS = 10_000;

/** Byte ranges of the parts: `partBytes` each (the last one smaller), grown when 10 000 would not do. */
export function partRanges(size: number, partBytes: number): Array<[start: number, end: number]> {
  const step = Math.max(partBytes, Math.ceil(size / MAX_PARTS));
  const out: Array<[number, number]> = [];
  for (let at = 0; at < size; at += step) out.push([at, Math.min(size, at + step)]);
  return out;
}

export type ObjectHeaders = Omit<PutObjectCommandInput, 'Body' | 'ContentMD5' | 'ContentLength' | 'ChecksumSHA256'> & { Bucket: string; Key: string };

export async function multipartUpload(
  client: S3Client,
  head: ObjectHeaders,
  body: Buffer,
  opts: { partBytes: number; concurrency: number; checksum: ChecksumMode; signal: AbortSignal },
): Promise<void> {
  const sha = opts.checksum === 'sha256';
  const created = await client.send(new CreateMultipartUploadCommand({ ...head, ...(sha ? { ChecksumAlgorithm: 'SHA256' } : {}) }), { abortSignal: opts.signal });
  const uploadId = created.UploadId;
  if (!uploadId) throw halt('S3_NO_UPLOAD_ID', `CreateMultipartUpload for ${head.Key} returned no UploadId: the endpoint does not behave like S3`);
  const { Bucket, Key } = head;
  // A failed part stops the other workers too.
  const failed = new AbortController();
  const signal = AbortSignal.any([opts.signal, failed.signal]);
  try {
    const ranges = partRanges(body.length, opts.partBytes);
    const parts = await mapLimit(
      ranges,
      opts.concurrency,
      async ([start, end], i): Promise<CompletedPart> => {
        try {
          const part = body.subarray(start, end);
          const digests = digestsOf(part, opts.checksum);
          const integrity = integrityInput(digests);
          const cmd = new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber: i + 1, Body: part, ContentLength: part.length, ...integrity });
          const r = await client.send(signedPayload(cmd, digests.sha256), { abortSignal: signal });
          if (!r.ETag) throw halt('S3_NO_ETAG', `UploadPart ${i + 1} of ${Key} returned no ETag: the endpoint does not behave like S3`);
          return { ETag: r.ETag, PartNumber: i + 1, ...(integrity.ChecksumSHA256 !== undefined ? { ChecksumSHA256: integrity.ChecksumSHA256 } : {}) };
        } catch (err) {
          failed.abort();
          throw err;
        }
      },
      signal,
    );
    opts.signal.throwIfAborted();
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }), { abortSignal: opts.signal });
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }), { abortSignal: AbortSignal.timeout(ABORT_TIMEOUT_MS) }).catch(() => undefined);
    throw err;
  }
}
