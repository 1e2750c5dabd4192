// Routes benchmark: what each additional route costs ("what the second read costs"). One local
// broker, one 4-partition topic of N ~1 KiB JSON security records (bench/lib/records.ts, the same
// data as the throughput bench), read end to end by
//   kcat -C (librdkafka, values to /dev/null): the reference, one read of the topic;
//   logstream without ROUTES (one file sink, the default route): the baseline the throughput bench
//     measures as "logstream file", to show what ROUTES=a itself changes;
//   logstream ROUTES=a, ROUTES=a,b and ROUTES=a,b,c: every route a file sink of its own
//     (ROUTE_<NAME>_FILE_PATH; SINKS=file and FILE_MAX_BYTES=0 shared through the unprefixed
//     variables), every route with query `*`; each route is its own consumer group
//     (<KAFKA_GROUP_ID>.<name>) and reads the whole topic itself;
//   logstream ROUTES=archive,siem: archive `*` to one file, siem with
//     ROUTE_SIEM_QUERY="* | where severity in ('high','critical')" (drops ~half) to another: the
//     archive + filtered SIEM shape;
//   logstream ROUTES=archive,siem with siem's Splunk HEC down: archive `*` to its file, siem `*` to
//     HEC at 127.0.0.1:<a free port nothing listens on> (connection refused: retriable, retried
//     forever; ROUTE_SIEM_HEC_HEALTH_CHECK=false so the sink starts without I/O): route isolation at
//     full speed. The row is done when archive's group has committed the whole topic; siem's group
//     must have committed nothing, and siem must hold records in flight (its share of
//     INFLIGHT_MAX_RECORDS at most, sampled from /metrics every second and at done). Its wall and
//     MB/s are set against ROUTES=a's: what a stuck route costs the healthy one. Its SIGTERM → exit
//     takes DRAIN_TIMEOUT (default 20 s): the stop waits that long for siem's held records.
// Every logstream run is one daemon (`node src/main.ts run`, LOG_LEVEL=warn, KAFKA_COMMIT_INTERVAL=1s
// as in bench/lib/logstream.ts, every in-flight limit at its default: INFLIGHT_MAX_RECORDS /
// INFLIGHT_MAX_BYTES are the instance's totals, shared equally among the routes; the shares in effect
// are read with loadConfig() from the daemon's own environment and printed). Measured from spawn until
// the committed offsets of EVERY route's group cover the topic (offsets are committed only after
// delivery; the HEC-down row: every route but siem's): wall time, CPU seconds (user+sys) and peak RSS
// (VmHWM) of the daemon, read at that moment from /proc before SIGTERM; also the RSS at that moment
// (VmRSS) and when each route's group was done. Then SIGTERM, a clean exit (code 0) is required, and
// every route's output file is checked in full (the HEC-down route writes none): `*` routes must hold
// every recordNumber in [0, N) exactly once (N lines); the filtered route exactly the high/critical
// records, each once (lines = the topic's high/critical count, no other severity, no recordNumber
// twice); lines are spot-checked as JSON (the first 1000 and every 1000th).
// Lost or duplicated records, a bad exit or a stall are problems (the entry exits non-zero), never
// hidden; nothing is asserted on time.
// Derived: MB of input per CPU-second (MB = 10^6 bytes of record values: the topic, read once per
// route, counted once), and for each multi-route row (but the HEC-down one, whose second route reads
// only its in-flight share) its marginal cost against the 1-route row:
// (CPU s − CPU s of ROUTES=a) / extra routes, per 100 MB of input, and the same for peak RSS; set
// beside what one kcat read of the same topic costs.
//
// Alone: node bench/routes.bench.ts   (env BENCH_ROUTES_RECORDS, else BENCH_RECORDS (default
//        1 000 000); BENCH_RECORD_BYTES (default 1024)); writes bench/results/routes.json (npm run
//        bench puts the same result under `routes` in bench/results/latest.json).
// Disk: the topic (N × 1 KiB) in the broker's data dir plus up to 3 output files of the same size at
// once in os.tmpdir() (each row's files are removed after its check): ~4 GB at the default N.
// Needs (Debian): apt-get install kcat python3; Java 17+ and Maven for the broker (scripts/kafka-broker.ts).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, type Broker } from '../scripts/kafka-broker.ts';
import { loadConfig } from '../src/app-config.ts';
import { routePrefix } from '../src/config/route-env.ts';
import { BenchKafka, formatTopicLine, type ProduceFigures } from './lib/bench-kafka.ts';
import type { BenchAdmin } from './lib/kafka.ts';
import { kcatConsumeAll, requireKcat } from './lib/kcat.ts';
import { REPO_ROOT, scrapeMetricsText, slug, startLogstreamDaemon, warnLines, type LogstreamDaemon } from './lib/logstream.ts';
import { machineInfo, readPeakRssBytes, readProcessCpu, readRssBytes } from './lib/proc.ts';
import type { GeneratedFile } from './lib/records.ts';
import { fmt, formatTable } from './lib/table.ts';
import { benchOptionsFromEnv, SEVERITY_QUERY } from './throughput.bench.ts';

const TOPIC = 'bench-routes';
const PARTITIONS = 4;
const MB = 1e6;
const MiB = 2 ** 20;
const POLL_MS = 200;
const STALL_MS = 120_000;
const SAMPLE_EVERY = 1000;
/** How often the HEC-down row samples the down route's in-flight gauge from /metrics (one scrape a second is noise next to the daemon's work). */
const INFLIGHT_SAMPLE_MS = 1000;

export interface RoutesOptions {
  records: number;
  recordBytes: number;
  /** Broker JVM heap, default 2048 MB (as the throughput bench). */
  heapMb?: number;
  log?: (line: string) => void;
}

/** One route of a case: its name and query (`*` when undefined). */
interface RouteSpec {
  name: string;
  query?: string;
  /** Splunk HEC at a port nothing listens on instead of a file: it delivers nothing, so it must commit nothing. */
  hecDown?: boolean;
}

interface RoutesCase {
  name: string;
  /** undefined: no ROUTES at all (the default route, today's variables). */
  routes: RouteSpec[] | undefined;
}

/** What one route's output file held. */
export interface RouteOutputCheck {
  route: string;
  query: string;
  /** Consumer group of the route. */
  group: string;
  expected: number;
  lines: number;
  /** Distinct recordNumbers seen. */
  unique: number;
  duplicates: number;
  /** `*` routes: recordNumbers in [0, N) never seen; filtered: expected − unique when positive. */
  missing: number;
  /** Lines without a recordNumber in [0, N). */
  unknown: number;
  /** Filtered route: lines whose severity is not high/critical. */
  wrongSeverity: number;
  /** Spot-checked lines that are not JSON objects. */
  notJson: number;
  /** Spawn → this route's group's committed offsets covered the topic. */
  doneS: number | undefined;
  /** From /metrics at done: logstream_sink_sent_events_total and _query_filtered_events_total of this route. */
  sentEvents: number | undefined;
  filteredEvents: number | undefined;
  /** loadConfig() on the daemon's environment: this route's share of the in-flight limits. */
  inflightMaxRecords: number;
  inflightMaxBytes: number;
  /** The route whose HEC is down (it has no output file; the fields above stay 0). */
  down?: DownRouteCheck;
  problems: string[];
}

/** What a route whose Splunk HEC is down did while the others shipped the topic. */
export interface DownRouteCheck {
  /** HEC_URLS of the route: a port nothing listens on. */
  url: string;
  /** At done: a connection to that port was refused (nothing had started listening there). */
  refusedAtDone: boolean;
  /** The most its group had committed over the run (summed over partitions): must be 0. */
  committed: number;
  /** logstream_inflight_records of the route at done, and the most seen (sampled every second and at done). */
  inflightAtDone: number | undefined;
  inflightMaxSeen: number | undefined;
  /** logstream_sink_errors_total of the route at done: failed send attempts (it kept trying), by code. */
  sinkErrors: number | undefined;
  errorCodes: string[];
}

export interface RoutesRow {
  name: string;
  /** Routes in the daemon (1 for the run without ROUTES). */
  routes: number;
  routed: boolean;
  /** Routes whose query drops records. */
  filteredRoutes: number;
  /** Routes whose HEC is down: they commit nothing, and the row is done when the others are. */
  downRoutes: number;
  wallS: number;
  /** MB of input (the topic, once) per wall second. */
  mbPerSec: number;
  recordsPerSec: number;
  /** kcat wall / this wall. */
  ratioToKcat: number;
  cpuS: number;
  userS: number;
  sysS: number;
  cpuSPer100MB: number;
  /** MB of input per CPU-second. */
  mbPerCpuS: number;
  peakRssMb: number;
  /** VmRSS at done. */
  rssAtDoneMb: number;
  /** Spawn → first byte in any output file. */
  startupS: number | undefined;
  exitAfterSigtermS: number | undefined;
  exitCode: number | null;
  /** The instance's in-flight totals in effect (loadConfig()). */
  inflightTotal: { records: number; bytes: number } | undefined;
  outputs: RouteOutputCheck[];
  warnings: string[];
  warningCount: number;
  problems: string[];
}

/** A multi-route row against the 1-route row (ROUTES=a). */
export interface MarginalRow {
  name: string;
  extraRoutes: number;
  /** (CPU s − CPU s of ROUTES=a) / extraRoutes. */
  cpuSPerExtraRoute: number;
  cpuSPer100MBPerExtraRoute: number;
  /** cpuSPer100MBPerExtraRoute / kcat's CPU s per 100 MB (one kcat read = 1). */
  perExtraRouteInKcatReads: number;
  /** (peak RSS − peak RSS of ROUTES=a) / extraRoutes. */
  peakRssMbPerExtraRoute: number;
  wallSPerExtraRoute: number;
}

export interface RoutesResult {
  kafkaVersion: string;
  topic: { name: string; partitions: number; records: number; recordBytes: number; valueBytes: number; highOrCritical: number };
  generateS: number;
  produce: ProduceFigures;
  kcat: { wallS: number; mbPerSec: number; recordsPerSec: number; cpuS: number; userS: number; sysS: number; cpuSPer100MB: number; mbPerCpuS: number; peakRssMb: number };
  /** The 1-route row the marginal costs are taken against. */
  baseline: string;
  rows: RoutesRow[];
  marginal: MarginalRow[];
  /** Peak RSS under the default in-flight limits at 1 and 3 routes (`*`, file sinks). */
  memory: { oneRoutePeakRssMb: number | undefined; threeRoutesPeakRssMb: number | undefined; inflightDefaults: { records: number; bytes: number } | undefined };
  /** The HEC-down row against the 1-route row: the healthy route's wall and MB/s, and its throughput in % of one route's. */
  isolation: { name: string; baseline: string; wallS: number; mbPerSec: number; baselineWallS: number; baselineMbPerSec: number; throughputPct: number } | undefined;
  notes: string[];
  problems: string[];
}

const CASE_NO_ROUTES = 'no ROUTES (default route, file)';
const CASE_1 = '1 route (file)';
const CASE_2 = '2 routes (file + file)';
const CASE_3 = '3 routes (file ×3)';
const CASE_2F = '2 routes (archive file + SIEM file, where ~half)';
const CASE_DOWN = 'archive (file) + siem (HEC down)';

export const ROUTES_CASES: readonly RoutesCase[] = [
  { name: CASE_NO_ROUTES, routes: undefined },
  { name: CASE_1, routes: [{ name: 'a' }] },
  { name: CASE_2, routes: [{ name: 'a' }, { name: 'b' }] },
  { name: CASE_3, routes: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] },
  { name: CASE_2F, routes: [{ name: 'archive' }, { name: 'siem', query: SEVERITY_QUERY }] },
  { name: CASE_DOWN, routes: [{ name: 'archive' }, { name: 'siem', hecDown: true }] },
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The file route `route` of run `name` writes. */
function routeFile(workDir: string, name: string, route: string): string {
  return join(workDir, `${slug(name)}.${route}.jsonl`);
}

/**
 * Reads a route's whole output file (exported for a check of the checker): every line's recordNumber (and severity), so a lost or doubled
 * record is found; spot-checks lines as JSON. Fast string searches: the records are JSON.stringify
 * output (bench/lib/records.ts) and the file sink writes them back the same way.
 */
export async function checkOutput(file: string, records: number, filtered: boolean): Promise<Pick<RouteOutputCheck, 'lines' | 'unique' | 'duplicates' | 'unknown' | 'wrongSeverity' | 'notJson'> & { firstBad?: string }> {
  const seen = new Uint8Array(records);
  let lines = 0;
  let unique = 0;
  let duplicates = 0;
  let unknown = 0;
  let wrongSeverity = 0;
  let notJson = 0;
  let firstBad: string | undefined;
  const bad = (what: string, line: string): void => {
    firstBad ??= `line ${lines}: ${what}: ${line.slice(0, 200)}`;
  };
  const idKey = '"recordNumber":';
  const sevKey = '"severity":"';
  if (existsSync(file)) {
    const rl = createInterface({ input: createReadStream(file, { highWaterMark: 4 * MiB }), crlfDelay: Infinity });
    for await (const line of rl) {
      lines++;
      if (lines <= 1000 || lines % SAMPLE_EVERY === 0) {
        let ok = false;
        try {
          const v = JSON.parse(line) as unknown;
          ok = typeof v === 'object' && v !== null && !Array.isArray(v);
        } catch {
          ok = false;
        }
        if (!ok) {
          notJson++;
          bad('not a JSON object', line);
        }
      }
      const at = line.indexOf(idKey);
      const n = at === -1 ? Number.NaN : Number.parseInt(line.slice(at + idKey.length, at + idKey.length + 12), 10);
      if (!Number.isInteger(n) || n < 0 || n >= records) {
        unknown++;
        bad('no recordNumber in range', line);
      } else if (seen[n]) {
        duplicates++;
      } else {
        seen[n] = 1;
        unique++;
      }
      if (filtered) {
        const s = line.indexOf(sevKey);
        const sev = s === -1 ? '' : line.slice(s + sevKey.length, line.indexOf('"', s + sevKey.length));
        if (sev !== 'high' && sev !== 'critical') {
          wrongSeverity++;
          bad(`severity ${JSON.stringify(sev)} although the query keeps only high/critical`, line);
        }
      }
    }
  }
  return { lines, unique, duplicates, unknown, wrongSeverity, notJson, ...(firstBad ? { firstBad } : {}) };
}

/** Whether a TCP connection to 127.0.0.1:`port` is refused: nothing listens there. */
function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (refused: boolean): void => {
      sock.destroy();
      resolve(refused);
    };
    sock.setTimeout(2000, () => done(false));
    sock.once('connect', () => done(false));
    sock.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}

/** The `code` labels of counter `name` for `route` with a non-zero value, from a Prometheus text exposition. */
function codesOfRoute(text: string, name: string, route: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[^{]+\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m || Number(m[2]) === 0 || /(?:^|,)route="([^"]*)"/.exec(m[1]!)?.[1] !== route) continue;
    const code = /(?:^|,)code="([^"]*)"/.exec(m[1]!)?.[1];
    if (code) out.add(code);
  }
  return [...out].sort();
}

/** Sum of counter `name` by its `route` label, from a Prometheus text exposition. */
function countersByRoute(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const route = /(?:^|,)route="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? '';
    out.set(route, (out.get(route) ?? 0) + Number(m[2]));
  }
  return out;
}

interface RowCtx {
  broker: Broker;
  admin: BenchAdmin;
  workDir: string;
  topic: GeneratedFile;
  kcatWallS: number;
  log: (line: string) => void;
}

/** One daemon with the case's routes, measured until every route's group has committed the whole topic. */
async function routesRow(c: RoutesCase, ctx: RowCtx): Promise<RoutesRow> {
  const { topic } = ctx;
  const problems: string[] = [];
  const routed = c.routes !== undefined;
  const specs: RouteSpec[] = c.routes ?? [{ name: 'default' }];
  const down = new Set(specs.filter((r) => r.hecDown).map((r) => r.name));
  const baseGroup = `logstream-bench-routes-${slug(c.name)}-${Date.now()}`;
  const files = new Map(specs.filter((r) => !r.hecDown).map((r) => [r.name, routed ? routeFile(ctx.workDir, c.name, r.name) : join(ctx.workDir, `${slug(c.name)}.jsonl`)]));
  // A port nothing listens on: freePort() closed the listener it took the number from, and nothing in
  // this run listens there again (checked at done: a connection must still be refused).
  const downPort = down.size > 0 ? await freePort() : undefined;
  const downUrl = downPort !== undefined ? `http://127.0.0.1:${downPort}` : undefined;
  // Shared: SINKS=file, FILE_MAX_BYTES=0 (bench/lib/logstream.ts); per route: its file and query.
  const env: Record<string, string | undefined> = {};
  if (routed) {
    env['ROUTES'] = specs.map((r) => r.name).join(',');
    env['FILE_PATH'] = undefined; // every route names its own file; none may fall back to a shared one
    for (const r of specs) {
      const p = routePrefix(r.name);
      if (r.hecDown) {
        // Every send is refused (ECONNREFUSED: retriable, retried forever), so the route reads its
        // in-flight share and holds it; without the health check the sink starts without I/O.
        env[`${p}SINKS`] = 'splunk_hec';
        env[`${p}HEC_URLS`] = downUrl;
        env[`${p}HEC_TOKEN`] = 'bench-routes-nothing-listens';
        env[`${p}HEC_HEALTH_CHECK`] = 'false';
      } else env[`${p}FILE_PATH`] = files.get(r.name)!;
      if (r.query !== undefined) env[`${p}QUERY`] = r.query;
    }
  } else if (specs[0]!.query !== undefined) env['QUERY'] = specs[0]!.query;
  const groups = new Map(specs.map((r) => [r.name, routed ? `${baseGroup}.${r.name}` : baseGroup]));
  /** The groups that must commit the whole topic (a down route's must commit nothing). */
  const upGroups = groups.size - down.size;

  let inflightTotal: RoutesRow['inflightTotal'];
  const shares = new Map<string, { records: number; bytes: number }>();
  const daemon: LogstreamDaemon = await startLogstreamDaemon({ name: c.name, bootstrap: ctx.broker.bootstrap, topic: TOPIC, workDir: ctx.workDir, sink: { kind: 'file' }, env, groupId: baseGroup });
  if (!routed) {
    // The daemon's own FILE_PATH (bench/lib/logstream.ts names it after the run).
    files.set('default', daemon.outFile);
  }
  try {
    const cfg = loadConfig(daemon.env);
    inflightTotal = { records: cfg.inflightMaxRecords, bytes: cfg.inflightMaxBytes };
    for (const r of cfg.routes) {
      shares.set(r.name, { records: r.inflightMaxRecords, bytes: r.inflightMaxBytes });
      if (r.kafka.groupId !== groups.get(r.name)) problems.push(`route ${r.name}: group ${r.kafka.groupId}, expected ${groups.get(r.name)}`);
    }
  } catch (err) {
    problems.push(`loadConfig() on the daemon's environment failed: ${(err as Error)?.message ?? String(err)}`);
  }

  const t0 = daemon.spawnedAt;
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const doneAt = new Map<string, number>();
  let startupS: number | undefined;
  let doneS: number | undefined;
  let cpu = { userS: Number.NaN, sysS: Number.NaN };
  let peakRss = Number.NaN;
  let rssAtDone = Number.NaN;
  let metricsText: string | undefined;
  let lastTotal = -1;
  let lastProgressS = 0;
  // Down routes: the most their group committed, and the most they held in flight (from /metrics).
  const downCommitted = new Map([...down].map((r) => [r, 0]));
  const inflightMax = new Map<string, number>();
  const sampleInflight = (text: string | undefined): void => {
    if (text === undefined) return;
    for (const [route, n] of countersByRoute(text, 'logstream_inflight_records')) if (down.has(route)) inflightMax.set(route, Math.max(inflightMax.get(route) ?? 0, n));
  };
  let lastSampleS = 0;
  for (;;) {
    if (daemon.exitCode !== undefined) {
      problems.push(daemon.spawnError ?? `logstream exited early (code ${daemon.exitCode}) after ${elapsed().toFixed(1)} s; see its log`);
      break;
    }
    if (startupS === undefined && [...files.values()].some((f) => existsSync(f) && statSync(f).size > 0)) startupS = elapsed();
    let total = 0;
    for (const [route, group] of groups) {
      const committed = await ctx.admin.committedSum(group, TOPIC).catch(() => 0);
      if (down.has(route)) {
        downCommitted.set(route, Math.max(downCommitted.get(route)!, committed));
        continue;
      }
      total += Math.min(committed, topic.records);
      if (committed >= topic.records && !doneAt.has(route)) doneAt.set(route, elapsed());
    }
    const now = elapsed();
    if (doneAt.size === upGroups && daemon.exitCode === undefined) {
      doneS = now;
      cpu = readProcessCpu(daemon.pid);
      peakRss = readPeakRssBytes(daemon.pid);
      rssAtDone = readRssBytes(daemon.pid);
      metricsText = await scrapeMetricsText(daemon.httpPort);
      sampleInflight(metricsText);
      break;
    }
    if (down.size > 0 && now - lastSampleS >= INFLIGHT_SAMPLE_MS / 1000) {
      lastSampleS = now;
      sampleInflight(await scrapeMetricsText(daemon.httpPort));
    }
    if (total !== lastTotal) {
      lastTotal = total;
      lastProgressS = now;
    } else if (now - lastProgressS > STALL_MS / 1000) {
      problems.push(`no commit progress for ${STALL_MS / 1000} s (committed ${[...groups].map(([r, g]) => `${r}: ${g}`).join(', ')}; ${total} of ${topic.records * upGroups} in all)`);
      break;
    }
    await sleep(POLL_MS);
  }
  // Before SIGTERM, so a listener the daemon had opened on the port would still be there.
  const refusedAtDone = downPort !== undefined && (await connectionRefused(downPort));
  const stop = await daemon.stop();
  if (stop.killed) problems.push('logstream did not exit within 30 s of SIGTERM; killed');
  if (daemon.exitCode !== 0) problems.push(`logstream exit code ${daemon.exitCode ?? null} (expected 0 after SIGTERM)`);

  const sent = metricsText ? countersByRoute(metricsText, 'logstream_sink_sent_events_total') : undefined;
  const filteredCounts = metricsText ? countersByRoute(metricsText, 'logstream_query_filtered_events_total') : undefined;
  const inflightAtDone = metricsText ? countersByRoute(metricsText, 'logstream_inflight_records') : undefined;
  const sinkErrors = metricsText ? countersByRoute(metricsText, 'logstream_sink_errors_total') : undefined;
  const outputs: RouteOutputCheck[] = [];
  for (const r of specs) {
    if (r.hecDown) {
      // No output to read: what counts is that it committed nothing and held no more than its share.
      const share = shares.get(r.name);
      const d: DownRouteCheck = {
        url: downUrl!,
        refusedAtDone,
        committed: downCommitted.get(r.name) ?? 0,
        inflightAtDone: inflightAtDone?.get(r.name),
        inflightMaxSeen: inflightMax.get(r.name),
        sinkErrors: sinkErrors?.get(r.name),
        errorCodes: metricsText ? codesOfRoute(metricsText, 'logstream_sink_errors_total', r.name) : [],
      };
      const own: string[] = [];
      if (d.committed > 0) own.push(`its group committed ${d.committed} records although its HEC was down (nothing can have been delivered)`);
      if (!d.refusedAtDone) own.push(`a connection to ${d.url} was not refused at done: something listens there`);
      if (d.inflightAtDone === undefined) own.push('no logstream_inflight_records at done (/metrics did not answer)');
      else if (d.inflightAtDone === 0) own.push('held nothing in flight at done: it never read, so the row does not show a stuck route');
      if (share && (d.inflightMaxSeen ?? 0) > share.records) own.push(`held ${d.inflightMaxSeen} records in flight, more than its share of INFLIGHT_MAX_RECORDS (${share.records})`);
      if (metricsText && !d.sinkErrors) own.push('no failed send attempt in logstream_sink_errors_total: its sink never tried');
      outputs.push({
        route: r.name,
        query: r.query ?? '*',
        group: groups.get(r.name)!,
        expected: 0,
        lines: 0,
        unique: 0,
        duplicates: 0,
        missing: 0,
        unknown: 0,
        wrongSeverity: 0,
        notJson: 0,
        doneS: undefined,
        sentEvents: sent ? (sent.get(r.name) ?? 0) : undefined,
        filteredEvents: filteredCounts ? (filteredCounts.get(r.name) ?? 0) : undefined,
        inflightMaxRecords: share?.records ?? Number.NaN,
        inflightMaxBytes: share?.bytes ?? Number.NaN,
        down: d,
        problems: own,
      });
      problems.push(...own.map((p) => `route ${r.name}: ${p}`));
      continue;
    }
    const filtered = r.query !== undefined;
    const expected = filtered ? topic.highOrCritical : topic.records;
    const file = files.get(r.name)!;
    ctx.log(`  checking route ${r.name}'s output (${existsSync(file) ? fmt(statSync(file).size / MB, 0) : 0} MB) ...`);
    const chk = await checkOutput(file, topic.records, filtered);
    const own: string[] = [];
    const missing = filtered ? Math.max(0, expected - chk.unique) : topic.records - chk.unique;
    if (chk.lines !== expected) own.push(`output file has ${chk.lines} lines, expected ${expected} (${chk.lines < expected ? 'records LOST' : 'duplicates'})`);
    if (missing > 0) own.push(`${missing} of the expected records are in no line (records LOST)`);
    if (chk.duplicates > 0) own.push(`${chk.duplicates} records written more than once`);
    if (chk.unknown > 0) own.push(`${chk.unknown} lines without a recordNumber in [0, ${topic.records})`);
    if (chk.wrongSeverity > 0) own.push(`${chk.wrongSeverity} lines the query should have dropped`);
    if (chk.notJson > 0) own.push(`${chk.notJson} spot-checked lines are not JSON objects`);
    if (chk.firstBad) own.push(`first bad ${chk.firstBad}`);
    if (!doneAt.has(r.name)) own.push('its group never committed the whole topic');
    const label = routed ? r.name : '';
    const share = shares.get(r.name);
    outputs.push({
      route: r.name,
      query: r.query ?? '*',
      group: groups.get(r.name)!,
      expected,
      lines: chk.lines,
      unique: chk.unique,
      duplicates: chk.duplicates,
      missing,
      unknown: chk.unknown,
      wrongSeverity: chk.wrongSeverity,
      notJson: chk.notJson,
      doneS: doneAt.get(r.name),
      sentEvents: sent ? (sent.get(label) ?? sent.get(r.name) ?? 0) : undefined,
      filteredEvents: filteredCounts ? (filteredCounts.get(label) ?? filteredCounts.get(r.name) ?? 0) : undefined,
      inflightMaxRecords: share?.records ?? Number.NaN,
      inflightMaxBytes: share?.bytes ?? Number.NaN,
      problems: own,
    });
    problems.push(...own.map((p) => (routed ? `route ${r.name}: ${p}` : p)));
    await rm(file, { force: true });
  }
  const w = await warnLines(daemon.logFile);

  const mb = topic.valueBytes / MB;
  const wallS = doneS ?? Number.NaN;
  const cpuS = cpu.userS + cpu.sysS;
  return {
    name: c.name,
    routes: specs.length,
    routed,
    filteredRoutes: specs.filter((r) => r.query !== undefined).length,
    downRoutes: down.size,
    wallS,
    mbPerSec: mb / wallS,
    recordsPerSec: topic.records / wallS,
    ratioToKcat: ctx.kcatWallS / wallS,
    cpuS,
    userS: cpu.userS,
    sysS: cpu.sysS,
    cpuSPer100MB: cpuS / (mb / 100),
    mbPerCpuS: mb / cpuS,
    peakRssMb: peakRss / MB,
    rssAtDoneMb: rssAtDone / MB,
    startupS,
    exitAfterSigtermS: stop.afterS,
    exitCode: daemon.exitCode ?? null,
    inflightTotal,
    outputs,
    warnings: w.lines,
    warningCount: w.count,
    problems: problems.map((p) => `${c.name}: ${p}`),
  };
}

/** The marginal cost of each extra route: every multi-route row against the 1-route row. */
export function marginalRows(rows: readonly RoutesRow[], base: RoutesRow | undefined, kcatCpuSPer100MB: number, valueBytes: number): MarginalRow[] {
  if (!base) return [];
  const per100 = valueBytes / MB / 100;
  return rows
    // Not a row with a down route: that route reads only its in-flight share, not the topic.
    .filter((r) => r.routed && r.routes > base.routes && r.downRoutes === 0)
    .map((r) => {
      const extra = r.routes - base.routes;
      const cpu = (r.cpuS - base.cpuS) / extra;
      return {
        name: r.name,
        extraRoutes: extra,
        cpuSPerExtraRoute: cpu,
        cpuSPer100MBPerExtraRoute: cpu / per100,
        perExtraRouteInKcatReads: cpu / per100 / kcatCpuSPer100MB,
        peakRssMbPerExtraRoute: (r.peakRssMb - base.peakRssMb) / extra,
        wallSPerExtraRoute: (r.wallS - base.wallS) / extra,
      };
    });
}

/** A row that could not be measured, with the reason as its problem. */
function failedRow(c: RoutesCase, msg: string): RoutesRow {
  const n = c.routes?.length ?? 1;
  return {
    name: c.name,
    routes: n,
    routed: c.routes !== undefined,
    filteredRoutes: (c.routes ?? []).filter((r) => r.query !== undefined).length,
    downRoutes: (c.routes ?? []).filter((r) => r.hecDown).length,
    wallS: Number.NaN,
    mbPerSec: Number.NaN,
    recordsPerSec: Number.NaN,
    ratioToKcat: Number.NaN,
    cpuS: Number.NaN,
    userS: Number.NaN,
    sysS: Number.NaN,
    cpuSPer100MB: Number.NaN,
    mbPerCpuS: Number.NaN,
    peakRssMb: Number.NaN,
    rssAtDoneMb: Number.NaN,
    startupS: undefined,
    exitAfterSigtermS: undefined,
    exitCode: null,
    inflightTotal: undefined,
    outputs: [],
    warnings: [],
    warningCount: 0,
    problems: [`${c.name}: did not run: ${msg}`],
  };
}

export async function runRoutesBench(opts: RoutesOptions): Promise<RoutesResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[routes] ${l}\n`));
  requireKcat();
  const notes: string[] = [];
  const workDir = await mkdtemp(join(tmpdir(), 'logstream-bench-routes-'));
  const kafka = new BenchKafka(log);
  try {
    const { broker, admin, topic, generateS, produce } = await kafka.startWithRecords({ topic: TOPIC, partitions: PARTITIONS, records: opts.records, recordBytes: opts.recordBytes, heapMb: opts.heapMb, workDir });
    const mb = topic.valueBytes / MB;

    log('kcat -C (reference) ...');
    const k = await kcatConsumeAll(broker.bootstrap, TOPIC);
    const kcpu = k.userS + k.sysS;
    const kcat = { wallS: k.wallS, mbPerSec: mb / k.wallS, recordsPerSec: topic.records / k.wallS, cpuS: kcpu, userS: k.userS, sysS: k.sysS, cpuSPer100MB: kcpu / (mb / 100), mbPerCpuS: mb / kcpu, peakRssMb: k.peakRssBytes / MB };

    const ctx: RowCtx = { broker, admin, workDir, topic, kcatWallS: k.wallS, log };
    const rows: RoutesRow[] = [];
    for (const c of ROUTES_CASES) {
      log(`${c.name} ...`);
      try {
        rows.push(await routesRow(c, ctx));
      } catch (err) {
        rows.push(failedRow(c, (err as Error)?.message ?? String(err)));
      }
      const last = rows[rows.length - 1]!;
      log(`  ${c.name}: wall ${fmt(last.wallS, 2)} s, CPU ${fmt(last.cpuS, 2)} s, peak RSS ${fmt(last.peakRssMb, 0)} MB${last.problems.length > 0 ? `, ${last.problems.length} problem(s)` : ''}`);
    }
    const base = rows.find((r) => r.name === CASE_1);
    const marginal = marginalRows(rows, base && base.problems.length === 0 ? base : undefined, kcat.cpuSPer100MB, topic.valueBytes);
    if (!base || base.problems.length > 0) notes.push(`no marginal costs: the baseline row "${CASE_1}" failed`);
    const ok = (name: string): RoutesRow | undefined => rows.find((r) => r.name === name && r.problems.length === 0);
    const memory: RoutesResult['memory'] = {
      oneRoutePeakRssMb: ok(CASE_1)?.peakRssMb,
      threeRoutesPeakRssMb: ok(CASE_3)?.peakRssMb,
      inflightDefaults: ok(CASE_1)?.inflightTotal,
    };
    const down = ok(CASE_DOWN);
    const one = ok(CASE_1);
    const isolation: RoutesResult['isolation'] =
      down && one
        ? { name: CASE_DOWN, baseline: CASE_1, wallS: down.wallS, mbPerSec: down.mbPerSec, baselineWallS: one.wallS, baselineMbPerSec: one.mbPerSec, throughputPct: (100 * down.mbPerSec) / one.mbPerSec }
        : undefined;
    if (!isolation) notes.push(`no isolation figure: "${CASE_DOWN}" or "${CASE_1}" failed`);
    return {
      kafkaVersion: broker.version,
      topic: { name: TOPIC, partitions: PARTITIONS, records: topic.records, recordBytes: opts.recordBytes, valueBytes: topic.valueBytes, highOrCritical: topic.highOrCritical },
      generateS,
      produce,
      kcat,
      baseline: CASE_1,
      rows,
      marginal,
      memory,
      isolation,
      notes,
      problems: rows.flatMap((r) => r.problems),
    };
  } finally {
    await kafka.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The human-readable report of a run. */
export function formatRoutes(r: RoutesResult): string {
  const out: string[] = [];
  const t = r.topic;
  const mb = t.valueBytes / MB;
  out.push(formatTopicLine(t, r.kafkaVersion));
  out.push(`generate: ${fmt(r.generateS)} s; produce (kcat -P, uncompressed): ${fmt(r.produce.wallS)} s = ${fmt(r.produce.mbPerSec)} MB/s, ${fmt(r.produce.cpuS)} CPU s`);
  out.push('');
  const marg = new Map(r.marginal.map((m) => [m.name, m]));
  out.push(
    formatTable(
      ['run', 'routes', 'wall s', 'MB/s', 'vs kcat', 'CPU s', 'CPU s/100 MB', 'MB/CPU s', 'peak RSS MB', '+CPU s/100 MB per extra route', '+peak RSS MB per extra route'],
      [
        ['kcat -C (reference, 1 read)', '-', fmt(r.kcat.wallS, 2), fmt(r.kcat.mbPerSec), '1.00', fmt(r.kcat.cpuS, 2), fmt(r.kcat.cpuSPer100MB, 2), fmt(r.kcat.mbPerCpuS), fmt(r.kcat.peakRssMb, 0), '-', '-'],
        ...r.rows.map((x) => {
          const m = marg.get(x.name);
          return [
            x.problems.length > 0 ? `${x.name} [FAILED]` : x.name,
            x.routed ? String(x.routes) : '-',
            fmt(x.wallS, 2),
            fmt(x.mbPerSec),
            fmt(x.ratioToKcat, 2),
            fmt(x.cpuS, 2),
            fmt(x.cpuSPer100MB, 2),
            fmt(x.mbPerCpuS),
            fmt(x.peakRssMb, 0),
            m ? fmt(m.cpuSPer100MBPerExtraRoute, 2) : x.name === r.baseline ? '(base)' : '-',
            m ? fmt(m.peakRssMbPerExtraRoute, 0) : x.name === r.baseline ? '(base)' : '-',
          ];
        }),
      ],
    ),
  );
  out.push(
    'MB = 10^6 bytes of record values, the topic counted once (every route reads all of it); wall: spawn until the committed offsets of every route\'s group cover the topic; ' +
      'CPU (user+sys) and peak RSS (VmHWM): the daemon\'s, read at that moment; vs kcat = kcat\'s wall / this wall.',
  );
  out.push(`"per extra route": (this row − "${r.baseline}") / extra routes; CPU per 100 MB of input. "no ROUTES": the throughput bench's "logstream file" setup, what ROUTES=a itself changes.`);
  for (const x of r.rows.filter((row) => row.downRoutes > 0)) {
    // The healthy route's figures are the row's: it is done when that route's group is.
    const up = x.outputs.filter((o) => !o.down).map((o) => o.route);
    const iso = r.isolation?.name === x.name ? r.isolation : undefined;
    out.push(
      `${up.join(' + ')} with ${x.outputs.filter((o) => o.down).map((o) => `${o.route}'s`).join(' and ')} HEC down: ` +
        (iso
          ? `${fmt(iso.throughputPct, 0)} % of 1 route's throughput (${fmt(iso.mbPerSec)} MB/s in ${fmt(iso.wallS, 2)} s; "${iso.baseline}": ${fmt(iso.baselineMbPerSec)} MB/s in ${fmt(iso.baselineWallS, 2)} s).`
          : `no figure (this row or "${r.baseline}" failed).`),
    );
    for (const o of x.outputs) {
      const d = o.down;
      if (!d) continue;
      out.push(
        `${o.route}: down: committed ${fmt(d.committed, 0)}, in-flight held ${fmt(d.inflightAtDone, 0)} ` +
          `(most seen ${fmt(d.inflightMaxSeen, 0)}, its share of INFLIGHT_MAX_RECORDS ${fmt(o.inflightMaxRecords, 0)}); ` +
          `HEC ${d.url} ${d.refusedAtDone ? 'refused connections' : 'did NOT refuse a connection'}, ${fmt(d.sinkErrors, 0)} failed sends${d.errorCodes.length > 0 ? ` (${d.errorCodes.join(', ')})` : ''}, retried until SIGTERM ` +
          '(which then waits DRAIN_TIMEOUT for the held records: its exit s below).',
      );
    }
  }
  if (r.marginal.length > 0) {
    out.push('');
    out.push(
      formatTable(
        ['marginal cost (vs 1 route)', 'extra routes', 'CPU s per extra route', 'CPU s/100 MB per extra route', 'in kcat reads', 'peak RSS MB per extra route', 'wall s per extra route'],
        r.marginal.map((m) => [m.name, String(m.extraRoutes), fmt(m.cpuSPerExtraRoute, 2), fmt(m.cpuSPer100MBPerExtraRoute, 2), fmt(m.perExtraRouteInKcatReads, 1), fmt(m.peakRssMbPerExtraRoute, 0), fmt(m.wallSPerExtraRoute, 2)]),
      ),
    );
    out.push(`in kcat reads: the extra route's CPU per 100 MB ÷ kcat -C's (${fmt(r.kcat.cpuSPer100MB, 2)} CPU s/100 MB, one librdkafka read of the same topic to /dev/null, this run).`);
  }
  out.push('');
  out.push(
    formatTable(
      ['route check', 'route', 'query', 'group done s', 'expected', 'lines', 'unique ids', 'dup', 'missing', 'other sev', 'sent (metrics)', 'filtered (metrics)', 'in-flight share'],
      r.rows.flatMap((x) =>
        x.outputs.map((o) =>
          o.down
            ? // No output file: its line under the first table says what it held.
              [x.name, o.route, o.query, 'down', '-', '-', '-', '-', '-', '-', fmt(o.sentEvents, 0), fmt(o.filteredEvents, 0), `${fmt(o.inflightMaxRecords, 0)} rec / ${fmt(o.inflightMaxBytes / MiB, 1)} MiB`]
            : [
                x.name,
                x.routed ? o.route : '(default)',
                o.query,
                fmt(o.doneS, 2),
                fmt(o.expected, 0),
                fmt(o.lines, 0),
                fmt(o.unique, 0),
                fmt(o.duplicates, 0),
                fmt(o.missing, 0),
                o.query === '*' ? '-' : fmt(o.wrongSeverity, 0),
                fmt(o.sentEvents, 0),
                fmt(o.filteredEvents, 0),
                `${fmt(o.inflightMaxRecords, 0)} rec / ${fmt(o.inflightMaxBytes / MiB, 1)} MiB`,
              ],
        ),
      ),
    ),
  );
  out.push(
    'Each route\'s output file read in full: every line\'s recordNumber (each exactly once; `*` routes: all N), the filtered route\'s severities (only high/critical, ' +
      `as many as the topic holds), the first 1000 and every ${SAMPLE_EVERY}th line parsed as JSON. group done s: spawn → that route's group had committed the whole topic. ` +
      'in-flight share: loadConfig() on the daemon\'s environment (INFLIGHT_MAX_RECORDS / INFLIGHT_MAX_BYTES shared equally among the routes).',
  );
  out.push('');
  out.push(
    formatTable(
      ['detail', 'start s', 'exit s', 'user s', 'sys s', 'RSS at done MB', 'peak RSS MB', 'warn lines'],
      r.rows.map((x) => [x.name, fmt(x.startupS, 2), fmt(x.exitAfterSigtermS, 2), fmt(x.userS, 2), fmt(x.sysS, 2), fmt(x.rssAtDoneMb, 0), fmt(x.peakRssMb, 0), String(x.warningCount)]),
    ),
  );
  out.push('start s: spawn → first byte in any output file; exit s: SIGTERM → exit.');
  const mem = r.memory;
  const d = mem.inflightDefaults;
  out.push('');
  out.push(
    `memory under the default in-flight limits${d ? ` (INFLIGHT_MAX_RECORDS ${fmt(d.records, 0)}, INFLIGHT_MAX_BYTES ${fmt(d.bytes / MiB, 0)} MiB per instance, shared among the routes)` : ''}, ` +
      `catching up a ${fmt(mb, 0)} MB backlog: peak RSS 1 route ${fmt(mem.oneRoutePeakRssMb, 0)} MB, 3 routes ${fmt(mem.threeRoutesPeakRssMb, 0)} MB` +
      (mem.oneRoutePeakRssMb !== undefined && mem.threeRoutesPeakRssMb !== undefined ? ` (+${fmt((mem.threeRoutesPeakRssMb - mem.oneRoutePeakRssMb) / 2, 0)} MB per extra route).` : '.'),
  );
  for (const x of r.rows) {
    if (x.warnings.length > 0) out.push('', `${x.name}: warn+ log lines:`, ...x.warnings.map((w) => `  ${w}`));
  }
  for (const n of r.notes) out.push('', `note: ${n}`);
  return out.join('\n');
}

export function routesOptionsFromEnv(env: NodeJS.ProcessEnv): RoutesOptions {
  const base = benchOptionsFromEnv(env);
  const raw = env['BENCH_ROUTES_RECORDS'];
  let records = base.records;
  if (raw !== undefined && raw !== '') {
    records = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(records) || records <= 0) throw new Error(`BENCH_ROUTES_RECORDS must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return { records, recordBytes: base.recordBytes };
}

if (import.meta.main) {
  try {
    const opts = routesOptionsFromEnv(process.env);
    const date = new Date().toISOString();
    const r = await runRoutesBench(opts);
    process.stdout.write(`${formatRoutes(r)}\n`);
    const machine = machineInfo(r.kafkaVersion);
    process.stdout.write(`\nmachine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, Kafka ${machine.kafka}, kcat ${machine.kcat}\n`);
    const dir = join(REPO_ROOT, 'bench', 'results');
    await mkdir(dir, { recursive: true });
    const out = join(dir, 'routes.json');
    await writeFile(out, `${JSON.stringify({ date, machine, params: opts, routes: r, problems: r.problems }, null, 2)}\n`);
    process.stdout.write(`results: ${out}\n`);
    if (r.problems.length > 0) {
      process.stderr.write(`\nBENCHMARK FAILED:\n${r.problems.map((p) => `  - ${p}`).join('\n')}\n`);
      process.exitCode = 1;
    }
  } catch (err) {
    process.stderr.write(`routes benchmark failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
