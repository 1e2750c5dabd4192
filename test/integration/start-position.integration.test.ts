// Where a new group starts: KAFKA_START_FROM=<time> skips records older than the time (and commits the
// start offset for the group), `latest` skips the backlog; a group that has committed resumes there.
import { afterEach, describe, expect, it } from 'vitest';
import { createTopic, kafkaBootstrap, produceJson, uniqueName } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';
import { committedTotal, outputs, startMember, type GroupSetup } from '../support/group.ts';
import { sleep, tmpDir, waitUntil, type Instance } from '../support/instance.ts';

const running: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
});

describe('start position of a new group (real broker)', () => {
  it('KAFKA_START_FROM=<ISO time> delivers only records from that time on, then resumes from its commits', async () => {
    const bootstrap = kafkaBootstrap();
    const topic = uniqueName('start');
    await createTopic(bootstrap, topic, 2);
    const s: GroupSetup = { bootstrap, topic, group: uniqueName('start-g'), dir: tmpDir('start'), dlqTopic: uniqueName('start-dlq') };
    const run = uniqueName('run');
    await produceJson(bootstrap, topic, ledgerRecords(run, 100, 2, 0));
    await sleep(1500);
    const from = new Date().toISOString();
    await sleep(500);
    await produceJson(bootstrap, topic, ledgerRecords(run, 100, 2, 100));
    const first = startMember(s, 'first', { KAFKA_START_FROM: from });
    running.push(first);
    await waitUntil('200 committed', async () => (await committedTotal(s)) === 200n, 60_000, 500);
    expect((await first.stop()).code).toBe(0);
    expect(tally(run, 100, outputs(s, ['first']), 100)).toMatchObject({ delivered: 100, lost: 0, dup: 0, foreign: 0 });

    // A restart with the same group ignores KAFKA_START_FROM: it resumes from the commits.
    await produceJson(bootstrap, topic, ledgerRecords(run, 50, 2, 200));
    const second = startMember(s, 'second', { KAFKA_START_FROM: 'earliest' });
    running.push(second);
    await waitUntil('250 committed', async () => (await committedTotal(s)) === 250n, 60_000, 500);
    expect((await second.stop()).code).toBe(0);
    expect(tally(run, 50, outputs(s, ['second']), 200)).toMatchObject({ delivered: 50, lost: 0, dup: 0, foreign: 0 });
  });

  it('KAFKA_START_FROM=latest skips the backlog of a new group', async () => {
    const bootstrap = kafkaBootstrap();
    const topic = uniqueName('latest');
    await createTopic(bootstrap, topic, 1);
    const s: GroupSetup = { bootstrap, topic, group: uniqueName('latest-g'), dir: tmpDir('latest'), dlqTopic: uniqueName('latest-dlq') };
    const run = uniqueName('run');
    await produceJson(bootstrap, topic, ledgerRecords(run, 30, 1, 0));
    const inst = startMember(s, 'l', { KAFKA_START_FROM: 'latest' });
    running.push(inst);
    await waitUntil('joined', async () => (await inst.metricSum('logstream_assigned_partitions')) === 1, 60_000, 250);
    await sleep(1000);
    await produceJson(bootstrap, topic, ledgerRecords(run, 20, 1, 30));
    await waitUntil('50 committed', async () => (await committedTotal(s)) === 50n, 60_000, 500);
    expect((await inst.stop()).code).toBe(0);
    expect(tally(run, 20, outputs(s, ['l']), 30)).toMatchObject({ delivered: 20, lost: 0, dup: 0, foreign: 0 });
  });
});
