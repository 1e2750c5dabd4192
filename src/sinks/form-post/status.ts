// The one place that maps a form POST receiver's reply to what logstream does with it:
//   2xx                          delivered
//   408, 429 (Retry-After)       retried no sooner than Retry-After (1 s without one)
//   5xx                          retried with capped backoff, forever
//   413                          the POST is split in two until it fits; one row still too large is dead-lettered
//   FORMPOST_HALT_STATUSES       halt (401, 403, 404, 405, 407 by default): the URL or the credentials are
//                                wrong, so nothing is dead-lettered or committed until someone fixes them
//   other 4xx                    the POST's rows are dead-lettered with the status and a body excerpt
//   1xx, 3xx, anything else      halt (redirects are not followed: the URL should name the final endpoint)
import { halt, permanent, retriable, throttled, type DeliveryError } from '../../core/errors.ts';

export interface FormReply {
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  /** A cleaned, bounded excerpt of the body ('' when empty). */
  readonly excerpt: string;
  /** scheme://host:port of the receiver. */
  readonly origin: string;
}

export type FormOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'too-large'; readonly error: DeliveryError }
  | { readonly kind: 'failed'; readonly error: DeliveryError };

const DEFAULT_RETRY_AFTER_MS = 1000;

function describe(r: FormReply, hint = ''): string {
  return `HTTP ${r.status} from ${r.origin}${hint}${r.excerpt ? `: ${r.excerpt}` : ''}`;
}

export function classifyFormReply(r: FormReply, haltStatuses: readonly number[]): FormOutcome {
  const code = `FORMPOST_HTTP_${r.status}`;
  const s = r.status;
  if (s >= 200 && s < 300) return { kind: 'ok' };
  if (s === 408 || s === 429) return { kind: 'failed', error: throttled(code, describe(r), r.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS) };
  if (s >= 500 && s < 600) {
    const error = r.retryAfterMs !== undefined ? throttled(code, describe(r), r.retryAfterMs) : retriable(code, describe(r));
    return { kind: 'failed', error };
  }
  if (s === 413) return { kind: 'too-large', error: permanent(code, describe(r, ' (request too large even for a single row)')) };
  if (s >= 400 && s < 500) {
    if (haltStatuses.includes(s)) return { kind: 'failed', error: halt(code, describe(r, ' (check FORMPOST_URL and the credentials)')) };
    return { kind: 'failed', error: permanent(code, describe(r)) };
  }
  if (s >= 300 && s < 400) return { kind: 'failed', error: halt(code, describe(r, ' (redirects are not followed: set FORMPOST_URL to the final URL)')) };
  return { kind: 'failed', error: halt(code, describe(r, ' (unexpected status)')) };
}
