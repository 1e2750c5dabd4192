// Kafka is the buffer: when a sink stops taking records, the instance holds at most its in-flight limit,
// pauses its partitions, commits nothing past what was delivered, and catches up when the sink recovers.
import { afterEach, describe, expect, it } from 'vitest';
import { committedOffsets, createTopic, kafkaBootstrap, produceJson, uniqueName } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';
import { instanceEnv, type GroupSetup } from '../support/group.ts';
import { Instance, sleep, tmpDir, waitUntil } from '../support/instance.ts';

const running: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
});

describe('backpressure (real broker)', () => {
  it('a blocked sink pauses partitions within the in-flight limit and loses nothing when it recovers', async () => {
    const bootstrap = kafkaBootstrap();
    const topic = uniqueName('bp');
    await createTopic(bootstrap, topic, 2);
    const s: GroupSetup = { bootstrap, topic, group: uniqueName('bp-g'), dir: tmpDir('bp'), dlqTopic: uniqueName('bp-dlq') };
    const limit = 3000;
    const env = { ...instanceEnv(s, 'bp'), SINKS: 'stdout', INFLIGHT_MAX_RECORDS: String(limit) };
    // Nothing reads the child's stdout: the pipe fills after ~64 KiB and the stdout sink stalls.
    const inst = new Instance('bp', env, ['run'], { holdStdout: true });
    running.push(inst);
    const run = uniqueName('run');
    const n = 30_000;
    await produceJson(bootstrap, topic, ledgerRecords(run, n, 2), { batchSize: 2000 });

    await waitUntil('partitions paused', async () => (await inst.metricSum('logstream_paused_partitions')) > 0, 60_000, 250);
    const held: number[] = [];
    for (let i = 0; i < 8; i++) {
      held.push(await inst.metricSum('logstream_inflight_records'));
      await sleep(250);
    }
    process.stdout.write(`blocked sink: in-flight samples ${held.join(',')} (limit ${limit})\n`);
    expect(Math.max(...held)).toBeLessThanOrEqual(limit);
    expect(Math.min(...held)).toBeGreaterThan(0);
    const committedWhileBlocked = [...(await committedOffsets(bootstrap, s.group, topic)).values()].reduce((a, b) => a + b, 0n);
    expect(committedWhileBlocked).toBeLessThan(BigInt(n));
    expect((await fetch(`http://127.0.0.1:${await inst.httpPort()}/readyz`)).status).toBe(200); // slow is not broken

    inst.readStdout();
    await waitUntil('everything committed after the sink recovered', async () => [...(await committedOffsets(bootstrap, s.group, topic)).values()].reduce((a, b) => a + b, 0n) === BigInt(n), 120_000, 500);
    expect((await inst.stop()).code).toBe(0);
    const rows = Buffer.concat(inst.stdoutChunks).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const t = tally(run, n, rows);
    expect(t).toEqual({ delivered: n, lost: 0, dup: 0, altered: 0, foreign: 0 });
  });
});
