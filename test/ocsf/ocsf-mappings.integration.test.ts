// The OCSF mappings in config/queries/ocsf-*.spl: every record they output is valid OCSF 1.1.0, as the
// published schema says (ocsf-json-schema 1.2.0 on PyPI, checked by jsonschema: scripts/ocsf-validator.ts),
// for the seed's StrongDM records, records missing each optional field, and hostile values. And the
// validator is no rubber stamp: outputs broken on purpose are refused.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileQuery } from '../../src/query/index.ts';
import { OCSF_VERSION, validateOcsf, type OcsfVerdict } from '../../scripts/ocsf-validator.ts';
import { QUERIES_DIR } from '../support/config-examples.ts';
import { SDM_ACTIVITIES, SDM_ALL, SDM_QUERY } from '../support/strongdm-seed.ts';

const MAPPINGS: Record<string, { class: string; classUid: number }> = {
  'ocsf-strongdm-authentication.spl': { class: 'authentication', classUid: 3002 },
  'ocsf-strongdm-api-activity.spl': { class: 'api_activity', classUid: 6003 },
  'ocsf-strongdm-datastore-activity.spl': { class: 'datastore_activity', classUid: 6005 },
  'ocsf-web-hits.spl': { class: 'web_resource_access_activity', classUid: 6004 },
  'ocsf-syslog-cef.spl': { class: 'base_event', classUid: 0 },
};

const SUMMARY = { suppressed_count: 41, suppressed_first_time: '2024-02-01T18:50:05.000Z', suppressed_last_time: '2024-02-01T18:50:59.500Z' };

/** Syslog lines as a non-JSON Kafka value arrives ({"_raw": line}): RFC 5424 and 3164, with and without CEF. */
const SYSLOG_LINES: string[] = [
  '<134>1 2024-02-01T18:50:04.123Z fw01 ids 42 - - CEF:0|Acme|Sentinel\\|IDS|2.1|1001|Port scan|7|src=10.0.0.5 dst=192.0.2.9 suser=bob msg=scan of 22\\=ssh rt=1706813404123 act=blocked',
  '<38>Jun 10 11:32:16 bastion sshd[991]: Failed password for root from 203.0.113.4 port 4711 ssh2',
  'CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232',
  '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry',
  '<13>1 - - - - - - no time, no host',
  '<0>Oct 11 22:14:15 mymachine su: \'su root\' failed for lonvick on /dev/pts/8',
  'CEF:0|Vendor|Prod|1|sig|Very high|Very-High|src=2001:db8::9 dst=999.1.1.1 shost=web-01 dhost=not a host duser=eve rt=Feb 01 2024 18:50:04',
  'CEF:0|V\\\\x|P|1|s|unknown severity|Unknown|',
  'a line that is neither syslog nor CEF',
  `<14>1 2024-02-01T18:50:04Z host app - - - ${'x'.repeat(70_000)}`,
  '<191>1 2024-02-01T18:50:04+02:00 h a p m - "}],\n{"x":"\u0000 hostile',
];

/** The web product's Web Hits in both published layouts (help.clouduss.com's record format page). */
const WEB_HITS: Array<Record<string, unknown>> = [
  {
    visit_id: 30158838, utc_timestamp: '2021-06-17 09:08:37.334087', tz_offset: -60, url_domain: 'the.earth.li', samaccountname: 'james.smith',
    web_categories: '10460', url_categories: null, keyword_categories: null, keywords: ['putty'], final_action: 'Allowed', log_level: 'High',
    device_type: 'Desktop', ip_address: '192.168.5.136', mac_address: '08:71:90:F6:8D:5D', tag: 'Managed', dst_ip_address: '93.93.131.124',
    http_method: 'GET', url_scheme: 'https', url_path: '/~sgtatham/putty/latest/w64/putty-64bit-0.75-installer.msi', url_query: 'dc=8738743',
    icap_agent: 'WindowsPC 4.3.20.5596', feature_control_name: null, filter_rule_name: 'Block Unsafe Files', netbios_domain: 'DESKTOP-1ME50IR',
    browser: 'Chrome 91.0.4472.77', operating_system: 'Windows 10', web_category_names: ['Technology - Other'], url_category_names: [], hostname: false, count: 1288,
  },
  {
    utc_timestamp: '2023-02-15 12:20:24.010832', tz_offset: 0, netbios_domain: 'HQ', samaccountname: 'r.rossiter', tag: 'HQ-GATEWAY',
    ip_address: '10.0.0.195', mac_address: '00:0C:29:D2:43:DD', device_name: 'DESKTOP-I0743DB', dst_ip_address: '72.246.148.115',
    country_code: 'gb', country: 'united kingdom', city: 'slough', latitude: 51.528, longitude: -0.642, http_method: 'GET', url_scheme: 'https',
    url_domain: 'polling.bbc.co.uk', url_path: '/news/breaking-news/audience/domestic', url_query: '', browser: 'Firefox 109.0',
    operating_system: 'Windows 10', device_type: 'Desktop', xhr_flag: 0, icap_agent: 'ussgateway', feature_control: '', filter_rule: 'Authorised Web Sites',
    final_action: 'Allow', log_level: 'Normal', web_categories: ['International News'], url_categories: ['bbc'], matched_web_categories: ['International News'],
    matched_url_categories: [], keyword_categories: ['Keyword Template - URL'], matched_keyword_categories: [], keywords: ['pattern'], matched_keywords: [],
  },
];

/** The seed's records, each without each field in turn, and with hostile text in every text field. */
function corpus(): Array<Record<string, unknown>> {
  const base: Array<Record<string, unknown>> = [
    ...SDM_ALL,
    { ...SDM_ACTIVITIES[0], activity: 'user logged out of the Admin UI' },
    ...['User deleted', 'Role updated', 'Datasource created', 'Access revoked', 'Something else happened'].map((activity) => ({ ...SDM_ACTIVITIES[1], activity })),
    { ...SDM_QUERY, resourceType: 'mongo', durationMs: 'n/a' },
    { ...SDM_QUERY, sourceIp: '2001:db8::7' },
    ...WEB_HITS,
    ...['Block', 'Blocked', 'Denied', 'Warn'].map((final_action) => ({ ...WEB_HITS[1], final_action })),
    ...['Low', 'Medium', 'Critical', 'Debug'].map((log_level) => ({ ...WEB_HITS[0], log_level })),
    ...[['Mobile', 'iOS 17.1'], ['Laptop', 'macOS 14'], ['Server', 'Ubuntu 22.04'], ['Tablet', 'Android 14'], ['Kiosk', 'Plan 9']].map(([device_type, operating_system]) => ({ ...WEB_HITS[1], device_type, operating_system })),
    { ...WEB_HITS[1], ip_address: '2001:db8::5', mac_address: 'not-a-mac' },
    { ...WEB_HITS[1], ip_address: 'unknown', url_path: null, url_scheme: null },
    { ...WEB_HITS[0], ip_address: null, url_domain: 'not a host name', http_method: 'PROPFIND' },
    ...SYSLOG_LINES.map((_raw) => ({ _raw })),
    // suppress -summary's summaries: the first repeat with the three fields it adds.
    ...[SDM_ACTIVITIES[0], WEB_HITS[0], { _raw: SYSLOG_LINES[1] }].map((r) => ({ ...r, ...SUMMARY })),
  ];
  const out = [...base];
  const keep = new Set(['logType', 'activity', 'timestamp', 'utc_timestamp', 'url_domain']);
  for (const r of base) {
    for (const k of Object.keys(r)) if (!keep.has(k)) out.push(Object.fromEntries(Object.entries(r).filter(([key]) => key !== k)));
    out.push(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && !keep.has(k) ? `"}],\n{"x":"\\u0000 ${v}` : v])));
  }
  return out;
}

describe(`OCSF ${OCSF_VERSION} mappings (validated by ocsf-json-schema 1.2.0 + jsonschema)`, () => {
  const outputs = new Map<string, Array<Record<string, unknown>>>();
  let verdicts = new Map<string, OcsfVerdict[]>();

  beforeAll(async () => {
    const records = corpus();
    for (const file of Object.keys(MAPPINGS)) {
      const q = compileQuery(readFileSync(join(QUERIES_DIR, file), 'utf8'));
      outputs.set(file, records.map((r) => q.apply(r)).filter((r): r is Record<string, unknown> => r !== null));
    }
    verdicts = new Map(await Promise.all([...outputs].map(async ([file, recs]) => [file, await validateOcsf(recs)] as const)));
  }, 120_000);

  it('every ocsf-*.spl in config/queries is listed here', () => {
    expect(readdirSync(QUERIES_DIR).filter((f) => f.startsWith('ocsf-')).sort()).toEqual(Object.keys(MAPPINGS).sort());
  });

  it.each(Object.keys(MAPPINGS))('%s: every output is valid OCSF of its class', (file) => {
    const recs = outputs.get(file)!;
    expect(recs.length).toBeGreaterThan(3);
    const v = verdicts.get(file)!;
    const bad = v.flatMap((x, i) => (x.errors.length ? [`${JSON.stringify(recs[i]).slice(0, 300)} → ${x.errors.join('; ')}`] : []));
    expect(bad).toEqual([]);
    expect(new Set(v.map((x) => x.class))).toEqual(new Set([MAPPINGS[file]!.class]));
    for (const r of recs) {
      expect(r.class_uid).toBe(MAPPINGS[file]!.classUid);
      expect(r.type_uid).toBe((r.class_uid as number) * 100 + (r.activity_id as number));
      expect((r.metadata as { version: string }).version).toBe(OCSF_VERSION);
      expect(Number.isInteger(r.time)).toBe(true);
    }
  });

  it('each seed record goes to exactly one mapping (replays to none)', () => {
    const hits = [...SDM_ALL, ...WEB_HITS, { _raw: SYSLOG_LINES[0] }].map((r) => Object.keys(MAPPINGS).filter((f) => compileQuery(readFileSync(join(QUERIES_DIR, f), 'utf8')).apply(r) !== null));
    expect(hits).toEqual([['ocsf-strongdm-authentication.spl'], ['ocsf-strongdm-api-activity.spl'], ['ocsf-strongdm-authentication.spl'], ['ocsf-strongdm-datastore-activity.spl'], [], ['ocsf-web-hits.spl'], ['ocsf-web-hits.spl'], ['ocsf-syslog-cef.spl']]);
  });

  it("a suppress -summary summary keeps its count and period as OCSF's count, start_time and end_time", () => {
    for (const file of ['ocsf-strongdm-authentication.spl', 'ocsf-web-hits.spl', 'ocsf-syslog-cef.spl']) {
      // (the corpus also has each summary without each field, and with hostile text: all valid, above)
      const summaries = outputs.get(file)!.filter((r) => r.count !== undefined);
      expect(summaries.every((r) => r.count === 41), file).toBe(true);
      expect(summaries[0], file).toMatchObject({ count: 41, start_time: Date.UTC(2024, 1, 1, 18, 50, 5), end_time: Date.UTC(2024, 1, 1, 18, 50, 59, 500) });
      expect(outputs.get(file)!.filter((r) => r.count === undefined).length, file).toBeGreaterThan(0);
    }
  });

  it('syslog and CEF: severities, times and products as the two formats say; what is not an address or host name stays out of observables', () => {
    const out = outputs.get('ocsf-syslog-cef.spl')!;
    const of = (needle: string) => out.find((r) => (r.raw_data as string).includes(needle))!;
    expect(of('worm successfully stopped')).toMatchObject({ severity_id: 5, message: 'worm successfully stopped', metadata: { log_name: 'cef', event_code: '100', product: { vendor_name: 'Security', name: 'threatmanager', version: '1.0' } } });
    expect(of('An application event log entry')).toMatchObject({ severity_id: 2, time: Date.UTC(2003, 9, 11, 22, 14, 15, 3), metadata: { product: { vendor_name: 'unknown', name: 'evntslog' } } });
    expect((of('An application event log entry').unmapped as { syslog: Record<string, unknown> }).syslog).toMatchObject({ facility: 20, severity: 5, msgid: 'ID47', structured_data: '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]' });
    expect(of("failed for lonvick")).toMatchObject({ severity_id: 6, severity: 'Fatal', metadata: { product: { name: 'su' } } });
    expect(of('+02:00')).toMatchObject({ severity_id: 1, time: Date.UTC(2024, 1, 1, 16, 50, 4) });
    const odd = of('Very high');
    expect(odd.severity_id).toBe(5);
    expect((odd.observables as Array<{ value: string }>).map((o) => o.value)).toEqual(['2001:db8::9', 'eve', 'web-01']);
    expect(of('unknown severity')).toMatchObject({ severity_id: 0, metadata: { product: { vendor_name: 'V\\x' } } });
    expect((of('x'.repeat(100)).raw_data as string).length).toBe(65_535);
    expect(of('neither syslog nor CEF')).toMatchObject({ message: 'a line that is neither syslog nor CEF', severity_id: 0, metadata: { log_name: 'syslog' } });
  });

  it('web hits: the decision, the severity, the device and OS types, and what is not an address are mapped as the schema says', () => {
    const web = outputs.get('ocsf-web-hits.spl')!;
    const by = (pred: (r: Record<string, unknown>) => boolean) => web.filter(pred);
    expect(new Set(by((r) => r.activity_id === 2).map((r) => (r.status_detail as string).split(' ')[0]))).toEqual(new Set(['Block', 'Blocked', 'Denied']));
    expect(new Set(web.map((r) => r.severity_id))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    const os = new Set(web.map((r) => JSON.stringify([(r.device as { type_id: number }).type_id, (r.device as { os?: { type_id: number } }).os?.type_id])));
    for (const pair of [[5, 301], [3, 300], [1, 200], [4, 201], [0, 0], [2, 100]]) expect(os.has(JSON.stringify(pair)), String(pair)).toBe(true);
    const v6 = web.find((r) => (r.src_endpoint as { ip?: string }).ip === '2001:db8::5')!;
    expect((v6.src_endpoint as { mac?: string }).mac).toBeUndefined();
    expect(v6.unmapped).toMatchObject({ mac_address: 'not-a-mac' });
    const noIp = web.find((r) => (r.unmapped as { ip_address?: string }).ip_address === 'unknown')!;
    expect(noIp.src_endpoint).toEqual({ mac: '00:0C:29:D2:43:DD', hostname: 'DESKTOP-I0743DB' });
    expect((noIp.http_request as { url: { url_string: string } }).url.url_string).toBe('http://polling.bbc.co.uk');
    const odd = web.find((r) => (r.unmapped as { http_method?: string }).http_method === 'PROPFIND')!;
    expect(odd.src_endpoint).toEqual({ mac: '08:71:90:F6:8D:5D', name: 'unknown' });
    expect((odd.http_request as { url: Record<string, unknown> }).url.hostname).toBeUndefined();
    expect((odd.observables as Array<{ type: string }>).map((o) => o.type)).toEqual(['User Name', 'MAC Address', 'URL String']);
  });

  it('the validator refuses what is not OCSF: a missing required attribute, a wrong type, an unknown attribute or class', async () => {
    const good = outputs.get('ocsf-strongdm-authentication.spl')![0]!;
    const { time: _t, ...noTime } = good;
    const broken = [noTime, { ...good, activity_id: 'Logon' }, { ...good, colour: 'red' }, { ...good, class_uid: 9999 }, { ...good, user: {} }];
    const v = await validateOcsf(broken);
    expect(v.map((x) => x.errors.length > 0)).toEqual([true, true, true, true, true]);
    expect(v[0]!.errors.join()).toMatch(/'time' is a required property/);
    expect(v[2]!.errors.join()).toMatch(/'colour' was unexpected/);
  });
});
