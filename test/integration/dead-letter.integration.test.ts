// Bad input loses nothing: non-JSON is shipped as _raw; what a sink refuses, or what cannot be decoded,
// lands in the dead-letter topic with the original bytes and reason headers; the partition keeps moving.
import { afterEach, describe, expect, it } from 'vitest';
import { committedOffsets, createTopic, kafkaBootstrap, produceJson, readTopic, uniqueName } from '../support/kafka.ts';
import { outputs, startMember, type GroupSetup } from '../support/group.ts';
import { tmpDir, waitUntil, type Instance } from '../support/instance.ts';

const running: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
});

const header = (h: Record<string, Buffer | string | undefined>, k: string): string | undefined => h[k]?.toString();

describe('dead-letter topic and raw records (real broker)', () => {
  it('ships non-JSON as _raw, dead-letters refused and undecodable records with reasons, and commits past them', async () => {
    const bootstrap = kafkaBootstrap();
    const topic = uniqueName('dlq-src');
    await createTopic(bootstrap, topic, 1);
    const s: GroupSetup = { bootstrap, topic, group: uniqueName('dlq-g'), dir: tmpDir('dlq'), dlqTopic: uniqueName('dlq') };
    const big = { id: 'big', pad: 'x'.repeat(5000) };
    await produceJson(bootstrap, topic, [
      { value: { id: 'first' } },
      { value: '<34>Oct 11 22:14:15 mymachine su: failed for lonvick' },
      { value: big, headers: { trace: 't-1' }, key: 'k-big' },
      { value: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) }, // not UTF-8
      { value: { id: 'last' } },
    ]);
    const inst = startMember(s, 'solo', { FILE_MAX_RECORD_BYTES: '1000' });
    running.push(inst);
    await waitUntil('all 5 offsets committed', async () => (await committedOffsets(bootstrap, s.group, topic)).get(0) === 5n, 90_000, 500);
    const rows = outputs(s, ['solo']);
    expect(rows).toEqual([{ id: 'first' }, { _raw: '<34>Oct 11 22:14:15 mymachine su: failed for lonvick' }, { id: 'last' }]);

    const dead = await readTopic(bootstrap, s.dlqTopic, { expected: 2, timeoutMs: 30_000 });
    expect(dead.length).toBe(2);
    const [tooBig, notUtf8] = dead;
    expect(tooBig!.value!.toString()).toBe(JSON.stringify(big)); // original bytes
    expect(tooBig!.key!.toString()).toBe('k-big');
    expect(header(tooBig!.headers, 'trace')).toBe('t-1'); // original headers kept
    expect(header(tooBig!.headers, 'logstream.source.topic')).toBe(topic);
    expect(header(tooBig!.headers, 'logstream.source.partition')).toBe('0');
    expect(header(tooBig!.headers, 'logstream.source.offset')).toBe('2');
    expect(header(tooBig!.headers, 'logstream.sink')).toBe('file');
    expect(header(tooBig!.headers, 'logstream.error.class')).toBe('permanent');
    expect(header(tooBig!.headers, 'logstream.error.code')).toBe('RECORD_TOO_LARGE');
    expect(header(tooBig!.headers, 'logstream.error.message')).toMatch(/over the sink's limit of 1000/);
    expect(Buffer.compare(notUtf8!.value!, Buffer.from([0x7b, 0xc3, 0x28, 0x7d]))).toBe(0);
    expect(header(notUtf8!.headers, 'logstream.sink')).toBe('decode');
    expect(header(notUtf8!.headers, 'logstream.error.code')).toBe('INVALID_UTF8');
    expect(header(notUtf8!.headers, 'logstream.source.offset')).toBe('3');

    expect(await inst.metricSum('logstream_dead_letter_events_total')).toBe(2);
    expect(await inst.metricSum('logstream_decode_raw_events_total')).toBe(1);
    expect((await inst.stop()).code).toBe(0);
  });

  it('sizes a new dead-letter topic for the largest source record, and cuts a dead letter short (with a header) rather than stall when an existing one is too small', async () => {
    const bootstrap = kafkaBootstrap();
    const MiB = 1024 * 1024;
    const topic = uniqueName('dlq-big-src');
    await createTopic(bootstrap, topic, 1, { 'max.message.bytes': String(4 * MiB) });
    const huge = { id: 'huge', pad: 'y'.repeat(3 * MiB) };
    // (1) A dead-letter topic logstream creates takes the whole 3 MiB record (broker default: 1 MiB).
    const s: GroupSetup = { bootstrap, topic, group: uniqueName('dlq-big-g'), dir: tmpDir('dlq-big'), dlqTopic: uniqueName('dlq-big') };
    await produceJson(bootstrap, topic, [{ value: huge }, { value: { id: 'after' } }]);
    const inst = startMember(s, 'big', { FILE_MAX_RECORD_BYTES: '1000' });
    running.push(inst);
    await waitUntil('both offsets committed', async () => (await committedOffsets(bootstrap, s.group, topic)).get(0) === 2n, 90_000, 500);
    const [whole] = await readTopic(bootstrap, s.dlqTopic, { expected: 1, timeoutMs: 30_000 });
    expect(whole!.value!.toString()).toBe(JSON.stringify(huge));
    expect(header(whole!.headers, 'logstream.value.truncated-from')).toBeUndefined();
    await inst.stop();

    // (2) An existing dead-letter topic that takes only 200 000 bytes: the letter is cut, not retried forever.
    const small = uniqueName('dlq-small');
    await createTopic(bootstrap, small, 1, { 'max.message.bytes': '200000' });
    const s2: GroupSetup = { ...s, group: uniqueName('dlq-small-g'), dlqTopic: small };
    const inst2 = startMember(s2, 'small', { FILE_MAX_RECORD_BYTES: '1000' });
    running.push(inst2);
    await waitUntil('both offsets committed past the cut letter', async () => (await committedOffsets(bootstrap, s2.group, topic)).get(0) === 2n, 90_000, 500);
    const [cut] = await readTopic(bootstrap, small, { expected: 1, timeoutMs: 30_000 });
    const original = Buffer.byteLength(JSON.stringify(huge));
    expect(header(cut!.headers, 'logstream.value.truncated-from')).toBe(String(original));
    expect(header(cut!.headers, 'logstream.source.offset')).toBe('0');
    expect(cut!.value!.length).toBeLessThan(200_000);
    expect(JSON.stringify(huge).startsWith(cut!.value!.toString())).toBe(true);
    expect(inst2.logs.some((l) => l.msg.startsWith('the dead-letter topic takes smaller messages than the source topics'))).toBe(true);
    expect(inst2.logs.some((l) => l.msg.startsWith('dead letter larger than the dead-letter topic takes'))).toBe(true);
    expect(outputs(s2, ['small'])).toEqual([{ id: 'after' }]);
    expect((await inst2.stop()).code).toBe(0);
  });
});
