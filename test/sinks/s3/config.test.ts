import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.ts';
import { parseS3Config } from '../../../src/sinks/s3/config.ts';
import { s3Sink } from '../../../src/sinks/s3/index.ts';
import { parseDeliveryConfig } from '../../../src/delivery/config.ts';

const base = { S3_BUCKET: 'unique-bucket-name' };
const problems = (env: Record<string, string>): string[] => {
  try {
    parseS3Config({ ...base, ...env });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
};

describe('S3 sink configuration', () => {
  it('defaults: the Log Stream layout (logType, timestamp), no compression, us-east-1, virtual-host addressing', () => {
    expect(parseS3Config(base)).toEqual({
      bucket: 'unique-bucket-name', prefix: '', region: 'us-east-1', endpoint: undefined, forcePathStyle: false,
      logTypeField: 'logType', logTypeDefault: 'logs', timeField: 'timestamp', gzip: false, gzipLevel: 6, contentType: 'application/x-ndjson',
      sse: { mode: undefined, kmsKeyId: undefined, bucketKey: undefined }, storageClass: undefined, checksum: 'sha256',
      multipart: { thresholdBytes: 64 * 1024 * 1024, partBytes: 16 * 1024 * 1024, concurrency: 4 }, connections: 64, objectLock: undefined, testOnStart: false,
      manifests: undefined, manifestPrefix: 'logstream-manifests',
    });
  });

  it('signed manifests: an Ed25519 key turns them on; the manifest prefix stays outside S3_PREFIX', () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const on = parseS3Config({ ...base, S3_PREFIX: 'sdm/logs', S3_MANIFEST_SIGNING_KEY: pem });
    expect(on.manifests).toMatchObject({ anchorIntervalMs: 60_000, key: { id: expect.stringMatching(/^[0-9a-f]{16}$/) } });
    expect(on.manifestPrefix).toBe('logstream-manifests/sdm/logs');
    expect(parseS3Config({ ...base, S3_MANIFEST_SIGNING_KEY: pem, S3_MANIFEST_PREFIX: '/audit/manifests/', S3_MANIFEST_ANCHOR_INTERVAL: '5s' })).toMatchObject({ manifestPrefix: 'audit/manifests', manifests: { anchorIntervalMs: 5000 } });
    expect(problems({ ...base, S3_MANIFEST_SIGNING_KEY: 'secret-text' })).toEqual(['S3_MANIFEST_SIGNING_KEY: not a PEM private key (make one with: openssl genpkey -algorithm ed25519)']);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(problems({ ...base, S3_MANIFEST_SIGNING_KEY: rsa })).toEqual(['S3_MANIFEST_SIGNING_KEY: an rsa key, not Ed25519 (make one with: openssl genpkey -algorithm ed25519)']);
    expect(problems({ ...base, S3_PREFIX: 'sdm', S3_MANIFEST_SIGNING_KEY: pem, S3_MANIFEST_PREFIX: 'sdm/manifests' })).toEqual(['S3_MANIFEST_PREFIX: "sdm/manifests" is inside S3_PREFIX "sdm": what ingests the log objects would read the manifests']);
    // The key is a secret: never in a message.
    expect(JSON.stringify(problems({ ...base, S3_MANIFEST_SIGNING_KEY: rsa }))).not.toContain('PRIVATE');
  });

  it('the seed\'s "up to 1000 entries or about 100 MiB" are the batch defaults', () => {
    const d = parseDeliveryConfig('S3', {}, s3Sink.deliveryDefaults);
    expect(d.batchMaxRecords).toBe(1000);
    expect(d.batchMaxBytes).toBe(100 * 1024 * 1024);
    expect(parseDeliveryConfig('S3', { S3_BATCH_MAX_RECORDS: '50', S3_BATCH_MAX_BYTES: '10MiB' }, s3Sink.deliveryDefaults)).toMatchObject({ batchMaxRecords: 50, batchMaxBytes: 10 * 1024 * 1024 });
  });

  it('region: S3_REGION, else AWS_REGION, else AWS_DEFAULT_REGION', () => {
    expect(parseS3Config({ ...base, S3_REGION: 'us-west-2', AWS_REGION: 'eu-west-1' }).region).toBe('us-west-2');
    expect(parseS3Config({ ...base, AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'x' }).region).toBe('eu-west-1');
    expect(parseS3Config({ ...base, AWS_DEFAULT_REGION: 'ap-south-1' }).region).toBe('ap-south-1');
  });

  it('prefix without outer slashes; path style by default with an endpoint override', () => {
    expect(parseS3Config({ ...base, S3_PREFIX: '/sdm/logs/' }).prefix).toBe('sdm/logs');
    expect(parseS3Config({ ...base, S3_ENDPOINT: 'http://127.0.0.1:9000' })).toMatchObject({ endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
    expect(parseS3Config({ ...base, S3_ENDPOINT: 'https://s3.example', S3_FORCE_PATH_STYLE: 'false' }).forcePathStyle).toBe(false);
    expect(parseS3Config({ ...base, S3_FORCE_PATH_STYLE: 'true' }).forcePathStyle).toBe(true);
  });

  it('encryption and storage class', () => {
    expect(parseS3Config({ ...base, S3_SSE: 'AES256' }).sse).toEqual({ mode: 'AES256', kmsKeyId: undefined, bucketKey: undefined });
    expect(parseS3Config({ ...base, S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: 'alias/logs', S3_SSE_BUCKET_KEY: 'true' }).sse).toEqual({ mode: 'aws:kms', kmsKeyId: 'alias/logs', bucketKey: true });
    expect(parseS3Config({ ...base, S3_STORAGE_CLASS: 'STANDARD_IA' }).storageClass).toBe('STANDARD_IA');
  });

  it('Object Lock: a mode needs days and days a mode; a legal hold stands alone', () => {
    expect(parseS3Config({ ...base, S3_OBJECT_LOCK_MODE: 'COMPLIANCE', S3_OBJECT_LOCK_DAYS: '2555' }).objectLock).toEqual({ retention: { mode: 'COMPLIANCE', days: 2555 }, legalHold: false });
    expect(parseS3Config({ ...base, S3_OBJECT_LOCK_LEGAL_HOLD: 'true' }).objectLock).toEqual({ retention: undefined, legalHold: true });
    expect(problems({ S3_OBJECT_LOCK_MODE: 'GOVERNANCE' })).toEqual(['S3_OBJECT_LOCK_DAYS: needed with S3_OBJECT_LOCK_MODE (how many days each object is retained)']);
    expect(problems({ S3_OBJECT_LOCK_DAYS: '30' })).toEqual(['S3_OBJECT_LOCK_MODE: needed with S3_OBJECT_LOCK_DAYS (GOVERNANCE or COMPLIANCE)']);
    expect(problems({ S3_OBJECT_LOCK_MODE: 'governance', S3_OBJECT_LOCK_DAYS: '0' }).join('\n')).toMatch(/S3_OBJECT_LOCK_MODE: must be one of GOVERNANCE, COMPLIANCE, got "governance"[\s\S]*S3_OBJECT_LOCK_DAYS: /);
  });

  it('every problem names its variable', () => {
    expect(problems({ S3_BUCKET: '' })).toEqual(['S3_BUCKET: is required but not set']);
    expect(problems({ S3_BUCKET: 'a' })[0]).toMatch(/^S3_BUCKET: must be a bucket name/);
    expect(problems({ S3_ENDPOINT: 'ftp://x' })).toEqual(['S3_ENDPOINT: "ftp://x" is not an http(s) URL']);
    expect(problems({ S3_ENDPOINT: 'http://key:secret@minio:9000' })[0]).toMatch(/^S3_ENDPOINT: "http:\/\/minio:9000" must not carry credentials/);
    expect(problems({ S3_PREFIX: 'a//b' })[0]).toMatch(/^S3_PREFIX: .* segment/);
    expect(problems({ S3_PREFIX: 'a/../b' })[0]).toMatch(/^S3_PREFIX: /);
    expect(problems({ S3_SSE_KMS_KEY_ID: 'k' })).toEqual(['S3_SSE_KMS_KEY_ID: needs S3_SSE=aws:kms (or aws:kms:dsse)']);
    expect(problems({ S3_SSE: 'AES256', S3_SSE_BUCKET_KEY: 'true' })).toEqual(['S3_SSE_BUCKET_KEY: needs S3_SSE=aws:kms (or aws:kms:dsse)']);
    expect(problems({ S3_SSE: 'kms' })[0]).toMatch(/^S3_SSE: must be one of AES256, aws:kms, aws:kms:dsse/);
    expect(problems({ S3_CHECKSUM: 'crc32' })[0]).toMatch(/^S3_CHECKSUM: must be one of sha256, md5/);
    expect(problems({ S3_STORAGE_CLASS: 'COLD' })[0]).toMatch(/^S3_STORAGE_CLASS: must be one of STANDARD/);
    expect(problems({ S3_MULTIPART_PART_SIZE: '1MiB' })[0]).toMatch(/^S3_MULTIPART_PART_SIZE: must be at least 5242880/);
    expect(problems({ S3_MULTIPART_THRESHOLD: '6GiB' })[0]).toMatch(/^S3_MULTIPART_THRESHOLD: must be at most 5368709120/);
    expect(problems({ S3_MULTIPART_THRESHOLD: '8MiB', S3_MULTIPART_PART_SIZE: '16MiB' })).toEqual(['S3_MULTIPART_PART_SIZE: must not exceed S3_MULTIPART_THRESHOLD (8388608 bytes)']);
    expect(problems({ S3_LOG_TYPE_DEFAULT: 'a/b' })[0]).toMatch(/^S3_LOG_TYPE_DEFAULT: /);
    expect(problems({ S3_TEST_ON_START: 'maybe' })[0]).toMatch(/^S3_TEST_ON_START: must be true or false/);
  });
});
