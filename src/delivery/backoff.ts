// Capped exponential backoff with jitter, and an abortable sleep.
import type { DeliveryError } from '../core/errors.ts';

/** Delay before retry number `attempt` (0-based): initial·2^attempt capped at max, jittered to [50%, 100%]. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/** The wait after a failed attempt, honouring a peer's Retry-After. Halts back off at the cap. */
export function retryDelay(err: DeliveryError, attempt: number, initialMs: number, maxMs: number): number {
  if (err.deliveryClass === 'halt') return backoffDelay(30, initialMs, maxMs);
  const base = backoffDelay(attempt, initialMs, maxMs);
  return err.deliveryClass === 'throttled' && err.retryAfterMs !== undefined ? Math.max(base, err.retryAfterMs) : base;
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
