// Faults of the receivers, under load, 3 instances: every sink down at once (connections refused, open
// ones cut) for 2 minutes (10 with FAULTS_FULL=1); the HEC receiver answering 503, then 429 with
// Retry-After, then slowly (2 s a request).
import { describe, expect, it } from 'vitest';
import { expectClean, FaultRun, FULL, killDupBound, underLoad, usePeers } from './support/fault-run.ts';
import { ALL_SINKS } from './support/peers.ts';
import { sleep, waitUntil } from '../support/instance.ts';

const fault = usePeers(ALL_SINKS);

const SINK_DOWN_S = Number(process.env['FAULTS_SINK_DOWN_S'] ?? (FULL ? 600 : 120));

async function readyCount(run: FaultRun): Promise<number> {
  const states = await Promise.all(run.alive().map(async (i) => (await fetch(`http://127.0.0.1:${await i.httpPort()}/readyz`)).status === 200));
  return states.filter(Boolean).length;
}

describe('sink faults, 3 instances', () => {
  it(`every sink down for ${SINK_DOWN_S} s under load: nothing committed meanwhile, instances not ready, then lost=0`, async () => {
    const run = await FaultRun.start({ scenario: `sinks down ${SINK_DOWN_S} s`, peers: fault(), sinks: ALL_SINKS });
    try {
      await underLoad(run, 5000);
      await fault().shut(ALL_SINKS);
      const downAt = Date.now();
      // What was committed a few seconds into the outage (in-flight batches settle) may not grow after.
      await sleep(8000);
      const committedEarly = await run.committed();
      await waitUntil('every instance reports not ready', async () => (await readyCount(run)) === 0, 60_000, 1000);
      const stillUp = run.alive().length;
      await sleep(Math.max(0, SINK_DOWN_S * 1000 - (Date.now() - downAt)) / 2);
      await run.snapshotMetrics();
      await sleep(Math.max(0, SINK_DOWN_S * 1000 - (Date.now() - downAt)));
      const committedLate = await run.committed();
      expect(run.alive().length, 'no instance exited during the outage').toBe(stillUp);
      expect(committedLate, 'nothing committed while every sink was down').toBe(committedEarly);
      await fault().reopen(ALL_SINKS);
      await waitUntil('instances ready again', async () => (await readyCount(run)) === run.alive().length, 180_000, 1000);
      await underLoad(run, 5000);
      // A batch cut mid-request when the sink went away is sent again: at most the in-flight window.
      const r = await run.finish({ dupBound: killDupBound(run), note: `all five sinks refused connections for ${SINK_DOWN_S} s; committed stayed at ${committedLate}` });
      expectClean(r);
    } finally {
      await fault().reopen(ALL_SINKS).catch(() => undefined);
      await Promise.all(run.alive().map((i) => i.stop(10_000)));
    }
  }, (SINK_DOWN_S + 420) * 1000);

  it('HEC answering 503, then 429 with Retry-After, then 2 s per request: lost=0, no duplicates beyond resent batches', async () => {
    const phaseMs = FULL ? 60_000 : 10_000;
    const run = await FaultRun.start({ scenario: 'HEC 503 / 429 Retry-After / slow 2 s', peers: fault(), sinks: ['hec'] });
    const hec = fault().hec!;
    try {
      await underLoad(run, 3000);
      await hec.control({ op: 'setMode', mode: 'busy503' });
      await sleep(3000); // requests already answered settle into commits
      const at503 = await run.committed();
      await underLoad(run, phaseMs);
      expect(await run.committed(), 'nothing committed while HEC answered 503').toBe(at503);
      await hec.control({ op: 'setMode', mode: 'tooMany429', retryAfterSeconds: 3 });
      await underLoad(run, phaseMs);
      await hec.control({ op: 'setMode', mode: 'slow', slowMs: 2000 });
      await underLoad(run, phaseMs);
      await hec.control({ op: 'setMode', mode: 'ok' });
      const stats = await hec.stats();
      const retries = (await Promise.all(run.alive().map((i) => i.metricSum('logstream_sink_retries_total')))).reduce((a, b) => a + b, 0);
      expect(stats.byStatus['503'] ?? 0, 'the receiver answered 503').toBeGreaterThan(0);
      expect(stats.byStatus['429'] ?? 0, 'the receiver answered 429').toBeGreaterThan(0);
      expect(retries, 'logstream retried').toBeGreaterThan(0);
      // 503 and 429 replies mean "not indexed", and a slow 200 is still one delivery: nothing to repeat.
      const r = await run.finish({ dupBound: 0, note: `${stats.byStatus['503']} × 503, ${stats.byStatus['429']} × 429, then 2 s replies; ${retries} retries` });
      expectClean(r); // dup bound 0
    } finally {
      await hec.control({ op: 'setMode', mode: 'ok' }).catch(() => undefined);
      await Promise.all(run.alive().map((i) => i.stop(10_000)));
    }
  }, 10 * 60_000);
});
