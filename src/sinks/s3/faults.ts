// The one place that maps what S3 (through the AWS SDK) reports to what logstream does with it, and
// says in one line what is wrong and what to check. Nothing here reads request data or credentials:
// only the error's name, status, message and the region S3 names for the bucket.
import { DeliveryError, halt, oneLine, retriable, throttled, toDeliveryError } from '../../core/errors.ts';

/** S3 sends no Retry-After with SlowDown: a throttled request waits at least this long (or the backoff). */
export const THROTTLE_WAIT_MS = 1000;

const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequests', 'TooManyRequestsException', 'RequestLimitExceeded', 'RequestThrottled', 'KMS.ThrottlingException']);

/** Transient whatever the status says. BadDigest: the body changed on the way (Content-MD5 mismatch). */
const TRANSIENT = new Set([
  'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'RequestTimeTooSkewed', 'BadDigest', 'XAmzContentSHA256Mismatch',
  'IncompleteBody', 'OperationAborted', 'NoSuchUpload', 'RequestExpired', 'ExpiredRequest', 'SlowDownRead', 'SlowDownWrite',
  'XMinioServerNotInitialized', 'XMinioStorageFull', 'XMinioReadQuorum', 'XMinioWriteQuorum', 'KMS.KMSInternalException',
]);

const WRONG_REGION = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'AuthorizationQueryParametersError', 'InvalidRegion']);
const BAD_CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'TokenRefreshRequired', 'InvalidClientTokenId', 'CredentialsProviderError', 'MissingSecurityHeader']);
const DENIED = new Set(['AccessDenied', 'AllAccessDisabled', 'AccountProblem', 'InvalidObjectState', 'InvalidPayer', 'NotSignedUp']);
const NO_BUCKET = new Set(['NoSuchBucket', 'InvalidBucketName', 'NoSuchKey']);

interface AwsError {
  name?: unknown;
  Code?: unknown;
  code?: unknown;
  message?: unknown;
  Region?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { headers?: Record<string, string | undefined> };
}

/** What the messages name: where the sink writes. */
export interface S3Target {
  readonly bucket: string;
  readonly region: string;
  readonly endpoint: string | undefined;
}

function errorName(e: AwsError): string | undefined {
  for (const n of [e.name, e.Code]) if (typeof n === 'string' && n !== '' && n !== 'Error' && n !== 'Unknown' && n !== 'UnknownError') return n;
  return typeof e.code === 'string' ? e.code : undefined;
}

const statusOf = (e: AwsError): number | undefined => (typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined);

/** The region S3 says the bucket is in: the x-amz-bucket-region header, the <Region> of the error, or
 *  "expecting 'r'" in AuthorizationHeaderMalformed. */
export function bucketRegionOf(err: unknown): string | undefined {
  const e = (err ?? {}) as AwsError;
  const header = e.$response?.headers?.['x-amz-bucket-region'];
  if (typeof header === 'string' && header !== '') return header;
  if (typeof e.Region === 'string' && e.Region !== '') return e.Region;
  const m = typeof e.message === 'string' ? /expecting '([A-Za-z0-9-]+)'/.exec(e.message) : null;
  return m?.[1];
}

const endpointText = (t: S3Target): string => t.endpoint ?? `the AWS S3 endpoint of ${t.region}`;

/** One line: what S3 said, then what that means for this configuration. */
export function explainS3Error(err: unknown, t: S3Target): string {
  const e = (err ?? {}) as AwsError;
  const name = errorName(e) ?? 'Error';
  const status = statusOf(e);
  const raw = typeof e.message === 'string' && e.message !== '' && e.message !== name ? `: ${e.message}` : '';
  const said = oneLine(`${name}${raw}${status !== undefined ? ` (HTTP ${status})` : ''}`, 300);
  let hint: string | undefined;
  if (WRONG_REGION.has(name) || status === 301) {
    const actual = bucketRegionOf(err);
    hint = `wrong region: S3_REGION is ${t.region} but bucket ${t.bucket} is in ${actual ?? 'another region'}${actual ? ` (set S3_REGION=${actual})` : ''}`;
  } else if (NO_BUCKET.has(name) || (status === 404 && name !== 'NoSuchUpload')) {
    hint = `bucket ${t.bucket} does not exist at ${endpointText(t)}: check S3_BUCKET${t.endpoint ? ' and S3_ENDPOINT' : ' and S3_REGION'}`;
  } else if (name === 'InvalidAccessKeyId') {
    hint = 'the access key id is not known to S3: check the credentials (AWS default chain: AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity, instance role)';
  } else if (name === 'SignatureDoesNotMatch') {
    hint = 'the secret access key does not belong to the access key id: check the credentials';
  } else if (name === 'CredentialsProviderError') {
    hint = 'no AWS credentials were found (AWS default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, container or instance role)';
  } else if (BAD_CREDENTIALS.has(name)) {
    hint = 'the credentials were refused (expired or invalid session token): check the credentials';
  } else if (name.startsWith('KMS.') || /kms/i.test(name)) {
    hint = `the KMS key was refused: check S3_SSE_KMS_KEY_ID and that the credentials may use it (kms:GenerateDataKey)`;
  } else if (DENIED.has(name) || status === 403) {
    hint = `access denied: the credentials may not write to bucket ${t.bucket}; the bucket policy or IAM policy must allow s3:PutObject on its key prefix (and kms:GenerateDataKey with SSE-KMS)`;
  } else if (status === undefined && isNetworkError(e)) {
    hint = `cannot reach ${endpointText(t)}: check S3_ENDPOINT, DNS and the network`;
  } else if (status === undefined && toDeliveryError(e).deliveryClass === 'halt') {
    hint = `TLS setup with ${endpointText(t)} failed: check S3_ENDPOINT and the trusted CAs (NODE_EXTRA_CA_CERTS)`;
  }
  return hint ? `${hint} [S3 said: ${said}]` : `S3 said: ${said}`;
}

const NETWORK = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED',
  'TimeoutError', 'AbortError', 'RequestTimeout', 'NetworkingError',
]);

function isNetworkError(e: AwsError): boolean {
  return [e.code, e.name].some((n) => typeof n === 'string' && NETWORK.has(n));
}

/** An error of a PutObject (or multipart) call as a DeliveryError. Nothing is dead-lettered for an S3
 *  error: a bad setup halts (records wait, retried slowly), everything else is retried. */
export function s3Fault(err: unknown, t: S3Target): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = (err ?? {}) as AwsError;
  const name = errorName(e);
  const status = statusOf(e);
  const code = `S3_${name ?? (status !== undefined ? `HTTP_${status}` : 'ERROR')}`;
  const what = explainS3Error(err, t);
  if ((name !== undefined && THROTTLING.has(name)) || status === 429) return throttled(code, what, THROTTLE_WAIT_MS);
  if (name !== undefined && TRANSIENT.has(name)) return retriable(code, what, err);
  if (status !== undefined && status >= 500 && status !== 501) return retriable(code, what, err);
  if (status === 408) return retriable(code, what, err);
  if (name === 'CredentialsProviderError') return halt(code, what, err);
  // A wrong region, bucket, credentials or permission, a KMS key, an unsupported option (501, storage
  // class…), any other 4xx or redirect: a setup problem. Halting keeps the records (nothing is committed
  // past them) until someone fixes it; nothing of good data is dead-lettered.
  if (status !== undefined && status >= 300) return halt(code, what, err);
  if (e.$fault === 'client' && name !== undefined && (WRONG_REGION.has(name) || BAD_CREDENTIALS.has(name) || DENIED.has(name) || NO_BUCKET.has(name))) return halt(code, what, err);
  // No reply at all: network errors, timeouts and aborts are retried.
  const d = toDeliveryError(err);
  return new DeliveryError(d.deliveryClass, d.code === 'UNKNOWN' ? code : d.code, what, { cause: err });
}
