// The one place that maps a HEC reply (HTTP status + HEC code) to what logstream does with it,
// as the table in the protocol notes says. Unknown codes are never treated as success.
import { DeliveryError, halt, permanent, retriable, throttled } from '../../core/errors.ts';
import { parseRetryAfter } from '../http/retry-after.ts';

export { parseRetryAfter };

export interface HecReply {
  readonly status: number;
  readonly code: number | undefined;
  readonly text: string | undefined;
  readonly invalidEventNumber: number | undefined;
  readonly ackId: number | undefined;
  readonly retryAfterMs: number | undefined;
}

export type HecOutcome =
  | { readonly kind: 'ok'; readonly ackId: number | undefined }
  /** Bad event(s): isolate them (invalid-event-number, else bisect) and dead-letter only those. */
  | { readonly kind: 'data'; readonly error: DeliveryError; readonly invalidEventNumber: number | undefined }
  /** 413: the request is too large; split it. */
  | { readonly kind: 'too-large'; readonly error: DeliveryError }
  /** Retriable, throttled, or halt (configuration / credentials). */
  | { readonly kind: 'failed'; readonly error: DeliveryError };

const HALT_CODES = new Set([1, 2, 3, 4, 7, 10, 11, 14, 16]);
const DATA_CODES = new Set([5, 6, 12, 13, 15]);
const BUSY_CODES = new Set([8, 9, 18, 19, 20]);
const DEFAULT_RETRY_AFTER_MS = 1000;

function describe(r: HecReply): string {
  return `HTTP ${r.status}${r.code !== undefined ? `, HEC code ${r.code}` : ''}${r.text ? `: ${r.text}` : ''}`;
}

export function classifyHecReply(r: HecReply): HecOutcome {
  const what = describe(r);
  const code = r.code === undefined ? `HEC_HTTP_${r.status}` : `HEC_${r.code}`;
  if (r.status >= 200 && r.status < 300 && (r.code === undefined || r.code === 0)) return { kind: 'ok', ackId: r.ackId };
  if (r.code !== undefined && HALT_CODES.has(r.code)) return { kind: 'failed', error: halt(code, what) };
  if (r.code !== undefined && DATA_CODES.has(r.code)) return { kind: 'data', error: permanent(code, what), invalidEventNumber: r.invalidEventNumber };
  if (r.status === 413) return { kind: 'too-large', error: permanent('HEC_HTTP_413', what) };
  if (r.status === 429 || r.status === 408 || (r.code === 9 && r.retryAfterMs !== undefined)) {
    return { kind: 'failed', error: throttled(code, what, r.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS) };
  }
  if ((r.code !== undefined && BUSY_CODES.has(r.code)) || (r.status >= 500 && r.status !== 501)) return { kind: 'failed', error: retriable(code, what) };
  // 501, redirects (never followed), 404 (wrong URL), any other 4xx or an unknown HEC code: a setup
  // problem. Halting keeps the records (nothing is committed past them) until someone fixes it.
  return { kind: 'failed', error: halt(code, what) };
}

/** Reads a HEC JSON reply body; a body that is not HEC JSON leaves code and text undefined. */
export function parseHecReply(status: number, body: string, retryAfter: string | string[] | undefined): HecReply {
  let parsed: Record<string, unknown> = {};
  try {
    const j: unknown = JSON.parse(body);
    if (j !== null && typeof j === 'object') parsed = j as Record<string, unknown>;
  } catch {
    // not JSON (a proxy's error page): classified by the HTTP status alone
  }
  const num = (x: unknown): number | undefined => (typeof x === 'number' ? x : typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : undefined);
  return {
    status,
    code: num(parsed.code),
    text: typeof parsed.text === 'string' ? parsed.text : undefined,
    invalidEventNumber: num(parsed['invalid-event-number']),
    ackId: num(parsed.ackId),
    retryAfterMs: parseRetryAfter(retryAfter),
  };
}
