// Wraps one sink in the shared delivery behaviour, in a fixed order:
//   encode → batch (per partition [+ sink key]) → concurrency slot → send with timeout → per-record
//   outcome → retry forever with backoff (transient) or dead-letter (permanent) → acknowledge.
// At most one batch per key is in flight, so records of a partition reach the sink in order; while a
// batch is in flight the next one accumulates.
import { DeliveryError, oneLine, toDeliveryError } from '../core/errors.ts';
import type { Ack, PipelineRecord } from '../core/record.ts';
import type { Batch, BatchItem, SendResult, Sink } from '../sinks/types.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { retryDelay, sleep } from './backoff.ts';
import type { DeliveryConfig } from './config.ts';
import type { DeadLetterQueue } from './dead-letter.ts';

interface Item extends BatchItem {
  readonly ack: Ack;
}

interface OpenBatch {
  items: Item[];
  bytes: number;
  timer: NodeJS.Timeout | undefined;
  /** Its wait is over but its lane was busy (Sink.accumulateWhileBusy): sealed when the lane frees. */
  due: boolean;
}

/** A key's sealed batches, sent one at a time in order. */
interface Lane {
  readonly key: string;
  readonly queue: Item[][];
  busy: boolean;
}

export class SinkRunner {
  readonly name: string;
  /** The route this sink belongs to (metrics and logs say so). */
  readonly route: string;
  /** Metric labels of this sink. */
  readonly #labels: { route: string; sink: string };
  readonly #sink: Sink;
  readonly #cfg: DeliveryConfig;
  readonly #dlq: DeadLetterQueue;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #open = new Map<string, OpenBatch>();
  readonly #lanes = new Map<string, Lane>();
  /** Lanes with a sealed batch waiting for a concurrency slot, oldest first. */
  readonly #ready: Lane[] = [];
  #active = 0;
  #unsettled = 0;
  #idleWaiters: Array<() => void> = [];
  /** Aborted when shutdown gives up on retries: sends in progress are cancelled. */
  readonly #abort = new AbortController();
  #healthy = true;
  #lastError: string | undefined;
  #lastFailureLog = 0;
  #suppressedFailures = 0;
  /** Consecutive failed confirmations (drives their backoff). */
  #confirmFailures = 0;

  constructor(name: string, sink: Sink, cfg: DeliveryConfig, deps: { dlq: DeadLetterQueue; metrics: Metrics; logger: Logger; route: string }) {
    this.name = name;
    this.route = deps.route;
    this.#labels = { route: deps.route, sink: name };
    this.#sink = sink;
    this.#cfg = cfg;
    this.#dlq = deps.dlq;
    this.#metrics = deps.metrics;
    this.#log = deps.logger.child({ sink: name });
    this.#metrics.sinkHealthy.set(this.#labels, 1);
  }

  get healthy(): boolean {
    return this.#healthy;
  }
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Takes one record; its ack is called once delivered or dead-lettered. Never throws. */
  push(record: PipelineRecord, ack: Ack): void {
    let payload: Buffer;
    try {
      payload = this.#sink.encode(record);
    } catch (err) {
      // The sink's own refusal keeps its code and text; anything else the encoder threw (JSON nested
      // deeper than the stack allows…) is named as an encoding failure of this sink.
      const e = toDeliveryError(err);
      const unexpected = !(err instanceof DeliveryError);
      this.#deadLetter(record, ack, new DeliveryError('permanent', unexpected && err instanceof RangeError ? 'ENCODE_FAILED' : e.code, unexpected ? `the ${this.name} sink cannot encode the record: ${e.message}` : e.message));
      return;
    }
    if (this.#cfg.maxRecordBytes > 0 && payload.length > this.#cfg.maxRecordBytes) {
      this.#deadLetter(record, ack, new DeliveryError('permanent', 'RECORD_TOO_LARGE', `encoded record is ${payload.length} bytes, over the sink's limit of ${this.#cfg.maxRecordBytes}`));
      return;
    }
    const { meta } = record;
    const key = this.#sink.batchKey ? `${meta.topic}/${meta.partition}|${this.#sink.batchKey(record)}` : `${meta.topic}/${meta.partition}`;
    let open = this.#open.get(key);
    if (open && open.items.length > 0 && open.bytes + payload.length > this.#cfg.batchMaxBytes) {
      this.#seal(key);
      open = undefined;
    }
    if (!open) {
      open = { items: [], bytes: 0, timer: undefined, due: false };
      this.#open.set(key, open);
      this.#unsettled++;
    }
    open.items.push({ record, payload, ack });
    open.bytes += payload.length;
    if (open.items.length >= this.#cfg.batchMaxRecords || open.bytes >= this.#cfg.batchMaxBytes) {
      this.#seal(key);
    } else if (open.timer === undefined && !open.due) {
      open.timer = setTimeout(() => this.#waitOver(key), this.#cfg.batchMaxWaitMs);
    }
  }

  /** A partial batch waited long enough: sealed, unless the sink accumulates while its previous batch
   *  of the same key is still being written (then it grows until that write ends, up to the caps). */
  #waitOver(key: string): void {
    const open = this.#open.get(key);
    if (!open) return;
    open.timer = undefined;
    const lane = this.#lanes.get(key);
    if (this.#sink.accumulateWhileBusy && lane && (lane.busy || lane.queue.length > 0)) open.due = true;
    else this.#seal(key);
  }

  /** Seals every partial batch now (drain on revoke or shutdown). */
  flush(): void {
    for (const key of [...this.#open.keys()]) this.#seal(key);
  }

  /** Resolves when nothing is open, queued or sending. */
  idle(): Promise<void> {
    if (this.#unsettled === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Gives up on retries (shutdown deadline passed): what is not delivered stays uncommitted. */
  abort(): void {
    this.#abort.abort();
  }

  #seal(key: string): void {
    const open = this.#open.get(key);
    if (!open) return;
    this.#open.delete(key);
    if (open.timer) clearTimeout(open.timer);
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { key, queue: [], busy: false };
      this.#lanes.set(key, lane);
    }
    lane.queue.push(open.items);
    if (!lane.busy && lane.queue.length === 1) this.#ready.push(lane);
    this.#pump();
  }

  #pump(): void {
    while (this.#active < this.#cfg.concurrency && this.#ready.length > 0) {
      const lane = this.#ready.shift()!;
      const items = lane.queue.shift();
      if (!items) continue;
      lane.busy = true;
      this.#active++;
      void this.#deliver(lane.key, items).finally(() => {
        this.#active--;
        lane.busy = false;
        if (lane.queue.length > 0) this.#ready.push(lane);
        else {
          this.#lanes.delete(lane.key);
          if (this.#open.get(lane.key)?.due) this.#seal(lane.key); // what accumulated meanwhile goes next
        }
        this.#settled();
        this.#pump();
      });
    }
  }

  #settled(): void {
    this.#unsettled--;
    if (this.#unsettled === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  async #deliver(key: string, items: readonly Item[]): Promise<void> {
    const started = performance.now();
    let pending = items;
    for (let attempt = 0; ; attempt++) {
      // A revoked partition's records are the new owner's now: sending them would only duplicate.
      pending = pending.filter((i) => i.ack.live);
      if (pending.length === 0 || this.#abort.signal.aborted) return;
      const batch: Batch = { key, items: pending, bytes: pending.reduce((n, i) => n + i.payload.length, 0) };
      if (attempt > 0) this.#metrics.retries.inc(this.#labels);
      let failure: DeliveryError | undefined;
      try {
        const signal = AbortSignal.any([AbortSignal.timeout(this.#cfg.requestTimeoutMs), this.#abort.signal]);
        const result = await this.#sink.send(batch, signal);
        const retry: Item[] = [];
        const failed = new Set<number>();
        for (const f of result?.failures ?? []) {
          const item = pending[f.index];
          if (!item || failed.has(f.index)) continue;
          failed.add(f.index);
          if (f.error.deliveryClass === 'permanent') this.#deadLetter(item.record, item.ack, f.error);
          else {
            retry.push(item);
            failure ??= f.error;
          }
        }
        const accepted = pending.filter((_, i) => !failed.has(i));
        if (result?.confirm) this.#awaitConfirmation(key, pending, accepted, result.confirm);
        else this.#delivered(accepted);
        this.#metrics.batchRecords.observe(this.#labels, pending.length);
        if (retry.length === 0) {
          if (!result?.confirm) this.#setHealthy(true); // else: healthy once confirmed
          this.#metrics.batchDuration.observe(this.#labels, (performance.now() - started) / 1000);
          return;
        }
        pending = retry;
      } catch (err) {
        failure = toDeliveryError(err);
      }
      const f = failure!;
      this.#metrics.sinkErrors.inc({ ...this.#labels, class: f.deliveryClass, code: f.code });
      if (f.deliveryClass === 'permanent') {
        for (const item of pending) this.#deadLetter(item.record, item.ack, f);
        return;
      }
      this.#setHealthy(false, f);
      const delay = retryDelay(f, attempt, this.#cfg.retryInitialMs, this.#cfg.retryMaxMs);
      this.#logFailure(f, attempt, delay, pending.length);
      await sleep(delay, this.#abort.signal);
    }
  }

  #delivered(items: readonly Item[]): void {
    if (items.length === 0) return;
    let bytes = 0;
    let oldest = Infinity;
    for (const item of items) {
      bytes += item.payload.length;
      if (item.record.meta.timestamp < oldest) oldest = item.record.meta.timestamp;
      item.ack.done();
    }
    this.#metrics.sentEvents.inc(this.#labels, items.length);
    this.#metrics.sentBytes.inc(this.#labels, bytes);
    if (oldest > 0 && Number.isFinite(oldest)) this.#metrics.freshness.observe(this.#labels, Math.max(0, Date.now() - oldest) / 1000);
  }

  /** Deferred confirmation: acknowledge when the peer confirms; send again what it did not. */
  #awaitConfirmation(key: string, batch: readonly Item[], accepted: readonly Item[], confirm: NonNullable<SendResult['confirm']>): void {
    this.#unsettled++;
    confirm
      .then(
        (r) => {
          const again: Item[] = [];
          const failed = new Set<Item>();
          let error: DeliveryError | undefined;
          for (const f of r.failures ?? []) {
            const item = batch[f.index];
            if (!item || failed.has(item)) continue;
            failed.add(item);
            if (f.error.deliveryClass === 'permanent') this.#deadLetter(item.record, item.ack, f.error);
            else {
              again.push(item);
              error ??= f.error;
            }
          }
          this.#delivered(accepted.filter((i) => !failed.has(i)));
          if (error) this.#resend(key, again, error);
          else {
            this.#confirmFailures = 0;
            this.#setHealthy(true);
          }
        },
        (err) => this.#resend(key, accepted, toDeliveryError(err)),
      )
      .finally(() => this.#settled());
  }

  /** Confirmation failed (lost ack, connection broken after the write): back off, then send again. */
  #resend(key: string, items: readonly Item[], error: DeliveryError): void {
    if (items.length === 0) return;
    const attempt = this.#confirmFailures++;
    this.#metrics.sinkErrors.inc({ ...this.#labels, class: error.deliveryClass, code: error.code });
    this.#metrics.retries.inc(this.#labels);
    this.#setHealthy(false, error);
    const delay = retryDelay(error, attempt, this.#cfg.retryInitialMs, this.#cfg.retryMaxMs);
    this.#logFailure(error, attempt, delay, items.length);
    this.#unsettled++;
    void sleep(delay, this.#abort.signal)
      .then(() => this.#deliver(key, items))
      .finally(() => this.#settled());
  }

  /** A failing sink logs its first failure, then at most one line per interval (a halt: one loud
   *  line a minute), with how many attempts were not logged in between. */
  #logFailure(f: DeliveryError, attempt: number, retryInMs: number, records: number): void {
    const now = Date.now();
    const every = f.deliveryClass === 'halt' ? 60_000 : 10_000;
    if (now - this.#lastFailureLog < every) {
      this.#suppressedFailures++;
      return;
    }
    const fields = { code: f.code, class: f.deliveryClass, attempt: attempt + 1, retryInMs, records, notLogged: this.#suppressedFailures };
    this.#lastFailureLog = now;
    this.#suppressedFailures = 0;
    if (f.deliveryClass === 'halt') this.#log.error(fields, `sink halted until its configuration or credentials are fixed (records wait, nothing is committed past them): ${oneLine(f.message)}`);
    else this.#log.warn(fields, `send failed, will retry: ${oneLine(f.message)}`);
  }

  #setHealthy(ok: boolean, err?: DeliveryError): void {
    if (ok === this.#healthy && ok) return;
    this.#healthy = ok;
    this.#lastError = err ? `${err.code}: ${oneLine(err.message, 200)}` : undefined;
    this.#metrics.sinkHealthy.set(this.#labels, ok ? 1 : 0);
    if (ok) {
      this.#log.info('sink delivers again');
      this.#lastFailureLog = 0;
    }
  }

  #deadLetter(record: PipelineRecord, ack: Ack, error: DeliveryError): void {
    if (!ack.live) return;
    this.#metrics.deadLettered.inc({ ...this.#labels, code: error.code });
    this.#log.warn({ topic: record.meta.topic, partition: record.meta.partition, offset: record.meta.offset, code: error.code }, `record dead-lettered: ${oneLine(error.message)}`);
    this.#dlq.write(record, { stage: this.name, error }).then(
      () => ack.done(),
      // The publisher retries forever; reaching here means shutdown: leave the offset uncommitted.
      (err) => this.#log.error({ err: oneLine(String(err)) }, 'dead-letter write abandoned; the record stays uncommitted'),
    );
  }
}
