// Writes each delivery batch as one S3 object through the AWS SDK: PutObject, or a multipart upload
// above S3_MULTIPART_THRESHOLD. The batch is acknowledged only when S3 answered with an ETag.
//
// The SDK is built with maxAttempts 1: the delivery layer (src/delivery) does every retry, with its own
// backoff and health reporting. The SDK's automatic CRC32 checksums are off (WHEN_REQUIRED): every PUT
// and part carries its signed SHA-256 and the S3_CHECKSUM header instead (integrity.ts), computed once.
import { GetObjectCommand, GetObjectLockConfigurationCommand, ListObjectVersionsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeliveryError, halt, oneLine } from '../../core/errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { Batch } from '../../delivery/sink.ts';
import type { S3Config } from './config.ts';
import { digestsOf, objectBody, type Digests } from './encoder.ts';
import { explainS3Error, s3Fault, type S3Target } from './faults.ts';
import { integrityInput, signedPayload } from './integrity.ts';
import { multipartUpload, type ObjectHeaders } from './multipart.ts';
import { batchObjectId, objectKey, recordFolder, testObjectKey } from './object-key.ts';
import { accountBatch } from '../manifest/document.ts';
import { ManifestChain } from '../manifest/chain.ts';

/** The Test button's object (seeds/004): the same record StrongDM writes to <prefix>/test. */
export const TEST_RECORD = { formatVersion: 'v1.0.0', logType: 'activities', actorAccountID: 'a-0000000000000000', timestamp: '0001-01-01T00:00:00Z' };

const DAY_MS = 86_400_000;
const DOCUMENT_TIMEOUT_MS = 30_000;

/** What the bucket says of Object Lock (GetObjectLockConfiguration). */
export type BucketObjectLock =
  | { enabled: true; defaultRetention: { mode: string; days?: number; years?: number } | undefined }
  | { enabled: false }
  /** The bucket could not be asked (e.g. no s3:GetBucketObjectLockConfiguration permission). */
  | { enabled: undefined; why: string };

export interface WrittenObject {
  bucket: string;
  key: string;
  bytes: number;
}

export class S3Transport {
  readonly #cfg: S3Config;
  readonly #client: S3Client;
  readonly #log: Logger;
  readonly target: S3Target;
  /** The manifest chain (S3_MANIFEST_SIGNING_KEY), written after each object. */
  readonly chain: ManifestChain | undefined;

  constructor(cfg: S3Config, logger: Logger) {
    this.#cfg = cfg;
    this.#log = logger;
    this.target = { bucket: cfg.bucket, region: cfg.region, endpoint: cfg.endpoint };
    const agent = { keepAlive: true, maxSockets: cfg.connections };
    // Only the SDK's own text warnings reach our log. Its structured entries carry the command input
    // (record bodies) and a failed call is reported by the delivery layer anyway.
    const sdkLog = (...args: unknown[]): void => {
      if (args.every((a) => typeof a === 'string')) logger.warn(`AWS SDK: ${oneLine(args.join(' '))}`);
    };
    this.#client = new S3Client({
      ...(cfg.credentials !== undefined ? { credentials: cfg.credentials } : {}),
      region: cfg.region,
      ...(cfg.endpoint !== undefined ? { endpoint: cfg.endpoint } : {}),
      forcePathStyle: cfg.forcePathStyle,
      maxAttempts: 1,
      followRegionRedirects: false,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      logger: { debug: () => {}, info: () => {}, warn: sdkLog, error: sdkLog },
      requestHandler: { httpAgent: agent, httpsAgent: agent, connectionTimeout: 10_000 },
    });
    const m = cfg.manifests;
    this.chain =
      m === undefined
        ? undefined
        : new ManifestChain(
            { put: (key, body) => this.putDocument(key, body, AbortSignal.timeout(DOCUMENT_TIMEOUT_MS)), get: (key) => this.getObject(key, AbortSignal.timeout(DOCUMENT_TIMEOUT_MS)) },
            { prefix: cfg.manifestPrefix, key: () => m.key, anchorIntervalMs: m.anchorIntervalMs, logger },
          );
  }

  /** Headers every object gets: type, encoding, encryption, storage class. */
  headers(key: string, opts: { gzip: boolean; contentType: string; metadata?: Record<string, string> }): ObjectHeaders {
    const { sse, storageClass } = this.#cfg;
    const h: ObjectHeaders = { Bucket: this.#cfg.bucket, Key: key, ContentType: opts.contentType };
    if (opts.gzip) h.ContentEncoding = 'gzip';
    if (sse.mode !== undefined) h.ServerSideEncryption = sse.mode;
    if (sse.kmsKeyId !== undefined) h.SSEKMSKeyId = sse.kmsKeyId;
    if (sse.bucketKey !== undefined) h.BucketKeyEnabled = sse.bucketKey;
    if (storageClass !== undefined) h.StorageClass = storageClass;
    if (opts.metadata) h.Metadata = opts.metadata;
    return h;
  }

  /** A log object's Object Lock headers (S3_OBJECT_LOCK_*): retention until `now` + the days, legal hold. */
  withObjectLock(head: ObjectHeaders, now = Date.now()): ObjectHeaders {
    const lock = this.#cfg.objectLock;
    if (lock === undefined) return head;
    const out = { ...head };
    if (lock.retention) {
      out.ObjectLockMode = lock.retention.mode;
      out.ObjectLockRetainUntilDate = new Date(now + lock.retention.days * DAY_MS);
    }
    if (lock.legalHold) out.ObjectLockLegalHoldStatus = 'ON';
    return out;
  }

  /** Whether the bucket has Object Lock enabled, and its default retention. */
  async bucketObjectLock(timeoutMs = 20_000): Promise<BucketObjectLock> {
    try {
      const r = await this.#client.send(new GetObjectLockConfigurationCommand({ Bucket: this.#cfg.bucket }), { abortSignal: AbortSignal.timeout(timeoutMs) });
      const c = r.ObjectLockConfiguration;
      if (c?.ObjectLockEnabled !== 'Enabled') return { enabled: false };
      const d = c.Rule?.DefaultRetention;
      return { enabled: true, defaultRetention: d?.Mode ? { mode: d.Mode, ...(d.Days ? { days: d.Days } : {}), ...(d.Years ? { years: d.Years } : {}) } : undefined };
    } catch (err) {
      // S3 answers 404 ObjectLockConfigurationNotFoundError for a bucket without Object Lock.
      const name = (err as { name?: string }).name ?? '';
      if (name === 'ObjectLockConfigurationNotFoundError') return { enabled: false };
      return { enabled: undefined, why: explainS3Error(err, this.target) };
    }
  }

  /** At start with S3_OBJECT_LOCK_* set: a bucket without Object Lock would refuse every object, so
   *  starting is refused; a bucket that cannot be asked is logged and the first upload will tell. */
  async checkObjectLock(): Promise<void> {
    if (this.#cfg.objectLock === undefined) return;
    const b = await this.bucketObjectLock();
    if (b.enabled === false) throw new Error(objectLockMissing(this.#cfg.bucket));
    if (b.enabled === undefined) this.#log.warn({ bucket: this.#cfg.bucket }, `cannot read the bucket's Object Lock configuration (${oneLine(b.why)}); S3_OBJECT_LOCK_* stays set and an upload the bucket refuses will say why`);
  }

  /** One PutObject with the integrity headers of `digests` (which must be those of `body`: tests pass
   *  others to see S3 refuse them). */
  async putObject(head: ObjectHeaders, body: Buffer, digests: Digests, signal: AbortSignal): Promise<void> {
    const cmd = new PutObjectCommand({ ...head, Body: body, ContentLength: body.length, ...integrityInput(digests) });
    const r = await this.#client.send(signedPayload(cmd, digests.sha256), { abortSignal: signal });
    // Anything that answers 200 to a PUT is not S3: S3 always returns the object's ETag.
    if (!r.ETag) throw halt('S3_NO_ETAG', `PutObject ${head.Key} returned no ETag: ${this.target.endpoint ?? 'the endpoint'} does not behave like S3`);
  }

  /** A small JSON document (manifest, anchor) with the log objects' encryption, storage class and Object Lock. */
  async putDocument(key: string, body: Buffer, signal: AbortSignal): Promise<void> {
    try {
      await this.putObject(this.withObjectLock(this.headers(key, { gzip: false, contentType: 'application/json' })), body, digestsOf(body, this.#cfg.checksum), signal);
    } catch (err) {
      throw s3Fault(err, this.target);
    }
  }

  /** The stored bytes of a key (its current version, or the one named), undefined when there is none. */
  async getObject(key: string, signal: AbortSignal, versionId?: string): Promise<Buffer | undefined> {
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.#cfg.bucket, Key: key, ...(versionId !== undefined ? { VersionId: versionId } : {}) }), { abortSignal: signal });
      return r.Body ? Buffer.from(await r.Body.transformToByteArray()) : Buffer.alloc(0);
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
      throw s3Fault(err, this.target);
    }
  }

  /** The ids of a key's stored versions (not delete markers), newest first; [] without versioning. */
  async versionsOf(key: string, signal: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      let r;
      try {
        r = await this.#client.send(new ListObjectVersionsCommand({ Bucket: this.#cfg.bucket, Prefix: key, ...(keyMarker ? { KeyMarker: keyMarker, VersionIdMarker: versionMarker } : {}) }), { abortSignal: signal });
      } catch (err) {
        throw s3Fault(err, this.target);
      }
      for (const v of r.Versions ?? []) if (v.Key === key && v.VersionId !== undefined && v.VersionId !== 'null') out.push(v.VersionId);
      keyMarker = r.IsTruncated ? r.NextKeyMarker : undefined;
      versionMarker = r.NextVersionIdMarker;
    } while (keyMarker);
    return out;
  }

  /** Every key under a prefix, in key order. */
  async *listKeys(prefix: string, signal?: AbortSignal): AsyncIterable<string> {
    let token: string | undefined;
    do {
      let r;
      try {
        r = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#cfg.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }), signal ? { abortSignal: signal } : {});
      } catch (err) {
        throw s3Fault(err, this.target);
      }
      for (const o of r.Contents ?? []) if (o.Key !== undefined) yield o.Key;
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  /** One batch → one object at <prefix>/<logType>/YYYY/MM/DD/HH/MM/<uuid>.json[.gz]. */
  async send(batch: Batch, signal: AbortSignal): Promise<WrittenObject> {
    const records = batch.items.map((i) => i.record);
    const body = await objectBody(batch.items, this.#cfg);
    const key = objectKey(this.#cfg, recordFolder(records[0]!, this.#cfg), batchObjectId(records, body.digests.sha256));
    const first = records[0]!.meta;
    const head = this.withObjectLock(
      this.headers(key, {
        gzip: this.#cfg.gzip,
        contentType: this.#cfg.contentType,
        metadata: { 'logstream-records': String(records.length), 'logstream-origin': `${first.topic}/${first.partition}/${first.offset}-${records[records.length - 1]!.meta.offset}` },
      }),
    );
    const { thresholdBytes, partBytes, concurrency } = this.#cfg.multipart;
    try {
      if (body.bytes.length > thresholdBytes) await multipartUpload(this.#client, head, body.bytes, { partBytes, concurrency, checksum: this.#cfg.checksum, signal });
      else await this.putObject(head, body.bytes, body.digests, signal);
    } catch (err) {
      throw s3Fault(err, this.target);
    }
    // Its manifest, once the object is stored: a manifest never names an object that is not there.
    if (this.chain !== undefined) {
      try {
        await this.chain.link(first.topic, first.partition, { object: key, bytes: body.bytes.length, sha256: body.digests.sha256.toString('hex'), ...accountBatch(batch.items) });
      } catch (err) {
        throw s3Fault(err, this.target);
      }
    }
    if (this.#log.isLevelEnabled('debug')) this.#log.debug({ key, records: records.length, bytes: body.bytes.length }, 'object written');
    return { bucket: this.#cfg.bucket, key, bytes: body.bytes.length };
  }

  /**
   * The Test button: writes the test record to <prefix>/test with the same encryption and storage class
   * as the log objects. Throws an Error whose message says what is wrong (region, bucket, credentials,
   * permission, endpoint), without secrets.
   */
  async writeTestObject(timeoutMs = 20_000): Promise<WrittenObject> {
    const key = testObjectKey(this.#cfg.prefix);
    const body = Buffer.from(`${JSON.stringify(TEST_RECORD)}\n`);
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await this.putObject(this.headers(key, { gzip: false, contentType: 'application/json' }), body, digestsOf(body, this.#cfg.checksum), signal);
    } catch (err) {
      const where = `s3://${this.#cfg.bucket}/${key} (region ${this.#cfg.region}${this.#cfg.endpoint ? `, endpoint ${this.#cfg.endpoint}` : ''})`;
      const why = signal.aborted
        ? `no answer within ${timeoutMs} ms from ${this.#cfg.endpoint ?? 'S3'}: check S3_ENDPOINT, DNS and the network`
        : err instanceof DeliveryError ? err.message : explainS3Error(err, this.target);
      throw new Error(`cannot write the test object ${where}: ${why}`, { cause: err });
    }
    return { bucket: this.#cfg.bucket, key, bytes: body.length };
  }

  close(): void {
    this.#client.destroy();
  }
}

export function objectLockMissing(bucket: string): string {
  return `S3_OBJECT_LOCK_MODE / S3_OBJECT_LOCK_LEGAL_HOLD are set, but bucket ${bucket} does not have Object Lock enabled, so S3 would refuse every object. Object Lock is chosen when a bucket is created (it turns versioning on): write to a bucket created with it, or unset S3_OBJECT_LOCK_*`;
}
