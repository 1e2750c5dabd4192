// One route's push path inside one instance: decode → query → fan-out to the route's sinks, with one
// acknowledgement per sink tracked per offset. Implements the source's handlers: backpressure (the
// route's in-flight share and rate limit), drain before rejoin, offsets lost to retention.
import { oneLine } from '../core/errors.ts';
import { JsonBytesRecord, type Ack, type PipelineRecord } from '../core/record.ts';
import { PartitionTracker } from '../checkpoint/offset-tracker.ts';
import { OffsetLedger } from '../checkpoint/offset-ledger.ts';
import { sharedAcks } from '../checkpoint/shared-ack.ts';
import { Committer } from '../checkpoint/committer.ts';
import { REPLAY_ROUTE_HEADER, REPLAY_SINK_HEADER, type DeadLetterQueue } from '../delivery/dead-letter.ts';
import { InFlightLimit, PendingCount } from '../checkpoint/inflight.ts';
import { RateLimit } from '../delivery/rate-limit.ts';
import type { SinkRunner } from '../delivery/sink-runner.ts';
import { DROP_REASONS, type CompiledQuery, type QueryMeta, type Summaries, type SummaryTarget } from '../query/index.ts';
import type { GroupConsumer, GroupHandlers, SourceRecord, TopicPartitions } from '../source/kafka/interface.ts';
import { decodedMeta, valueIsJson } from '../source/kafka/decode.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';

/** What the pipeline asks of its source; everything else flows the other way, through GroupHandlers. */
export type PipelineSource = Pick<GroupConsumer, 'pausedCount' | 'resumeAll' | 'commit'>;

export interface PipelineOptions {
  /** The route's name (metric label, dead-letter replay target). */
  route: string;
  source: PipelineSource;
  query: CompiledQuery;
  runners: SinkRunner[];
  dlq: DeadLetterQueue;
  metrics: Metrics;
  logger: Logger;
  inflightMaxRecords: number;
  inflightMaxBytes: number;
  /** Records/s taken from Kafka at most; 0 = unlimited. */
  rateLimit: number;
  /** Drain deadline before a rejoin; kept below the session timeout so the member is not evicted. */
  rebalanceDrainMs: number;
  onFatal: (err: Error) => void;
  /** retention.ms of each topic, once at start. */
  onTopicRetention?: (topic: string, retentionMs: number) => void;
}

/** The commit a summary of `suppress -summary` holds back: its first repeat, tracked with one obligation. */
interface Hold {
  ack: Ack | undefined;
  size: number;
}

export class Pipeline implements GroupHandlers {
  readonly #o: PipelineOptions;
  readonly #log: Logger;
  readonly #trackers = new Map<string, PartitionTracker>();
  #lastTracker: PartitionTracker | undefined;
  /** Read and not yet committed (bounds memory and the duplicates a crash can cause). */
  readonly inflight: InFlightLimit;
  /** Read and not yet acknowledged by every sink (what a drain waits for). */
  readonly #unacked = new PendingCount();
  readonly committer: Committer;
  /** Per-record counts, flushed to prom-client once per fetched batch (label lookups are not free). */
  #counts = { received: 0, bytes: 0, raw: 0, replay: 0 };
  readonly #rate: RateLimit | undefined;
  /** Metric series this route set, removed when the assignment changes (other routes keep theirs). */
  #lagSeries = new Set<string>();
  #assignedTopics: string[] = [];
  /** The query's suppress -summary, if it has one. */
  readonly #summaries: Summaries | undefined;
  /** A hold the query asked for while applying the current record (tracked once apply() returns). */
  #pendingHold: Hold | undefined;
  /** Per partition: the offsets read and not handed to the sinks (archive manifests record them). */
  readonly #ledgers = new Map<string, OffsetLedger>();
  #lastLedger: { tracker: PartitionTracker; ledger: OffsetLedger } | undefined;

  constructor(o: PipelineOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'pipeline' });
    this.inflight = new InFlightLimit(o.inflightMaxRecords, o.inflightMaxBytes);
    this.inflight.on('low', () => {
      if (o.source.pausedCount > 0) {
        o.source.resumeAll();
        o.metrics.pausedPartitions.set({ route: o.route }, 0);
      }
    });
    this.#rate = o.rateLimit > 0 ? new RateLimit(o.rateLimit) : undefined;
    this.committer = new Committer((offsets) => o.source.commit(offsets), () => this.#trackers.values(), o.metrics, o.logger, o.route);
    this.#summaries = o.query.summaries;
    if (this.#summaries) this.#summaries.target = this.#summaryTarget();
  }

  /** Holds and summaries of the query's suppress -summary. */
  #summaryTarget(): SummaryTarget {
    return {
      hold: () => (this.#pendingHold = { ack: undefined, size: 0 }),
      summary: (out, input, meta, hold) => this.#summary(out, input, meta as QueryMeta, hold as Hold),
    };
  }

  /** A summary record goes to every sink; when all have it (or it was dropped, or dead-lettered), the
   *  repeat whose commit it held is acknowledged. */
  #summary(out: Record<string, unknown> | null | Error, input: Record<string, unknown>, meta: QueryMeta, hold: Hold): void {
    const ack: Ack = hold.ack ?? { done: () => undefined, live: true };
    if (out === null) {
      ack.done();
      return;
    }
    if (out instanceof Error) {
      this.#o.metrics.queryErrors.inc({ route: this.#o.route });
      const raw = Buffer.from(JSON.stringify(input));
      const e = out as { code?: string; message: string };
      this.#writeDeadLetter({ meta, raw, fields: input, size: raw.length, unchanged: true }, ack, 'query', e.code ?? 'QUERY_RUNTIME', e.message);
      return;
    }
    const runners = this.#o.runners;
    const record: PipelineRecord = { meta, raw: Buffer.from(JSON.stringify(out)), fields: out, size: hold.size, unchanged: true, summary: true };
    const acks = sharedAcks(ack, runners.length);
    for (let i = 0; i < runners.length; i++) runners[i]!.push(record, acks[i]!);
  }

  /** Summarises held repeats now, so their commits (and what is read after them) can go. */
  #flushSummaries(): void {
    const s = this.#summaries;
    if (s !== undefined && s.held > 0) s.flush();
  }

  /** The clock's part of suppress -summary: repeats held for a window's length are summarised. */
  tickSummaries(): void {
    this.#summaries?.tick();
  }

  async waitForRoom(timeoutMs: number): Promise<boolean> {
    if (!this.inflight.hasRoom()) {
      this.#flushSummaries();
      this.committer.commitSoon();
      if (!(await this.inflight.waitForRoom(timeoutMs))) {
        // No room in time: the source pauses this partition now (Kafka is the buffer).
        this.#o.metrics.pausedPartitions.set({ route: this.#o.route }, this.#o.source.pausedCount + 1);
        return false;
      }
    }
    await this.#rate?.take(1);
    return true;
  }

  hasRoom(): boolean {
    if (!this.inflight.hasRoom()) {
      this.#flushSummaries();
      this.committer.commitSoon();
      return false;
    }
    return this.#rate === undefined || this.#rate.tryTake();
  }

  /** Kafka timestamp of the oldest record read and not yet acknowledged, per topic. */
  oldestPending(): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of this.#trackers.values()) {
      const ts = t.oldestPendingTimestamp;
      if (ts !== undefined && ts < (out.get(t.topic) ?? Infinity)) out.set(t.topic, ts);
    }
    return out;
  }

  #tracker(topic: string, partition: number): PartitionTracker {
    // Consecutive records mostly come from one partition: no key string and lookup for those.
    const last = this.#lastTracker;
    if (last !== undefined && last.partition === partition && last.topic === topic && !last.closed) return last;
    const key = `${topic}/${partition}`;
    let t = this.#trackers.get(key);
    if (!t) {
      t = new PartitionTracker(topic, partition, {
        acked: () => this.#acked(),
        released: (records, bytes) => this.#released(records, bytes),
      });
      this.#trackers.set(key, t);
    }
    this.#lastTracker = t;
    return t;
  }

  /** The offset ledger of a partition: kept across drains (a partition kept through a rebalance goes
   *  on where it was), started again where the consumer says reading (re)starts. */
  #ledgerOf(topic: string, partition: number): OffsetLedger {
    const key = `${topic}/${partition}`;
    let l = this.#ledgers.get(key);
    if (l === undefined) {
      l = new OffsetLedger();
      this.#ledgers.set(key, l);
    }
    return l;
  }

  #ledger(t: PartitionTracker): OffsetLedger {
    return this.#lastLedger?.tracker === t ? this.#lastLedger.ledger : (this.#lastLedger = { tracker: t, ledger: this.#ledgerOf(t.topic, t.partition) }).ledger;
  }

  onPosition(topic: string, partition: number, offset: number): void {
    this.#ledgerOf(topic, partition).startAt(offset);
  }

  #acked(): void {
    this.#unacked.done();
    if (this.inflight.pressed) this.committer.commitSoon();
  }

  #released(records: number, bytes: number): void {
    this.inflight.release(records, bytes);
    this.#o.metrics.inflightRecords.set({ route: this.#o.route }, this.inflight.records);
    this.#o.metrics.inflightBytes.set({ route: this.#o.route }, this.inflight.bytes);
  }

  onRecord(r: SourceRecord): void {
    const { size, decoded } = r;
    let meta = r.meta;
    const tracker = this.#tracker(meta.topic, meta.partition);
    const offset = Number(meta.offset);
    const next = tracker.nextOffset;
    if (next !== undefined && offset < next) return; // taken already (fetched again after a pause)
    const { metrics } = this.#o;
    const counts = this.#counts;
    counts.received++;
    counts.bytes += size;
    const replayFor = meta.headers[REPLAY_ROUTE_HEADER];
    if (replayFor !== undefined && replayFor !== this.#o.route) {
      // A dead letter of another route, re-injected for that route only.
      counts.replay++;
      tracker.track(offset, 0);
      this.#ledger(tracker).filtered(offset);
      return;
    }
    if (!decoded.ok) {
      this.#deadLetter(tracker, offset, { meta, raw: r.value, fields: {}, size, unchanged: false }, 'decode', decoded.code, decoded.message);
      return;
    }
    if (decoded.raw) counts.raw++;
    let fields = decoded.fields;
    // A JSON object the query did not change (`*`, or only `where` and other reads: apply() returns
    // its input itself then) is shipped as its original bytes, without re-serialising it.
    let unchanged = valueIsJson(decoded);
    meta = decodedMeta(meta, decoded);
    if (!this.#o.query.isPassThrough) {
      let out: Record<string, unknown> | null;
      try {
        out = this.#o.query.apply(fields, meta);
      } catch (err) {
        this.#pendingHold = undefined;
        metrics.queryErrors.inc({ route: this.#o.route });
        const e = err as { code?: string; message?: string };
        this.#deadLetter(tracker, offset, { meta, raw: r.value, fields, size, unchanged: false }, 'query', e.code ?? 'QUERY_RUNTIME', e.message ?? String(err));
        return;
      }
      if (out === null) {
        // Dropped by `where`, `sample` or `suppress`: the query counts which (onProgress).
        this.#ledger(tracker).filtered(offset);
        const hold = this.#pendingHold;
        if (hold === undefined) tracker.track(offset, 0);
        else {
          // The first repeat of a window a summary will cover: committed once the summary is delivered.
          this.#pendingHold = undefined;
          hold.size = size;
          this.#acquire(size);
          hold.ack = tracker.track(offset, 1, size, meta.timestamp)[0];
        }
        // What is read behind a hold stays uncommitted, and its entries in memory: bounded.
        if (this.#summaries !== undefined && tracker.pending > this.#o.inflightMaxRecords) this.#flushSummaries();
        return;
      }
      if (out !== fields) unchanged = false;
      fields = out;
    }
    // A filter-only route's record was validated, not parsed: its fields are parsed if a sink asks.
    const accounted = this.#ledger(tracker).handed(offset);
    const record: PipelineRecord = decoded.partial ? new JsonBytesRecord(meta, r.value!, size, accounted) : { meta, raw: r.value, fields, size, unchanged, accounted };
    let runners = this.#o.runners;
    const replaySink = replayFor === undefined ? undefined : meta.headers[REPLAY_SINK_HEADER];
    if (replaySink !== undefined && runners.some((r) => r.name === replaySink)) runners = runners.filter((r) => r.name === replaySink);
    this.#acquire(size);
    const acks = tracker.track(offset, runners.length, size, meta.timestamp);
    for (let i = 0; i < runners.length; i++) runners[i]!.push(record, acks[i]!);
  }

  #acquire(size: number): void {
    this.#unacked.add();
    this.inflight.acquire(size);
  }

  #deadLetter(tracker: PartitionTracker, offset: number, record: PipelineRecord, stage: string, code: string, message: string): void {
    this.#ledger(tracker).deadLettered(offset);
    this.#acquire(record.size);
    const [ack] = tracker.track(offset, 1, record.size, record.meta.timestamp) as [Ack];
    this.#writeDeadLetter(record, ack, stage, code, message);
  }

  #writeDeadLetter(record: PipelineRecord, ack: Ack, stage: string, code: string, message: string): void {
    this.#o.metrics.deadLettered.inc({ route: this.#o.route, sink: stage, code });
    this.#log.warn({ topic: record.meta.topic, partition: record.meta.partition, offset: record.meta.offset, code }, `record dead-lettered at ${stage}: ${oneLine(message)}`);
    this.#o.dlq.write(record, { stage, error: { code, message, deliveryClass: 'permanent' } }).then(
      () => ack.done(),
      (err) => this.#log.error({ err: oneLine(String(err)) }, 'dead-letter write abandoned; the record stays uncommitted'),
    );
  }

  onProgress(topic: string, partition: number, highWatermark: string, nextOffset: number): void {
    const m = this.#o.metrics;
    const route = this.#o.route;
    this.#lagSeries.add(`${topic}\u0000${partition}`);
    m.consumerLag.set({ route, topic, partition: String(partition) }, Math.max(0, Number(highWatermark) - nextOffset));
    const c = this.#counts;
    if (c.received) m.receivedEvents.inc({ route, topic }, c.received);
    if (c.bytes) m.receivedBytes.inc({ route, topic }, c.bytes);
    if (c.raw) m.rawEvents.inc({ route, topic }, c.raw);
    if (c.replay) m.filteredEvents.inc({ route, reason: 'replay' }, c.replay);
    this.#counts = { received: 0, bytes: 0, raw: 0, replay: 0 };
    const q = this.#o.query.stats.take();
    for (const reason of DROP_REASONS) if (q.dropped[reason]) m.filteredEvents.inc({ route, reason }, q.dropped[reason]);
    if (q.suppressStateFull) m.suppressStateFull.inc({ route }, q.suppressStateFull);
    if (q.summaries) m.suppressSummaries.inc({ route }, q.summaries);
    if (q.truncated) m.fieldsTrimmed.inc({ route, action: 'truncated' }, q.truncated);
    if (q.emptyRemoved) m.fieldsTrimmed.inc({ route, action: 'empty_removed' }, q.emptyRemoved);
    this.updateGauges();
  }

  /** In-flight and oldest-record gauges (also refreshed on a timer while nothing is fetched). */
  updateGauges(): void {
    const m = this.#o.metrics;
    const route = this.#o.route;
    m.inflightRecords.set({ route }, this.inflight.records);
    m.inflightBytes.set({ route }, this.inflight.bytes);
    const oldest = this.oldestPending();
    const now = Date.now();
    for (const topic of this.#assignedTopics) {
      const ts = oldest.get(topic);
      m.oldestUnacked.set({ route, topic }, ts === undefined ? 0 : Math.max(0, now - ts) / 1000);
    }
  }

  onAssigned(assignment: TopicPartitions[]): void {
    const m = this.#o.metrics;
    const route = this.#o.route;
    for (const key of this.#lagSeries) {
      const [topic, partition] = key.split('\u0000') as [string, string];
      m.consumerLag.remove({ route, topic, partition });
    }
    this.#lagSeries.clear();
    for (const topic of this.#assignedTopics) {
      m.assignedPartitions.remove({ route, topic });
      m.oldestUnacked.remove({ route, topic });
    }
    this.#assignedTopics = assignment.map((a) => a.topic);
    for (const { topic, partitions } of assignment) {
      m.assignedPartitions.set({ route, topic }, partitions.length);
      // The loss counter exists from the start, so an alert on its increase sees the first loss.
      for (const p of partitions) m.retentionSkipped.inc({ route, topic, partition: String(p) }, 0);
    }
  }

  /** The broker deleted offsets [from, to) before this route read them (retention): counted, logged. */
  onSkipped(topic: string, partition: number, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    this.#ledgerOf(topic, partition).lost(to);
    this.#o.metrics.retentionSkipped.inc({ route: this.#o.route, topic, partition: String(partition) }, n);
    this.#log.error(
      { topic, partition, fromOffset: from, toOffset: to - 1, records: n },
      `records lost to retention: offsets ${from}-${to - 1} of ${topic}/${partition} were deleted by the broker before this route read them (the route was stalled longer than the topic's retention)`,
    );
  }

  /** Delivers what is in flight (up to `timeoutMs`), commits it and forgets every partition; true
   *  when everything was delivered and committed. */
  async drainAndRelease(timeoutMs: number, reason: string): Promise<boolean> {
    if (this.#trackers.size === 0) return true;
    const started = Date.now();
    // Held repeats are summarised first: their summaries are part of what is delivered and committed.
    this.#flushSummaries();
    for (const r of this.#o.runners) r.flush();
    let drained = await this.#unacked.waitForZero(timeoutMs);
    try {
      await this.committer.commitNow();
    } catch {
      // logged by the committer; the partitions' next owner starts from the previous commit
      drained = false;
    }
    const left = this.#unacked.value;
    for (const t of this.#trackers.values()) t.close();
    this.#trackers.clear();
    this.#lastTracker = undefined;
    // Records not delivered by the deadline are not lost: uncommitted, they are read again by the
    // partitions' next owner (or this instance after the rejoin) from the last commit.
    this.#log.info({ reason, drained, leftForNextOwner: drained ? 0 : left, ms: Date.now() - started }, drained ? 'drained and committed' : 'drain deadline passed; committed what was acknowledged, the rest is read again from there');
    return drained;
  }

  async beforeJoin(): Promise<boolean> {
    if (this.#trackers.size === 0) return true;
    this.#o.metrics.rebalances.inc({ route: this.#o.route });
    return this.drainAndRelease(this.#o.rebalanceDrainMs, 'rebalance');
  }

  onFatal(error: Error): void {
    this.#o.onFatal(error);
  }

  onTopicRetention(topic: string, retentionMs: number): void {
    this.#o.onTopicRetention?.(topic, retentionMs);
  }
}
