// Errors carry a stable code and one delivery class, so that the shared delivery layer
// (src/delivery) decides retry / dead-letter / halt in one place for every sink.

/**
 * - retriable: transient (timeout, 5xx, connection refused); retried forever with capped backoff.
 * - throttled: like retriable, but wait at least `retryAfterMs` (429, HEC "server busy").
 * - permanent: this record (or batch) can never be delivered; it goes to the dead-letter topic.
 * - halt: configuration or credentials are wrong (bad token, unknown index); retried slowly,
 *   the sink reports unhealthy, nothing is dead-lettered.
 */
export type DeliveryClass = 'retriable' | 'throttled' | 'permanent' | 'halt';

export class DeliveryError extends Error {
  readonly code: string;
  readonly deliveryClass: DeliveryClass;
  readonly retryAfterMs: number | undefined;

  constructor(
    deliveryClass: DeliveryClass,
    code: string,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DeliveryError';
    this.code = code;
    this.deliveryClass = deliveryClass;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

export const retriable = (code: string, message: string, cause?: unknown): DeliveryError =>
  new DeliveryError('retriable', code, message, { cause });
export const permanent = (code: string, message: string, cause?: unknown): DeliveryError =>
  new DeliveryError('permanent', code, message, { cause });
export const halt = (code: string, message: string, cause?: unknown): DeliveryError =>
  new DeliveryError('halt', code, message, { cause });
export const throttled = (code: string, message: string, retryAfterMs: number): DeliveryError =>
  new DeliveryError('throttled', code, message, { retryAfterMs });

/** Node's network errors that are worth retrying. */
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'ENOTFOUND', 'ECONNABORTED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED', 'ENOSPC', 'EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN',
]);

/** TLS failures that retrying cannot fix: the peer's certificate or our trust settings are wrong. */
const TLS_SETUP_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_REVOKED', 'CERT_SIGNATURE_FAILURE', 'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
]);

/** Maps anything thrown by a transport to a DeliveryError. Unknown errors are retriable:
 * losing data because of an unexpected error class is worse than retrying it. */
export function toDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'UNKNOWN';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return retriable('TIMEOUT', message, err);
  if (TLS_SETUP_CODES.has(code)) return halt(code, `TLS: ${message}`, err);
  if (TRANSIENT_NODE_CODES.has(code)) return retriable(code, message, err);
  return retriable(code, message, err);
}

/** A configuration error names the variable and says what is wrong with it. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Strips CR/LF so that a value taken from input cannot forge log lines. */
export function oneLine(text: string, max = 500): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
