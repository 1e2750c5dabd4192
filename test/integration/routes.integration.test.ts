// Routes against the real broker: each route reads the topic in its own group with its own query and
// sinks; a route whose sink fails stalls alone; a route can be paused, replayed and resumed on a
// running instance without touching the others; offsets lost to retention are counted; a route's dead
// letters can be replayed to that route only.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HecProcess } from '../support/hec/process.ts';
import { Instance, readJsonLines, REPO_ROOT, sleep, tmpDir, waitUntil } from '../support/instance.ts';
import { committedOffsets, createTopic, deleteRecordsBefore, kafkaBootstrap, produceJson, readTopic, startOffsets, uniqueName } from '../support/kafka.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';

const running: Array<{ stop(): Promise<unknown> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

interface Setup {
  bootstrap: string;
  topic: string;
  group: string;
  dlqTopic: string;
  controlTopic: string;
  dir: string;
}

async function setup(name: string, partitions: number, topicConfig: Record<string, string> = {}): Promise<Setup> {
  const bootstrap = kafkaBootstrap();
  const topic = uniqueName(name);
  await createTopic(bootstrap, topic, partitions, topicConfig);
  return { bootstrap, topic, group: uniqueName(`${name}-g`), dlqTopic: uniqueName(`${name}-dlq`), controlTopic: uniqueName(`${name}-control`), dir: tmpDir(name) };
}

/** The environment of a deployment with routes `archive` (everything to a file) and `siem`. */
function routesEnv(s: Setup, siem: Record<string, string>): Record<string, string> {
  return {
    KAFKA_BROKERS: s.bootstrap,
    KAFKA_TOPICS: s.topic,
    KAFKA_GROUP_ID: s.group,
    KAFKA_DLQ_TOPIC: s.dlqTopic,
    KAFKA_CONTROL_TOPIC: s.controlTopic,
    KAFKA_SESSION_TIMEOUT: '6s',
    KAFKA_HEARTBEAT_INTERVAL: '1s',
    KAFKA_COMMIT_INTERVAL: '1s',
    ROUTES: 'archive,siem',
    SINKS: 'file',
    FILE_MAX_BYTES: '0',
    ROUTE_ARCHIVE_FILE_PATH: join(s.dir, 'archive.jsonl'),
    ...siem,
  };
}

/** A HEC receiver answering 503 (busy) until told otherwise, and the siem route's variables to ship to it. */
async function busyHec(): Promise<{ hec: HecProcess; env: Record<string, string> }> {
  const hec = await HecProcess.start(['--port', '0', '--token', 'route-test-token']);
  running.push(hec);
  await hec.control({ op: 'setMode', mode: 'busy503' });
  return { hec, env: { ROUTE_SIEM_SINKS: 'splunk_hec', HEC_URLS: hec.url, HEC_TOKEN: 'route-test-token', HEC_HEALTH_CHECK: 'false' } };
}

function start(name: string, env: Record<string, string>): Instance {
  const i = new Instance(name, env);
  running.push(i);
  return i;
}

async function committed(s: Setup, route: string): Promise<number> {
  return Number([...(await committedOffsets(s.bootstrap, `${s.group}.${route}`, s.topic)).values()].reduce((a, b) => a + b, 0n));
}

function cli(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['src/main.ts', ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('routes (real broker)', () => {
  it('one topic, two routes: each gets what its own query selects, in its own group', async () => {
    const s = await setup('routes-queries', 3);
    const run = uniqueName('rq');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 900, 3));
    const env = routesEnv(s, { ROUTE_SIEM_QUERY: "* | where severity = 'high' | project run, id, body, hash, severity", ROUTE_SIEM_FILE_PATH: join(s.dir, 'siem.jsonl') });
    const i = start('rq', env);
    await waitUntil('both routes committed everything', async () => (await committed(s, 'archive')) === 900 && (await committed(s, 'siem')) === 900, 90_000, 500);
    const archive = readJsonLines(join(s.dir, 'archive.jsonl'));
    const siem = readJsonLines(join(s.dir, 'siem.jsonl'));
    expect(tally(run, 900, archive)).toMatchObject({ delivered: 900, lost: 0, dup: 0, altered: 0 });
    expect(siem.map((r) => r.id).sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 300 }, (_, k) => 3 * k + 2));
    expect(siem.every((r) => r.severity === 'high' && r.partition === undefined)).toBe(true);
    expect(await i.metricSum('logstream_sink_sent_events_total', { route: 'archive', sink: 'file' })).toBe(900);
    expect(await i.metricSum('logstream_sink_sent_events_total', { route: 'siem', sink: 'file' })).toBe(300);
    expect(await i.metricSum('logstream_query_filtered_events_total', { route: 'siem', reason: 'where' })).toBe(600);
    expect(await i.metricSum('logstream_route_state', { route: 'siem', state: 'running' })).toBe(1);
    const started = await i.waitForLog((l) => l.msg === 'logstream started');
    expect(started.routes).toEqual([
      { route: 'archive', state: 'running', group: `${s.group}.archive`, topics: [s.topic], sinks: ['file'] },
      { route: 'siem', state: 'running', group: `${s.group}.siem`, topics: [s.topic], sinks: ['file'] },
    ]);
    const checked = cli(['check-config'], env);
    expect(checked.code, checked.stderr).toBe(0);
    const printed = JSON.parse(checked.stdout) as { routes: Array<{ name: string; kafka: { groupId: string }; query: string }> };
    expect(printed.routes.map((r) => [r.name, r.kafka.groupId, r.query])).toEqual([
      ['archive', `${s.group}.archive`, '*'],
      ['siem', `${s.group}.siem`, env['ROUTE_SIEM_QUERY']],
    ]);
  });

  it("a route whose sink fails stalls alone: the other delivers everything, the instance stays ready, the failed route catches up", async () => {
    const s = await setup('routes-isolation', 4);
    const { hec, env } = await busyHec();
    const run = uniqueName('ri');
    const i = start('ri', routesEnv(s, { ...env, HEC_RETRY_MAX: '1s', INFLIGHT_MAX_RECORDS: '2000' }));
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 6000, 4));
    await waitUntil('the archive route committed everything', async () => (await committed(s, 'archive')) === 6000, 90_000, 500);
    expect(tally(run, 6000, readJsonLines(join(s.dir, 'archive.jsonl')))).toMatchObject({ delivered: 6000, lost: 0, dup: 0 });
    // The siem route holds at most its share of the in-flight budget and commits nothing.
    expect(await committed(s, 'siem')).toBe(0);
    expect(await i.metricSum('logstream_inflight_records', { route: 'siem' })).toBeLessThanOrEqual(1000);
    expect(await i.metricSum('logstream_sink_healthy', { route: 'siem', sink: 'splunk_hec' })).toBe(0);
    const ready = await fetch(`http://127.0.0.1:${await i.httpPort()}/readyz`);
    const body = (await ready.json()) as { ready: boolean; routes: Array<{ route: string; state: string; problems: string[] }> };
    expect(ready.status).toBe(200);
    expect(body.routes.find((r) => r.route === 'archive')).toMatchObject({ state: 'running', problems: [] });
    expect(body.routes.find((r) => r.route === 'siem')?.problems.join(' ')).toMatch(/sink splunk_hec failing/);
    await hec.control({ op: 'setMode', mode: 'ok' });
    await waitUntil('the siem route caught up', async () => (await committed(s, 'siem')) === 6000, 120_000, 500);
    const events = (await hec.events()).events.map((e) => e.event as Record<string, unknown>);
    expect(tally(run, 6000, events)).toMatchObject({ delivered: 6000, lost: 0, dup: 0 });
    expect(readJsonLines(join(s.dir, 'archive.jsonl'))).toHaveLength(6000);
  });

  it('pause, replay and resume one route on a running instance; the other route never stops', async () => {
    const s = await setup('routes-replay', 2);
    const run = uniqueName('rr');
    const env = routesEnv(s, { ROUTE_SIEM_FILE_PATH: join(s.dir, 'siem.jsonl') });
    const i = start('rr', env);
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 200, 2));
    await waitUntil('both routes committed 200', async () => (await committed(s, 'archive')) === 200 && (await committed(s, 'siem')) === 200, 90_000, 500);

    const paused = cli(['routes', 'pause', 'siem', '--reason', 'test'], env);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain('route siem: paused on every instance');
    await i.waitForLog((l) => l.msg === 'route paused' && l.route === 'siem');
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 100, 2, 200));
    await waitUntil('archive got the new records', async () => (await committed(s, 'archive')) === 300, 60_000, 500);
    await sleep(2000);
    expect(await committed(s, 'siem')).toBe(200);
    const status = cli(['routes', 'status', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout) as Array<{ route: string; wanted: string; members: number; lag: Array<{ lag: number }> }>;
    expect(rows.map((r) => [r.route, r.wanted, r.members, r.lag[0]!.lag])).toEqual([
      ['archive', 'running', 1, 0],
      ['siem', 'paused', 0, 100],
    ]);
    // the instance stays ready: a route paused on purpose is not a failure
    expect((await fetch(`http://127.0.0.1:${await i.httpPort()}/readyz`)).status).toBe(200);
    expect(cli(['routes', 'resume', 'siem'], env).code).toBe(0);
    await waitUntil('siem caught up after resume', async () => (await committed(s, 'siem')) === 300, 60_000, 500);

    // Replay the last records to the SIEM only, on the running deployment: reset-offsets --route pauses,
    // moves the offsets, resumes.
    const reset = cli(['reset-offsets', '--route', 'siem', '--to', 'earliest'], env);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain(`reset group ${s.group}.siem to earliest`);
    await waitUntil('siem replayed everything', async () => readJsonLines(join(s.dir, 'siem.jsonl')).length === 600 && (await committed(s, 'siem')) === 300, 60_000, 500);
    expect(tally(run, 300, readJsonLines(join(s.dir, 'siem.jsonl')))).toMatchObject({ delivered: 600, lost: 0, dup: 300 });
    expect(tally(run, 300, readJsonLines(join(s.dir, 'archive.jsonl')))).toMatchObject({ delivered: 300, lost: 0, dup: 0 });
    expect(i.logs.some((l) => l.route === 'archive' && /pausing the route|left the group|drained and committed/.test(String(l.msg)))).toBe(false);
    // --group refuses while the group has members (as before); --route is the way on a running deployment
    const refused = cli(['reset-offsets', '--group', `${s.group}.archive`, '--to', 'earliest'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/has 1 active member.*--route NAME on a running deployment/);
  });

  it('moving from one pipeline to routes (old group stopped, routes start from its commits): nothing lost, nothing repeated', async () => {
    const s = await setup('routes-migrate', 2);
    const run = uniqueName('rm');
    const old = {
      KAFKA_BROKERS: s.bootstrap,
      KAFKA_TOPICS: s.topic,
      KAFKA_GROUP_ID: s.group,
      KAFKA_DLQ_TOPIC: s.dlqTopic,
      KAFKA_CONTROL_TOPIC: s.controlTopic,
      KAFKA_COMMIT_INTERVAL: '1s',
      SINKS: 'file',
      FILE_MAX_BYTES: '0',
      FILE_PATH: join(s.dir, 'before.jsonl'),
    };
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 300, 2));
    const before = start('rm-old', old);
    await waitUntil('the single pipeline committed 300', async () => Number([...(await committedOffsets(s.bootstrap, s.group, s.topic)).values()].reduce((a, b) => a + b, 0n)) === 300, 60_000, 500);
    await before.stop();
    running.splice(0);
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 200, 2, 300));
    const env = routesEnv(s, { ROUTE_SIEM_FILE_PATH: join(s.dir, 'siem.jsonl'), KAFKA_START_FROM: `group:${s.group}` });
    const after = start('rm-new', env);
    await waitUntil('both routes committed 500', async () => (await committed(s, 'archive')) === 500 && (await committed(s, 'siem')) === 500, 60_000, 500);
    for (const file of ['archive.jsonl', 'siem.jsonl']) {
      expect(tally(run, 200, readJsonLines(join(s.dir, file)), 300), file).toMatchObject({ delivered: 200, lost: 0, dup: 0, foreign: 0 });
    }
    expect(after.logs.filter((l) => l.msg === 'new partition: starting at KAFKA_START_FROM').map((l) => [l.route, l.partition, l.offset])).toEqual(
      expect.arrayContaining([['archive', 0, 150], ['archive', 1, 150], ['siem', 0, 150], ['siem', 1, 150]]),
    );
  });

  it('a route that starts behind the log start (retention deleted what it had not read) counts and logs the lost range', async () => {
    const s = await setup('routes-retention', 1);
    const run = uniqueName('rt');
    const env = routesEnv(s, { ROUTE_SIEM_FILE_PATH: join(s.dir, 'siem.jsonl') });
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 100, 1));
    const first = start('rt1', env);
    await waitUntil('both routes committed 100', async () => (await committed(s, 'archive')) === 100 && (await committed(s, 'siem')) === 100, 60_000, 500);
    await first.stop();
    running.splice(0);
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 100, 1, 100));
    await deleteRecordsBefore(s.bootstrap, s.topic, new Map([[0, 150]]));
    const second = start('rt2', env);
    await waitUntil('both routes committed 200', async () => (await committed(s, 'archive')) === 200 && (await committed(s, 'siem')) === 200, 60_000, 500);
    for (const route of ['archive', 'siem']) {
      expect(await second.metricSum('logstream_retention_skipped_records_total', { route, topic: s.topic, partition: '0' })).toBe(50);
      expect(second.logs.some((l) => l.route === route && l.level === 'error' && /offsets 100-149 of .* were deleted by the broker before this route read them/.test(String(l.msg)))).toBe(true);
    }
    expect(tally(run, 200, readJsonLines(join(s.dir, 'siem.jsonl')))).toMatchObject({ delivered: 150, lost: 50 });
    expect(await second.metricSum('logstream_topic_retention_seconds', { topic: s.topic })).toBeGreaterThan(0);
  });

  it('a route paused longer than a tiny retention.ms: the broker deletes what it had not read, the route counts the range and goes on', async () => {
    // segments roll after 1 s and are deleted 3 s after their newest record (the test broker checks every 2 s)
    const s = await setup('routes-tiny-retention', 1, { 'retention.ms': '3000', 'segment.ms': '1000' });
    const run = uniqueName('rty');
    const env = routesEnv(s, { ROUTE_SIEM_FILE_PATH: join(s.dir, 'siem.jsonl') });
    const i = start('rty', env);
    await i.httpPort();
    expect(await i.metricSum('logstream_topic_retention_seconds', { topic: s.topic })).toBe(3);
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 10, 1));
    await waitUntil('both routes committed the first 10', async () => (await committed(s, 'archive')) === 10 && (await committed(s, 'siem')) === 10, 30_000, 250);
    expect(cli(['routes', 'pause', 'siem'], env).code).toBe(0);
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 100, 1, 10));
    await sleep(1500); // the next record rolls the segment
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 100, 1, 110));
    await waitUntil('archive committed all 210', async () => (await committed(s, 'archive')) === 210, 30_000, 250);
    // Kafka 4 also deletes an active segment whose records all passed retention: the log start may
    // reach the end. What the route lost is whatever retention took below its commit (10).
    await waitUntil('retention deleted the old segments', async () => ((await startOffsets(s.bootstrap, s.topic)).get(0) ?? 0n) >= 110n, 60_000, 500);
    expect(cli(['routes', 'resume', 'siem'], env).code).toBe(0);
    await waitUntil('siem committed to the end', async () => (await committed(s, 'siem')) === 210, 60_000, 500);
    const skipped = await i.metricSum('logstream_retention_skipped_records_total', { route: 'siem', topic: s.topic, partition: '0' });
    expect(skipped).toBeGreaterThanOrEqual(100);
    expect(skipped).toBeLessThanOrEqual(200);
    expect(await i.metricSum('logstream_retention_skipped_records_total', { route: 'archive' })).toBe(0);
    expect(i.logs.some((l) => l.route === 'siem' && new RegExp(`offsets 10-${9 + skipped} of .* were deleted by the broker`).test(String(l.msg)))).toBe(true);
    const siem = readJsonLines(join(s.dir, 'siem.jsonl'));
    expect(tally(run, 210, siem)).toMatchObject({ delivered: 210 - skipped, lost: skipped, dup: 0 });
    const ids = new Set(siem.map((r) => r.id));
    expect(Array.from({ length: skipped }, (_, k) => 10 + k).every((id) => !ids.has(id))).toBe(true);
    expect(tally(run, 210, readJsonLines(join(s.dir, 'archive.jsonl')))).toMatchObject({ delivered: 210, lost: 0, dup: 0 });
  });

  it('a route stalled by its sink while retention deletes what it has not read: the lost range is counted, the rest delivered', async () => {
    const s = await setup('routes-retention-live', 1);
    const { hec, env } = await busyHec();
    const run = uniqueName('rl');
    // Small fetches of small batches: what the stalled route has fetched but not taken (one fetch, held in
    // memory and delivered later) ends well before the deleted range does.
    const i = start('rl', routesEnv(s, { ...env, HEC_RETRY_MAX: '500ms', ROUTE_SIEM_INFLIGHT_MAX_RECORDS: '200', ROUTE_SIEM_KAFKA_MAX_BYTES_PER_PARTITION: '16KiB' }));
    await produceJson(s.bootstrap, s.topic, ledgerRecords(run, 2000, 1), { batchSize: 100 });
    await waitUntil('the archive route committed everything', async () => (await committed(s, 'archive')) === 2000, 60_000, 500);
    await waitUntil('the siem route holds its in-flight share', async () => (await i.metricSum('logstream_inflight_records', { route: 'siem' })) === 200, 30_000, 250);
    expect(await i.metricSum('logstream_oldest_unacknowledged_age_seconds', { route: 'siem', topic: s.topic })).toBeGreaterThanOrEqual(0);
    await deleteRecordsBefore(s.bootstrap, s.topic, new Map([[0, 1500]]));
    await hec.control({ op: 'setMode', mode: 'ok' });
    await waitUntil('the siem route committed to the end', async () => (await committed(s, 'siem')) === 2000, 60_000, 500);
    const line = i.logs.find((l) => l.route === 'siem' && l.level === 'error' && /were deleted by the broker/.test(String(l.msg)));
    const [, from, to] = /offsets (\d+)-(\d+) of /.exec(String(line?.msg)) ?? [];
    const firstLost = Number(from);
    expect(firstLost).toBeGreaterThanOrEqual(200); // at most one fetch held beyond the in-flight share
    expect(firstLost).toBeLessThanOrEqual(400);
    expect(Number(to)).toBe(1499);
    expect(await i.metricSum('logstream_retention_skipped_records_total', { route: 'siem', topic: s.topic, partition: '0' })).toBe(1500 - firstLost);
    expect(await i.metricSum('logstream_retention_skipped_records_total', { route: 'archive' })).toBe(0);
    const events = (await hec.events()).events.map((e) => e.event as Record<string, unknown>);
    const t = tally(run, 2000, events);
    expect(t).toMatchObject({ delivered: 2000 - (1500 - firstLost), lost: 1500 - firstLost, dup: 0 });
    expect(events.every((e) => (e.id as number) < firstLost || (e.id as number) >= 1500)).toBe(true);
  });

  it('dead letters of one route are replayed to that route only, once the cause is fixed', async () => {
    const s = await setup('routes-dlq', 2);
    const run = uniqueName('rd');
    // every 10th record has a size the SIEM route's query cannot cast
    const records = ledgerRecords(run, 100, 2).map((r, k) => ({ ...r, value: { ...(r.value as object), kb: k % 10 === 0 ? 'lots' : String(k) } }));
    await produceJson(s.bootstrap, s.topic, records);
    const broken = routesEnv(s, { ROUTE_SIEM_FILE_PATH: join(s.dir, 'siem.jsonl'), ROUTE_SIEM_QUERY: '* | extend bytes = cast(kb as bigint) * 1024' });
    const first = start('rd1', broken);
    await waitUntil('both routes committed 100', async () => (await committed(s, 'archive')) === 100 && (await committed(s, 'siem')) === 100, 60_000, 500);
    const dead = await readTopic(s.bootstrap, s.dlqTopic, { expected: 10, timeoutMs: 30_000 });
    expect(dead.map((d) => [d.headers['logstream.route']?.toString(), d.headers['logstream.sink']?.toString(), d.headers['logstream.error.code']?.toString()])).toEqual(Array(10).fill(['siem', 'query', 'QUERY_RUNTIME']));
    await first.stop();
    running.splice(0);

    const fixed = { ...broken, ROUTE_SIEM_QUERY: '* | extend bytes = try(cast(kb as bigint) * 1024)' };
    const second = start('rd2', fixed);
    await second.httpPort();
    const dry = cli(['dead-letters', 'replay', '--route', 'siem', '--dry-run'], fixed);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: would replay 10 dead letter\(s\) of route siem/);
    expect(cli(['dead-letters', 'replay', '--route', 'archive'], fixed).stdout).toMatch(/^replayed 0 dead letter\(s\) of route archive.*\nleft: 10 of other routes/);
    const replay = cli(['dead-letters', 'replay', '--route', 'siem'], fixed);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(new RegExp(`^replayed 10 dead letter\\(s\\) of route siem from ${s.dlqTopic} .*10 to ${s.topic}`));
    await waitUntil('both routes committed the replayed records', async () => (await committed(s, 'archive')) === 110 && (await committed(s, 'siem')) === 110, 60_000, 500);
    const siem = readJsonLines(join(s.dir, 'siem.jsonl'));
    expect(tally(run, 100, siem)).toMatchObject({ delivered: 100, lost: 0, dup: 0, altered: 0 });
    expect(siem.filter((r) => r.kb === 'lots' && (r.bytes ?? null) === null)).toHaveLength(10);
    // the archive route had them already: it skips the replayed copies
    expect(tally(run, 100, readJsonLines(join(s.dir, 'archive.jsonl')))).toMatchObject({ delivered: 100, dup: 0 });
    expect(await second.metricSum('logstream_query_filtered_events_total', { route: 'archive', reason: 'replay' })).toBe(10);
    // a second replay finds nothing new
    expect(cli(['dead-letters', 'replay', '--route', 'siem'], fixed).stdout).toMatch(/^replayed 0 dead letter\(s\) of route siem/);
  });
});
