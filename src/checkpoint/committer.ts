// Commits each owned partition's watermark to Kafka: on an interval, as soon as the in-flight limit
// is half full, before a rejoin (revoke) and on shutdown. Commits are serialised; a failed commit
// (e.g. during a rebalance or a broker outage) is logged and the next one covers it. After a failure,
// commitSoon() waits out RETRY_AFTER_FAILURE_MS: every acknowledgement under in-flight pressure asks
// for a commit, and without the pause a refused commit is retried (and logged) hundreds of times a
// second. A run of failures is logged once at warn (again if the reason changes), then at debug, and
// its end is logged with the number of attempts.
import { oneLine } from '../core/errors.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { CommitSnapshot, PartitionTracker } from './offset-tracker.ts';

/** How long commitSoon() stays quiet after a failed commit (the interval and explicit commits still run). */
export const RETRY_AFTER_FAILURE_MS = 500;

export type CommitFn = (offsets: Array<{ topic: string; partition: number; offset: number }>) => Promise<void>;

export class Committer {
  readonly #commit: CommitFn;
  readonly #trackers: () => Iterable<PartitionTracker>;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #route: string;
  /** Last committed offset per tracker (a new tracker after a rebalance starts afresh). */
  #committed = new WeakMap<PartitionTracker, number>();
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #soon = false;
  /** When the last commit failed (0: the last one succeeded), how many in a row, and why. */
  #failedAt = 0;
  #failures = 0;
  #failReason = '';

  constructor(commit: CommitFn, trackers: () => Iterable<PartitionTracker>, metrics: Metrics, logger: Logger, route: string) {
    this.#commit = commit;
    this.#route = route;
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

  /** Commits shortly: used under in-flight pressure. Calls made while one such commit waits for
   *  its turn join it, and none is sent within RETRY_AFTER_FAILURE_MS of a failure. */
  commitSoon(): void {
    if (this.#soon || this.#pausedAfterFailure()) return;
    this.#soon = true;
    setImmediate(() => {
      const run = this.#chain.then(() => {
        this.#soon = false;
        // A commit ahead of this one may just have failed.
        return this.#pausedAfterFailure() ? undefined : this.#commitOnce();
      });
      this.#chain = run.catch(() => undefined);
    });
  }

  #pausedAfterFailure(): boolean {
    return this.#failedAt > 0 && performance.now() - this.#failedAt < RETRY_AFTER_FAILURE_MS;
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
      this.#metrics.commits.inc({ route: this.#route, result: 'error' });
      const reason = oneLine(String((err as Error).message));
      this.#failedAt = performance.now();
      this.#failures++;
      const level = this.#failures === 1 || reason !== this.#failReason ? 'warn' : 'debug';
      this.#failReason = reason;
      this.#log[level]({ partitions: due.length, attempt: this.#failures }, `offset commit failed: ${reason}`);
      throw err;
    }
    this.#metrics.commits.inc({ route: this.#route, result: 'ok' });
    if (this.#failures > 0) {
      this.#log.info({ failedAttempts: this.#failures }, 'offset commits succeed again');
      this.#failures = 0;
      this.#failedAt = 0;
      this.#failReason = '';
    }
    for (const d of due) {
      this.#committed.set(d.tracker, d.snap.offset);
      d.tracker.committed(d.snap);
      this.#metrics.committedOffset.set({ route: this.#route, topic: d.tracker.topic, partition: String(d.tracker.partition) }, d.snap.offset);
    }
    this.#log.debug({ offsets: due.map((d) => `${d.tracker.topic}/${d.tracker.partition}@${d.snap.offset}`), ms: Math.round(performance.now() - started) }, 'committed');
  }
}
