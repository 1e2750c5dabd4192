/**
 * Proves the broker lifecycle the fault tests rely on, against a second, private broker:
 * start on a free port with its own data dir, topic + produce + consumer-group commit,
 * graceful stop, restart on the same data dir (same port), data and committed offsets
 * still there; then SIGKILL + restart (unclean shutdown) and the group resumes from its
 * committed offsets.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { freePort, startBroker, type Broker } from '../../scripts/kafka-broker.ts';
import { parseKafkaConfig } from '../../src/source/kafka/config.ts';
import { connectKafka } from '../../src/source/kafka/connect.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import {
  committedOffsets,
  createTopic,
  endOffsets,
  kafkaBootstrap,
  produceJson,
  readTopic,
  uniqueName,
} from '../support/kafka.ts';

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/** Consumes with consumer group `groupId` until `count` records arrived; commits explicitly per batch. */
async function consumeAndCommit(bootstrap: string, groupId: string, topic: string, count: number): Promise<number[]> {
  const logger = createLogger({ level: 'silent' });
  const kafka = await connectKafka({ brokers: [bootstrap], clientId: 'kafka-broker-it', connectionTimeoutMs: 1000, retries: 5, logger });
  // Fetches wait up to 5 s; the session is short so a broker restart is noticed soon.
  const cfg = { ...parseKafkaConfig({ KAFKA_BROKERS: bootstrap, KAFKA_TOPICS: topic, KAFKA_GROUP_ID: groupId, KAFKA_FETCH_MAX_WAIT: '5s' }), sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, rebalanceTimeoutMs: 10_000 };
  const consumer = kafka.groupConsumer(cfg, logger);
  const seen: number[] = [];
  let failed: Error | undefined;
  let stopping = false;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const timer = setTimeout(done, 60_000);
  // One commit at a time, in batch order; a rejoin and the end wait for them.
  let commits: Promise<void> = Promise.resolve();
  try {
    await consumer.start({
      hasRoom: () => true,
      waitForRoom: () => Promise.resolve(true),
      onRecord: (r) => {
        seen.push((JSON.parse(r.value?.toString() ?? 'null') as { n: number }).n);
      },
      // After each batch: commit the next offset to read of its partition.
      onProgress: (t, partition, _high, nextOffset) => {
        commits = commits.then(() => consumer.commit([{ topic: t, partition, offset: nextOffset }])).catch((err: unknown) => {
          if (!stopping) failed ??= err as Error; // a batch that raced the stop may fail to commit
          done();
        });
        if (seen.length >= count) void commits.then(done);
      },
      beforeJoin: () => commits,
      onAssigned: () => undefined,
      onFatal: (err) => {
        failed ??= err;
        done();
      },
    });
    await finished;
    await commits;
    stopping = true;
  } finally {
    clearTimeout(timer);
    await consumer.stop();
  }
  if (failed) throw failed;
  return seen.sort((a, b) => a - b);
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('scripts/kafka-broker.ts: start / stop / restart / kill on one data dir', () => {
  let dataDir = '';
  const started: Broker[] = [];

  afterAll(async () => {
    for (const b of started) await b.kill();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('records and committed offsets survive a graceful stop and a SIGKILL', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'logstream-kafka-it-'));
    const port = await freePort();

    // 1. fresh broker on a chosen free port, own data dir
    const b1 = await startBroker({ dataDir, port, heapMb: 512 });
    started.push(b1);
    expect(b1.port).toBe(port);
    expect(b1.bootstrap).toBe(`127.0.0.1:${port}`);
    expect(await readFile(join(dataDir, 'broker.pid'), 'utf8')).toBe(`${b1.pid}\n`);

    const topic = uniqueName('broker-it');
    const groupId = uniqueName('broker-it-group');
    await createTopic(b1.bootstrap, topic, 2);
    await produceJson(
      b1.bootstrap,
      topic,
      range(0, 20).map((n) => ({ key: `k${n}`, value: { n }, headers: { n: String(n) } })),
    );
    expect(await consumeAndCommit(b1.bootstrap, groupId, topic, 20)).toEqual(range(0, 20));
    const committedBefore = await committedOffsets(b1.bootstrap, groupId, topic);
    expect(committedBefore).toEqual(await endOffsets(b1.bootstrap, topic));
    expect([...committedBefore.values()].reduce((a, b) => a + b, 0n)).toBe(20n);

    // 2. graceful stop: process gone, port closed, idempotent
    await b1.stop();
    await b1.stop();
    expect((await b1.exited).signal === 'SIGKILL').toBe(false);
    expect(await portIsClosed(port)).toBe(true);

    // 3. restart on the same data dir without giving the port: it is read back
    const b2 = await startBroker({ dataDir, heapMb: 512 });
    started.push(b2);
    expect(b2.port).toBe(port);
    expect(b2.controllerPort).toBe(b1.controllerPort);
    expect(await committedOffsets(b2.bootstrap, groupId, topic)).toEqual(committedBefore);
    const records = await readTopic(b2.bootstrap, topic, { expected: 20, timeoutMs: 60_000 });
    expect(records).toHaveLength(20);
    const values = records.map((r) => JSON.parse(r.value?.toString() ?? 'null') as { n: number });
    expect(values.map((v) => v.n).sort((a, b) => a - b)).toEqual(range(0, 20));
    for (const r of records) {
      const n = (JSON.parse(r.value?.toString() ?? 'null') as { n: number }).n;
      expect(r.key?.toString()).toBe(`k${n}`);
      expect(r.headers['n']?.toString()).toBe(String(n));
    }

    // 4. more data, then an unclean shutdown (SIGKILL) and another restart
    await produceJson(b2.bootstrap, topic, range(20, 5).map((n) => ({ key: `k${n}`, value: { n } })));
    await b2.kill();
    await b2.kill();
    expect((await b2.exited).signal).toBe('SIGKILL');

    const b3 = await startBroker({ dataDir, heapMb: 512 });
    started.push(b3);
    expect(b3.port).toBe(port);
    expect(await committedOffsets(b3.bootstrap, groupId, topic)).toEqual(committedBefore);
    // the group resumes from its committed offsets: only the 5 new records
    expect(await consumeAndCommit(b3.bootstrap, groupId, topic, 5)).toEqual(range(20, 5));
    const committedAfter = await committedOffsets(b3.bootstrap, groupId, topic);
    expect([...committedAfter.values()].reduce((a, b) => a + b, 0n)).toBe(25n);
    await b3.stop();
  });
});

describe('scripts/kafka-broker.ts: a port taken between choosing it and binding it', () => {
  const brokers: Broker[] = [];
  const dirs: string[] = [];
  let holder: Server | undefined;
  afterAll(async () => {
    for (const b of brokers) await b.kill();
    holder?.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('a port the start chose is chosen again and the broker starts; a port the caller gave is reported, not changed', async () => {
    // Another process holds a port; the start's first choice for its controller port is that one.
    holder = createServer();
    await new Promise<void>((r) => holder!.listen(0, '127.0.0.1', () => r()));
    const taken = (holder.address() as AddressInfo).port;
    let firstChoice = true;
    const choosePort = async (): Promise<number> => {
      if (!firstChoice) return freePort();
      firstChoice = false;
      return taken;
    };
    const port = await freePort();
    dirs.push(await mkdtemp(join(tmpdir(), 'logstream-kafka-it-')));
    const b = await startBroker({ dataDir: dirs[0], port, choosePort, heapMb: 512 });
    brokers.push(b);
    expect(firstChoice, 'the taken port was handed out').toBe(false);
    expect(b.port).toBe(port);
    expect(b.controllerPort).not.toBe(taken);
    await createTopic(b.bootstrap, uniqueName('port-taken'), 1);

    // The caller's own port taken: nothing to choose again, the error names it.
    dirs.push(await mkdtemp(join(tmpdir(), 'logstream-kafka-it-')));
    await expect(startBroker({ dataDir: dirs[1], port: taken, heapMb: 512 })).rejects.toThrow(new RegExp(`failed to bind to 127\\.0\\.0\\.1:${taken}: Address already in use`));
  });
});

describe('test/support: the shared broker from global-setup', () => {
  test('is provided to tests and to child processes, and the helpers round-trip records', async () => {
    const bootstrap = kafkaBootstrap();
    expect(bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(process.env['LOGSTREAM_TEST_KAFKA']).toBe(bootstrap);

    const topic = uniqueName('support-it');
    await createTopic(bootstrap, topic, 3);
    await createTopic(bootstrap, topic, 3); // already there: fine
    await produceJson(
      bootstrap,
      topic,
      [
        { partition: 0, key: 'a', value: { hello: 'json' }, headers: { h: '1' } },
        { partition: 1, value: 'plain string' },
        { partition: 2, value: Buffer.from([0, 1, 2]) },
        { partition: 0, key: 'b', value: [1, 2] },
      ],
      { batchSize: 2 },
    );
    const records = await readTopic(bootstrap, topic, { expected: 4 });
    expect(records.map((r) => [r.partition, r.offset, r.key?.toString() ?? null])).toEqual([
      [0, '0', 'a'],
      [0, '1', 'b'],
      [1, '0', null],
      [2, '0', null],
    ]);
    expect(records[0]?.value?.toString()).toBe('{"hello":"json"}');
    expect(records[0]?.headers['h']?.toString()).toBe('1');
    expect(records[1]?.value?.toString()).toBe('[1,2]');
    expect(records[2]?.value?.toString()).toBe('plain string');
    expect(records[3]?.value).toEqual(Buffer.from([0, 1, 2]));
    expect(await endOffsets(bootstrap, topic)).toEqual(new Map([[0, 2n], [1, 1n], [2, 1n]]));
    expect((await committedOffsets(bootstrap, uniqueName('nobody'), topic)).size).toBe(0);
  });
});
