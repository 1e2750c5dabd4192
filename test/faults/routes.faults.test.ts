// Route isolation, under load, 3 instances, one topic, two routes with query `*` (every record must
// reach both): `archive` → syslog (rsyslog over TLS), `siem` → HEC (the spec receiver). Each route has
// its own consumer group, in-flight share and commits, so the siem route's receiver going down must not
// slow the archive route down, neither while it is down nor while siem catches up afterwards.
//
// So that the ratio measures isolation and not CPU contention with the rest of CI (the fault suite runs
// beside the integration tests on a 2-core machine), the archive route is held to a per-instance
// ROUTE_ARCHIVE_RATE_LIMIT, and its capacity is measured here: with siem paused (`logstream routes
// pause siem`: a record in the run's control topic that every instance follows), a
// pre-produced backlog is drained and the archive route's delivery rate sampled from the instances'
// logstream_sink_sent_events_total{route="archive"}. The load then runs at 75 % of that capacity, and
// the archive route's delivered rate is measured in three phases:
//   alone     siem paused, 15 s;
//   outage    siem resumed with its HEC receiver shut (gate) for 2 min (10 with FAULTS_FULL=1): the
//             siem group commits nothing, the archive group keeps committing, every instance stays
//             ready (/readyz 200) and reports the siem route's problem in the body's `routes`;
//   catch-up  HEC reopened until the siem group has committed up to the topic's end as of the reopen.
// The rates during the outage and the catch-up must be ≥ 90 % of the rate alone (same run); lost = 0
// for both routes' sinks, duplicates within the routes' in-flight windows.
import { describe, expect, it } from 'vitest';
import { expectClean, FAULT_INSTANCE_ENV, FaultRun, FULL, retrying, usePeers } from './support/fault-run.ts';
import { sleep, waitUntil } from '../support/instance.ts';

const fault = usePeers(['syslog', 'hec']);

/** How long the siem route's receiver is down (FAULTS_ROUTE_DOWN_S overrides). */
const DOWN_S = Number(process.env['FAULTS_ROUTE_DOWN_S'] ?? (FULL ? 600 : 120));
const INSTANCES = 3;
const ROUTES = { archive: ['syslog'], siem: ['hec'] } as const;
/** Records per second the archive route takes from Kafka at most, per instance. */
const ARCHIVE_RATE_LIMIT = 500;
/** The capacity backlog: this many seconds of the archive route's nominal capacity. */
const BACKLOG_S = 15;
/** The load, as a share of the measured capacity (the brief asks for at least 70 %). */
const LOAD_SHARE = 0.75;
const MIN_LOAD_SHARE = 0.7;
const ALONE_MS = 15_000;
/** The shortest window the archive rate during the catch-up is measured over. */
const CATCH_UP_MIN_MS = 10_000;
/** Archive throughput during the outage and the catch-up, at least this share of its throughput alone. */
const MIN_RATIO = 0.9;
/** Each route's share of the instance's in-flight budget (both take the default equal share). */
const ROUTE_INFLIGHT = Math.floor(Number(FAULT_INSTANCE_ENV.INFLIGHT_MAX_RECORDS) / Object.keys(ROUTES).length);

const t0 = Date.now();
const log = (line: string): void => {
  process.stdout.write(`  [routes +${Math.round((Date.now() - t0) / 1000)} s] ${line}\n`);
};

interface Sample {
  at: number;
  sent: number;
  produced: number;
}

/** The archive route's deliveries so far, summed over the live instances, and the load's count. */
async function sample(run: FaultRun, route = 'archive'): Promise<Sample> {
  const sent = await retrying(`${route} sent events`, () => run.metricTotal('logstream_sink_sent_events_total', { route }));
  return { at: performance.now(), sent, produced: run.load.produced };
}

const ratePerS = (a: Sample, b: Sample, what: 'sent' | 'produced' = 'sent'): number => ((b[what] - a[what]) * 1000) / (b.at - a.at);

interface RouteStatus {
  route: string;
  state: string;
  problems: string[];
}

/** Every live instance's /readyz: status and the body's `routes`. */
async function readiness(run: FaultRun): Promise<Array<{ name: string; status: number; routes: RouteStatus[] }>> {
  return Promise.all(
    run.alive().map(async (i) => {
      const res = await fetch(`http://127.0.0.1:${await i.httpPort()}/readyz`);
      const body = (await res.json()) as { routes?: RouteStatus[] };
      return { name: i.name, status: res.status, routes: body.routes ?? [] };
    }),
  );
}

const problemsOf = (routes: RouteStatus[], route: string): string[] | undefined => routes.find((r) => r.route === route)?.problems;

describe('route isolation, 3 instances, archive → syslog and siem → HEC', () => {
  it(`siem's HEC down for ${DOWN_S} s, then catching up: the archive route keeps ≥ ${MIN_RATIO * 100} % of its throughput alone; lost=0 on both routes`, async () => {
    const run = await FaultRun.start({
      scenario: 'route isolation',
      peers: fault(),
      routes: ROUTES,
      instances: INSTANCES,
      deferLoad: true,
      env: { ROUTE_ARCHIVE_RATE_LIMIT: String(ARCHIVE_RATE_LIMIT), QUERY: '*' },
    });
    try {
      log(`both routes running (groups ${run.groups().join(', ')}); logstream routes pause siem (control topic ${run.controlTopic})`);
      await run.setRouteState('siem', 'paused');
      // Paused means out of its group on every instance: it reports no partitions of its own any more.
      expect(await run.metricTotal('logstream_assigned_partitions', { route: 'siem' }), 'partitions the paused siem route reports owning').toBe(0);

      // Capacity: the archive route alone, draining a backlog at its rate limit.
      const backlog = ARCHIVE_RATE_LIMIT * INSTANCES * BACKLOG_S;
      const before = await sample(run);
      await run.load.burst(backlog);
      let first = await sample(run);
      const firstDone = first.sent - before.sent;
      expect(firstDone, 'the backlog was produced faster than the archive route drains it (a measurable backlog)').toBeLessThan(backlog * 0.5);
      // From the moment the backlog is all in Kafka until 90 % of it is delivered (the tail, where
      // some partitions are done before others, is left out).
      let last = first;
      try {
        await waitUntil(
          'the archive route drained 90 % of the backlog',
          async () => {
            last = await sample(run);
            return last.sent - before.sent >= backlog * 0.9;
          },
          BACKLOG_S * 10_000,
          1000,
        );
      } catch (err) {
        // Where it stuck (two CI runs stopped here, neither reproduced locally): per instance.
        log(`the archive route delivered ${Math.round(last.sent - before.sent)} of the ${backlog}-record backlog; each instance:\n${await run.describe('archive')}`);
        throw err;
      }
      const capacity = ratePerS(first, last);
      log(`archive capacity ${Math.round(capacity)}/s (rate limit ${ARCHIVE_RATE_LIMIT}/s × ${INSTANCES} instances), measured over ${Math.round(last.sent - first.sent)} records in ${((last.at - first.at) / 1000).toFixed(1)} s`);
      await run.waitCaughtUp(120_000, { route: 'archive' });

      const rate = Math.round(capacity * LOAD_SHARE);
      await run.load.start(rate);
      log(`load ${rate}/s (${LOAD_SHARE * 100} % of capacity)`);
      const loadFrom = await sample(run);

      // Phase 1: alone.
      await sleep(5000); // the archive route settles at the load's pace
      first = await sample(run);
      await sleep(ALONE_MS);
      last = await sample(run);
      const alone = ratePerS(first, last);
      log(`alone: archive ${Math.round(alone)}/s (load ${Math.round(ratePerS(first, last, 'produced'))}/s)`);

      // Phase 2: siem resumed with its receiver down.
      await fault().shut(['hec']);
      const downFrom = await sample(run);
      const downAt = Date.now();
      await run.setRouteState('siem', 'running');
      await run.waitRoutesStable(['archive', 'siem']); // siem joins its group whatever its sink does
      await waitUntil(
        'every instance reports the siem route\'s problem in /readyz',
        async () => (await readiness(run)).every((r) => (problemsOf(r.routes, 'siem')?.length ?? 0) > 0),
        60_000,
        1000,
      );
      const stillUp = run.alive().length;
      // What was committed a few seconds into the outage (in-flight batches settle) may not grow after.
      await sleep(8000);
      const [siemEarly, archiveEarly] = [await run.committed('siem'), await run.committed('archive')];
      const checks: Array<{ name: string; status: number; archive: string[] | undefined; siem: string[] | undefined }> = [];
      while (Date.now() - downAt < DOWN_S * 1000) {
        for (const r of await retrying('readyz', () => readiness(run))) checks.push({ name: r.name, status: r.status, archive: problemsOf(r.routes, 'archive'), siem: problemsOf(r.routes, 'siem') });
        await sleep(Math.min(5000, Math.max(0, DOWN_S * 1000 - (Date.now() - downAt))));
      }
      const downTo = await sample(run);
      const [siemLate, archiveLate] = [await run.committed('siem'), await run.committed('archive')];
      const outage = ratePerS(downFrom, downTo);
      log(`outage: archive ${Math.round(outage)}/s (load ${Math.round(ratePerS(downFrom, downTo, 'produced'))}/s); siem committed ${siemEarly} → ${siemLate}, archive ${archiveEarly} → ${archiveLate}; ${checks.length} readiness checks`);
      expect(run.alive().length, 'no instance exited during the outage').toBe(stillUp);
      expect(siemLate, 'the siem group committed nothing while its receiver was down').toBe(siemEarly);
      expect(archiveLate, 'the archive group kept committing while the siem receiver was down').toBeGreaterThan(archiveEarly);
      expect(checks.length, 'readiness checked during the outage').toBeGreaterThan(0);
      expect(checks.filter((c) => c.status !== 200), 'every instance ready (200) while the archive route works').toEqual([]);
      expect(checks.filter((c) => c.archive === undefined || c.archive.length > 0), 'the archive route reported without problems').toEqual([]);
      expect(checks.filter((c) => c.siem === undefined || c.siem.length === 0), 'the siem route\'s problem reported in every check').toEqual([]);
      const siemProblem = checks[checks.length - 1]!.siem![0]!;

      // Phase 3: the receiver back, siem catches up to where the topic ended at the reopen.
      const ends = await run.endOffsets();
      const backlogSiem = [...ends.values()].reduce((a, b) => a + b, 0n) - siemLate;
      await fault().reopen(['hec']);
      const upFrom = await sample(run);
      const siemFrom = await sample(run, 'siem');
      await run.waitCaughtUp(600_000, { route: 'siem', ends });
      const siemTo = await sample(run, 'siem');
      const catchUpS = (siemTo.at - siemFrom.at) / 1000;
      // The archive rate over the catch-up, or over its first CATCH_UP_MIN_MS if siem was quicker (on an
      // idle machine it catches up in a few seconds, too short a window for a rate).
      await sleep(Math.max(0, CATCH_UP_MIN_MS - (performance.now() - upFrom.at)));
      const upTo = await sample(run);
      const catchUp = ratePerS(upFrom, upTo);
      const windowS = (upTo.at - upFrom.at) / 1000;
      log(`catch-up: siem delivered ${Math.round(siemTo.sent - siemFrom.sent)} records (${backlogSiem} behind) in ${catchUpS.toFixed(1)} s (${Math.round(ratePerS(siemFrom, siemTo))}/s); archive ${Math.round(catchUp)}/s over ${windowS.toFixed(1)} s (load ${Math.round(ratePerS(upFrom, upTo, 'produced'))}/s)`);
      await waitUntil('every instance reports the siem route without problems again', async () => (await readiness(run)).every((r) => r.status === 200 && problemsOf(r.routes, 'siem')?.length === 0), 120_000, 1000);
      await sleep(5000);
      const loadTo = await sample(run);
      const loadRate = ratePerS(loadFrom, loadTo, 'produced');

      const fmt = (n: number): string => String(Math.round(n));
      const pct = (n: number): string => `${Math.round(n * 100)} %`;
      const note =
        `archive route (syslog, RATE_LIMIT ${ARCHIVE_RATE_LIMIT}/s × ${INSTANCES}): capacity ${fmt(capacity)}/s, load ${fmt(loadRate)}/s (${pct(loadRate / capacity)}); ` +
        `archive throughput alone ${fmt(alone)}/s, siem's HEC down ${DOWN_S} s ${fmt(outage)}/s (${pct(outage / alone)}), siem catching up ${fmt(catchUp)}/s (${pct(catchUp / alone)}; ` +
        `${backlogSiem} records in ${catchUpS.toFixed(0)} s, rate over ${windowS.toFixed(0)} s); siem committed stayed at ${siemLate}; ` +
        `/readyz 200 in ${checks.length} checks, siem: ${siemProblem.split(':').slice(0, 2).join(':')}`;
      // No route's sink was cut mid-request with records it had indexed (HEC was shut while siem was
      // paused), but a slow reply resent is possible: each instance's in-flight share of the route.
      const r = await run.finish({ dupBound: ROUTE_INFLIGHT * INSTANCES, note });
      expect(loadRate / capacity, `load ≥ ${MIN_LOAD_SHARE * 100} % of the archive route's capacity`).toBeGreaterThanOrEqual(MIN_LOAD_SHARE);
      expect(outage / alone, 'archive throughput with the siem receiver down / alone').toBeGreaterThanOrEqual(MIN_RATIO);
      expect(catchUp / alone, 'archive throughput while siem catches up / alone').toBeGreaterThanOrEqual(MIN_RATIO);
      expect(r.sinks.map((s) => s.route).sort(), 'both routes reckoned').toEqual(['archive', 'siem']);
      expectClean(r);
    } finally {
      await fault().reopen(['hec']).catch(() => undefined);
      await Promise.all(run.alive().map((i) => i.stop(10_000)));
    }
  }, (DOWN_S + 480) * 1000);
});
