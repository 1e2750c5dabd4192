// The delivery contract against a real broker with real child processes: exactly-once union across
// a stable group, bounded duplicates after kill -9, none after SIGTERM, standby take-over.
import { afterEach, describe, expect, it } from 'vitest';
import { produceJson, uniqueName, type TestRecord } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';
import { committedTotal, newGroupSetup, outputs, startMember, waitForStableGroup, type GroupSetup } from '../support/group.ts';
import { sleep, waitUntil, type Instance } from '../support/instance.ts';

const running: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
});

function members(s: GroupSetup, names: string[], env: Record<string, string> = {}): Instance[] {
  const list = names.map((n) => startMember(s, n, env));
  running.push(...list);
  return list;
}

/** Produces in 50 slices over about `ms`, so that faults land while records are flowing. */
async function produceSteadily(s: GroupSetup, records: TestRecord[], ms: number): Promise<void> {
  const slice = Math.ceil(records.length / 50);
  for (let i = 0; i < records.length; i += slice) {
    const started = Date.now();
    await produceJson(s.bootstrap, s.topic, records.slice(i, i + slice), { batchSize: slice });
    await sleep(Math.max(0, ms / 50 - (Date.now() - started)));
  }
}

async function sentTotal(instances: Instance[]): Promise<number> {
  const sums = await Promise.all(instances.map((i) => i.metricSum('logstream_sink_sent_events_total')));
  return sums.reduce((a, b) => a + b, 0);
}

async function endOffsetsCommitted(s: GroupSetup, expectedTotal: number): Promise<boolean> {
  return (await committedTotal(s)) === BigInt(expectedTotal);
}

describe('consumer group delivery (real broker, child processes)', () => {
  it('3 instances, 4 partitions, 100 000 records: the union of their outputs holds every record exactly once', async () => {
    const s = await newGroupSetup('union', 4);
    const names = ['a', 'b', 'c'];
    const inst = members(s, names);
    const owned = await waitForStableGroup(inst, 4);
    expect(owned.every((n) => n >= 1)).toBe(true);
    const run = uniqueName('run');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 100_000, 4), { batchSize: 2000 });
    await waitUntil('all 100 000 committed', () => endOffsetsCommitted(s, 100_000), 180_000, 1000);
    const exits = await Promise.all(inst.map((i) => i.stop()));
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0]);
    const t = tally(run, 100_000, outputs(s, names));
    process.stdout.write(`union: lost=${t.lost} dup=${t.dup} altered=${t.altered}\n`);
    expect(t).toEqual({ delivered: 100_000, lost: 0, dup: 0, altered: 0, foreign: 0 });
  });

  it('kill -9 of an instance mid-stream: the others resume from its last commit, nothing is lost, duplicates stay within the in-flight limit', async () => {
    const inflight = 2000;
    const s = await newGroupSetup('kill9', 4, { INFLIGHT_MAX_RECORDS: String(inflight) });
    const names = ['a', 'b', 'c'];
    const inst = members(s, names);
    await waitForStableGroup(inst, 4);
    const run = uniqueName('run');
    const producing = produceSteadily(s, ledgerRecords(run, 100_000, 4), 10_000);
    await waitUntil('a third delivered', async () => (await sentTotal(inst)) >= 30_000, 120_000, 100);
    const victim = inst[1]!;
    const victimSent = await victim.metricSum('logstream_sink_sent_events_total');
    victim.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    await producing;
    await waitUntil('every record delivered after the kill', () => tally(run, 100_000, outputs(s, names)).lost === 0, 180_000, 1000);
    await waitUntil('all committed', () => endOffsetsCommitted(s, 100_000), 60_000, 1000);
    const t = tally(run, 100_000, outputs(s, names));
    process.stdout.write(`kill -9: lost=${t.lost} dup=${t.dup} (bound ${inflight}; the victim had delivered ${victimSent})\n`);
    expect(victimSent).toBeGreaterThan(0);
    expect(t.lost).toBe(0);
    expect(t.altered).toBe(0);
    expect(t.dup).toBeLessThanOrEqual(inflight);
    const exits = await Promise.all([inst[0]!, inst[2]!].map((i) => i.stop()));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
  });

  it.each([
    ['classic', {}],
    ['consumer (KIP-848)', { KAFKA_GROUP_PROTOCOL: 'consumer' }],
  ])('SIGTERM of an instance mid-stream, %s group protocol: it drains and commits, the group rebalances, lost=0 and dup=0', async (protocol, env) => {
    const s = await newGroupSetup('sigterm', 4);
    const names = ['a', 'b', 'c'];
    const inst = members(s, names, env);
    await waitForStableGroup(inst, 4);
    const run = uniqueName('run');
    const producing = produceSteadily(s, ledgerRecords(run, 60_000, 4), 8000);
    await waitUntil('some delivered', async () => (await sentTotal(inst)) >= 10_000, 120_000, 100);
    const leaving = inst[0]!;
    const exit = await leaving.stop();
    expect(exit.code).toBe(0);
    await producing;
    await waitUntil('all committed', () => endOffsetsCommitted(s, 60_000), 120_000, 1000);
    const exits = await Promise.all([inst[1]!, inst[2]!].map((i) => i.stop()));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
    const t = tally(run, 60_000, outputs(s, names));
    process.stdout.write(`sigterm (${protocol}): lost=${t.lost} dup=${t.dup}\n`);
    expect(t).toEqual({ delivered: 60_000, lost: 0, dup: 0, altered: 0, foreign: 0 });
  });

  it('a 5th instance for 4 partitions stays standby, and takes over when an owner stops', async () => {
    const s = await newGroupSetup('standby', 4);
    const names = ['a', 'b', 'c', 'd', 'e'];
    const inst = members(s, names);
    const owned = await waitForStableGroup(inst, 4);
    expect([...owned].sort()).toEqual([0, 1, 1, 1, 1]);
    const standby = inst[owned.indexOf(0)]!;
    const owner = inst[owned.indexOf(1)]!;
    const run = uniqueName('run');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 4000, 4));
    await waitUntil('first half committed', () => endOffsetsCommitted(s, 4000), 60_000, 500);
    expect((await owner.stop()).code).toBe(0);
    const rest = inst.filter((i) => i !== owner);
    await waitForStableGroup(rest, 4);
    expect(await standby.metricSum('logstream_assigned_partitions')).toBe(1);
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 4000, 4, 4000));
    await waitUntil('second half committed', () => endOffsetsCommitted(s, 8000), 60_000, 500);
    expect(await standby.metricSum('logstream_sink_sent_events_total')).toBeGreaterThan(0);
    await Promise.all(rest.map((i) => i.stop()));
    const t = tally(run, 8000, outputs(s, names));
    expect(t).toEqual({ delivered: 8000, lost: 0, dup: 0, altered: 0, foreign: 0 });
  });
});
