// A provable archive (issue 22), end to end on a real broker and a real MinIO bucket with Object Lock:
// logstream instances (child processes) write signed manifests beside the S3 objects; one is killed
// with SIGKILL and another joins (a rebalance) in the middle of the run; the signing key is rotated
// with the new instance. `logstream verify s3` must then say complete and intact, with exactly the
// duplicates the at-least-once failover made. Then the bucket is tampered with (an object deleted, a
// byte edited, two objects swapped, the newest link of a partition removed) and verify must name each;
// with a wrong key it fails.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Manifest, Sealed, Anchor } from '../../src/sinks/manifest/document.ts';
import type { Report } from '../../src/sinks/manifest/verify.ts';
import { committedTotal, instanceEnv, newGroupSetup, waitForStableGroup, type GroupSetup } from '../support/group.ts';
import { Instance, runCli, tmpDir, waitUntil, type CliResult } from '../support/instance.ts';
import { readTopic, uniqueName } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';
import { MinioPeer, type ReadObject } from '../support/minio.ts';
import { expectCompleteArchive, failoverRun, FAILOVER_QUERY, keys, verifyJson, type Keys } from '../support/archive.ts';
import { produceTransactions } from '../support/transactional-producer.ts';

const PREFIX = 'audit';
const MANIFESTS = `logstream-manifests/${PREFIX}`;

let minio: MinioPeer;
const running: Instance[] = [];

beforeAll(async () => {
  minio = await MinioPeer.start();
});
afterAll(async () => {
  await minio?.close();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(10_000)));
});

function start(s: GroupSetup, name: string, bucket: string, key: Keys, extra: Record<string, string> = {}): Instance {
  const i = new Instance(name, {
    ...instanceEnv(s, name),
    ...minio.env(bucket, PREFIX),
    S3_MANIFEST_SIGNING_KEY_FILE: key.privateFile,
    S3_MANIFEST_ANCHOR_INTERVAL: '1s',
    S3_OBJECT_LOCK_MODE: 'COMPLIANCE',
    S3_OBJECT_LOCK_DAYS: '1',
    S3_BATCH_MAX_RECORDS: '40',
    S3_RETRY_MAX: '2s',
    ...extra,
  });
  running.push(i);
  return i;
}

const verify = (bucket: string, publicFiles: string[]): Promise<CliResult & { report: Report }> => verifyJson(['s3'], publicFiles, minio.env(bucket, PREFIX));

/** One object a stored manifest records. */
interface Recorded {
  /** The manifest's key, its partition and signing key id. */
  key: string;
  partition: number;
  keyId: string;
  object: string;
  /** The objects of the same manifest (all removed when the test removes a whole link). */
  siblings: string[];
}

async function recorded(bucket: string): Promise<Recorded[]> {
  const listed = (await minio.list(bucket, `${MANIFESTS}/`)).filter((o) => !o.key.includes('/anchors/'));
  return (await minio.readAll(bucket, listed.map((o) => o.key))).flatMap((o) => {
    const { document: m, keyId } = JSON.parse(o.text) as Sealed<Manifest>;
    const siblings = m.objects.map((x) => x.object);
    return siblings.map((object) => ({ key: o.key, partition: m.partition, keyId, object, siblings }));
  });
}

const rowsOf = (objs: ReadObject[]): Array<Record<string, unknown>> => objs.flatMap((o) => o.text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));

describe('provable archive: signed manifests and `logstream verify s3` (real broker, MinIO with Object Lock)', () => {
  it('kill -9, a rebalance and a key rotation mid-run → complete with the duplicates; deleted, edited, swapped and truncated objects are named; a wrong key fails', async () => {
    const s = await newGroupSetup('archive', 3);
    const bucket = uniqueName('archive').toLowerCase().slice(0, 63);
    await minio.createBucket(bucket, { objectLock: true });
    const dir = tmpDir('archive-keys');
    const key1 = keys(dir, 'k1');
    const key2 = keys(dir, 'k2');
    const wrong = keys(dir, 'wrong');
    const query = FAILOVER_QUERY;
    const a = start(s, 'a', bucket, key1, { QUERY: query, KAFKA_COMMIT_INTERVAL: '30s' });
    const b = start(s, 'b', bucket, key1, { QUERY: query });
    await waitForStableGroup([a, b], 3);
    // The new member signs with a new key (a rotation): verify is given both public keys.
    const w = await failoverRun(s, a, b, () => start(s, 'c', bucket, key2, { QUERY: query }));
    const { run, n, filtered, deadLettered } = w;
    const dead = await readTopic(s.bootstrap, s.dlqTopic, { expected: deadLettered, timeoutMs: 30_000 });

    const stored = await recorded(bucket);
    expect(new Set(stored.map((x) => x.keyId)).size).toBe(2);
    // What the archive holds, counted independently of verify: the rows of the objects the manifests name.
    const named = [...new Set(stored.map((x) => x.object))];
    const t = tally(run, n, rowsOf(await minio.readAll(bucket, named)));

    const good = await verify(bucket, [key1.publicFile, key2.publicFile]);
    expect(good.code, good.stdout).toBe(0);
    const r = good.report;
    const sums = await expectCompleteArchive(r, s, w, t);
    // The dead-letter topic holds each of them (some twice: read again after the failover).
    expect(new Set(dead.map((d) => (JSON.parse(d.value!.toString()) as { id: number }).id)).size).toBe(deadLettered);
    process.stdout.write(
      `archive kill -9 + rebalance + key rotation: lost=${t.lost - filtered - deadLettered} dup=${t.dup} (verify: complete, ${sums.records} records, ${sums.duplicates} duplicates, ${filtered} filtered and ${deadLettered} dead-lettered accounted; ${r.manifests} manifests, ${r.anchors} anchors, forks ${sums.forks})\n`,
    );

    // Without the old key, its manifests cannot be trusted; with a wrong key, none can.
    const onlyNew = await verify(bucket, [key2.publicFile]);
    expect(onlyNew.code).toBe(1);
    expect(onlyNew.report.problems.some((p) => p.kind === 'bad-manifest' && /signed with key [0-9a-f]{16}, which is not among the keys given/.test(p.message))).toBe(true);
    const wrongKey = await verify(bucket, [wrong.publicFile]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.report.problems.filter((p) => p.kind === 'bad-manifest')).toHaveLength(new Set(stored.map((x) => x.key)).size);

    // Tampering. Object Lock keeps every stored version; what a reader sees can still be changed by
    // new versions and delete markers, and verify reads what a reader sees.
    const p1Anchor = (JSON.parse((await minio.read(bucket, `${MANIFESTS}/${s.topic}/1/anchors/latest.json`)).text) as Sealed<Anchor>).document;
    const head = stored.find((x) => x.key === p1Anchor.headManifest)!;
    expect(head, 'the anchored head of partition 1 is stored').toBeDefined();
    const others = [...new Map(stored.filter((x) => x.partition !== 1).map((x) => [x.object, x])).values()];
    const [gone, edited, swapA, swapB] = others.slice(1, 5) as [Recorded, Recorded, Recorded, Recorded];
    await minio.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: gone.object }));
    const e = await minio.read(bucket, edited.object);
    const changed = Buffer.from(e.raw);
    changed[10] = changed[10] === 0x41 ? 0x42 : 0x41;
    await minio.client.send(new PutObjectCommand({ Bucket: bucket, Key: edited.object, Body: changed, ContentType: 'application/x-ndjson' }));
    const [ra, rb] = await minio.readAll(bucket, [swapA.object, swapB.object]);
    await minio.client.send(new PutObjectCommand({ Bucket: bucket, Key: swapA.object, Body: rb!.raw }));
    await minio.client.send(new PutObjectCommand({ Bucket: bucket, Key: swapB.object, Body: ra!.raw }));
    // The newest link of partition 1 and its objects removed: the chain before it is still valid; the anchor is not.
    await minio.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: head.key }));
    for (const o of head.siblings) await minio.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o }));

    const bad = await verify(bucket, [key1.publicFile, key2.publicFile]);
    expect(bad.code).toBe(1);
    const problems = bad.report.problems;
    const about = (kind: string, key: string): Array<{ message: string; retainedVersion?: string }> => problems.filter((p) => p.kind === kind && p.key === key);
    expect(about('missing-object', gone.object)[0]!.message).toMatch(/is missing/);
    expect(about('changed-object', edited.object)[0]!.message).toMatch(/its content was changed/);
    expect(about('changed-object', swapA.object)[0]!.message).toMatch(`object ${swapA.object}: it holds the content of ${swapB.object} (objects swapped or copied); the original is kept as version `);
    expect(about('changed-object', swapB.object)[0]!.message).toMatch(`object ${swapB.object}: it holds the content of ${swapA.object} (objects swapped or copied); the original is kept as version `);
    // Object Lock kept every original: verify says which version to restore.
    for (const x of [gone, edited, swapA, swapB]) expect(problems.find((p) => p.key === x.object)!.retainedVersion, x.object).toMatch(/\S+/);
    expect(about('missing-anchored-link', head.key)[0]!.message).toMatch(/the newest objects were removed/);
    // Their records are reported missing, unless another (duplicate) object holds them too.
    expect(problems.filter((p) => p.kind === 'gap').length).toBeGreaterThan(0);
    expect(bad.stdout).not.toContain('"ok": true');
    const text = await runCli(['verify', 's3', '--key', key1.publicFile, '--key', key2.publicFile], minio.env(bucket, PREFIX), 180_000);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`missing-object: object ${gone.object} is missing`);
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe('result: NOT complete and intact');
    if (process.env['ARCHIVE_TEST_PRINT']) process.stdout.write(text.stdout);
  });

  it.each(['platformatic', 'kafkajs'])('transaction markers and aborted transactions are offsets without a record, not gaps, across a restart that resumes at a marker (KAFKA_CLIENT=%s)', async (client) => {
    const s = await newGroupSetup('archive-tx', 1, { KAFKA_CLIENT: client });
    const bucket = uniqueName('archive-tx').toLowerCase().slice(0, 63);
    await minio.createBucket(bucket, { objectLock: true });
    const key = keys(tmpDir('archive-tx-keys'), 'k');
    const run = uniqueName('tx');
    const values = (from: number, n: number): unknown[] => ledgerRecords(run, n, 1, from).map((r) => r.value);
    // Offsets 0-49 committed, 50 its marker.
    await produceTransactions(s.bootstrap, s.topic, 0, [{ commit: true, values: values(0, 50) }]);
    const first = start(s, 'tx1', bucket, key);
    await waitUntil('50 committed', async () => (await committedTotal(s)) >= 50n, 60_000, 100);
    expect((await first.stop()).code).toBe(0);
    expect(await committedTotal(s)).toBe(50n); // the group's commit is the marker's offset
    // 51-70 aborted, 71 its marker; 72-121 committed, 122 its marker.
    const written = await produceTransactions(s.bootstrap, s.topic, 0, [
      { commit: false, values: values(50, 20) },
      { commit: true, values: values(70, 50) },
    ]);
    expect(written.map((w) => w.offset)).toEqual([...Array.from({ length: 20 }, (_, i) => 51 + i), ...Array.from({ length: 50 }, (_, i) => 72 + i)]);
    const second = start(s, 'tx2', bucket, key);
    // The last record is at 121: the commit is 122 (the marker after it is no record to read).
    await waitUntil('all committed', async () => (await committedTotal(s)) === 122n, 60_000, 100);
    expect((await second.stop()).code).toBe(0);

    const r = await verify(bucket, [key.publicFile]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.report.partitions).toHaveLength(1);
    expect(r.report.partitions[0]).toMatchObject({ checked: [0, 121], complete: true, distinctRecords: 100, empty: 22, filtered: 0, deadLettered: 0, chainStarts: 1, forks: 0, duplicates: { records: 0 } });
    const t = tally(run, 120, rowsOf(await minio.readAll(bucket, [...new Set((await recorded(bucket)).map((x) => x.object))])));
    expect(t).toMatchObject({ delivered: 100, dup: 0, altered: 0 });
    // ids 50-69 were aborted: never delivered, and accounted for as offsets without a record.
    expect(t.lost).toBe(20);
    process.stdout.write(`archive transactions (${client}): lost=${t.lost - 20} dup=${t.dup} (verify: complete over 0-121, 22 offsets without a record: 2 markers, 20 aborted)\n`);
  });
});
