// Enrich and reduce on one topic (real broker, the daemon as a child process): the archive route gets
// every record unchanged; the siem route gets each record with its asset owner (a CIDR lookup table),
// country and ASN (MaxMind-format databases), only the first high-severity record of each address and
// action in each partition (suppress), one source address in five of the allowed informational traffic,
// long text cut and empty fields removed. A new version of the lookup table, swapped in the way
// the kubelet updates a ConfigMap, is used for the records after it without a restart. The expected
// output is computed here from the fixtures' contents, not by the query engine.
// Then suppress -summary: the commit held at the first repeat, a SIGKILL before the summary (lost=0);
// and web hits on one topic to an archive route and to a lake route that suppresses and summarises
// repeated blocks, maps to OCSF with the shipped mapping and adds the asset row as an enrichment.
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleHash } from '../../src/query/instructions/sample.ts';
import { FIXTURES } from '../enrich/example-data.ts';
import { queryTail } from '../support/config-examples.ts';
import { Instance, readJsonLines, sleep, tmpDir, waitUntil } from '../support/instance.ts';
import { committedOffsets, createTopic, kafkaBootstrap, produceJson, uniqueName, type TestRecord } from '../support/kafka.ts';

const running: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

/** Source addresses and what the fixtures say of each: [owner v1, owner v2, country, asn]. */
const ADDRESSES: Record<string, [string, string, string | undefined, number | undefined]> = {
  '10.1.2.3': ['payments-team', 'payments-team', undefined, undefined],
  '10.1.2.77': ['payments-team', 'payments-team', undefined, undefined],
  '10.9.0.5': ['it-ops', 'platform', undefined, undefined],
  '10.200.1.1': ['it-ops', 'platform', undefined, undefined],
  '81.2.69.142': ['unknown', 'unknown', 'GB', 64500],
  '81.2.69.1': ['unknown', 'unknown', 'GB', 64500],
  '198.51.100.7': ['unknown', 'unknown', 'US', 64501],
  '2001:db8::1': ['unknown', 'unknown', 'DE', undefined],
  '2001:db8::42': ['unknown', 'unknown', 'DE', undefined],
  '192.0.2.9': ['unknown', 'unknown', undefined, undefined],
};
const IPS = Object.keys(ADDRESSES);
const QUERY = [
  "* | lookup -prefix='asset_' -default='unknown' assets on src_ip",
  "  | extend src_country = geoip(src_ip, 'country_code'), src_asn = geoip(src_ip, 'asn')",
  "  | suppress -window='1h' by src_ip, action where severity = 'high'",
  "  | sample 0.2 by src_ip where action = 'allowed' and severity = 'info'",
  '  | trim-fields -max-length=64 -drop-empty',
].join('\n');

function records(run: string, from: number, n: number): TestRecord[] {
  return Array.from({ length: n }, (_, k) => {
    const id = from + k;
    const value: Record<string, unknown> = {
      run,
      id,
      src_ip: IPS[id % IPS.length],
      action: id % 3 === 0 ? 'blocked' : 'allowed',
      severity: id % 7 === 0 ? 'high' : 'info',
      msg: id % 5 === 0 ? `long ${'x'.repeat(200)}` : `event ${id}`,
      referer: id % 2 === 0 ? '' : 'https://example.com/',
    };
    return { partition: id % 3, value };
  });
}

/** What the siem route must deliver for one input record, or null when it is suppressed or sampled out. */
function expected(value: Record<string, unknown>, version: 0 | 1, seen: Set<string>): Record<string, unknown> | null {
  const ip = value.src_ip as string;
  const [owner1, owner2, country, asn] = ADDRESSES[ip]!;
  if (value.severity === 'high') {
    // Every record of the test is produced within the hour: per partition, the first of a key passes.
    const key = `${(value.id as number) % 3}/${ip}/${String(value.action)}`;
    if (seen.has(key)) return null;
    seen.add(key);
  }
  if (value.action === 'allowed' && value.severity === 'info' && sampleHash(`s${ip}`) >= Math.floor(0.2 * 2 ** 32)) return null;
  const out: Record<string, unknown> = { ...value };
  out.asset_owner = version === 0 ? owner1 : owner2;
  // `site` is in the table's header: a miss gives it the default; an empty cell adds nothing.
  const site = version === 0 ? { '10.1.2': 'fra1' } : { '10.1.2': 'fra1', '10.9': 'ber2', '10.200': 'ber2' };
  const s = Object.entries(site).find(([p]) => ip.startsWith(`${p}.`))?.[1];
  if (s !== undefined) out.asset_site = s;
  else if (out.asset_owner === 'unknown') out.asset_site = 'unknown';
  if (country !== undefined) out.src_country = country;
  if (asn !== undefined) out.src_asn = asn;
  if (typeof out.msg === 'string' && out.msg.length > 64) out.msg = out.msg.slice(0, 64);
  if (out.referer === '') delete out.referer;
  return out;
}

describe('enrich and reduce (real broker)', () => {
  it('archive gets every record unchanged; siem gets them enriched, suppressed, sampled and trimmed, and a new table version without a restart', async () => {
    const bootstrap = kafkaBootstrap();
    const topic = uniqueName('enrich');
    await createTopic(bootstrap, topic, 3);
    const dir = tmpDir('enrich');
    // The ConfigMap layout: assets.csv -> ..data/assets.csv, ..data -> ..v1 (swapped to ..v2 later).
    mkdirSync(join(dir, 'cm', '..v1'), { recursive: true });
    writeFileSync(join(dir, 'cm', '..v1', 'assets.csv'), readFileSync(join(FIXTURES, 'assets.csv')));
    symlinkSync('..v1', join(dir, 'cm', '..data'));
    symlinkSync('..data/assets.csv', join(dir, 'cm', 'assets.csv'));
    const group = uniqueName('enrich-g');
    const i = new Instance('enrich', {
      KAFKA_BROKERS: bootstrap,
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: group,
      KAFKA_DLQ_TOPIC: uniqueName('enrich-dlq'),
      KAFKA_CONTROL_TOPIC: uniqueName('enrich-control'),
      KAFKA_COMMIT_INTERVAL: '1s',
      ROUTES: 'archive,siem',
      SINKS: 'file',
      FILE_MAX_BYTES: '0',
      ROUTE_ARCHIVE_FILE_PATH: join(dir, 'archive.jsonl'),
      ROUTE_SIEM_FILE_PATH: join(dir, 'siem.jsonl'),
      ROUTE_SIEM_QUERY: QUERY,
      LOOKUP_ASSETS_FILE: join(dir, 'cm', 'assets.csv'),
      LOOKUP_ASSETS_MATCH: 'cidr',
      LOOKUP_RELOAD_INTERVAL: '200ms',
      GEOIP_DB_FILE: join(FIXTURES, 'city.mmdb'),
      ASN_DB_FILE: join(FIXTURES, 'asn.mmdb'),
    });
    running.push(i);
    await i.waitForLog((l) => l.msg === 'logstream started');
    const committed = async (route: string): Promise<number> => Number([...(await committedOffsets(bootstrap, `${group}.${route}`, topic)).values()].reduce((a, b) => a + b, 0n));

    const run = uniqueName('er');
    const first = records(run, 0, 3000);
    await produceJson(bootstrap, topic, first);
    await waitUntil('both routes committed the first 3000', async () => (await committed('archive')) === 3000 && (await committed('siem')) === 3000, 90_000, 250);

    // A new version of the table: 10.0.0.0/8 now belongs to platform, with a site.
    mkdirSync(join(dir, 'cm', '..v2'));
    writeFileSync(join(dir, 'cm', '..v2', 'assets.csv'), 'network,owner,site\n10.1.2.0/24,payments-team,fra1\n10.0.0.0/8,platform,ber2\n');
    symlinkSync('..v2', join(dir, 'cm', '..data_tmp'));
    renameSync(join(dir, 'cm', '..data_tmp'), join(dir, 'cm', '..data'));
    await i.waitForLog((l) => /LOOKUP_ASSETS_FILE: a new version of .* is in use \(2 rows\)/.test(String(l.msg)), 30_000);
    const second = records(run, 3000, 3000);
    await produceJson(bootstrap, topic, second);
    await waitUntil('both routes committed all 6000', async () => (await committed('archive')) === 6000 && (await committed('siem')) === 6000, 90_000, 250);

    // The archive: every record once, byte for byte as produced.
    const archiveLines = readFileSync(join(dir, 'archive.jsonl'), 'utf8').split('\n').filter(Boolean);
    const produced = new Set([...first, ...second].map((r) => JSON.stringify(r.value)));
    expect(archiveLines.length).toBe(6000);
    expect(new Set(archiveLines).size).toBe(6000);
    expect(archiveLines.every((l) => produced.has(l))).toBe(true);

    // The siem route: exactly the expected records, with exactly the expected fields.
    const want = new Map<number, Record<string, unknown>>();
    const seen = new Set<string>();
    let suppressed = 0;
    for (const [batch, version] of [[first, 0], [second, 1]] as const) {
      for (const r of batch) {
        const v = r.value as Record<string, unknown>;
        const wasHighRepeat = v.severity === 'high' && seen.has(`${(v.id as number) % 3}/${String(v.src_ip)}/${String(v.action)}`);
        const e = expected(v, version, seen);
        if (wasHighRepeat) suppressed++;
        if (e) want.set(e.id as number, e);
      }
    }
    const got = readJsonLines(join(dir, 'siem.jsonl'));
    expect(got.length).toBe(want.size);
    for (const r of got) expect(r, `id ${String(r.id)}`).toEqual(want.get(r.id as number));
    const sampledOut = 6000 - want.size - suppressed;
    expect(suppressed).toBeGreaterThan(500);
    // The sampling kept some and dropped some of the allowed informational traffic (the key set is fixed).
    expect(sampledOut).toBeGreaterThan(1000);
    expect(want.size).toBeGreaterThan(2000);

    // What the route dropped and trimmed, for the cost report.
    const metrics = await i.metrics();
    const value = (name: string, labels: string): number => Number(metrics.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((p) => l.includes(p)))?.split(' ').pop() ?? 'NaN');
    expect(value('logstream_query_filtered_events_total', 'route="siem",reason="sample"')).toBe(sampledOut);
    expect(value('logstream_query_filtered_events_total', 'route="siem",reason="suppress"')).toBe(suppressed);
    const kept = [...want.values()];
    const inputs = new Map([...first, ...second].map((r) => [(r.value as { id: number }).id, r.value as Record<string, unknown>]));
    expect(value('logstream_query_fields_trimmed_total', 'route="siem",action="truncated"')).toBe(kept.filter((r) => (inputs.get(r.id as number)!.msg as string).length > 64).length);
    expect(value('logstream_query_fields_trimmed_total', 'route="siem",action="empty_removed"')).toBe(kept.filter((r) => inputs.get(r.id as number)!.referer === '').length);
    expect(value('logstream_enrichment_reloads_total', 'source="assets",result="ok"')).toBe(1);
    // The error series exist from the start (an alert on their increase sees the first one).
    expect(value('logstream_enrichment_reloads_total', 'source="assets",result="error"')).toBe(0);
    expect(value('logstream_enrichment_reloads_total', 'source="geoip",result="error"')).toBe(0);
    expect(value('logstream_enrichment_rows', 'source="asn"')).toBe(1);
    expect(value('logstream_enrichment_rows', 'source="assets"')).toBe(2);
    expect(value('logstream_sink_sent_events_total', 'route="archive",sink="file"')).toBe(6000);
    expect(value('logstream_sink_sent_events_total', 'route="siem",sink="file"')).toBe(want.size);
  });

  it('suppress -summary: the repeats stay uncommitted until their summary is delivered; a crash repeats a summary, never loses one (lost=0)', async () => {
    const bootstrap = kafkaBootstrap();
    const topic = uniqueName('summary');
    await createTopic(bootstrap, topic, 1);
    const dir = tmpDir('summary');
    const group = uniqueName('summary-g');
    const env = (file: string): Record<string, string> => ({
      KAFKA_BROKERS: bootstrap,
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: group,
      KAFKA_DLQ_TOPIC: uniqueName('summary-dlq'),
      KAFKA_COMMIT_INTERVAL: '500ms',
      // The killed member's partitions move when its session times out.
      KAFKA_SESSION_TIMEOUT: '6s',
      KAFKA_HEARTBEAT_INTERVAL: '1s',
      SINKS: 'file',
      FILE_MAX_BYTES: '0',
      FILE_PATH: join(dir, file),
      // An hour's window: nothing but the drain at shutdown summarises within the test.
      QUERY: "* | suppress -window='1h' -summary by user where action = 'login_failed' | extend shipped = true",
    });
    const committed = async (): Promise<number> => Number((await committedOffsets(bootstrap, group, topic)).get(0) ?? -1n);
    // 100 failed logins, 20 for each of 5 users, interleaved: offsets 0-4 are the first of each user.
    const input = Array.from({ length: 100 }, (_, id) => ({ partition: 0, value: { id, user: `u${id % 5}`, action: 'login_failed' } }));
    await produceJson(bootstrap, topic, input);

    const first = new Instance('summary-1', env('first.jsonl'));
    running.push(first);
    await waitUntil('the first instance read all 100', async () => (await first.metricSum('logstream_query_filtered_events_total')) === 95, 60_000);
    await waitUntil('the first five are committed', async () => (await committed()) === 5, 30_000);
    // Held: offset 5 is u0's first repeat; the commit does not pass it while its summary is owed.
    await sleep(1500);
    expect(await committed()).toBe(5);
    first.kill('SIGKILL');
    await first.exited;

    // The next owner reads from offset 5: the first of each user there passes, the rest are held,
    // and the drain at shutdown summarises them and commits everything.
    const second = new Instance('summary-2', env('second.jsonl'));
    running.push(second);
    await waitUntil('the second instance read offsets 5-99', async () => (await second.metricSum('logstream_query_filtered_events_total')) === 90, 60_000);
    await waitUntil('the five that passed are committed, the held repeats are not', async () => (await committed()) === 10, 30_000);
    await sleep(1500);
    expect(await committed()).toBe(10);
    expect((await second.stop()).code).toBe(0);
    expect(await committed()).toBe(100);

    const delivered = [...readJsonLines(join(dir, 'first.jsonl')), ...readJsonLines(join(dir, 'second.jsonl'))];
    const summaries = delivered.filter((r) => r.suppressed_count !== undefined);
    expect(summaries.map((r) => [r.user, r.id, r.suppressed_count]).sort()).toEqual([0, 1, 2, 3, 4].map((u) => [`u${u}`, 10 + u, 18]));
    expect(summaries.every((r) => r.shipped === true && typeof r.suppressed_first_time === 'string')).toBe(true);
    // Every produced record is delivered, or counted in a delivered summary of its user.
    let lost = 0;
    for (let u = 0; u < 5; u++) {
      const own = delivered.filter((r) => r.user === `u${u}`);
      const covered = own.filter((r) => r.suppressed_count === undefined).length + own.reduce((n, r) => n + Number(r.suppressed_count ?? 0), 0);
      lost += Math.max(0, 20 - covered);
    }
    const ids = delivered.filter((r) => r.suppressed_count === undefined).map((r) => r.id);
    const dup = ids.length - new Set(ids).size;
    console.log(`suppress summary crash: lost=${lost} dup=${dup} (the first repeat of each user passed again after the crash: ${ids.length} records, ${summaries.length} summaries)`);
    expect(lost).toBe(0);
    expect(dup).toBe(0);
    expect(ids.sort((a, b) => Number(a) - Number(b))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }, 180_000);

  it('one topic, two routes: the archive gets every web hit unchanged; the lake gets them OCSF-mapped, enriched, the repeated blocks suppressed and summarised (counts exact)', async () => {
    const bootstrap = kafkaBootstrap();
    const topic = uniqueName('lake');
    await createTopic(bootstrap, topic, 2);
    const dir = tmpDir('lake');
    const group = uniqueName('lake-g');
    // The lake's query: the repeats of a blocked user and site are summarised, the records mapped to
    // OCSF by the shipped mapping, and the source address's asset row added as an OCSF enrichment.
    writeFileSync(
      join(dir, 'lake.spl'),
      [
        "* | suppress -window='1h' -summary by samaccountname, url_domain where final_action = 'Block'",
        queryTail('ocsf-web-hits.spl'),
        "  | extend enrichments = if(lookup('assets', src_endpoint.ip) is null, null,",
        "        json_array(json_object('name', 'src_endpoint.ip', 'value', src_endpoint.ip, 'type', 'asset', 'data', lookup('assets', src_endpoint.ip))))",
      ].join('\n'),
    );
    const IPS_OWNERS: Array<[string, string | undefined]> = [['10.1.2.3', 'payments-team'], ['10.9.0.5', 'it-ops'], ['192.0.2.9', undefined]];
    const input = Array.from({ length: 400 }, (_, i) => ({
      partition: i % 2,
      value: {
        visit_id: 9_000_000 + i,
        utc_timestamp: `2024-05-01 10:00:${String(i % 60).padStart(2, '0')}.000000`,
        samaccountname: `u${i % 4}`,
        ip_address: IPS_OWNERS[i % 3]![0],
        url_scheme: 'https',
        url_domain: `d${i % 7}.example.com`,
        url_path: `/p/${i}`,
        http_method: 'GET',
        final_action: i % 5 === 0 ? 'Block' : 'Allow',
        log_level: 'Normal',
      },
    }));
    const i = new Instance('lake', {
      KAFKA_BROKERS: bootstrap,
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: group,
      KAFKA_DLQ_TOPIC: uniqueName('lake-dlq'),
      KAFKA_CONTROL_TOPIC: uniqueName('lake-control'),
      KAFKA_COMMIT_INTERVAL: '500ms',
      ROUTES: 'archive,lake',
      SINKS: 'file',
      FILE_MAX_BYTES: '0',
      ROUTE_ARCHIVE_FILE_PATH: join(dir, 'archive.jsonl'),
      ROUTE_LAKE_FILE_PATH: join(dir, 'lake.jsonl'),
      ROUTE_LAKE_QUERY_FILE: join(dir, 'lake.spl'),
      LOOKUP_ASSETS_FILE: join(FIXTURES, 'assets.csv'),
      LOOKUP_ASSETS_MATCH: 'cidr',
    });
    running.push(i);
    await i.waitForLog((l) => l.msg === 'logstream started');
    await produceJson(bootstrap, topic, input);
    const committed = async (route: string): Promise<number> => Number([...(await committedOffsets(bootstrap, `${group}.${route}`, topic)).values()].reduce((a, b) => a + b, 0n));
    await waitUntil('the archive committed all 400', async () => (await committed('archive')) === 400, 90_000, 250);
    const lakeReceived = async (): Promise<number> => Number((await i.metrics()).split('\n').find((l) => l.startsWith('logstream_source_received_events_total{') && l.includes('route="lake"'))?.split(' ').pop() ?? 0);
    await waitUntil('the lake read all 400', async () => (await lakeReceived()) === 400, 60_000, 250);
    // Held: the first repeat in each partition keeps the lake's commit below 400 until its summary is delivered.
    await waitUntil('the lake committed what it could', async () => (await committed('lake')) > 0, 30_000, 250);
    expect(await committed('lake')).toBeLessThan(400);
    // The drain at shutdown summarises what is held, delivers and commits it.
    expect((await i.stop()).code).toBe(0);
    expect(await committed('lake')).toBe(400);

    const archive = readFileSync(join(dir, 'archive.jsonl'), 'utf8').split('\n').filter(Boolean);
    expect(archive.length).toBe(400);
    expect(new Set(archive)).toEqual(new Set(input.map((r) => JSON.stringify(r.value))));

    // What the lake must hold, computed from the input: per partition, the first block of a user and
    // site passes; its repeats are one summary, carrying the first repeat.
    const want = new Map<string, { activity: number; user: string; ip: string; count?: number }>();
    const seen = new Map<string, { first: number; n: number }>();
    for (const r of input) {
      const v = r.value;
      if (v.final_action !== 'Block') {
        want.set(String(v.visit_id), { activity: 1, user: v.samaccountname, ip: v.ip_address });
        continue;
      }
      const key = `${r.partition}/${v.samaccountname}/${v.url_domain}`;
      const s = seen.get(key);
      if (!s) {
        seen.set(key, { first: -1, n: 0 });
        want.set(String(v.visit_id), { activity: 2, user: v.samaccountname, ip: v.ip_address });
      } else {
        if (s.first < 0) s.first = v.visit_id;
        s.n++;
      }
    }
    let summaries = 0;
    for (const s of seen.values()) {
      if (s.n === 0) continue;
      summaries++;
      const first = input.find((r) => r.value.visit_id === s.first)!.value;
      want.set(String(s.first), { activity: 2, user: first.samaccountname, ip: first.ip_address, count: s.n });
    }
    const lake = readJsonLines(join(dir, 'lake.jsonl'));
    expect(lake.length).toBe(want.size);
    expect(summaries).toBeGreaterThan(5);
    for (const r of lake) {
      const id = (r.metadata as { correlation_uid: string }).correlation_uid;
      const w = want.get(id);
      expect(w, `visit ${id}`).toBeDefined();
      expect(r).toMatchObject({ class_uid: 6004, activity_id: w!.activity, actor: { user: { name: w!.user } }, src_endpoint: { ip: w!.ip } });
      expect(r.count, `visit ${id}`).toBe(w!.count);
      const owner = IPS_OWNERS.find(([ip]) => ip === w!.ip)![1];
      expect(r.enrichments, `visit ${id}`).toEqual(owner === undefined ? undefined : [{ name: 'src_endpoint.ip', value: w!.ip, type: 'asset', data: { owner, ...(owner === 'payments-team' ? { site: 'fra1' } : {}) } }]);
    }
    expect(new Set(lake.map((r) => (r.metadata as { correlation_uid: string }).correlation_uid))).toEqual(new Set(want.keys()));
  }, 180_000);
});
