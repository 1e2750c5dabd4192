import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Committer, RETRY_AFTER_FAILURE_MS } from '../../src/checkpoint/committer.ts';
import { PartitionTracker } from '../../src/checkpoint/offset-tracker.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { sleep } from '../support/instance.ts';

type Offsets = Array<{ topic: string; partition: number; offset: number }>;

function setup(commit: (offsets: Offsets) => Promise<void>) {
  const lines: Array<{ level: string; msg: string; attempt?: number; failedAttempts?: number }> = [];
  const logger = createLogger({ level: 'debug', destination: new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }) });
  const tracker = new PartitionTracker('t', 0);
  const metrics = createMetrics();
  const committer = new Committer(commit, () => [tracker], metrics, logger, 'default');
  /** Tracks and acknowledges the next record, so that there is something new to commit. */
  let offset = 0;
  const deliverOne = () => tracker.track(offset++, 1)[0]!.done();
  return { lines, committer, deliverOne, metrics };
}

const idle = () => new Promise((r) => setImmediate(r));

describe('Committer', () => {
  it('commits what moved, once per commitSoon burst', async () => {
    const calls: Offsets[] = [];
    const { committer, deliverOne } = setup(async (o) => void calls.push(o));
    deliverOne();
    for (let i = 0; i < 50; i++) committer.commitSoon();
    await idle();
    await committer.commitNow();
    expect(calls).toEqual([[{ topic: 't', partition: 0, offset: 1 }]]);
  });

  it('after a refused commit, commitSoon stays quiet for a while and the run of failures is logged once', async () => {
    let refuse = true;
    const calls: number[] = [];
    const { committer, deliverOne, lines, metrics } = setup(async (o) => {
      calls.push(o[0]!.offset);
      if (refuse) throw new Error('The coordinator is not aware of this member');
    });
    deliverOne();
    await expect(committer.commitNow()).rejects.toThrow(/not aware/);
    // Every acknowledgement under in-flight pressure asks for a commit: none is sent during the pause.
    for (let i = 0; i < 20; i++) {
      deliverOne();
      committer.commitSoon();
      await idle();
    }
    expect(calls).toHaveLength(1);
    await sleep(RETRY_AFTER_FAILURE_MS + 50);
    committer.commitSoon();
    await idle();
    await committer.commitNow().catch(() => undefined);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    // An explicit commit (interval, rejoin, shutdown) is not held back by the pause: the refused
    // offsets are still due and are sent again at once.
    const before = calls.length;
    await committer.commitNow().catch(() => undefined);
    expect(calls.length).toBe(before + 1);

    const failures = lines.filter((l) => l.msg.startsWith('offset commit failed'));
    expect(failures.length).toBe(calls.length);
    expect(failures.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(failures.at(-1)!.attempt).toBe(calls.length);

    refuse = false;
    deliverOne();
    await committer.commitNow();
    const back = lines.filter((l) => l.msg === 'offset commits succeed again');
    expect(back).toEqual([expect.objectContaining({ level: 'info', failedAttempts: calls.length - 1 })]);
    const errors = (await metrics.commits.get()).values.find((v) => v.labels.result === 'error')?.value;
    expect(errors).toBe(calls.length - 1);
    // Back to normal: commitSoon commits at once again.
    const sent = calls.length;
    deliverOne();
    committer.commitSoon();
    await idle();
    expect(calls.length).toBe(sent + 1);
  });

  it('does not queue up commits behind a slow one that then fails', async () => {
    const calls: number[] = [];
    const { committer, deliverOne } = setup(async (o) => {
      calls.push(o[0]!.offset);
      await sleep(100);
      throw new Error('Request timed out');
    });
    deliverOne();
    committer.commitSoon();
    // Acknowledgements keep arriving while the first commit hangs: each asks for a commit.
    for (let i = 0; i < 30; i++) {
      await sleep(5);
      deliverOne();
      committer.commitSoon();
    }
    await sleep(300);
    expect(calls).toHaveLength(1);
  });

  it('logs a run of failures at warn again when the reason changes', async () => {
    const reasons = ['Connection error: connect ECONNREFUSED', 'Connection error: connect ECONNREFUSED', 'The coordinator is not aware of this member'];
    let k = 0;
    const { committer, deliverOne, lines } = setup(async () => {
      throw new Error(reasons[k++]!);
    });
    for (let i = 0; i < reasons.length; i++) {
      deliverOne();
      await committer.commitNow().catch(() => undefined);
    }
    const failures = lines.filter((l) => l.msg.startsWith('offset commit failed'));
    expect(failures.map((l) => l.level)).toEqual(['warn', 'debug', 'warn']);
  });
});
