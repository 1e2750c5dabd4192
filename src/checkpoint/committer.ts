// Commits each owned partition's watermark to Kafka: on an interval, as soon as the in-flight limit
// is half full, before a rejoin (revoke) and on shutdown. Commits are serialised; a failed commit
// (e.g. during a rebalance) is logged and the next one covers it.
import { oneLine } from '../core/errors.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { CommitSnapshot, PartitionTracker } from './offset-tracker.ts';

export type CommitFn = (offsets: Array<{ topic: string; partition: number; offset: number }>) => Promise<void>;

export class Committer {
  readonly #commit: CommitFn;
  readonly #trackers: () => Iterable<PartitionTracker>;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  /** Last committed offset per tracker (a new tracker after a rebalance starts afresh). */
  #committed = new WeakMap<PartitionTracker, number>();
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #soon = false;

  constructor(commit: CommitFn, trackers: () => Iterable<PartitionTracker>, metrics: Metrics, logger: Logger) {
    this.#commit = commit;
    this.#trackers = trackers;
    this.#metrics = metrics;
    this.#log = logger.child({ component: 'committer' });
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => {
      this.commitNow().catch(() => undefined);
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Commits shortly (coalesced): used under in-flight pressure. */
  commitSoon(): void {
    if (this.#soon) return;
    this.#soon = true;
    setImmediate(() => {
      this.#soon = false;
      this.commitNow().catch(() => undefined);
    });
  }

  /** Commits every watermark that moved since the last commit. Rejects if the commit failed. */
  commitNow(): Promise<void> {
    const run = this.#chain.then(() => this.#commitOnce());
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #commitOnce(): Promise<void> {
    const due: Array<{ tracker: PartitionTracker; snap: CommitSnapshot }> = [];
    for (const t of this.#trackers()) {
      const snap = t.snapshot();
      if (t.closed || snap === undefined || snap.offset === this.#committed.get(t)) continue;
      due.push({ tracker: t, snap });
    }
    if (due.length === 0) return;
    const started = performance.now();
    try {
      await this.#commit(due.map((d) => ({ topic: d.tracker.topic, partition: d.tracker.partition, offset: d.snap.offset })));
    } catch (err) {
      this.#metrics.commits.inc({ result: 'error' });
      this.#log.warn({ partitions: due.length }, `offset commit failed: ${oneLine(String((err as Error).message))}`);
      throw err;
    }
    this.#metrics.commits.inc({ result: 'ok' });
    for (const d of due) {
      this.#committed.set(d.tracker, d.snap.offset);
      d.tracker.committed(d.snap);
      this.#metrics.committedOffset.set({ topic: d.tracker.topic, partition: String(d.tracker.partition) }, d.snap.offset);
    }
    this.#log.debug({ offsets: due.map((d) => `${d.tracker.topic}/${d.tracker.partition}@${d.snap.offset}`), ms: Math.round(performance.now() - started) }, 'committed');
  }
}
