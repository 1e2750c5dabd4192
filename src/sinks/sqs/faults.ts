// The one place that maps what SQS (through the AWS SDK) reports to what logstream does with it:
// an error thrown by a call, and a Failed[] entry of an HTTP 200 SendMessageBatch reply.
import { DeliveryError, halt, permanent, retriable, throttled, toDeliveryError } from '../../core/errors.ts';

/** SQS sends no Retry-After: a throttled call waits at least this long (or the backoff, if longer). */
export const THROTTLE_WAIT_MS = 1000;

const THROTTLING = new Set([
  'ThrottlingException', 'Throttling', 'ThrottledException', 'RequestThrottled', 'RequestThrottledException',
  'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown', 'KmsThrottled', 'KMS.ThrottlingException',
]);

/** The queue, the credentials or the KMS key are wrong: retrying slowly (halt) keeps the records until fixed. */
const SETUP = new Set([
  'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'QueueDeletedRecently', 'AccessDenied', 'AccessDeniedException',
  'InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'IncompleteSignature', 'InvalidSecurity',
  'MissingAuthenticationToken', 'ExpiredToken', 'ExpiredTokenException', 'InvalidAccessKeyId', 'NotAuthorized', 'OptInRequired',
  'InvalidAddress', 'UnsupportedOperation', 'CredentialsProviderError', 'KmsAccessDenied', 'KmsDisabled', 'KmsInvalidState',
  'KmsInvalidKeyUsage', 'KmsNotFound', 'KmsOptInRequired', 'KMS.AccessDeniedException', 'KMS.DisabledException',
  'KMS.NotFoundException', 'KMS.InvalidStateException', 'KMS.KMSInvalidStateException',
]);

/** A message of the call is unacceptable and the whole call is refused for it: the transport sends the
 *  entries one by one, and the one still refused is dead-lettered. (ElasticMQ reports a too long message
 *  or bad characters as InvalidAttributeValue with the reason as its message.) */
const DATA = new Set(['InvalidMessageContents', 'MessageTooLong', 'BatchRequestTooLong', 'InvalidAttributeValue']);

/** Transient on the server's side, whatever the status says. */
const TRANSIENT = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'RequestTimeout', 'RequestExpired', 'RequestTimeTooSkewed']);

interface AwsError {
  name?: unknown;
  Code?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The SQS error name: JSON-protocol errors carry it as `name`; `Code` may hold the query-protocol code
 *  (AWS.SimpleQueueService.NonExistentQueue) or a namespaced one (com.amazonaws.sqs#QueueDoesNotExist). */
function errorNames(e: AwsError): string[] {
  const names: string[] = [];
  for (const n of [e.name, e.Code]) if (typeof n === 'string' && n !== '' && n !== 'Error') names.push(n.slice(n.lastIndexOf('#') + 1));
  return names;
}

/** One line describing an SDK error (no request data, no credentials: the SDK puts neither in messages). */
export function describeSqsError(err: unknown): string {
  const e = (err ?? {}) as AwsError;
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  const name = errorNames(e)[0] ?? (typeof e.code === 'string' ? e.code : 'Error');
  const message = typeof e.message === 'string' && e.message !== '' && e.message !== name ? `: ${e.message}` : '';
  return `${name}${message}${status}`;
}

/** An error thrown by a call (nothing of it was accepted) as a DeliveryError. */
export function sqsCallError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = (err ?? {}) as AwsError;
  const names = errorNames(e);
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const what = describeSqsError(err);
  const has = (set: Set<string>): boolean => names.some((n) => set.has(n)) || (typeof e.message === 'string' && set.has(e.message));
  const code = `SQS_${names[0] ?? (status !== undefined ? `HTTP_${status}` : 'ERROR')}`;
  if (has(THROTTLING) || status === 429) return throttled(code, what, THROTTLE_WAIT_MS);
  if (has(TRANSIENT)) return retriable(code, what, err);
  if (has(SETUP) || status === 401 || status === 403) return halt(code, what, err);
  if (has(DATA) || status === 413) return permanent(code, what, err);
  if (status !== undefined && status >= 500) return retriable(code, what, err);
  if (e.$fault === 'server') return retriable(code, what, err);
  // Any other 4xx is a request this sink should not have made (e.g. TooManyEntriesInBatchRequest) or a
  // setup problem: hold the records rather than drop them.
  if (status !== undefined && status >= 400) return halt(code, what, err);
  // No reply at all: network errors, timeouts and aborts are retried.
  return toDeliveryError(err);
}

/** A Failed[] entry of SendMessageBatch. SenderFault=false: retry it; true: dead-letter it — except for
 *  throttling (wait) and a refused key or permission (hold the records until someone fixes it). */
export function failedEntryError(f: { Code?: string | undefined; Message?: string | undefined; SenderFault?: boolean | undefined }): DeliveryError {
  const name = f.Code ?? 'Unknown';
  const code = `SQS_${name}`;
  const what = `SQS refused the message: ${name}${f.Message ? `: ${f.Message}` : ''}${f.SenderFault ? '' : ' (not the sender\'s fault)'}`;
  if (THROTTLING.has(name)) return throttled(code, what, THROTTLE_WAIT_MS);
  if (SETUP.has(name)) return halt(code, what);
  return f.SenderFault ? permanent(code, what) : retriable(code, what);
}
