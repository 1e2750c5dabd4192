// The push path inside one instance: decode → query → fan-out to every sink, with one acknowledgement
// per sink tracked per offset. Implements the source's handlers: backpressure, drain before rejoin.
import { oneLine } from '../core/errors.ts';
import type { Ack, PipelineRecord } from '../core/record.ts';
import { PartitionTracker } from '../checkpoint/offset-tracker.ts';
import { Committer } from '../checkpoint/committer.ts';
import type { DeadLetterQueue } from '../delivery/dead-letter.ts';
import { InFlightLimit, PendingCount } from '../delivery/inflight.ts';
import type { SinkRunner } from '../delivery/sink-runner.ts';
import type { CompiledQuery } from '../query/index.ts';
import { decodeValue, messageMeta } from '../source/kafka/decode.ts';
import type { KafkaGroupSource, SourceHandlers, SourceMessage, TopicPartitions } from '../source/kafka/consumer.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';

export interface PipelineOptions {
  source: KafkaGroupSource;
  query: CompiledQuery;
  runners: SinkRunner[];
  dlq: DeadLetterQueue;
  metrics: Metrics;
  logger: Logger;
  inflightMaxRecords: number;
  inflightMaxBytes: number;
  /** Drain deadline before a rejoin; kept below the session timeout so the member is not evicted. */
  rebalanceDrainMs: number;
  onFatal: (err: Error) => void;
}

export class Pipeline implements SourceHandlers {
  readonly #o: PipelineOptions;
  readonly #log: Logger;
  readonly #trackers = new Map<string, PartitionTracker>();
  /** Read and not yet committed (bounds memory and the duplicates a crash can cause). */
  readonly inflight: InFlightLimit;
  /** Read and not yet acknowledged by every sink (what a drain waits for). */
  readonly #unacked = new PendingCount();
  readonly committer: Committer;
  /** Per-record counts, flushed to prom-client once per fetched batch (label lookups are not free). */
  #counts = { received: 0, bytes: 0, raw: 0, filtered: 0 };

  constructor(o: PipelineOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'pipeline' });
    this.inflight = new InFlightLimit(o.inflightMaxRecords, o.inflightMaxBytes);
    this.inflight.on('low', () => {
      if (o.source.pausedCount > 0) {
        o.source.resumeAll();
        o.metrics.pausedPartitions.set(0);
      }
    });
    this.committer = new Committer((offsets) => o.source.commit(offsets), () => this.#trackers.values(), o.metrics, o.logger);
  }

  waitForRoom(timeoutMs: number): Promise<boolean> {
    this.committer.commitSoon();
    return this.inflight.waitForRoom(timeoutMs);
  }

  hasRoom(): boolean {
    const room = this.inflight.hasRoom();
    if (!room) {
      this.#o.metrics.pausedPartitions.set(this.#o.source.pausedCount + 1);
      this.committer.commitSoon();
    }
    return room;
  }

  #tracker(topic: string, partition: number): PartitionTracker {
    const key = `${topic}/${partition}`;
    let t = this.#trackers.get(key);
    if (!t) {
      t = new PartitionTracker(topic, partition, {
        acked: () => this.#acked(),
        released: (records, bytes) => this.#released(records, bytes),
      });
      this.#trackers.set(key, t);
    }
    return t;
  }

  #acked(): void {
    this.#unacked.done();
    if (this.inflight.pressed) this.committer.commitSoon();
  }

  #released(records: number, bytes: number): void {
    this.inflight.release(records, bytes);
    this.#o.metrics.inflightRecords.set(this.inflight.records);
    this.#o.metrics.inflightBytes.set(this.inflight.bytes);
  }

  onMessage(topic: string, partition: number, m: SourceMessage): void {
    const tracker = this.#tracker(topic, partition);
    const offset = Number(m.offset);
    const next = tracker.nextOffset;
    if (next !== undefined && offset < next) return; // taken already (fetched again after a pause)
    const { metrics } = this.#o;
    const size = m.value?.length ?? 0;
    const counts = this.#counts;
    counts.received++;
    counts.bytes += size;
    const meta = messageMeta(topic, partition, m);
    const decoded = decodeValue(m.value);
    if (!decoded.ok) {
      this.#deadLetter(tracker, offset, { meta, raw: m.value, fields: {}, size, unchanged: false }, 'decode', decoded.code, decoded.message);
      return;
    }
    if (decoded.raw) counts.raw++;
    let fields = decoded.fields;
    // A JSON object no query touched can be shipped as its original bytes (no re-serialisation).
    let unchanged = !decoded.raw;
    if (!this.#o.query.isPassThrough) {
      unchanged = false;
      let out: Record<string, unknown> | null;
      try {
        out = this.#o.query.apply(fields, meta);
      } catch (err) {
        metrics.queryErrors.inc();
        const e = err as { code?: string; message?: string };
        this.#deadLetter(tracker, offset, { meta, raw: m.value, fields, size, unchanged: false }, 'query', e.code ?? 'QUERY_RUNTIME', e.message ?? String(err));
        return;
      }
      if (out === null) {
        counts.filtered++;
        tracker.track(offset, 0);
        return;
      }
      fields = out;
    }
    const record: PipelineRecord = { meta, raw: m.value, fields, size, unchanged };
    const runners = this.#o.runners;
    this.#acquire(size);
    const acks = tracker.track(offset, runners.length, size);
    for (let i = 0; i < runners.length; i++) runners[i]!.push(record, acks[i]!);
  }

  #acquire(size: number): void {
    this.#unacked.add();
    this.inflight.acquire(size);
  }

  #deadLetter(tracker: PartitionTracker, offset: number, record: PipelineRecord, stage: string, code: string, message: string): void {
    this.#acquire(record.size);
    const [ack] = tracker.track(offset, 1, record.size) as [Ack];
    this.#o.metrics.deadLettered.inc({ sink: stage, code });
    this.#log.warn({ topic: record.meta.topic, partition: record.meta.partition, offset: record.meta.offset, code }, `record dead-lettered at ${stage}: ${oneLine(message)}`);
    this.#o.dlq.write(record, { stage, error: { code, message, deliveryClass: 'permanent' } }).then(
      () => ack.done(),
      (err) => this.#log.error({ err: oneLine(String(err)) }, 'dead-letter write abandoned; the record stays uncommitted'),
    );
  }

  onProgress(topic: string, partition: number, highWatermark: string, nextOffset: number): void {
    const m = this.#o.metrics;
    m.consumerLag.set({ topic, partition: String(partition) }, Math.max(0, Number(highWatermark) - nextOffset));
    const c = this.#counts;
    if (c.received) m.receivedEvents.inc({ topic }, c.received);
    if (c.bytes) m.receivedBytes.inc({ topic }, c.bytes);
    if (c.raw) m.rawEvents.inc({ topic }, c.raw);
    if (c.filtered) m.filteredEvents.inc(c.filtered);
    this.#counts = { received: 0, bytes: 0, raw: 0, filtered: 0 };
    m.inflightRecords.set(this.inflight.records);
    m.inflightBytes.set(this.inflight.bytes);
  }

  onAssigned(assignment: TopicPartitions[]): void {
    const m = this.#o.metrics;
    m.consumerLag.reset();
    m.assignedPartitions.reset();
    for (const { topic, partitions } of assignment) m.assignedPartitions.set({ topic }, partitions.length);
  }

  /** Delivers what is in flight (up to `timeoutMs`), commits it and forgets every partition. */
  async drainAndRelease(timeoutMs: number, reason: string): Promise<boolean> {
    if (this.#trackers.size === 0) return true;
    const started = Date.now();
    for (const r of this.#o.runners) r.flush();
    const drained = await this.#unacked.waitForZero(timeoutMs);
    try {
      await this.committer.commitNow();
    } catch {
      // logged by the committer; the partitions' next owner starts from the previous commit
    }
    const left = this.#unacked.value;
    for (const t of this.#trackers.values()) t.close();
    this.#trackers.clear();
    this.#log.info({ reason, drained, abandonedInFlight: drained ? 0 : left, ms: Date.now() - started }, drained ? 'drained and committed' : 'drain deadline passed; committed what was acknowledged');
    return drained;
  }

  async beforeJoin(): Promise<void> {
    if (this.#trackers.size === 0) return;
    this.#o.metrics.rebalances.inc();
    await this.drainAndRelease(this.#o.rebalanceDrainMs, 'rebalance');
  }

  onFatal(error: Error): void {
    this.#o.onFatal(error);
  }
}
