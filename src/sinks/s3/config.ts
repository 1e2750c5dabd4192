// Amazon S3 archive sink settings (S3_*), in the StrongDM Log Stream layout. Credentials are not settings:
// they come from the AWS default chain (env AWS_ACCESS_KEY_ID…, AWS_PROFILE and shared files, web identity,
// container and instance metadata), so no key ever sits in logstream's own configuration.
import { ConfigError } from '../../core/errors.ts';
import { parseVars, v, type Env } from '../../config/vars.ts';
import { followedSigningKey, manifestSettings, type SigningKey } from '../manifest/document.ts';
import { followedAwsCredentials, type AwsCredentialProvider } from '../aws/credentials.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** S3's limits: a single PUT up to 5 GiB; multipart parts 5 MiB to 5 GiB (the last one may be smaller). */
export const S3_MAX_PUT_BYTES = 5 * GiB;
export const S3_MIN_PART_BYTES = 5 * MiB;

export const STORAGE_CLASSES = [
  'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'OUTPOSTS', 'SNOW', 'EXPRESS_ONEZONE',
] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];
export const SSE_MODES = ['AES256', 'aws:kms', 'aws:kms:dsse'] as const;
export type SseMode = (typeof SSE_MODES)[number];
export const OBJECT_LOCK_MODES = ['GOVERNANCE', 'COMPLIANCE'] as const;
export type ObjectLockMode = (typeof OBJECT_LOCK_MODES)[number];

const endpointProblem = (s: string): string | undefined => {
  try {
    const u = new URL(s);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return `${JSON.stringify(s)} is not an http(s) URL`;
    if (u.username || u.password) return `${JSON.stringify(u.origin)} must not carry credentials (use the AWS credential chain)`;
    return undefined;
  } catch {
    return `${JSON.stringify(s)} is not a URL`;
  }
};

export const s3Vars = {
  S3_BUCKET: v.string({ doc: 'Bucket name (e.g. `unique-bucket-name`).', required: true, pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/, patternText: 'a bucket name (3–63 lower-case letters, digits, dots and hyphens; legacy names up to 255)' }),
  S3_PREFIX: v.string({ doc: 'Key prefix (e.g. `sdm/logs`); objects go to `<prefix>/<logType>/YYYY/MM/DD/HH/MM/<uuid>.json`. Leading and trailing `/` are ignored; empty = the bucket root.', default: '' }),
  S3_REGION: v.optionalString({ doc: 'Region of the bucket (e.g. `us-west-2`). Unset: AWS_REGION or AWS_DEFAULT_REGION, else `us-east-1`.' }),
  S3_ENDPOINT: v.optionalString({ doc: 'Endpoint override: an S3-compatible store (MinIO…), a VPC or FIPS endpoint. Unset: AWS S3 of the region.' }),
  S3_FORCE_PATH_STYLE: v.oneOf(['true', 'false'] as const, { doc: 'Path-style addressing (`<endpoint>/<bucket>/<key>`) instead of virtual hosts (`<bucket>.<endpoint>`). Unset: true when S3_ENDPOINT is set, else false.', required: false }),
  S3_LOG_TYPE_FIELD: v.string({ doc: 'Record field naming the log type, the first folder under the prefix (StrongDM: `logType` = activities, queries, replays). Characters other than letters, digits, `.`, `_` and `-` become `_`.', default: 'logType' }),
  S3_LOG_TYPE_DEFAULT: v.string({ doc: 'Log type of a record without that field.', default: 'logs', pattern: /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/, patternText: 'letters, digits, `.`, `_` and `-` (at most 100)' }),
  S3_TIME_FIELD: v.string({ doc: 'Record field holding the event time that names the YYYY/MM/DD/HH/MM folders (UTC): ISO 8601 / RFC 3339 text, or epoch seconds or milliseconds; missing or unreadable: the Kafka timestamp. One object never mixes minutes.', default: 'timestamp' }),
  S3_GZIP: v.bool({ doc: 'Compress objects: key ending `.json.gz`, `Content-Encoding: gzip`.', default: false }),
  S3_GZIP_LEVEL: v.int({ doc: 'gzip level, 1 (fast) to 9 (small).', default: 6, min: 1, max: 9 }),
  S3_CONTENT_TYPE: v.string({ doc: 'Content-Type of the objects (JSON lines).', default: 'application/x-ndjson' }),
  S3_SSE: v.oneOf(SSE_MODES, { doc: 'Server-side encryption: `AES256` (SSE-S3), `aws:kms` (SSE-KMS), `aws:kms:dsse`. Unset: the bucket\'s default encryption.', required: false }),
  S3_SSE_KMS_KEY_ID: v.optionalString({ doc: 'KMS key (id, ARN or alias) for S3_SSE=aws:kms / aws:kms:dsse. Unset: the AWS managed key `aws/s3`.' }),
  S3_SSE_BUCKET_KEY: v.oneOf(['true', 'false'] as const, { doc: 'SSE-KMS: use an S3 Bucket Key (fewer KMS calls). Unset: the bucket\'s setting.', required: false }),
  S3_STORAGE_CLASS: v.oneOf(STORAGE_CLASSES, { doc: 'Storage class of the objects. Unset: STANDARD.', required: false }),
  S3_CHECKSUM: v.oneOf(['sha256', 'md5'] as const, { doc: 'Integrity check of every PUT and part, besides the signed SHA-256 of the payload that S3 always verifies: `sha256` sends x-amz-checksum-sha256 (stored with the object, readers can verify it), `md5` sends Content-MD5 instead, for S3-compatible stores that refuse x-amz-checksum headers.', default: 'sha256' }),
  S3_MULTIPART_THRESHOLD: v.bytes({ doc: 'Objects larger than this (after compression) are sent as a multipart upload; at most 5 GiB, the single-PUT limit.', default: 64 * MiB, min: S3_MIN_PART_BYTES, max: S3_MAX_PUT_BYTES }),
  S3_MULTIPART_PART_SIZE: v.bytes({ doc: 'Part size of multipart uploads (5 MiB to 5 GiB).', default: 16 * MiB, min: S3_MIN_PART_BYTES, max: S3_MAX_PUT_BYTES }),
  S3_MULTIPART_CONCURRENCY: v.int({ doc: 'Parts of one object uploaded at once.', default: 4, min: 1, max: 64 }),
  S3_CONNECTIONS: v.int({ doc: 'HTTP keep-alive connections to S3 at most.', default: 64, min: 1, max: 1024 }),
  S3_OBJECT_LOCK_MODE: v.oneOf(OBJECT_LOCK_MODES, { doc: 'S3 Object Lock retention of every log object (WORM): `GOVERNANCE` (users with s3:BypassGovernanceRetention may still delete or shorten it) or `COMPLIANCE` (nobody can, not even the root account, until it expires). Needs S3_OBJECT_LOCK_DAYS and a bucket created with Object Lock enabled (checked at start). Unset: the bucket\'s default retention, if any.', required: false }),
  S3_OBJECT_LOCK_DAYS: v.int({ doc: 'Days each log object is retained under S3_OBJECT_LOCK_MODE, counted from its upload (retain-until date = upload time + days).', min: 1, max: 36_500, required: false }),
  S3_OBJECT_LOCK_LEGAL_HOLD: v.bool({ doc: 'Put a legal hold on every log object: it cannot be deleted or overwritten until the hold is removed (s3:PutObjectLegalHold), whatever its retention. Needs a bucket with Object Lock enabled.', default: false }),
  S3_MANIFEST_SIGNING_KEY: v.secret({ doc: 'Ed25519 private key (PEM; `openssl genpkey -algorithm ed25519`) that signs a manifest for every log object: which Kafka offsets it holds and which were read and not shipped, its SHA-256, and the hash of the previous manifest of its partition (a hash chain). Set: manifests are written and `logstream verify s3` can prove the archive complete and unchanged with the public key. Unset: no manifests.' }),
  S3_MANIFEST_PREFIX: v.optionalString({ doc: 'Key prefix of the manifests and chain anchors: `<prefix>/<topic>/<partition>/…`. Outside S3_PREFIX, so that what ingests the log objects does not read them. Unset: `logstream-manifests/<S3_PREFIX>`.' }),
  S3_MANIFEST_ANCHOR_INTERVAL: v.duration({ doc: 'How often the head of each partition\'s manifest chain is anchored (an object under `<manifest prefix>/<topic>/<partition>/anchors/`), and at shutdown: removing objects written before the latest anchor is detected.', default: 60_000, min: 1000, max: 86_400_000 }),
  S3_TEST_ON_START: v.bool({ doc: 'At start, write a test object to `<prefix>/test` (as `logstream s3 test` does) and refuse to start when that fails.', default: false }),
};

export interface S3Config {
  /** Keys from a shared credentials file that is followed while running; undefined: the SDK's chain. */
  credentials?: AwsCredentialProvider | undefined;
  bucket: string;
  /** Without leading or trailing slashes; '' = the bucket root. */
  prefix: string;
  region: string;
  endpoint: string | undefined;
  forcePathStyle: boolean;
  logTypeField: string;
  logTypeDefault: string;
  timeField: string;
  gzip: boolean;
  gzipLevel: number;
  contentType: string;
  sse: { mode: SseMode | undefined; kmsKeyId: string | undefined; bucketKey: boolean | undefined };
  storageClass: StorageClass | undefined;
  checksum: 'sha256' | 'md5';
  multipart: { thresholdBytes: number; partBytes: number; concurrency: number };
  connections: number;
  /** Object Lock of the log objects (not of the test object); undefined when neither retention nor a legal hold is set. */
  objectLock: { retention: { mode: ObjectLockMode; days: number } | undefined; legalHold: boolean } | undefined;
  testOnStart: boolean;
  /** Signed manifests (S3_MANIFEST_*); undefined when off. */
  manifests: { key: SigningKey; anchorIntervalMs: number } | undefined;
  /** Where manifests are (also read by `verify` without a signing key). */
  manifestPrefix: string;
}

export function parseS3Config(env: Env): S3Config {
  const p = parseVars(s3Vars, env);
  const problems: string[] = [];
  const endpointIssue = p.S3_ENDPOINT === undefined ? undefined : endpointProblem(p.S3_ENDPOINT);
  if (endpointIssue) problems.push(`S3_ENDPOINT: ${endpointIssue}`);
  const prefix = p.S3_PREFIX.replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && prefix.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) problems.push(`S3_PREFIX: ${JSON.stringify(p.S3_PREFIX)} has an empty, "." or ".." segment`);
  if (Buffer.byteLength(prefix) > 512) problems.push('S3_PREFIX: longer than 512 bytes (S3 keys are at most 1024)');
  if (p.S3_SSE_KMS_KEY_ID !== undefined && p.S3_SSE !== 'aws:kms' && p.S3_SSE !== 'aws:kms:dsse') problems.push('S3_SSE_KMS_KEY_ID: needs S3_SSE=aws:kms (or aws:kms:dsse)');
  if (p.S3_SSE_BUCKET_KEY !== undefined && p.S3_SSE !== 'aws:kms' && p.S3_SSE !== 'aws:kms:dsse') problems.push('S3_SSE_BUCKET_KEY: needs S3_SSE=aws:kms (or aws:kms:dsse)');
  if (p.S3_MULTIPART_PART_SIZE > p.S3_MULTIPART_THRESHOLD) problems.push(`S3_MULTIPART_PART_SIZE: must not exceed S3_MULTIPART_THRESHOLD (${p.S3_MULTIPART_THRESHOLD} bytes)`);
  if (p.S3_OBJECT_LOCK_MODE !== undefined && p.S3_OBJECT_LOCK_DAYS === undefined) problems.push('S3_OBJECT_LOCK_DAYS: needed with S3_OBJECT_LOCK_MODE (how many days each object is retained)');
  if (p.S3_OBJECT_LOCK_DAYS !== undefined && p.S3_OBJECT_LOCK_MODE === undefined) problems.push('S3_OBJECT_LOCK_MODE: needed with S3_OBJECT_LOCK_DAYS (GOVERNANCE or COMPLIANCE)');
  let signing: (() => SigningKey) | undefined;
  if (p.S3_MANIFEST_SIGNING_KEY !== undefined) {
    try {
      signing = followedSigningKey(p.S3_MANIFEST_SIGNING_KEY);
    } catch (err) {
      problems.push(`S3_MANIFEST_SIGNING_KEY: ${(err as Error).message}`);
    }
  }
  const manifestPrefix = (p.S3_MANIFEST_PREFIX ?? (prefix === '' ? 'logstream-manifests' : `logstream-manifests/${prefix}`)).replace(/^\/+|\/+$/g, '');
  if (signing !== undefined && prefix !== '' && (manifestPrefix === prefix || manifestPrefix.startsWith(`${prefix}/`))) problems.push(`S3_MANIFEST_PREFIX: ${JSON.stringify(manifestPrefix)} is inside S3_PREFIX ${JSON.stringify(prefix)}: what ingests the log objects would read the manifests`);
  if (manifestPrefix === '') problems.push('S3_MANIFEST_PREFIX: must not be empty (manifests need a folder of their own)');
  if (problems.length > 0) throw new ConfigError(problems);
  const retention = p.S3_OBJECT_LOCK_MODE !== undefined && p.S3_OBJECT_LOCK_DAYS !== undefined ? { mode: p.S3_OBJECT_LOCK_MODE, days: p.S3_OBJECT_LOCK_DAYS } : undefined;
  const envRegion = env['AWS_REGION']?.trim() || env['AWS_DEFAULT_REGION']?.trim() || undefined;
  return {
    credentials: followedAwsCredentials(env),
    bucket: p.S3_BUCKET,
    prefix,
    region: p.S3_REGION ?? envRegion ?? 'us-east-1',
    endpoint: p.S3_ENDPOINT,
    forcePathStyle: p.S3_FORCE_PATH_STYLE === undefined ? p.S3_ENDPOINT !== undefined : p.S3_FORCE_PATH_STYLE === 'true',
    logTypeField: p.S3_LOG_TYPE_FIELD,
    logTypeDefault: p.S3_LOG_TYPE_DEFAULT,
    timeField: p.S3_TIME_FIELD,
    gzip: p.S3_GZIP,
    gzipLevel: p.S3_GZIP_LEVEL,
    contentType: p.S3_CONTENT_TYPE,
    sse: { mode: p.S3_SSE, kmsKeyId: p.S3_SSE_KMS_KEY_ID, bucketKey: p.S3_SSE_BUCKET_KEY === undefined ? undefined : p.S3_SSE_BUCKET_KEY === 'true' },
    storageClass: p.S3_STORAGE_CLASS,
    checksum: p.S3_CHECKSUM,
    multipart: { thresholdBytes: p.S3_MULTIPART_THRESHOLD, partBytes: p.S3_MULTIPART_PART_SIZE, concurrency: p.S3_MULTIPART_CONCURRENCY },
    connections: p.S3_CONNECTIONS,
    objectLock: retention !== undefined || p.S3_OBJECT_LOCK_LEGAL_HOLD ? { retention, legalHold: p.S3_OBJECT_LOCK_LEGAL_HOLD } : undefined,
    testOnStart: p.S3_TEST_ON_START,
    manifests: signing === undefined ? undefined : manifestSettings(signing, p.S3_MANIFEST_ANCHOR_INTERVAL),
    manifestPrefix,
  };
}
