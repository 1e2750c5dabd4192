// Kafka → logstream (child processes) → a real MinIO (test/support/minio.ts, built from the Go module
// proxy): the Log Stream key layout with every record exactly once, a 60-second outage, multipart
// uploads, gzip with SSE-KMS, a missing bucket that halts without loss, `logstream s3 test`, and S3
// Object Lock (COMPLIANCE retention and legal hold on every object, a bucket without it refused).
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand, GetObjectLegalHoldCommand, GetObjectRetentionCommand, HeadObjectCommand, PutObjectLockConfigurationCommand } from '@aws-sdk/client-s3';
import { parseS3Config } from '../../src/sinks/s3/config.ts';
import { digestsOf } from '../../src/sinks/s3/encoder.ts';
import { s3Fault } from '../../src/sinks/s3/faults.ts';
import { S3Transport, TEST_RECORD } from '../../src/sinks/s3/transport.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { committedTotal, instanceEnv, newGroupSetup, waitForStableGroup, type GroupSetup } from '../support/group.ts';
import { Instance, runCli, sleep, waitUntil, type CliResult } from '../support/instance.ts';
import { produceJson, readTopic, uniqueName, type TestRecord } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';
import { MinioPeer, type ReadObject } from '../support/minio.ts';

const REGION = 'eu-central-1';
const KMS_KEY = 'logstream-test-key';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const TYPES = ['activities', 'queries', 'replays'] as const;

let minio: MinioPeer;
const running: Instance[] = [];

beforeAll(async () => {
  minio = await MinioPeer.start({ region: REGION, kmsSecretKey: `${KMS_KEY}:${randomBytes(32).toString('base64')}` });
});
afterAll(async () => {
  await minio?.close();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(10_000)));
});

async function bucket(): Promise<string> {
  const name = uniqueName('s3').toLowerCase().slice(0, 63);
  await minio.createBucket(name);
  return name;
}

function s3Env(s: GroupSetup, name: string, bucketName: string, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ...instanceEnv(s, name), ...minio.env(bucketName, prefix), S3_RETRY_MAX: '2s', ...extra };
}

function start(name: string, env: Record<string, string>): Instance {
  const i = new Instance(name, env);
  running.push(i);
  return i;
}

/** All objects under `prefix`, read back. */
async function objects(bucketName: string, prefix: string): Promise<ReadObject[]> {
  const listed = await minio.list(bucketName, `${prefix}/`);
  return minio.readAll(bucketName, listed.map((o) => o.key));
}

const linesOf = (o: ReadObject): string[] => o.text.split('\n').filter((l) => l !== '');
const rowsOf = (objs: ReadObject[]): Array<Record<string, unknown>> => objs.flatMap((o) => linesOf(o).map((l) => JSON.parse(l) as Record<string, unknown>));

/** The folder a time should land in, computed independently of the sink: the UTC ISO text. */
const folderOf = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace(/[-T:]/g, '/');

const cli = (args: string[], env: Record<string, string>): Promise<CliResult> => runCli(args, env, 60_000);

describe('S3 sink (real broker, real MinIO)', () => {
  it('20 000 records of three log types: the exact key layout, every record once, no object over the limits', async () => {
    const s = await newGroupSetup('s3-all', 4);
    const b = await bucket();
    const prefix = 'sdm/logs';
    const env = (n: string) => s3Env(s, n, b, prefix, { S3_BATCH_MAX_BYTES: '100KiB' });
    const inst = [start('s1', env('s1')), start('s2', env('s2'))];
    await waitForStableGroup(inst, 4);
    const run = uniqueName('run');
    // (50 000 until 2026-12-04: the CPU of the 2-core CI machine is the test suite's bound, and 20 000
    // fill the same five minute folders and more objects than the limits allow in one.)
    const n = 20_000;
    const t0 = Date.UTC(2024, 1, 1, 18, 57, 30); // 12 ms apart: 18:57 to 19:01
    const when = new Map<number, number>();
    const records: TestRecord[] = ledgerRecords(run, n, 4).map((r, i) => {
      const ms = t0 + i * 12;
      when.set(i, ms);
      const v = { ...(r.value as object), logType: TYPES[i % 3] } as Record<string, unknown>;
      // The time in four shapes: RFC 3339 with nanoseconds, with a +05:30 offset, epoch ms, none (the Kafka timestamp).
      const shape = Math.floor(i / 4) % 4;
      if (shape === 0) v.timestamp = new Date(ms).toISOString().replace('Z', '123456Z');
      else if (shape === 1) v.timestamp = new Date(ms + 5.5 * 3_600_000).toISOString().replace('Z', '+05:30');
      else if (shape === 2) v.timestamp = ms;
      return { ...r, value: v, timestamp: shape === 3 ? ms : Date.now() };
    });
    await produceJson(s.bootstrap, s.topic, records, { batchSize: 2000 });
    await waitUntil('20 000 committed', async () => (await committedTotal(s)) === BigInt(n), 150_000, 1000);
    await Promise.all(inst.map((i) => i.stop()));

    const objs = await objects(b, prefix);
    const keyRe = new RegExp(`^sdm/logs/(activities|queries|replays)/(\\d{4}/\\d{2}/\\d{2}/\\d{2}/\\d{2})/${UUID}\\.json$`);
    const folders = new Set<string>();
    let maxLines = 0;
    for (const o of objs) {
      const m = keyRe.exec(o.key);
      expect(m, o.key).not.toBeNull();
      const [, logType, folder] = m!;
      folders.add(`${logType}/${folder}`);
      const lines = linesOf(o);
      maxLines = Math.max(maxLines, lines.length);
      expect(lines.length).toBeLessThanOrEqual(1000);
      expect(lines.reduce((sum, l) => sum + Buffer.byteLength(l), 0)).toBeLessThanOrEqual(100 * 1024);
      expect(o.head.ContentType).toBe('application/x-ndjson');
      expect(o.head.Metadata?.['logstream-records']).toBe(String(lines.length));
      for (const l of lines) {
        const row = JSON.parse(l) as { id: number; logType: string };
        expect(row.logType).toBe(logType);
        expect(folderOf(when.get(row.id)!), `record ${row.id} in ${o.key}`).toBe(folder);
      }
    }
    const t = tally(run, n, rowsOf(objs));
    process.stdout.write(`s3: ${objs.length} objects (largest ${maxLines} records), lost=${t.lost} dup=${t.dup} altered=${t.altered}\n`);
    expect(t).toEqual({ delivered: n, lost: 0, dup: 0, altered: 0, foreign: 0 });
    expect([...folders].sort()).toEqual(TYPES.flatMap((ty) => ['57', '58', '59'].map((mm) => `${ty}/2024/02/01/18/${mm}`).concat([`${ty}/2024/02/01/19/00`, `${ty}/2024/02/01/19/01`])).sort());
  });

  it('MinIO stopped for 60 s mid-run: nothing committed meanwhile, /readyz false, then everything arrives (lost=0)', async () => {
    const s = await newGroupSetup('s3-outage', 2);
    const b = await bucket();
    const prefix = 'outage';
    const inst = start('o1', s3Env(s, 'o1', b, prefix, { S3_BATCH_MAX_RECORDS: '200', S3_TIMEOUT: '5s' }));
    await waitForStableGroup([inst], 2);
    const run = uniqueName('run');
    const n = 15_000;
    const all = ledgerRecords(run, n, 2).map((r, i) => ({ ...r, value: { ...(r.value as object), logType: TYPES[i % 3], timestamp: new Date().toISOString() } }));
    // A steady stream (100 records every 400 ms, about 60 s) with the outage in the middle of it.
    let produced = 0;
    const producing = (async () => {
      for (let i = 0; i < n; i += 100) {
        await produceJson(s.bootstrap, s.topic, all.slice(i, i + 100));
        produced = i + 100;
        await sleep(400);
      }
    })();
    await waitUntil('records flowing', async () => (await committedTotal(s)) >= 500n, 30_000, 100);
    await minio.stop();
    const stoppedAt = Date.now();
    await sleep(10_000);
    const ready = await fetch(`http://127.0.0.1:${await inst.httpPort()}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/sink s3 failing: ECONNREFUSED: cannot reach http:\/\/127\.0\.0\.1:\d+/);
    const committedEarly = await committedTotal(s);
    await sleep(60_000 - (Date.now() - stoppedAt) - 2000);
    expect(await committedTotal(s)).toBe(committedEarly); // nothing acknowledged while S3 is down
    expect(BigInt(produced)).toBeGreaterThan(committedEarly + 2000n); // though records kept coming
    await sleep(60_000 - (Date.now() - stoppedAt));
    await minio.restart();
    await producing;
    await waitUntil('all committed after the restart', async () => (await committedTotal(s)) === BigInt(n), 90_000, 500);
    expect(await inst.metricSum('logstream_dead_letter_events_total')).toBe(0);
    expect(await inst.metricSum('logstream_sink_retries_total')).toBeGreaterThan(0);
    expect((await inst.stop()).code).toBe(0);
    const t = tally(run, n, rowsOf(await objects(b, prefix)));
    process.stdout.write(`s3 60 s outage mid-stream: lost=${t.lost} dup=${t.dup} altered=${t.altered} (committed at the stop: ${committedEarly})\n`);
    expect(t).toMatchObject({ lost: 0, altered: 0, foreign: 0 });
    // A re-sent object keeps its name: the retries after the outage overwrote, never duplicated.
    expect(t.dup).toBe(0);
  });

  it('a throttling server (429 TooManyRequests: one request at a time): retried after a wait, nothing lost or doubled', async () => {
    const busy = await MinioPeer.start({ env: { MINIO_API_REQUESTS_MAX: '1', MINIO_API_REQUESTS_DEADLINE: '1ms' } });
    try {
      const s = await newGroupSetup('s3-throttle', 4);
      const b = uniqueName('s3-busy').toLowerCase().slice(0, 63);
      await busy.createBucket(b);
      const inst = start('t1', { ...instanceEnv(s, 't1'), ...busy.env(b, 'busy'), S3_RETRY_MAX: '2s', S3_BATCH_MAX_RECORDS: '100' });
      await waitForStableGroup([inst], 4);
      const run = uniqueName('run');
      const n = 6000;
      await produceJson(s.bootstrap, s.topic, ledgerRecords(run, n, 4).map((r, i) => ({ ...r, value: { ...(r.value as object), logType: TYPES[i % 3] } })));
      await waitUntil('6000 committed', async () => (await committedTotal(s)) === BigInt(n), 90_000, 250);
      const metrics = await inst.metrics();
      expect(metrics).toMatch(/logstream_sink_errors_total\{[^}]*class="throttled"[^}]*code="S3_TooManyRequests"[^}]*\} [1-9]/);
      expect((await inst.stop()).code).toBe(0);
      const listed = await busy.list(b, 'busy/');
      const objs: ReadObject[] = [];
      for (const o of listed) objs.push(await busy.read(b, o.key)); // one at a time: the server takes one request
      const t = tally(run, n, rowsOf(objs));
      process.stdout.write(`s3 throttled: ${listed.length} objects, lost=${t.lost} dup=${t.dup}\n`);
      expect(t).toEqual({ delivered: n, lost: 0, dup: 0, altered: 0, foreign: 0 });
    } finally {
      await busy.close();
    }
  });

  it('multipart upload above S3_MULTIPART_THRESHOLD: objects of several parts, byte for byte (with Object Lock retention)', async () => {
    const s = await newGroupSetup('s3-mpu', 1);
    // In a bucket with Object Lock: CreateMultipartUpload carries the retention too.
    const b = uniqueName('s3mpu').toLowerCase().slice(0, 63);
    await minio.createBucket(b, { objectLock: true });
    const prefix = 'mpu';
    const inst = start('m1', s3Env(s, 'm1', b, prefix, {
      S3_MULTIPART_THRESHOLD: '5MiB', S3_MULTIPART_PART_SIZE: '5MiB', S3_BATCH_MAX_BYTES: '12MiB', S3_BATCH_MAX_WAIT: '3s', INFLIGHT_MAX_BYTES: '64MiB',
      S3_OBJECT_LOCK_MODE: 'GOVERNANCE', S3_OBJECT_LOCK_DAYS: '2',
    }));
    await waitForStableGroup([inst], 1);
    const run = uniqueName('run');
    const n = 300; // ~100 KB each: ~30 MB, so objects of up to 12 MiB = 3 parts
    const records = ledgerRecords(run, n, 1).map((r) => ({ ...r, value: { ...(r.value as object), logType: 'replays', timestamp: '2024-02-26T21:14:12.377835194Z', pad: randomBytes(50_000).toString('hex') } }));
    await produceJson(s.bootstrap, s.topic, records, { batchSize: 5 }); // a Kafka record batch must stay under 1 MB
    await waitUntil('300 committed', async () => (await committedTotal(s)) === BigInt(n), 90_000, 250);
    expect((await inst.stop()).code).toBe(0);
    const objs = await objects(b, prefix);
    const multipart = objs.filter((o) => /-\d+"?$/.test(o.head.ETag ?? ''));
    process.stdout.write(`s3 multipart: ${objs.length} objects, ${multipart.length} multipart (ETags ${multipart.map((o) => o.head.ETag).join(' ')})\n`);
    expect(multipart.length).toBeGreaterThan(0);
    for (const o of multipart) expect(o.raw.length).toBeGreaterThan(5 * 1024 * 1024);
    for (const o of objs) expect((await minio.client.send(new GetObjectRetentionCommand({ Bucket: b, Key: o.key }))).Retention?.Mode, o.key).toBe('GOVERNANCE');
    for (const o of objs) expect(o.key).toMatch(new RegExp(`^mpu/replays/2024/02/26/21/14/${UUID}\\.json$`));
    expect(tally(run, n, rowsOf(objs))).toEqual({ delivered: n, lost: 0, dup: 0, altered: 0, foreign: 0 });
  });

  it('integrity: S3 refuses a body that does not match its signed SHA-256 or its Content-MD5 (retriable); a stored object keeps its SHA-256', async () => {
    const b = await bucket();
    const env = minio.env(b, 'integrity');
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = env.AWS_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY = env.AWS_SECRET_ACCESS_KEY;
    const logger = createLogger({ level: 'silent' });
    const sha = new S3Transport(parseS3Config(env), logger);
    const md5 = new S3Transport(parseS3Config({ ...env, S3_CHECKSUM: 'md5' }), logger);
    try {
      const body = Buffer.from('{"logType":"activities","id":"at-1"}\n');
      const other = Buffer.from('{"logType":"activities","id":"at-2"}\n'); // same length, other bytes
      const fault = async (p: Promise<void>) => s3Fault(await p.then(() => undefined, (e: unknown) => e), sha.target);
      expect(await fault(sha.putObject(sha.headers('integrity/a.json', { gzip: false, contentType: 'application/x-ndjson' }), body, digestsOf(other, 'sha256'), AbortSignal.timeout(10_000))))
        .toMatchObject({ deliveryClass: 'retriable', code: 'S3_XAmzContentSHA256Mismatch' });
      const badMd5 = { sha256: digestsOf(body, 'sha256').sha256, md5: digestsOf(other, 'md5').md5 };
      expect(await fault(md5.putObject(md5.headers('integrity/b.json', { gzip: false, contentType: 'application/x-ndjson' }), body, badMd5, AbortSignal.timeout(10_000))))
        .toMatchObject({ deliveryClass: 'retriable', code: 'S3_BadDigest' });
      expect(await minio.list(b, 'integrity/')).toEqual([]);
      await sha.putObject(sha.headers('integrity/c.json', { gzip: false, contentType: 'application/x-ndjson' }), body, digestsOf(body, 'sha256'), AbortSignal.timeout(10_000));
      const head = await minio.client.send(new HeadObjectCommand({ Bucket: b, Key: 'integrity/c.json', ChecksumMode: 'ENABLED' }));
      expect(head.ChecksumSHA256).toBe(digestsOf(body, 'sha256').sha256.toString('base64'));
    } finally {
      sha.close();
      md5.close();
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });

  it('gzip, SSE-KMS and a storage class: .json.gz with Content-Encoding gzip, encrypted with the key', async () => {
    const s = await newGroupSetup('s3-gz', 1);
    const b = await bucket();
    const prefix = 'gz';
    const inst = start('g1', s3Env(s, 'g1', b, prefix, { S3_GZIP: 'true', S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: KMS_KEY, S3_STORAGE_CLASS: 'REDUCED_REDUNDANCY', S3_CHECKSUM: 'md5' }));
    await waitForStableGroup([inst], 1);
    const run = uniqueName('run');
    const records = ledgerRecords(run, 3000, 1).map((r, i) => ({ ...r, value: { ...(r.value as object), logType: TYPES[i % 3], timestamp: '2024-02-02T13:10:20.895597163Z' } }));
    await produceJson(s.bootstrap, s.topic, records);
    await waitUntil('3000 committed', async () => (await committedTotal(s)) === 3000n, 60_000, 250);
    expect((await inst.stop()).code).toBe(0);
    const objs = await objects(b, prefix);
    for (const o of objs) {
      expect(o.key).toMatch(new RegExp(`^gz/(activities|queries|replays)/2024/02/02/13/10/${UUID}\\.json\\.gz$`));
      expect(o.raw.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      expect(o.head.ContentEncoding).toBe('gzip');
      expect(o.head.ServerSideEncryption).toBe('aws:kms');
      expect(o.head.SSEKMSKeyId).toContain(KMS_KEY);
      expect(o.head.StorageClass).toBe('REDUCED_REDUNDANCY');
    }
    expect(tally(run, 3000, rowsOf(objs))).toEqual({ delivered: 3000, lost: 0, dup: 0, altered: 0, foreign: 0 });
  });

  it('a missing bucket halts: nothing dead-lettered or committed, /readyz false, one clear error; resumes once it exists', async () => {
    const s = await newGroupSetup('s3-nobucket', 1);
    const b = uniqueName('s3-later').toLowerCase().slice(0, 63);
    const inst = start('nb', s3Env(s, 'nb', b, 'late', { S3_RETRY_MAX: '1s' }));
    await inst.httpPort();
    const run = uniqueName('run');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 200, 1).map((r) => ({ ...r, value: { ...(r.value as object), logType: 'activities' } })));
    await waitUntil('the halt is reported', () => inst.logs.some((l) => l.level === 'error' && /halted/.test(l.msg)), 60_000, 200);
    const halted = inst.logs.find((l) => l.level === 'error' && /halted/.test(l.msg))!;
    expect(halted.msg).toContain(`bucket ${b} does not exist at ${minio.endpoint}: check S3_BUCKET and S3_ENDPOINT [S3 said: NoSuchBucket`);
    const ready = await fetch(`http://127.0.0.1:${await inst.httpPort()}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toContain('S3_NoSuchBucket');
    expect(await committedTotal(s)).toBe(0n);
    expect(await inst.metricSum('logstream_dead_letter_events_total')).toBe(0);
    const logText = inst.logs.map((l) => JSON.stringify(l)).join('\n');
    expect(logText).not.toContain(minio.secretAccessKey);
    expect(logText).not.toContain(run); // no record content either (the SDK's own error entries carry the request)
    await minio.createBucket(b);
    await waitUntil('200 committed once the bucket exists', async () => (await committedTotal(s)) === 200n, 30_000, 250);
    expect((await inst.stop()).code).toBe(0);
    expect(tally(run, 200, rowsOf(await objects(b, 'late')))).toMatchObject({ delivered: 200, lost: 0, dup: 0 });
    expect((await readTopic(s.bootstrap, s.dlqTopic, { expected: 0, timeoutMs: 2000 })).length).toBe(0);
  });

  it('`logstream s3 test` writes <prefix>/test; wrong bucket, region, credentials or endpoint fail clearly; S3_TEST_ON_START', async () => {
    const b = await bucket();
    const env = { ...minio.env(b, 'sdm/logs'), S3_SSE: 'AES256' };
    const ok = await cli(['s3', 'test'], env);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout).toBe(
      `Log Stream test successful: wrote s3://${b}/sdm/logs/test (${JSON.stringify(TEST_RECORD).length + 1} bytes; region ${REGION}, endpoint ${minio.endpoint})\n` +
        `Object Lock: not enabled on ${b}: its objects can be deleted and overwritten (a bucket created with Object Lock, and S3_OBJECT_LOCK_*, make them write-once)\n`,
    );
    const written = await minio.read(b, 'sdm/logs/test');
    expect(JSON.parse(written.text)).toEqual(TEST_RECORD);
    expect(written.head.ServerSideEncryption).toBe('AES256');

    const fail = async (extra: Record<string, string>, expected: string[]): Promise<void> => {
      const r = await cli(['s3', 'test'], { ...env, ...extra });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      for (const e of expected) expect(r.stderr).toContain(e);
      expect(r.stderr).not.toContain(minio.secretAccessKey);
    };
    await fail({ S3_BUCKET: 'no-such-bucket-here' }, [
      `logstream: S3 test failed: cannot write the test object s3://no-such-bucket-here/sdm/logs/test (region ${REGION}, endpoint ${minio.endpoint}): bucket no-such-bucket-here does not exist`,
      'NoSuchBucket',
    ]);
    await fail({ S3_REGION: 'us-west-2' }, [`wrong region: S3_REGION is us-west-2 but bucket ${b} is in ${REGION} (set S3_REGION=${REGION})`]);
    await fail({ AWS_SECRET_ACCESS_KEY: 'not-the-secret-key-0000' }, ['the secret access key does not belong to the access key id', 'SignatureDoesNotMatch']);
    await fail({ AWS_ACCESS_KEY_ID: 'NOSUCHKEYID' }, ['the access key id is not known to S3', 'InvalidAccessKeyId']);
    await fail({ S3_ENDPOINT: 'http://127.0.0.1:9' }, ['cannot reach http://127.0.0.1:9: check S3_ENDPOINT']);
    await fail({ AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' }, ['no AWS credentials were found']);
    const usage = await cli(['s3', 'nope'], env);
    expect(usage.code).toBe(2);
    const badConfig = await cli(['s3', 'test'], { ...env, S3_SSE: 'kms' });
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toContain('S3_SSE: must be one of');

    // The same check at start: the daemon refuses to start (exit 1) and says why.
    const s = await newGroupSetup('s3-onstart', 1);
    const inst = start('ts', s3Env(s, 'ts', 'missing-bucket-at-start', 'sdm/logs', { S3_TEST_ON_START: 'true' }));
    const exit = await inst.exited;
    expect(exit.code).toBe(1);
    expect(inst.logs.some((l) => l.level === 'fatal' && l.msg.includes('sink s3 failed to start: cannot write the test object s3://missing-bucket-at-start/sdm/logs/test') && l.msg.includes('does not exist')), inst.tail()).toBe(true);
    const good = start('ts2', s3Env(s, 'ts2', b, 'onstart', { S3_TEST_ON_START: 'true' }));
    await good.waitForLog((l) => l.msg === 'S3 test object written (S3_TEST_ON_START)');
    expect(JSON.parse((await minio.read(b, 'onstart/test')).text)).toEqual(TEST_RECORD);
  });

  it('Object Lock: every log object is stored write-once (COMPLIANCE retention, legal hold); a bucket without Object Lock is refused at start and by `s3 test`', async () => {
    const locked = uniqueName('s3lock').toLowerCase().slice(0, 63);
    await minio.createBucket(locked, { objectLock: true });
    const plain = await bucket();
    const lockEnv = { S3_OBJECT_LOCK_MODE: 'COMPLIANCE', S3_OBJECT_LOCK_DAYS: '1', S3_OBJECT_LOCK_LEGAL_HOLD: 'true' };

    // `s3 test` says what the bucket has and what the objects will get; a bucket without Object Lock fails.
    const ok = await cli(['s3', 'test'], { ...minio.env(locked, 'worm'), ...lockEnv });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.split('\n')[1]).toBe(`Object Lock: enabled on ${locked} (no default retention); log objects get COMPLIANCE retention for 1 day and a legal hold`);
    await minio.client.send(new PutObjectLockConfigurationCommand({ Bucket: locked, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 3 } } } }));
    expect((await cli(['s3', 'test'], minio.env(locked, 'worm'))).stdout.split('\n')[1]).toBe(`Object Lock: enabled on ${locked} (default retention GOVERNANCE for 3 days)`);
    const refused = await cli(['s3', 'test'], { ...minio.env(plain, 'worm'), ...lockEnv });
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe(`logstream: S3 test failed: S3_OBJECT_LOCK_MODE / S3_OBJECT_LOCK_LEGAL_HOLD are set, but bucket ${plain} does not have Object Lock enabled, so S3 would refuse every object. Object Lock is chosen when a bucket is created (it turns versioning on): write to a bucket created with it, or unset S3_OBJECT_LOCK_*\n`);
    expect(await minio.list(plain, 'worm/')).toEqual([]); // nothing written

    // The daemon refuses to start against the plain bucket, naming it.
    const s = await newGroupSetup('s3-lock', 2);
    const bad = start('lock-bad', s3Env(s, 'lock-bad', plain, 'worm', lockEnv));
    expect((await bad.exited).code).toBe(1);
    expect(bad.logs.some((l) => l.level === 'fatal' && l.msg.includes(`sink s3 failed to start: S3_OBJECT_LOCK_MODE / S3_OBJECT_LOCK_LEGAL_HOLD are set, but bucket ${plain} does not have Object Lock enabled`)), bad.tail()).toBe(true);

    // Against the locked bucket: every object carries the retention and the hold.
    const run = uniqueName('lockrun');
    const before = Date.now();
    const inst = start('lock', s3Env(s, 'lock', locked, 'worm', lockEnv));
    await waitForStableGroup([inst], 2);
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 300, 2).map((r) => ({ ...r, value: { ...(r.value as object), logType: 'activities' } })));
    await waitUntil('300 committed', async () => (await committedTotal(s)) === 300n, 60_000, 250);
    expect((await inst.stop()).code).toBe(0);
    const stored = await objects(locked, 'worm/activities');
    expect(tally(run, 300, rowsOf(stored))).toMatchObject({ delivered: 300, lost: 0, dup: 0 });
    for (const o of stored) {
      const r = await minio.client.send(new GetObjectRetentionCommand({ Bucket: locked, Key: o.key }));
      expect(r.Retention?.Mode).toBe('COMPLIANCE');
      const until = r.Retention!.RetainUntilDate!.getTime();
      expect(until).toBeGreaterThanOrEqual(before + 86_400_000 - 2000);
      expect(until).toBeLessThanOrEqual(Date.now() + 86_400_000 + 2000);
      expect((await minio.client.send(new GetObjectLegalHoldCommand({ Bucket: locked, Key: o.key }))).LegalHold?.Status).toBe('ON');
    }
    // Write-once: the stored version cannot be deleted.
    const first = stored[0]!;
    const err = await minio.client.send(new DeleteObjectCommand({ Bucket: locked, Key: first.key, VersionId: first.head.VersionId })).then(() => undefined, (e: Error) => e);
    // AWS answers AccessDenied; MinIO answers InvalidRequest "Object is WORM protected and cannot be overwritten".
    expect(err, 'deleting a locked version must fail').toBeDefined();
    expect(`${err!.name}: ${err!.message}`).toMatch(/^(AccessDenied|InvalidRequest): .*WORM protected/);
    expect((await minio.read(locked, first.key)).text).toBe(first.text);
  });
});
