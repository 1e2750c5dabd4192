// `logstream reset-offsets`: replay from a timestamp for a group that already committed everything;
// refused while an instance of the group runs.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { committedOffsets, produceJson } from '../support/kafka.ts';
import { committedTotal, newGroupSetup, outputs, startMember, type GroupSetup } from '../support/group.ts';
import { REPO_ROOT, waitUntil, type Instance } from '../support/instance.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';

const running: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
});

function reset(s: GroupSetup, args: string[]) {
  const r = spawnSync(process.execPath, ['src/main.ts', 'reset-offsets', '--group', s.group, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', KAFKA_BROKERS: s.bootstrap, KAFKA_TOPICS: s.topic },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('reset-offsets (real broker)', () => {
  it('replays exactly the records at or after a time; refuses while the group has a member', async () => {
    const s = await newGroupSetup('reset', 2);
    const run = `reset-${Date.now()}`;
    const t0 = Date.now() - 60 * 60_000;
    // 100 records one minute apart (record timestamps), alternating partitions
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 100, 2).map((r, i) => ({ ...r, timestamp: t0 + i * 60_000 })));
    const first = startMember(s, 'first');
    running.push(first);
    await waitUntil('100 committed', async () => (await committedTotal(s)) === 100n, 60_000, 500);

    const refused = reset(s, ['--to', new Date(t0).toISOString()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`group ${s.group} has 1 active member`));
    expect(await committedTotal(s)).toBe(100n);
    expect((await first.stop()).code).toBe(0);
    running.splice(0);

    const at = new Date(t0 + 60 * 60_000).toISOString(); // the time of record 60
    const dry = reset(s, ['--to', at, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('dry run: nothing changed');
    expect(await committedTotal(s)).toBe(100n);

    const done = reset(s, ['--to', at]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain(`${s.topic}\t0\t50 -> 30`);
    expect(done.stdout).toContain(`${s.topic}\t1\t50 -> 30`);
    expect([...(await committedOffsets(s.bootstrap, s.group, s.topic)).values()]).toEqual([30n, 30n]);

    const second = startMember(s, 'second');
    running.push(second);
    await waitUntil('replayed', async () => (await committedTotal(s)) === 100n, 60_000, 500);
    const replayed = outputs(s, ['second']);
    expect(tally(run, 40, replayed, 60)).toMatchObject({ delivered: 40, lost: 0, dup: 0, altered: 0, foreign: 0 });

    expect(reset(s, ['--to', 'whenever']).code).toBe(2);
  });
});
