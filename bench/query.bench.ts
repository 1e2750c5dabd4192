// Query engine benchmark: records per second on pre-parsed ~1 KiB security records
// (no JSON parsing, no I/O), measured both as CPU time (process.cpuUsage, all threads
// of the process, so GC helpers count) and as wall time.
// Run directly: `node bench/query.bench.ts`; `npm run bench` calls runQueryBench().
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Enrichment } from '../src/enrich/enrichment.ts';
import { compileQuery, type CompileOptions } from '../src/query/index.ts';
import { queryTail } from '../test/support/config-examples.ts';
import { prng } from '../test/support/prng.ts';

export interface QueryBenchRow {
  name: string;
  recordsPerSecPerCore: number;
  recordsPerSecWall: number;
}

const SEVERITIES = ['critical', 'high', 'medium', 'medium', 'low', 'low', 'informational', 'high', 'low', 'critical'];
const APPS = ['Box', 'Dropbox', 'Office 365', 'Salesforce', 'Slack', 'Google Drive'];
const ACTIVITIES = ['Share', 'Download', 'Upload', 'Login', 'Delete', 'Edit'];


/** ~1 KiB CloudSOC-like record (as JSON text), including a ~200-byte syslog-style `message`. */
export function makeRecord(i: number, rnd: () => number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const ip = (): string => `10.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}`;
  const user = `User.${i % 97}@Example.COM`;
  const src = ip();
  const message =
    `2024-05-01T10:${String(i % 60).padStart(2, '0')}:07Z gw-${i % 7}.corp.example sshd[${1000 + (i % 9000)}]: ` +
    `Accepted publickey for ${user.toLowerCase()} from ${src} port ${20000 + (i % 40000)} ssh2: RSA SHA256:${'q'.repeat(43)} session=${(i * 7919) % 100000}`;
  return {
    id: `evt-${i.toString(16).padStart(12, '0')}`,
    created_timestamp: `2024-05-01T10:00:${String(i % 60).padStart(2, '0')}.123Z`,
    severity: pick(SEVERITIES),
    name: 'Anomalous file activity detected for user',
    app: pick(APPS),
    object_type: pick(['File', 'Folder', 'User', 'Session']),
    activity_type: pick(ACTIVITIES),
    user,
    user_name: `User ${i % 97}`,
    src_ip: src,
    dst_ip: ip(),
    location: { country: pick(['NL', 'US', 'DE', 'JP']), city: pick(['Delft', 'Austin', 'Berlin', 'Osaka']) },
    device: pick(['Windows 11', 'macOS 14', 'iOS 17', 'Android 14']),
    browser: pick(['Chrome 124', 'Firefox 125', 'Safari 17']),
    user_agent: `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.${i % 5000}.0 Safari/537.36`,
    policy_name: `DLP policy ${i % 13} - block external sharing of confidential data`,
    threat_score: Math.floor(rnd() * 100),
    service: 'Detect',
    category: 'Data Loss Prevention',
    action_taken: pick(['quarantine', 'notify', 'block']),
    tenant: 'acme-corp',
    request_id: `${i}-${Math.floor(rnd() * 1e9)}`,
    resource: `/Shared/Finance/Quarterly Reports/Q${(i % 4) + 1}/forecast-${i}.xlsx`,
    message,
  };
}

/** A web gateway hit in the SaaS log-streaming layout (config/queries/ocsf-web-hits.spl reads it), ~800 B. */
export function makeWebHit(i: number, rnd: () => number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const blocked = rnd() < 0.2;
  return {
    visit_id: 30_000_000 + i,
    utc_timestamp: `2024-05-01 10:${String(i % 60).padStart(2, '0')}:07.${String(i % 1_000_000).padStart(6, '0')}`,
    tz_offset: pick([0, -60, 120]),
    netbios_domain: 'CORP',
    samaccountname: `user.${i % 97}`,
    tag: 'HQ-GATEWAY',
    ip_address: `10.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}`,
    mac_address: '00:0C:29:D2:43:DD',
    device_name: `DESKTOP-${(i % 500).toString(16).toUpperCase()}`,
    dst_ip_address: pick(['81.2.69.142', '198.51.100.7', '93.93.131.124', '2001:db8::1']),
    country_code: 'gb',
    http_method: pick(['GET', 'GET', 'POST', 'CONNECT']),
    url_scheme: 'https',
    url_domain: pick(['polling.bbc.co.uk', 'the.earth.li', 'files.example.com', 'login.example.net']),
    url_path: `/path/${i % 1000}/resource-${i}.html`,
    url_query: i % 3 === 0 ? `q=${i}` : '',
    browser: pick(['Firefox 109.0', 'Chrome 124.0']),
    operating_system: pick(['Windows 10', 'macOS 14', 'iOS 17']),
    device_type: pick(['Desktop', 'Laptop', 'Mobile']),
    icap_agent: 'ussgateway',
    filter_rule: blocked ? 'Blocked Sites' : 'Authorised Web Sites',
    final_action: blocked ? 'Block' : 'Allow',
    log_level: pick(['Normal', 'Normal', 'High']),
    web_categories: [pick(['International News', 'Technology - Other', 'File Sharing'])],
    matched_web_categories: [],
    keywords: [],
  };
}

interface Case {
  name: string;
  query: string;
  /** The records it runs over (default: the CloudSOC-like ones). */
  records?: 'web';
}

/**
 * The enrichment the enrich cases read: a 1 280-row CIDR asset table (/16 and /24 networks of 10/8,
 * so most addresses match at one of two lengths) and the small MaxMind-format test databases of
 * test/enrich/fixtures (a real City or ASN database is deeper: its lookups cost more, and the
 * per-address cache hides that only for addresses seen before).
 */
function benchEnrichment(): { options: CompileOptions; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'logstream-query-bench-'));
  const rows = ['network,owner,site,criticality'];
  for (let a = 0; a < 256; a++) rows.push(`10.${a}.0.0/16,team-${a % 17},site-${a % 5},${a % 3 === 0 ? 'high' : 'normal'}`);
  for (let a = 0; a < 256; a++) for (const b of [1, 7, 42, 99]) rows.push(`10.${a}.${b}.0/24,owner-${a}-${b},dc-${b},critical`);
  writeFileSync(join(dir, 'assets.csv'), `${rows.join('\n')}\n`);
  const fixtures = join(import.meta.dirname, '..', 'test', 'enrich', 'fixtures');
  const e = new Enrichment({
    lookups: [{ name: 'assets', file: join(dir, 'assets.csv'), format: 'csv', key: undefined, match: 'cidr' }],
    reloadIntervalMs: 60_000,
    geoipDbFile: join(fixtures, 'city.mmdb'),
    asnDbFile: join(fixtures, 'asn.mmdb'),
  });
  return { options: { lookups: e, geoip: e.geo }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const QUERY_BENCH_CASES: Case[] = [
  { name: 'where in', query: "* | where severity in ('critical','high')" },
  {
    name: 'where + extend lower() + project 6',
    query: "* | where severity in ('critical','high') | extend user = lower(user) | project created_timestamp, severity, app, activity_type, user, src_ip",
  },
  {
    name: 'parse-regexp 200 B',
    query:
      "* | parse-regexp message, '^(\\S+) (\\S+) (\\w+)\\[(\\d+)\\]: (\\w+) (\\w+) for (\\S+) from ([\\d.]+) port (\\d+)' as ts, host, proc, pid, action, method, login, ip, port",
  },
  { name: 'sample 0.1 by user', query: '* | sample 0.1 by user' },
  { name: 'trim-fields 64 + drop empty', query: '* | trim-fields -max-length=64 -drop-empty' },
  { name: 'lookup CIDR (1 280 rows)', query: "* | lookup -prefix='asset_' -default='unknown' assets on src_ip" },
  {
    name: 'lookup + geoip + asn + where',
    query: "* | lookup -prefix='asset_' -default='unknown' assets on src_ip | extend src_geo = geoip(src_ip), dst_country = geoip(dst_ip, 'country_code') | where asset_criticality != 'normal'",
  },
  { name: 'suppress 60 s by user, src_ip', query: '* | suppress -window=60 by user, src_ip' },
  { name: 'web hits: where (plain)', query: "* | where final_action = 'Block'", records: 'web' },
  { name: 'web hits: OCSF 6004 mapping', query: `* ${queryTail('ocsf-web-hits.spl')}`, records: 'web' },
  {
    name: 'web hits: lookup + geoip + OCSF 6004',
    query: `* | lookup -prefix='asset_' -default='unknown' assets on ip_address | extend dst_geo = geoip(dst_ip_address) ${queryTail('ocsf-web-hits.spl')}`,
    records: 'web',
  },
];

function measure(apply: (r: Record<string, unknown>) => unknown, pool: Array<Record<string, unknown>>, minMs: number): QueryBenchRow & { name: string; kept: number } {
  const mask = pool.length - 1;
  let kept = 0;
  const runBatch = (n: number): void => {
    for (let i = 0; i < n; i++) if (apply(pool[i & mask] as Record<string, unknown>) !== null) kept++;
  };
  runBatch(300_000); // warm-up: let V8 optimise the closures
  let batch = 200_000;
  let records = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    runBatch(batch);
    records += batch;
    batch = Math.min(batch * 2, 4_000_000);
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  return { name: '', recordsPerSecPerCore: records / cpuSec, recordsPerSecWall: records / (wallMs / 1000), kept };
}

export async function runQueryBench(options: { minMs?: number } = {}): Promise<QueryBenchRow[]> {
  const rnd = prng(42);
  // Power-of-two pool so the loop indexes with a mask; 4096 distinct records defeat trivial caching.
  const pool = Array.from({ length: 4096 }, (_, i) => makeRecord(i, rnd));
  // Some addresses the test databases know (81.2.69.0/24, 198.51.100.0/24, 2001:db8::/32), as dst_ip.
  pool.forEach((r, i) => {
    if (i % 4 === 1) r['dst_ip'] = `81.2.69.${i % 256}`;
    else if (i % 4 === 2) r['dst_ip'] = `198.51.100.${i % 256}`;
    else if (i % 4 === 3) r['dst_ip'] = `2001:db8::${(i % 65536).toString(16)}`;
  });
  const webPool = Array.from({ length: 4096 }, (_, i) => makeWebHit(i, rnd));
  const enrich = benchEnrichment();
  const rows: QueryBenchRow[] = [];
  for (const c of QUERY_BENCH_CASES) {
    const q = compileQuery(c.query, enrich.options);
    const records = c.records === 'web' ? webPool : pool;
    // Sanity: the query must do real work on this data, or the number means nothing.
    const sample = q.apply(pool[0] as Record<string, unknown>);
    if (c.name.startsWith('parse') && (sample === null || sample.ip === undefined)) throw new Error(`bench query matched nothing: ${c.query}`);
    if (c.name.startsWith('lookup') && !pool.some((p) => q.apply(p)?.['asset_owner'] !== undefined && q.apply(p)?.['asset_owner'] !== 'unknown')) throw new Error(`bench query matched nothing: ${c.query}`);
    if (c.name.includes('OCSF') && !webPool.every((p) => q.apply(p)?.['class_uid'] === 6004)) throw new Error(`bench query did not map every record: ${c.query}`);
    // suppress keeps state per partition: without Kafka metadata every record is one partition's, at the clock's time.
    const r = measure((rec) => q.apply(rec), records, options.minMs ?? 1500);
    rows.push({ name: c.name, recordsPerSecPerCore: r.recordsPerSecPerCore, recordsPerSecWall: r.recordsPerSecWall });
    await new Promise((resolve) => setImmediate(resolve));
  }
  enrich.cleanup();
  return rows;
}

function formatRows(rows: QueryBenchRow[]): string {
  const num = (n: number): string => Math.round(n).toLocaleString('en-US');
  const table = [['query', 'records/s/core (CPU)', 'records/s (wall)'], ...rows.map((r) => [r.name, num(r.recordsPerSecPerCore), num(r.recordsPerSecWall)])];
  const widths = (table[0] as string[]).map((_, i) => Math.max(...table.map((row) => (row[i] as string).length)));
  return table.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ')).join('\n');
}

if (import.meta.main) {
  const rows = await runQueryBench();
  process.stdout.write(`${formatRows(rows)}\n`);
  const sample = makeRecord(1, prng(1));
  process.stdout.write(`record size ≈ ${JSON.stringify(sample).length} bytes, message ${String(sample.message).length} bytes; node ${process.version}\n`);
  for (const c of QUERY_BENCH_CASES) process.stdout.write(`  ${c.name}: ${c.query}\n`);
}
