// Routes in the environment: ROUTES names them, ROUTE_<NAME>_X overrides X for one route, the in-flight
// totals are shared out, and a variable that no route or part reads is an error (ROUTE_…) or a warning.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type AppConfig } from '../../src/app-config.ts';
import { routePrefix, routeView } from '../../src/config/route-env.ts';
import { compileRouteQuery } from '../../src/pipeline/route.ts';
import { QueryError } from '../../src/query/index.ts';
import { problemsOf } from '../support/config-problems.ts';

const base = { KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_TOPICS: 'logs' };
const routed = {
  ...base,
  ROUTES: 'archive,siem',
  SINKS: 'file',
  FILE_PATH: '/tmp/archive.jsonl',
  ROUTE_SIEM_SINKS: 'splunk_hec',
  ROUTE_SIEM_QUERY: "* | where severity in ('high','critical')",
  HEC_URLS: 'https://splunk:8088',
  HEC_TOKEN: 'global-token-0123456789',
};


const route = (cfg: AppConfig, name: string) => {
  const r = cfg.routes.find((x) => x.name === name);
  if (!r) throw new Error(`no route ${name}`);
  return r;
};

describe('routes', () => {
  it('without ROUTES: one route, default, in KAFKA_GROUP_ID, read from the unprefixed variables', () => {
    const cfg = loadConfig({ ...base, SINKS: 'stdout', KAFKA_GROUP_ID: 'shipper', QUERY: '* | where a = 1' });
    expect(cfg.routed).toBe(false);
    expect(cfg.routes.map((r) => [r.name, r.kafka.groupId, r.query, r.sinks.map((s) => s.definition.type)])).toEqual([['default', 'shipper', '* | where a = 1', ['stdout']]]);
    expect(route(cfg, 'default').inflightMaxRecords).toBe(20_000);
  });

  it('each route has its own group <KAFKA_GROUP_ID>.<name>, query and sinks, falling back to the unprefixed variables', () => {
    const cfg = loadConfig({ ...routed, KAFKA_GROUP_ID: 'shipper', ROUTE_ARCHIVE_KAFKA_GROUP_ID: 'archive-group' });
    expect(cfg.routed).toBe(true);
    const archive = route(cfg, 'archive');
    const siem = route(cfg, 'siem');
    expect(archive.kafka.groupId).toBe('archive-group');
    expect(siem.kafka.groupId).toBe('shipper.siem');
    expect(archive.query).toBe('*');
    expect(siem.query).toBe("* | where severity in ('high','critical')");
    expect(archive.sinks.map((s) => s.definition.type)).toEqual(['file']);
    expect(siem.sinks.map((s) => s.definition.type)).toEqual(['splunk_hec']);
    expect(archive.kafka.topics).toEqual(['logs']);
    expect(siem.kafka.brokers).toEqual(['127.0.0.1:9092']);
  });

  it('a route that sets a secret by file replaces the global value instead of clashing with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routes-'));
    writeFileSync(join(dir, 'token'), 'siem-token-from-file-0123\n');
    const cfg = loadConfig({ ...routed, ROUTE_SIEM_HEC_TOKEN_FILE: join(dir, 'token') });
    const hec = route(cfg, 'siem').sinks[0]!.config as { token: { reveal(): string } };
    expect(hec.token.reveal()).toBe('siem-token-from-file-0123');
  });

  it('a per-route variable overrides one route only, and a route may add its own sink of the same type as another route', () => {
    const cfg = loadConfig({ ...routed, ROUTES: 'archive,siem,siem-eu', ROUTE_SIEM_EU_HEC_URLS: 'https://splunk-eu:8088', ROUTE_SIEM_EU_SINKS: 'splunk_hec' });
    const urls = (name: string) => (route(cfg, name).sinks[0]!.config as { urls: URL[] }).urls.map((u) => u.href);
    expect(urls('siem')).toEqual(['https://splunk:8088/']);
    expect(urls('siem-eu')).toEqual(['https://splunk-eu:8088/']);
    expect(route(cfg, 'siem-eu').kafka.groupId).toBe('logstream.siem-eu');
    expect(routePrefix('siem-eu')).toBe('ROUTE_SIEM_EU_');
  });

  it('names the variable the user wrote: ROUTE_X_… when the route set it, X (route x) when inherited', () => {
    expect(problemsOf(() => loadConfig({ ...routed, ROUTE_SIEM_HEC_URLS: 'ftp://nope' }))).toEqual([expect.stringMatching(/^ROUTE_SIEM_HEC_URLS: /)]);
    expect(problemsOf(() => loadConfig({ ...routed, FILE_PATH: '', ROUTE_SIEM_FILE_PATH: '' }))).toEqual(['FILE_PATH (route archive): is required but not set']);
    expect(problemsOf(() => loadConfig({ ...routed, ROUTE_SIEM_INFLIGHT_MAX_RECORDS: 'lots' }))).toEqual([expect.stringMatching(/^ROUTE_SIEM_INFLIGHT_MAX_RECORDS: must be a whole number/)]);
    // a shared variable's problem is reported once, not once per route
    expect(problemsOf(() => loadConfig({ ...routed, KAFKA_BROKERS: 'nohostport' }))).toEqual([expect.stringMatching(/^KAFKA_BROKERS: /)]);
  });

  it('a route without sinks is an error naming it', () => {
    const { SINKS: _, ...noGlobalSinks } = routed;
    expect(problemsOf(() => loadConfig(noGlobalSinks))).toEqual([expect.stringMatching(/^ROUTE_ARCHIVE_SINKS: route archive has no sinks/)]);
  });

  it('a ROUTE_ variable with a typo, for no route, or without ROUTES is an error naming it (never a silent fallback)', () => {
    expect(problemsOf(() => loadConfig({ ...routed, ROUTE_SIEM_QEURY: '* | where x = 1' }))).toEqual([
      'ROUTE_SIEM_QEURY: QEURY is not a per-route variable (route siem); a typo would silently fall back to the global value; did you mean QUERY?',
    ]);
    expect(problemsOf(() => loadConfig({ ...routed, ROUTE_SOC_QUERY: '*' }))).toEqual(['ROUTE_SOC_QUERY: names no route in ROUTES (archive, siem)']);
    expect(problemsOf(() => loadConfig({ ...base, SINKS: 'stdout', ROUTE_SIEM_QUERY: '*' }))).toEqual([expect.stringMatching(/^ROUTE_SIEM_QUERY: ROUTES is not set/)]);
    // brokers and TLS are shared: a route cannot set them
    expect(problemsOf(() => loadConfig({ ...routed, ROUTE_SIEM_KAFKA_BROKERS: 'other:9092' }))).toEqual([expect.stringMatching(/^ROUTE_SIEM_KAFKA_BROKERS: KAFKA_BROKERS is not a per-route variable/)]);
  });

  it('route names are checked and must be unique', () => {
    expect(problemsOf(() => loadConfig({ ...routed, ROUTES: 'archive,SIEM' }))).toEqual([expect.stringMatching(/^ROUTES: route name "SIEM" must be lower-case/)]);
    expect(problemsOf(() => loadConfig({ ...routed, ROUTES: 'archive,siem,archive' }))).toContain('ROUTES: a route is named twice');
  });

  it('other unknown variables with a logstream prefix are warnings; service links and proxies are not', () => {
    const cfg = loadConfig({
      ...base,
      SINKS: 'file',
      FILE_PATH: '/tmp/x',
      FILE_BATCH_MAX_RECORD: '7',
      KAFKA_PORT: 'tcp://10.0.0.7:9092',
      KAFKA_PORT_9092_TCP_ADDR: '10.0.0.7',
      KAFKA_SERVICE_HOST: '10.0.0.7',
      KAFKA_SERVICE_PORT: '9092',
      HTTP_PROXY: 'http://proxy:3128',
      UNRELATED_THING: 'x',
    });
    expect(cfg.warnings).toEqual(['FILE_BATCH_MAX_RECORD: not a logstream variable; it is ignored; did you mean FILE_BATCH_MAX_RECORDS?']);
  });

  it('shares INFLIGHT_MAX_* among the routes; a route that sets its own takes it from the total', () => {
    const even = loadConfig({ ...routed, INFLIGHT_MAX_RECORDS: '9000' });
    expect(even.routes.map((r) => r.inflightMaxRecords)).toEqual([4500, 4500]);
    expect(even.routes.map((r) => r.inflightMaxBytes)).toEqual([32 * 1024 * 1024, 32 * 1024 * 1024]);
    const own = loadConfig({ ...routed, INFLIGHT_MAX_RECORDS: '9000', ROUTE_SIEM_INFLIGHT_MAX_RECORDS: '1000' });
    expect(own.routes.map((r) => [r.name, r.inflightMaxRecords])).toEqual([['archive', 8000], ['siem', 1000]]);
    expect(problemsOf(() => loadConfig({ ...routed, INFLIGHT_MAX_RECORDS: '1000', ROUTE_SIEM_INFLIGHT_MAX_RECORDS: '1000' }))).toEqual([expect.stringMatching(/^INFLIGHT_MAX_RECORDS: the routes' own limits \(1000 in all\) leave nothing .* for route\(s\) archive/)]);
  });

  it('a per-route rate limit', () => {
    const cfg = loadConfig({ ...routed, ROUTE_SIEM_RATE_LIMIT: '2500' });
    expect(cfg.routes.map((r) => r.rateLimit)).toEqual([0, 2500]);
  });

  it('refuses two routes in one group, and a dead-letter topic another route reads', () => {
    expect(problemsOf(() => loadConfig({ ...routed, ROUTE_ARCHIVE_KAFKA_GROUP_ID: 'g', ROUTE_SIEM_KAFKA_GROUP_ID: 'g' }))).toEqual([expect.stringMatching(/^ROUTE_SIEM_KAFKA_GROUP_ID: routes archive and siem are both in group g/)]);
    expect(problemsOf(() => loadConfig({ ...routed, ROUTE_SIEM_KAFKA_TOPICS: 'logs,archive-dlq', ROUTE_ARCHIVE_KAFKA_DLQ_TOPIC: 'archive-dlq' }))).toEqual([expect.stringMatching(/archive-dlq is a topic route siem reads/)]);
  });

  it('KAFKA_START_FROM=group:<id> starts a new route where another group committed', () => {
    const cfg = loadConfig({ ...routed, ROUTE_SIEM_KAFKA_START_FROM: 'group:logstream' });
    expect(route(cfg, 'siem').kafka.startFrom).toEqual({ kind: 'group', groupId: 'logstream' });
    expect(route(cfg, 'archive').kafka.startFrom).toEqual({ kind: 'earliest' });
    expect(problemsOf(() => loadConfig({ ...routed, ROUTE_SIEM_KAFKA_START_FROM: 'group:logstream.siem' }))).toEqual([expect.stringMatching(/^ROUTE_SIEM_KAFKA_START_FROM: group:logstream.siem is this route's own group/)]);
  });

  it('a bad route query names the route, the line and the column', () => {
    const cfg = loadConfig({ ...routed, ROUTE_SIEM_QUERY: "* | where severity in ('high'\n| project a" });
    let err: unknown;
    try {
      compileRouteQuery(route(cfg, 'siem'), cfg.routed);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QueryError);
    expect((err as Error).message).toMatch(/^route siem: query line 2, column \d+/);
  });

  it('routeView moves a variable and its _FILE form together', () => {
    const per = new Set(['HEC_TOKEN', 'HEC_TOKEN_FILE', 'QUERY', 'QUERY_FILE']);
    const { env, origin } = routeView({ HEC_TOKEN: 'g', QUERY_FILE: '/q', ROUTE_A_HEC_TOKEN_FILE: '/t', ROUTE_A_QUERY: '*' }, 'a', per);
    expect(env['HEC_TOKEN']).toBeUndefined();
    expect(env['HEC_TOKEN_FILE']).toBe('/t');
    expect(env['QUERY']).toBe('*');
    expect(env['QUERY_FILE']).toBeUndefined();
    expect([...origin]).toEqual([['HEC_TOKEN_FILE', 'ROUTE_A_HEC_TOKEN_FILE'], ['QUERY', 'ROUTE_A_QUERY']]);
  });
});
