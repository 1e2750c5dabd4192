// The query inside the daemon: records it drops are acknowledged (committed) without delivery, records
// it reshapes are delivered reshaped, and a runtime error dead-letters the original record.
import { afterEach, describe, expect, it } from 'vitest';
import { committedOffsets, createTopic, kafkaBootstrap, produceJson, readTopic, uniqueName } from '../support/kafka.ts';
import { outputs, startMember, type GroupSetup } from '../support/group.ts';
import { tmpDir, waitUntil, type Instance } from '../support/instance.ts';

const running: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
});

describe('query in the pipeline (real broker)', () => {
  it('filters, transforms, uses Kafka metadata, and dead-letters runtime errors', async () => {
    const bootstrap = kafkaBootstrap();
    const topic = uniqueName('q-src');
    await createTopic(bootstrap, topic, 1);
    const s: GroupSetup = { bootstrap, topic, group: uniqueName('q-g'), dir: tmpDir('q'), dlqTopic: uniqueName('q-dlq') };
    await produceJson(bootstrap, topic, [
      { value: { id: 1, severity: 'low', user: 'alice@example.com', bytes: '10' } },
      { value: { id: 2, severity: 'HIGH', user: 'bob@example.com', bytes: '2048' }, key: 'k2' },
      { value: { id: 3, severity: 'critical', user: 'carol@example.com', bytes: 'lots' } }, // cast fails
      { value: { id: 4, severity: 'critical', user: 'dave@example.com', bytes: 7 }, headers: { tenant: 't-9' } },
      { value: { id: 5, severity: 'medium', user: 'erin@example.com', bytes: '1' } },
    ]);
    const query = `* | where lower(severity) in ('high', 'critical')
      | extend user = mask(user, 4), kb = cast(bytes as bigint) / 1024, src = __topic__ || '/' || cast(__offset__ as varchar), tenant = __headers__.tenant
      | project-away bytes`;
    const inst = startMember(s, 'q', { QUERY: query });
    running.push(inst);
    await waitUntil('all 5 committed', async () => (await committedOffsets(bootstrap, s.group, topic)).get(0) === 5n, 90_000, 500);
    const rows = outputs(s, ['q']);
    expect(rows).toEqual([
      { id: 2, severity: 'HIGH', user: '***********.com', kb: 2, src: `${topic}/1` },
      { id: 4, severity: 'critical', user: '************.com', kb: 7 / 1024, src: `${topic}/3`, tenant: 't-9' },
    ]);
    const dead = await readTopic(bootstrap, s.dlqTopic, { expected: 1, timeoutMs: 30_000 });
    expect(dead.length).toBe(1);
    expect(JSON.parse(dead[0]!.value!.toString())).toEqual({ id: 3, severity: 'critical', user: 'carol@example.com', bytes: 'lots' });
    expect(dead[0]!.headers['logstream.sink']?.toString()).toBe('query');
    expect(dead[0]!.headers['logstream.error.code']?.toString()).toBe('QUERY_RUNTIME');
    expect(dead[0]!.headers['logstream.error.message']?.toString()).toMatch(/cast .*line 2, column \d+.*'lots'/);
    expect(await inst.metricSum('logstream_query_filtered_events_total')).toBe(2);
    expect(await inst.metricSum('logstream_query_errors_total')).toBe(1);
    expect((await inst.stop()).code).toBe(0);
  });
});
