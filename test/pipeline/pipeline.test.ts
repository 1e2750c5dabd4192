// One route's pipeline on its own: real SinkRunners over in-memory sinks, and a small stand-in for
// the three things the pipeline asks of its source (pausedCount, resumeAll, commit). The broker is
// not part of this unit: the integration tests run the same paths against a real one.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonBytesRecord, type PipelineRecord } from '../../src/core/record.ts';
import { DELIVERY_DEFAULTS, type DeliveryConfig } from '../../src/delivery/config.ts';
import { DeadLetterQueue, REPLAY_ROUTE_HEADER, REPLAY_SINK_HEADER, type DeadLetterMessage } from '../../src/delivery/dead-letter.ts';
import type { Batch, Sink } from '../../src/delivery/sink.ts';
import { SinkRunner } from '../../src/delivery/sink-runner.ts';
import { Pipeline, type PipelineOptions, type PipelineSource } from '../../src/pipeline/pipeline.ts';
import { compileQuery } from '../../src/query/index.ts';
import { decoderFor, messageMeta } from '../../src/source/kafka/decode.ts';
import type { Decoded, FetchedMessage, RecordDecoder, SourceRecord } from '../../src/source/kafka/interface.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createMetrics, type Metrics } from '../../src/telemetry/metrics.ts';

const ROUTE = 'siem';
const TOPIC = 'events';

/** A fetched message as the source hands it over: decoded as a route decodes for its query (decoderFor),
 *  with its metadata. */
function sourceRecord(partition: number, m: FetchedMessage, decoder: RecordDecoder): SourceRecord {
  const meta = messageMeta(TOPIC, partition, m);
  return { meta, value: m.value, size: m.value?.length ?? 0, decoded: decoder.decode(m.value, meta) as Decoded };
}

type Offsets = Array<{ topic: string; partition: number; offset: number }>;

/** Stands in for the Kafka source: counts pauses (as the real one does when waitForRoom says no),
 *  resumes, and records every commit. */
class FakeSource implements PipelineSource {
  paused = 0;
  resumes = 0;
  readonly commits: Offsets[] = [];
  get pausedCount(): number {
    return this.paused;
  }
  resumeAll(): void {
    if (this.paused > 0) this.resumes++;
    this.paused = 0;
  }
  async commit(offsets: Offsets): Promise<void> {
    this.commits.push(offsets);
  }
  /** The last offset committed for a partition, or undefined. */
  committed(partition = 0): number | undefined {
    return this.commits.flat().filter((o) => o.partition === partition).at(-1)?.offset;
  }
}

/** A gate a test opens by hand. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

/** Keeps what it was sent; with `hold`, each send waits for the next gate the test opens. */
class MemorySink implements Sink {
  readonly received: PipelineRecord[] = [];
  readonly holds: Array<{ open: () => void }> = [];
  hold: boolean;
  constructor(hold = false) {
    this.hold = hold;
  }
  encode(record: PipelineRecord): Buffer {
    return Buffer.from(JSON.stringify(record.fields));
  }
  async send(batch: Batch): Promise<void> {
    if (this.hold) {
      const g = gate();
      this.holds.push(g);
      await g.wait;
    }
    this.received.push(...batch.items.map((i) => i.record));
  }
  offsets(): number[] {
    return this.received.map((r) => Number(r.meta.offset));
  }
  /** Lets every held send through, now and later. */
  release(): void {
    this.hold = false;
    for (const h of this.holds.splice(0)) h.open();
  }
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await tick(2);
  }
}

async function sample(metrics: Metrics, name: keyof Metrics, labels: Record<string, string>): Promise<number | undefined> {
  const m = metrics[name] as { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> };
  return (await m.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup(o: { sinks?: Record<string, MemorySink>; query?: string; decoder?: RecordDecoder; delivery?: Partial<DeliveryConfig>; holdDeadLetters?: boolean } & Partial<Pick<PipelineOptions, 'inflightMaxRecords' | 'inflightMaxBytes' | 'rateLimit'>> = {}) {
  const sinks = o.sinks ?? { file: new MemorySink() };
  const metrics = createMetrics();
  const lines: Array<Record<string, unknown> & { level: string; msg: string }> = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }) });
  const dead: DeadLetterMessage[] = [];
  const dlqGate = gate();
  if (!o.holdDeadLetters) dlqGate.open();
  const dlq = new DeadLetterQueue(async (m) => {
    await dlqGate.wait;
    dead.push(...m);
  }, 1, ROUTE);
  const delivery = { ...DELIVERY_DEFAULTS, batchMaxWaitMs: 1, retryInitialMs: 1, retryMaxMs: 5, ...o.delivery };
  const runners = Object.entries(sinks).map(([name, sink]) => new SinkRunner(name, sink, delivery, { dlq, metrics, logger, route: ROUTE }));
  const source = new FakeSource();
  const fatal: Error[] = [];
  const query = compileQuery(o.query ?? '*');
  const decoder = o.decoder ?? decoderFor(query);
  const pipeline = new Pipeline({
    route: ROUTE,
    source,
    query,
    runners,
    dlq,
    metrics,
    logger,
    inflightMaxRecords: o.inflightMaxRecords ?? 1000,
    inflightMaxBytes: o.inflightMaxBytes ?? 1 << 20,
    rateLimit: o.rateLimit ?? 0,
    rebalanceDrainMs: 1000,
    onFatal: (e) => void fatal.push(e),
  });
  cleanups.push(() => {
    for (const s of Object.values(sinks)) s.release();
    for (const r of runners) r.abort();
    dlqGate.open();
  });
  /** The source hands over one record (offsets count up per partition unless given). */
  const next = new Map<number, number>();
  const send = (value: unknown, opts: { partition?: number; offset?: number; headers?: Record<string, string>; timestamp?: number } = {}): number => {
    const partition = opts.partition ?? 0;
    const offset = opts.offset ?? next.get(partition) ?? 0;
    next.set(partition, offset + 1);
    const bytes = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
    pipeline.onRecord(sourceRecord(partition, { offset: String(offset), timestamp: String(opts.timestamp ?? Date.now()), key: null, value: bytes, ...(opts.headers ? { headers: opts.headers } : {}) }, decoder));
    return offset;
  };
  const idle = () => Promise.all(runners.map((r) => (r.flush(), r.idle())));
  const commit = async () => {
    await tick(5); // dead-letter writes linger a moment
    await pipeline.committer.commitNow();
    return source.committed();
  };
  return { pipeline, source, sinks, runners, metrics, dead, dlqGate, lines, fatal, send, idle, commit };
}

describe('Pipeline', () => {
  it('commits only past records every sink acknowledged: the slow sink holds the offset back', async () => {
    const fast = new MemorySink();
    const slow = new MemorySink(true);
    const t = setup({ sinks: { archive: fast, siem: slow }, delivery: { batchMaxRecords: 5 } });
    t.pipeline.onAssigned([{ topic: TOPIC, partitions: [0] }]);
    for (let i = 0; i < 10; i++) t.send({ i });
    await until('the fast sink has all 10', () => fast.received.length === 10);
    expect(await t.commit()).toBe(0); // nothing past offset 0: the slow sink has acknowledged nothing
    await until('the slow sink is sending its first batch', () => slow.holds.length === 1);
    slow.holds.shift()!.open(); // offsets 0–4
    await until('the slow sink has 5', () => slow.received.length === 5);
    expect(await t.commit()).toBe(5);
    slow.release();
    await t.idle();
    expect(await t.commit()).toBe(10);
    expect(slow.offsets()).toEqual([...Array(10).keys()]);
    expect(t.pipeline.inflight.records).toBe(0); // released once committed
  });

  it('a record the query drops counts as acknowledged', async () => {
    const sink = new MemorySink(true);
    const t = setup({ sinks: { siem: sink }, query: "* | where severity = 'high'" });
    t.send({ severity: 'low' });
    expect(await t.commit()).toBe(1); // dropped at once: committable without any sink
    t.send({ severity: 'high' });
    t.send({ severity: 'low' });
    t.send({ severity: 'low' });
    expect(await t.commit()).toBe(1); // the dropped ones wait behind the undelivered offset 1
    sink.release();
    await t.idle();
    expect(await t.commit()).toBe(4);
    expect(sink.offsets()).toEqual([1]);
    t.pipeline.onProgress(TOPIC, 0, '4', 4);
    expect(await sample(t.metrics, 'filteredEvents', { route: ROUTE, reason: 'where' })).toBe(3);
    expect(await sample(t.metrics, 'receivedEvents', { route: ROUTE, topic: TOPIC })).toBe(4);
  });

  it('a record the query only read keeps its original bytes (unchanged); one it wrote to does not', async () => {
    const read = setup({ query: "* | where severity = 'high'" });
    read.send('{"severity": "high"}');
    const written = setup({ query: "* | extend seen = 'yes'" });
    written.send('{"severity": "high"}');
    await Promise.all([read.idle(), written.idle()]);
    const [kept] = read.sinks.file!.received;
    // validated, not parsed, by the route's filter decoder: fields are parsed when a sink asks
    expect(kept).toBeInstanceOf(JsonBytesRecord);
    expect(kept).toMatchObject({ unchanged: true, fields: { severity: 'high' } });
    expect(kept!.raw!.toString()).toBe('{"severity": "high"}');
    expect(written.sinks.file!.received[0]).toMatchObject({ unchanged: false, fields: { severity: 'high', seen: 'yes' } });
  });

  it('a schema-registry record is never shipped as its bytes, and its schema is metadata the query reads', async () => {
    // A stand-in for the Avro decoder: the bytes are not the JSON of the fields.
    const decoder: RecordDecoder = {
      decode: (value) => {
        const [subject, user] = value!.toString().split(':');
        return { ok: true, fields: { user }, raw: false, converted: true, schema: { id: 7, subject: subject!, version: 2 } };
      },
    };
    const t = setup({ query: "* | where __schema_subject__ = 'auth-value' and __schema_version__ = 2 and __schema_id__ = 7", decoder });
    t.send('auth-value:alice');
    t.send('other-value:bob');
    await t.idle();
    expect(t.sinks.file!.received).toHaveLength(1);
    expect(t.sinks.file!.received[0]).toMatchObject({ unchanged: false, fields: { user: 'alice' }, meta: { offset: '0', schema: { id: 7, subject: 'auth-value', version: 2 } } });
  });

  it('a query runtime error is dead-lettered at stage query and committed only after the dead-letter write', async () => {
    const sink = new MemorySink();
    const t = setup({ sinks: { siem: sink }, query: '* | extend bytes = cast(kb as bigint) * 1024', holdDeadLetters: true });
    t.send({ kb: '1' });
    t.send({ kb: 'lots' });
    t.send({ kb: '3' });
    await t.idle();
    expect(sink.received.map((r) => r.fields.bytes)).toEqual([1024, 3072]);
    expect(await t.commit()).toBe(1); // offset 1 waits for its dead-letter write
    t.dlqGate.open();
    await until('the dead letter is written', () => t.dead.length === 1);
    expect(await t.commit()).toBe(3);
    const h = t.dead[0]!.headers;
    expect(h).toMatchObject({ 'logstream.sink': 'query', 'logstream.error.code': 'QUERY_RUNTIME', 'logstream.route': ROUTE, 'logstream.source.offset': '1' });
    expect(h['logstream.error.message']).toMatch(/cannot cast 'lots' to bigint/);
    expect(JSON.parse(t.dead[0]!.value!.toString())).toEqual({ kb: 'lots' }); // the original bytes
    expect(await sample(t.metrics, 'queryErrors', { route: ROUTE })).toBe(1);
    expect(await sample(t.metrics, 'deadLettered', { route: ROUTE, sink: 'query', code: 'QUERY_RUNTIME' })).toBe(1);
  });

  it('a record handed to the sinks says which offsets before it were read and not handed on (for archive manifests)', async () => {
    const sink = new MemorySink();
    const t = setup({ sinks: { archive: sink }, query: '* | where keep = true | extend n = cast(n as bigint)' });
    // Reading starts at the group's commit, 10, a transaction marker: the first record is at 11.
    t.pipeline.onPosition(TOPIC, 0, 10);
    t.send({ keep: true, n: '1' }, { offset: 11 });
    t.send({ keep: true, n: '2' }, { offset: 12 });
    t.send({ keep: false, n: '3' }, { offset: 13 }); // filtered
    t.send({ keep: true, n: 'x' }, { offset: 14 }); // dead-lettered
    t.send({ keep: true, n: '5' }, { offset: 17 }); // 15 and 16 hold no record
    // Partition 1: retention deleted 0-4 before it was read; they stay unaccounted (a gap verify reports).
    t.pipeline.onSkipped(TOPIC, 1, 0, 5);
    t.send({ keep: false }, { partition: 1, offset: 5 });
    t.send({ keep: true, n: '7' }, { partition: 1, offset: 7 });
    // Partition 2: no position given (a partition kept through a rebalance goes on as it was).
    t.send({ keep: true, n: '8' }, { partition: 2, offset: 3 });
    await t.idle();
    const seen = sink.received.map((r) => [r.meta.partition, Number(r.meta.offset), r.accounted]);
    expect(seen).toEqual([
      [0, 11, { from: 10, filtered: 0, deadLettered: 0 }],
      [0, 12, undefined],
      [0, 17, { from: 13, filtered: 1, deadLettered: 1 }],
      [1, 7, { from: 5, filtered: 1, deadLettered: 0 }],
      [2, 3, undefined],
    ]);
  });

  it('a replayed dead letter for another route is skipped; one for this route goes only to the sink it names', async () => {
    const archive = new MemorySink();
    const siem = new MemorySink();
    const t = setup({ sinks: { archive, siem } });
    t.send({ n: 0 }, { headers: { [REPLAY_ROUTE_HEADER]: 'other-route', [REPLAY_SINK_HEADER]: 'siem' } });
    t.send({ n: 1 }, { headers: { [REPLAY_ROUTE_HEADER]: ROUTE, [REPLAY_SINK_HEADER]: 'siem' } });
    t.send({ n: 2 }, { headers: { [REPLAY_ROUTE_HEADER]: ROUTE } }); // refused by the query or decoder: every sink
    t.send({ n: 3 }, { headers: { [REPLAY_ROUTE_HEADER]: ROUTE, [REPLAY_SINK_HEADER]: 'gone' } }); // a sink no longer configured: every sink
    t.send({ n: 4 }, { headers: { [REPLAY_SINK_HEADER]: 'siem' } }); // not a replay: the sink header alone means nothing
    await t.idle();
    expect(archive.offsets()).toEqual([2, 3, 4]);
    expect(siem.offsets()).toEqual([1, 2, 3, 4]);
    expect(await t.commit()).toBe(5);
    t.pipeline.onProgress(TOPIC, 0, '5', 5);
    expect(await sample(t.metrics, 'filteredEvents', { route: ROUTE, reason: 'replay' })).toBe(1);
  });

  it('the in-flight share pauses intake and resumes it once records are committed', async () => {
    const sink = new MemorySink(true);
    const t = setup({ sinks: { siem: sink }, inflightMaxRecords: 3 });
    t.pipeline.onAssigned([{ topic: TOPIC, partitions: [0] }]);
    for (let i = 0; i < 3; i++) {
      expect(t.pipeline.hasRoom()).toBe(true);
      t.send({ i });
    }
    expect(t.pipeline.hasRoom()).toBe(false);
    expect(await t.pipeline.waitForRoom(20)).toBe(false);
    t.source.paused++; // what the source does on false: pause the partition
    expect(await sample(t.metrics, 'pausedPartitions', { route: ROUTE })).toBe(1);
    const room = t.pipeline.waitForRoom(2000);
    await tick(5); // the commit it asked for found nothing new
    sink.release();
    // under pressure the acknowledgements themselves ask for a commit, which releases the records
    expect(await room).toBe(true);
    expect(t.source.committed()).toBe(3);
    expect(t.pipeline.hasRoom()).toBe(true);
    expect(t.source.resumes).toBe(1);
    expect(await sample(t.metrics, 'pausedPartitions', { route: ROUTE })).toBe(0);
    expect(await sample(t.metrics, 'inflightRecords', { route: ROUTE })).toBe(0);
  });

  it('the in-flight byte share counts too, and one record larger than it is let in alone', async () => {
    const sink = new MemorySink(true);
    const t = setup({ sinks: { siem: sink }, inflightMaxBytes: 100 });
    t.send('x'.repeat(500));
    expect(t.pipeline.hasRoom()).toBe(false);
    sink.release();
    await t.idle();
    await until('the record is committed and released', () => t.pipeline.hasRoom());
  });

  it('RATE_LIMIT paces intake', async () => {
    const t = setup({ rateLimit: 10 });
    let taken = 0;
    while (t.pipeline.hasRoom()) {
      t.send({ taken });
      taken++;
      if (taken > 100) break;
    }
    expect(taken).toBe(10); // one second's worth at once, then the bucket is empty
    const started = performance.now();
    for (let i = 0; i < 2; i++) expect(await t.pipeline.waitForRoom(1000)).toBe(true);
    // 2 more records at 10/s: about 200 ms (a token every 100 ms)
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('onSkipped counts records lost to retention per partition and says so at error level', async () => {
    const t = setup();
    t.pipeline.onAssigned([{ topic: TOPIC, partitions: [0, 1] }]);
    expect(await sample(t.metrics, 'retentionSkipped', { route: ROUTE, topic: TOPIC, partition: '1' })).toBe(0); // exists before the first loss
    t.pipeline.onSkipped(TOPIC, 1, 200, 1500);
    t.pipeline.onSkipped(TOPIC, 1, 1500, 1500); // nothing lost
    expect(await sample(t.metrics, 'retentionSkipped', { route: ROUTE, topic: TOPIC, partition: '1' })).toBe(1300);
    expect(await sample(t.metrics, 'retentionSkipped', { route: ROUTE, topic: TOPIC, partition: '0' })).toBe(0);
    const errors = t.lines.filter((l) => l.level === 'error');
    expect(errors.length).toBe(1);
    expect(errors[0]).toMatchObject({ partition: 1, fromOffset: 200, toOffset: 1499, records: 1300 });
    expect(errors[0]!.msg).toMatch(/offsets 200-1499 of events\/1 were deleted by the broker/);
  });

  it('drainAndRelease delivers partial batches, commits and forgets the partitions', async () => {
    const sink = new MemorySink();
    const t = setup({ sinks: { siem: sink }, delivery: { batchMaxWaitMs: 60_000 } });
    for (let i = 0; i < 4; i++) t.send({ i }, { partition: i % 2 });
    expect(await t.pipeline.drainAndRelease(2000, 'rebalance')).toBe(true);
    expect(sink.received.length).toBe(4); // flushed, not left waiting for the batch's wait
    expect([t.source.committed(0), t.source.committed(1)]).toEqual([2, 2]);
    expect(t.lines.find((l) => l.msg === 'drained and committed')).toMatchObject({ reason: 'rebalance', drained: true, leftForNextOwner: 0 });
    expect(t.pipeline.inflight.records).toBe(0);
    // a later owner of partition 0 starts wherever the group's commit says: an earlier offset is taken again
    t.pipeline.onRecord(sourceRecord(0, { offset: '0', timestamp: '0', key: null, value: Buffer.from('{"again":true}') }, decoderFor(compileQuery('*'))));
    await t.idle();
    expect(sink.received.at(-1)!.fields).toEqual({ again: true });
  });

  it('drainAndRelease at its deadline commits what was acknowledged and reports what is left for the next owner', async () => {
    const sink = new MemorySink(true);
    const t = setup({ sinks: { siem: sink }, delivery: { batchMaxRecords: 3 } });
    for (let i = 0; i < 7; i++) t.send({ i });
    await until('the first batch is being sent', () => sink.holds.length === 1);
    sink.holds.shift()!.open(); // 0–2 delivered; 3–5 and 6 stay with the peer
    await until('the first batch is delivered', () => sink.received.length === 3);
    expect(await t.pipeline.drainAndRelease(50, 'shutdown')).toBe(false);
    expect(t.source.committed()).toBe(3);
    const line = t.lines.find((l) => l.reason === 'shutdown');
    expect(line).toMatchObject({ drained: false, leftForNextOwner: 4 });
    expect(line!.msg).toMatch(/drain deadline passed; committed what was acknowledged/);
    expect(t.pipeline.inflight.records).toBe(0); // the rest is the next owner's: nothing held here
    // what the sink delivers after the release is not acknowledged into a commit
    sink.release();
    await t.idle();
    await t.pipeline.committer.commitNow();
    expect(t.source.committed()).toBe(3);
  });

  describe('suppress -summary', () => {
    const T0 = Date.UTC(2024, 0, 1);
    const QUERY = "* | suppress -window=60 -summary by user where action = 'login_failed' | extend shipped = true";
    const fail = (user: string, seconds: number) => [{ action: 'login_failed', user, s: seconds }, { timestamp: T0 + seconds * 1000 }] as const;

    it("holds the commit at the first repeat until every sink has the window's summary; the summary carries that repeat's offset", async () => {
      const siem = new MemorySink();
      const archive = new MemorySink(true);
      const t = setup({ sinks: { siem, archive }, query: QUERY });
      t.send(...fail('bob', 0)); // 0 passes
      t.send(...fail('bob', 1)); // 1 held
      t.send(...fail('bob', 2)); // 2 dropped behind it
      t.send(...fail('eve', 3)); // 3 passes
      archive.release();
      await t.idle();
      expect(siem.offsets()).toEqual([0, 3]);
      expect(await t.commit()).toBe(1);
      expect(t.pipeline.inflight.records).toBe(2); // the hold, and offset 3 delivered behind it
      archive.hold = true;
      t.send(...fail('carol', 61)); // bob's window (0-60 s) is over: its summary goes out first
      await until('the siem has the summary', () => siem.received.length === 4);
      expect(siem.received.slice(2).map((r) => [r.meta.offset, r.fields])).toEqual([
        ['1', { action: 'login_failed', user: 'bob', s: 1, suppressed_count: 2, suppressed_first_time: new Date(T0 + 1000).toISOString(), suppressed_last_time: new Date(T0 + 2000).toISOString(), shipped: true }],
        ['4', { action: 'login_failed', user: 'carol', s: 61, shipped: true }],
      ]);
      expect(siem.received[2]!.raw!.toString()).toBe(JSON.stringify(siem.received[2]!.fields));
      expect(await t.commit()).toBe(1); // the archive has not acknowledged the summary
      archive.release();
      await t.idle();
      expect(await t.commit()).toBe(5);
      expect(t.pipeline.inflight.records).toBe(0);
      t.pipeline.onProgress(TOPIC, 0, '5', 5);
      expect(await sample(t.metrics, 'filteredEvents', { route: ROUTE, reason: 'suppress' })).toBe(2);
      expect(await sample(t.metrics, 'suppressSummaries', { route: ROUTE })).toBe(1);
    });

    it('a drain summarises what is held, delivers and commits it (a rebalance loses no summary)', async () => {
      const sink = new MemorySink();
      const t = setup({ sinks: { siem: sink }, query: QUERY });
      for (const s of [0, 1, 2, 3]) t.send(...fail('bob', s));
      t.send(...fail('eve', 4));
      expect(await t.pipeline.drainAndRelease(2000, 'rebalance')).toBe(true);
      expect(t.source.committed()).toBe(5);
      expect(sink.received.map((r) => r.fields['suppressed_count'] ?? '-')).toEqual(['-', '-', 3]);
    });

    it('held commits that fill the in-flight share are summarised early, so intake goes on', async () => {
      const sink = new MemorySink();
      const t = setup({ sinks: { siem: sink }, query: QUERY, inflightMaxRecords: 4 });
      t.send(...fail('a', 0));
      t.send(...fail('a', 1)); // held
      t.send(...fail('b', 2));
      t.send(...fail('c', 3));
      await t.idle();
      expect(t.pipeline.hasRoom()).toBe(false); // four in flight: the limit; this summarises a's repeats
      await until('the summary is delivered', () => sink.received.length === 4);
      expect(await t.commit()).toBe(4);
      expect(t.pipeline.hasRoom()).toBe(true);
      // The window still suppresses: the next repeat is held again.
      t.send(...fail('a', 5));
      expect(await t.commit()).toBe(4);
    });

    it('a summary the rest of the query fails on is dead-lettered at stage query, then its hold is committed', async () => {
      const sink = new MemorySink();
      const t = setup({ sinks: { siem: sink }, query: '* | suppress -window=60 -summary by user | extend n = cast(v as bigint)' });
      t.send({ user: 'a', v: '1' }, { timestamp: T0 });
      t.send({ user: 'a', v: 'x' }, { timestamp: T0 + 1000 });
      t.send({ user: 'b', v: '2' }, { timestamp: T0 + 61_000 });
      await t.idle();
      await until('the dead letter is written', () => t.dead.length === 1);
      expect(await t.commit()).toBe(3);
      expect(t.dead[0]!.headers).toMatchObject({ 'logstream.sink': 'query', 'logstream.source.offset': '1' });
      expect(JSON.parse(t.dead[0]!.value!.toString())).toMatchObject({ user: 'a', v: 'x', suppressed_count: 1 });
      expect(sink.received.map((r) => r.fields['n'])).toEqual([1, 2]);
    });
  });
});
