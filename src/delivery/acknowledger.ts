// The two ways a record leaves a sink's delivery: delivered (acknowledged, counted as sent) or
// refused for good (written to the dead-letter topic, acknowledged only once that write succeeded).
// Either way its offset may then be committed; the tracker behind each Ack decides when.
import { oneLine, type DeliveryError } from '../core/errors.ts';
import type { Ack, PipelineRecord } from '../core/record.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { DeadLetterQueue } from './dead-letter.ts';
import type { BatchItem } from './sink.ts';

/** A record on its way through a sink's delivery, with the acknowledgement it owes. */
export interface DeliveryItem extends BatchItem {
  readonly ack: Ack;
}

export class Acknowledger {
  /** The sink's name: the dead-letter stage. */
  readonly #stage: string;
  readonly #labels: { route: string; sink: string };
  readonly #dlq: DeadLetterQueue;
  readonly #metrics: Metrics;
  readonly #log: Logger;

  constructor(labels: { route: string; sink: string }, deps: { dlq: DeadLetterQueue; metrics: Metrics; logger: Logger }) {
    this.#stage = labels.sink;
    this.#labels = labels;
    this.#dlq = deps.dlq;
    this.#metrics = deps.metrics;
    this.#log = deps.logger;
  }

  /** The peer has these records: acknowledge them and count them as sent. */
  delivered(items: readonly DeliveryItem[]): void {
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

  /** The record can never be delivered: to the dead-letter topic, then acknowledged. A record of a
   *  revoked partition is left alone (its next owner reads it again). */
  deadLetter(record: PipelineRecord, ack: Ack, error: DeliveryError): void {
    if (!ack.live) return;
    this.#metrics.deadLettered.inc({ ...this.#labels, code: error.code });
    this.#log.warn({ topic: record.meta.topic, partition: record.meta.partition, offset: record.meta.offset, code: error.code }, `record dead-lettered: ${oneLine(error.message)}`);
    this.#dlq.write(record, { stage: this.#stage, error }).then(
      () => ack.done(),
      // The publisher retries forever; reaching here means shutdown: leave the offset uncommitted.
      (err) => this.#log.error({ err: oneLine(String(err)) }, 'dead-letter write abandoned; the record stays uncommitted'),
    );
  }
}
