// Takes one sealed batch to an outcome for every record: send with a time limit, sort the per-record
// failures (permanent: dead-letter; transient: send again), retry forever with capped backoff, and for
// a peer that confirms later (Splunk indexer acknowledgement) acknowledge only what it confirms.
import { toDeliveryError, type DeliveryError } from '../core/errors.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { Acknowledger, DeliveryItem } from './acknowledger.ts';
import { retryDelay, sleep } from './backoff.ts';
import type { DeliveryConfig } from './config.ts';
import type { SinkHealth } from './sink-health.ts';
import type { Batch, SendResult, Sink } from './sink.ts';

export interface SortedFailures<I> {
  /** Every item named by a failure (each once; indexes out of range are ignored). */
  readonly failed: ReadonlySet<I>;
  /** Refused for good, in the order the failures listed them. */
  readonly permanent: ReadonlyArray<{ readonly item: I; readonly error: DeliveryError }>;
  /** To be sent again. */
  readonly again: I[];
  /** The first transient failure's error (drives the backoff), undefined when nothing goes again. */
  readonly againError: DeliveryError | undefined;
}

/** Sorts a peer's per-record failures (indexes into `items`); pure. */
export function sortFailures<I>(items: readonly I[], failures: SendResult['failures']): SortedFailures<I> {
  const failed = new Set<I>();
  const permanent: Array<{ item: I; error: DeliveryError }> = [];
  const again: I[] = [];
  let againError: DeliveryError | undefined;
  for (const f of failures ?? []) {
    const item = items[f.index];
    if (item === undefined || failed.has(item)) continue;
    failed.add(item);
    if (f.error.deliveryClass === 'permanent') permanent.push({ item, error: f.error });
    else {
      again.push(item);
      againError ??= f.error;
    }
  }
  return { failed, permanent, again, againError };
}

export interface SendLoopDeps {
  readonly acks: Acknowledger;
  readonly health: SinkHealth;
  readonly metrics: Metrics;
  readonly labels: { route: string; sink: string };
  /** Aborted when shutdown gives up on retries: sends in progress are cancelled, loops end. */
  readonly signal: AbortSignal;
  /** Counts work that outlives deliver() (confirmations, re-sends), so the runner knows when it is idle. */
  readonly work: { add(): void; done(): void };
}

export class SendLoop {
  readonly #sink: Sink;
  readonly #cfg: DeliveryConfig;
  readonly #d: SendLoopDeps;
  /** Consecutive failed confirmations (drives their backoff). */
  #confirmFailures = 0;

  constructor(sink: Sink, cfg: DeliveryConfig, deps: SendLoopDeps) {
    this.#sink = sink;
    this.#cfg = cfg;
    this.#d = deps;
  }

  /** Resolves once every record of the batch was delivered, dead-lettered or handed to a pending
   *  confirmation — or when its partition was revoked or shutdown aborted. Never rejects. */
  async deliver(key: string, items: readonly DeliveryItem[]): Promise<void> {
    const { acks, health, metrics, labels, signal: abort } = this.#d;
    const started = performance.now();
    let pending = items;
    for (let attempt = 0; ; attempt++) {
      // A revoked partition's records are the new owner's now: sending them would only duplicate.
      pending = pending.filter((i) => i.ack.live);
      if (pending.length === 0 || abort.aborted) return;
      const batch: Batch = { key, items: pending, bytes: pending.reduce((n, i) => n + i.payload.length, 0) };
      if (attempt > 0) metrics.retries.inc(labels);
      let failure: DeliveryError | undefined;
      try {
        const signal = AbortSignal.any([AbortSignal.timeout(this.#cfg.requestTimeoutMs), abort]);
        const result = await this.#sink.send(batch, signal);
        const sorted = sortFailures(pending, result?.failures);
        for (const { item, error } of sorted.permanent) acks.deadLetter(item.record, item.ack, error);
        const accepted = sorted.failed.size === 0 ? pending : pending.filter((i) => !sorted.failed.has(i));
        if (result?.confirm) this.#awaitConfirmation(key, pending, accepted, result.confirm);
        else acks.delivered(accepted);
        metrics.batchRecords.observe(labels, pending.length);
        if (sorted.again.length === 0) {
          if (!result?.confirm) health.delivering(); // else: healthy once confirmed
          metrics.batchDuration.observe(labels, (performance.now() - started) / 1000);
          return;
        }
        failure = sorted.againError;
        pending = sorted.again;
      } catch (err) {
        failure = toDeliveryError(err);
      }
      const f = failure!;
      metrics.sinkErrors.inc({ ...labels, class: f.deliveryClass, code: f.code });
      if (f.deliveryClass === 'permanent') {
        for (const item of pending) acks.deadLetter(item.record, item.ack, f);
        return;
      }
      health.failing(f);
      const delay = retryDelay(f, attempt, this.#cfg.retryInitialMs, this.#cfg.retryMaxMs);
      health.logFailure(f, attempt, delay, pending.length);
      await sleep(delay, abort);
    }
  }

  /** Deferred confirmation: acknowledge when the peer confirms; send again what it did not. The
   *  batch's lane does not wait for it, so a re-sent record can arrive after later ones. */
  #awaitConfirmation(key: string, batch: readonly DeliveryItem[], accepted: readonly DeliveryItem[], confirm: NonNullable<SendResult['confirm']>): void {
    const { acks, health, work } = this.#d;
    work.add();
    confirm
      .then(
        (r) => {
          const sorted = sortFailures(batch, r.failures);
          for (const { item, error } of sorted.permanent) acks.deadLetter(item.record, item.ack, error);
          acks.delivered(sorted.failed.size === 0 ? accepted : accepted.filter((i) => !sorted.failed.has(i)));
          if (sorted.againError) this.#resend(key, sorted.again, sorted.againError);
          else {
            this.#confirmFailures = 0;
            health.delivering();
          }
        },
        (err) => this.#resend(key, accepted, toDeliveryError(err)),
      )
      .finally(() => work.done());
  }

  /** Confirmation failed (lost ack, connection broken after the write): back off, then send again,
   *  outside the lanes (the key's later batches have gone already). */
  #resend(key: string, items: readonly DeliveryItem[], error: DeliveryError): void {
    if (items.length === 0) return;
    const { health, metrics, labels, signal, work } = this.#d;
    const attempt = this.#confirmFailures++;
    metrics.sinkErrors.inc({ ...labels, class: error.deliveryClass, code: error.code });
    metrics.retries.inc(labels);
    health.failing(error);
    const delay = retryDelay(error, attempt, this.#cfg.retryInitialMs, this.#cfg.retryMaxMs);
    health.logFailure(error, attempt, delay, items.length);
    work.add();
    void sleep(delay, signal)
      .then(() => this.deliver(key, items))
      .finally(() => work.done());
  }
}
