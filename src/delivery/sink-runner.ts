// Wraps one sink in the shared delivery behaviour, in a fixed order:
//   encode → batch (per partition [+ sink key]; Batcher) → lane and concurrency slot (Lanes) → send
//   with timeout → per-record outcome → retry forever with backoff (transient) or dead-letter
//   (permanent) → acknowledge (SendLoop, Acknowledger).
// At most one batch per key is in flight, so records of a partition reach the sink in order; while a
// batch is in flight the next one accumulates.
import { DeliveryError, toDeliveryError } from '../core/errors.ts';
import { withRawAt, type Ack, type PipelineRecord } from '../core/record.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { Acknowledger, type DeliveryItem } from './acknowledger.ts';
import { Batcher } from './batcher.ts';
import type { DeliveryConfig } from './config.ts';
import type { DeadLetterQueue } from './dead-letter.ts';
import { Lanes } from './lanes.ts';
import { SendLoop } from './send-loop.ts';
import { SinkHealth } from './sink-health.ts';
import type { Sink } from './sink.ts';

export class SinkRunner {
  readonly name: string;
  /** The route this sink belongs to (metrics and logs say so). */
  readonly route: string;
  readonly #sink: Sink;
  readonly #maxRecordBytes: number;
  readonly #acks: Acknowledger;
  readonly #health: SinkHealth;
  readonly #batcher: Batcher<DeliveryItem>;
  readonly #lanes: Lanes<DeliveryItem[]>;
  /** Batches opened and not yet delivered, plus confirmations and re-sends under way. */
  #unsettled = 0;
  #idleWaiters: Array<() => void> = [];
  /** Aborted when shutdown gives up on retries: sends in progress are cancelled. */
  readonly #abort = new AbortController();

  constructor(name: string, sink: Sink, cfg: DeliveryConfig, deps: { dlq: DeadLetterQueue; metrics: Metrics; logger: Logger; route: string }) {
    this.name = name;
    this.route = deps.route;
    this.#sink = sink;
    this.#maxRecordBytes = cfg.maxRecordBytes;
    const labels = { route: deps.route, sink: name };
    const log = deps.logger.child({ sink: name });
    this.#acks = new Acknowledger(labels, { dlq: deps.dlq, metrics: deps.metrics, logger: log });
    this.#health = new SinkHealth(labels, deps.metrics, log);
    const work = { add: () => this.#unsettled++, done: () => this.#settled() };
    const sender = new SendLoop(sink, cfg, { acks: this.#acks, health: this.#health, metrics: deps.metrics, labels, signal: this.#abort.signal, work });
    this.#lanes = new Lanes<DeliveryItem[]>(cfg.concurrency, (key, items) => sender.deliver(key, items), {
      emptied: (key) => this.#batcher.released(key), // what accumulated meanwhile goes next
      finished: work.done,
    });
    this.#batcher = new Batcher<DeliveryItem>(cfg, {
      opened: work.add,
      sealed: (key, items) => this.#lanes.enqueue(key, items),
      // Read on each use: whether a sink accumulates is its own (and a test's) business.
      holdBack: (key) => !!this.#sink.accumulateWhileBusy && this.#lanes.busy(key),
    });
  }

  get healthy(): boolean {
    return this.#health.healthy;
  }
  get lastError(): string | undefined {
    return this.#health.lastError;
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
      this.#acks.deadLetter(record, ack, new DeliveryError('permanent', unexpected && err instanceof RangeError ? 'ENCODE_FAILED' : e.code, unexpected ? `the ${this.name} sink cannot encode the record: ${e.message}` : e.message));
      return;
    }
    if (this.#maxRecordBytes > 0 && payload.length > this.#maxRecordBytes) {
      this.#acks.deadLetter(record, ack, new DeliveryError('permanent', 'RECORD_TOO_LARGE', `encoded record is ${payload.length} bytes, over the sink's limit of ${this.#maxRecordBytes}`));
      return;
    }
    const { meta } = record;
    const key = this.#sink.batchKey ? `${meta.topic}/${meta.partition}|${this.#sink.batchKey(record)}` : `${meta.topic}/${meta.partition}`;
    const raw = this.#sink.rawIn?.(record, payload);
    this.#batcher.add(key, { record: raw === undefined ? record : withRawAt(record, raw), payload, ack });
  }

  /** Seals every partial batch now (drain on revoke or shutdown). */
  flush(): void {
    this.#batcher.flush();
  }

  /** Resolves when nothing is open, queued, sending, awaiting confirmation or waiting to be re-sent. */
  idle(): Promise<void> {
    if (this.#unsettled === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Gives up on retries (shutdown deadline passed): what is not delivered stays uncommitted. */
  abort(): void {
    this.#abort.abort();
  }

  #settled(): void {
    this.#unsettled--;
    if (this.#unsettled === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
