/**
 * One fault scenario: a fresh topic, a consumer group of logstream instances (real child processes)
 * shipping to the FaultPeers' sinks, a steady load of ledger records, and — after the test injected
 * its fault — the reckoning: the topic is read back (kcat) for what was really produced, every sink's
 * output is compared with it by id and body hash, and one line `<scenario> lost=N dup=M` is printed
 * and appended to the results file that `npm run faults` tabulates.
 *
 * Counting, per sink: lost = ids in the topic that the sink does not hold (and that were not
 * dead-lettered for it); dup = copies beyond the topic's; altered = a body whose hash does not match.
 * The scenario line sums the sinks. A scenario passes when lost = 0, altered = 0 and dup ≤ its bound.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect } from 'vitest';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { Instance, REPO_ROOT, waitUntil, sleep } from '../../support/instance.ts';
import { committedOffsets, createTopic, endOffsets, kafkaBootstrap, uniqueName } from '../../support/kafka.ts';
import { waitForStableGroup } from '../../support/group.ts';
import { Load, topicCounts } from './load.ts';
import { FaultPeers, type SinkName } from './peers.ts';
import type { FaultResultLine, SinkTallyLine } from '../../../scripts/fault-results.ts';

const execFileP = promisify(execFile);

export const FULL = process.env['FAULTS_FULL'] === '1';
/** Where each scenario's result line goes (one JSON object per line). */
export const RESULTS_FILE = process.env['FAULTS_RESULTS'] ?? join(REPO_ROOT, '.cache', 'faults', 'results.jsonl');

const COMMIT_INTERVAL_S = 1;
const INFLIGHT_MAX_RECORDS = 2000;

/** Settings every fault instance runs with: quick failure detection and commits, a small in-flight
 *  window so that the duplicate bound (in-flight + one commit interval) means something. */
export const FAULT_INSTANCE_ENV = {
  KAFKA_SESSION_TIMEOUT: '6s',
  KAFKA_HEARTBEAT_INTERVAL: '1s',
  KAFKA_REBALANCE_TIMEOUT: '20s',
  KAFKA_COMMIT_INTERVAL: `${COMMIT_INTERVAL_S}s`,
  INFLIGHT_MAX_RECORDS: String(INFLIGHT_MAX_RECORDS),
  LOG_LEVEL: 'info',
} as const;

export interface FaultRunOptions {
  scenario: string;
  peers: FaultPeers;
  /** The sinks every instance ships to (SINKS); with `routes`, left out (each route has its own). */
  sinks?: readonly SinkName[];
  /**
   * Routes (ROUTES) and the sinks of each: route R ships to its sinks, configured with the R-prefixed
   * variables (ROUTE_R_SINKS, ROUTE_R_HEC_URLS…), in its own group `<group>.<R>`, with its own control
   * topic record. Every route's sinks are reckoned against the whole topic.
   */
  routes?: Record<string, readonly SinkName[]>;
  /** Start the instances but not the load (the test calls run.load.start(rate) itself). */
  deferLoad?: boolean;
  partitions?: number;
  instances?: number;
  ratePerSec?: number;
  /** More instance environment (applied last). */
  env?: Record<string, string>;
  bootstrap?: string;
  /** Values that must appear in no log line and no /metrics output (the peers' are added). */
  secrets?: string[];
  /** Topic configs of the source topic (e.g. max.message.bytes). */
  topicConfig?: Record<string, string>;
}

/** The results file's line format is the summary script's; here the sinks are the peers' names. */
export interface SinkTally extends SinkTallyLine {
  sink: SinkName;
}

export interface FaultResult extends FaultResultLine {
  sinks: SinkTally[];
}

/** ROUTE_<NAME>_ for a route name (as src/config/route-env.ts spells it). */
export const routePrefix = (name: string): string => `ROUTE_${name.toUpperCase().replace(/-/g, '_')}_`;

export class FaultRun {
  readonly o: Required<Omit<FaultRunOptions, 'secrets' | 'topicConfig' | 'routes'>> & { secrets: string[]; topicConfig: Record<string, string>; routes: Record<string, readonly SinkName[]> | undefined };
  readonly run = uniqueName('run');
  readonly key: string;
  readonly topic: string;
  readonly group: string;
  readonly dlqTopic: string;
  /** The compacted topic the instances follow for route pause/resume (routed runs). */
  readonly controlTopic: string;
  /** Every instance started in this run, alive or not (their logs are checked for secrets). */
  readonly started: Instance[] = [];
  readonly load: Load;
  readonly #t0 = Date.now();
  readonly #metricsSeen: string[] = [];
  #seq = 0;

  private constructor(o: FaultRunOptions) {
    const sinks = o.sinks ?? [...new Set(Object.values(o.routes ?? {}).flat())];
    this.o = { partitions: 6, instances: 3, ratePerSec: 300, env: {}, bootstrap: kafkaBootstrap(), secrets: [], topicConfig: {}, deferLoad: false, ...o, sinks, routes: o.routes };
    this.key = uniqueName(o.scenario.replace(/[^a-z0-9]+/gi, '-')).slice(0, 60);
    this.topic = `${this.key}-in`;
    this.group = `${this.key}-g`;
    this.dlqTopic = `${this.key}-dlq`;
    this.controlTopic = `${this.key}-control`;
    this.load = new Load({ bootstrap: this.o.bootstrap, topic: this.topic, run: this.run, partitions: this.o.partitions, ratePerSec: this.o.ratePerSec });
  }

  /** Creates the topic, starts the instances, waits for a stable group (every route's), starts the load. */
  static async start(o: FaultRunOptions): Promise<FaultRun> {
    const r = new FaultRun(o);
    await createTopic(r.o.bootstrap, r.topic, r.o.partitions, r.o.topicConfig);
    if (r.o.routes) await createTopic(r.o.bootstrap, r.controlTopic, 1, { 'cleanup.policy': 'compact' });
    await r.o.peers.prepare(r.key, r.o.sinks);
    for (let i = 0; i < r.o.instances; i++) r.startInstance();
    if (r.o.routes) await r.waitRoutesStable(r.routeNames());
    else await waitForStableGroup(r.alive(), r.o.partitions, 120_000);
    if (!r.o.deferLoad) await r.load.start();
    return r;
  }

  envFor(name: string): Record<string, string> {
    return {
      KAFKA_BROKERS: this.o.bootstrap,
      KAFKA_TOPICS: this.topic,
      KAFKA_GROUP_ID: this.group,
      KAFKA_DLQ_TOPIC: this.dlqTopic,
      ...FAULT_INSTANCE_ENV,
      ...(this.o.routes ? this.#routesEnv(this.o.routes) : this.o.peers.env(this.key, this.o.sinks)),
      INSTANCE_ID: name,
      // FAULTS_KAFKA_CLIENT=kafkajs runs the whole suite on the fallback Kafka client adapter.
      ...(process.env['FAULTS_KAFKA_CLIENT'] ? { KAFKA_CLIENT: process.env['FAULTS_KAFKA_CLIENT'] } : {}),
      // FAULTS_KAFKA_GROUP_PROTOCOL=consumer runs it on the KIP-848 group protocol.
      ...(process.env['FAULTS_KAFKA_GROUP_PROTOCOL'] ? { KAFKA_GROUP_PROTOCOL: process.env['FAULTS_KAFKA_GROUP_PROTOCOL'] } : {}),
      ...this.o.env,
    };
  }

  /** ROUTES, and each route's sinks with every one of their variables under the route's prefix. */
  #routesEnv(routes: Record<string, readonly SinkName[]>): Record<string, string> {
    const env: Record<string, string> = { ROUTES: Object.keys(routes).join(','), KAFKA_CONTROL_TOPIC: this.controlTopic };
    for (const [route, sinks] of Object.entries(routes)) {
      for (const [k, v] of Object.entries(this.o.peers.env(this.key, sinks))) env[`${routePrefix(route)}${k}`] = v;
    }
    return env;
  }

  routeNames(): string[] {
    return Object.keys(this.o.routes ?? {});
  }

  /** The consumer group of `route` (routed runs: `<group>.<route>`), or the run's group. */
  groupOf(route?: string): string {
    if (route === undefined) {
      if (this.o.routes) throw new Error('a routed run has one group per route: name the route');
      return this.group;
    }
    if (!this.o.routes?.[route]) throw new Error(`no route ${route} in this run`);
    return `${this.group}.${route}`;
  }

  /** Every group the run consumes in: one per route, or the run's one. */
  groups(): string[] {
    return this.o.routes ? this.routeNames().map((r) => this.groupOf(r)) : [this.group];
  }

  /** Waits until, for each of `routes`, the live instances together own every partition, and all are ready. */
  async waitRoutesStable(routes: readonly string[], timeoutMs = 120_000): Promise<void> {
    await waitUntil(
      `${this.alive().length} instances owning ${this.o.partitions} partitions in route(s) ${routes.join(', ')}`,
      async () => {
        const alive = this.alive();
        const texts = await Promise.all(alive.map((i) => i.metrics()));
        const owned = routes.map((route) => texts.reduce((a, t) => a + metricValue(t, 'logstream_assigned_partitions', { route }), 0));
        const ready = await Promise.all(alive.map(async (i) => (await fetch(`http://127.0.0.1:${await i.metricsPort()}/readyz`)).status === 200));
        return owned.every((n) => n === this.o.partitions) && ready.every(Boolean);
      },
      timeoutMs,
      500,
    );
  }

  /** Sum over the live instances of a metric's samples that carry `labels`. */
  async metricTotal(name: string, labels: Record<string, string> = {}): Promise<number> {
    const texts = await Promise.all(this.alive().map((i) => i.metrics()));
    return texts.reduce((a, t) => a + metricValue(t, name, labels), 0);
  }

  /**
   * Asks every instance to pause or resume `route` with `logstream routes pause|resume NAME` (which
   * writes the route's record to the control topic; a pause waits until the route's group is empty),
   * then waits until every live instance reports the state (logstream_route_state).
   */
  async setRouteState(route: string, state: 'paused' | 'running', timeoutMs = 120_000): Promise<void> {
    const args = ['src/main.ts', 'routes', state === 'paused' ? 'pause' : 'resume', route, ...(state === 'paused' ? ['--timeout', `${Math.round(timeoutMs / 1000)}s`] : [])];
    const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...this.envFor('routes-cli') };
    await retrying(`logstream ${args.slice(1).join(' ')}`, async () => {
      try {
        await execFileP(process.execPath, args, { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: timeoutMs + 30_000 });
      } catch (err) {
        const e = err as Error & { stderr?: string; code?: number | string };
        throw new Error(`exit ${e.code}: ${(e.stderr ?? e.message).trim()}`, { cause: err });
      }
    }, 3);
    await waitUntil(
      `route ${route} ${state} on every instance`,
      async () => (await Promise.all(this.alive().map(async (i) => metricValue(await i.metrics(), 'logstream_route_state', { route, state })))).every((v) => v === 1),
      timeoutMs,
      250,
    );
  }

  /** Starts one more instance (a new name each time, as a replacement pod would have). */
  startInstance(env: Record<string, string> = {}): Instance {
    const name = `${this.o.scenario.replace(/[^a-z0-9]+/gi, '-')}-${++this.#seq}`;
    const i = new Instance(name, { ...this.envFor(name), ...env });
    this.started.push(i);
    return i;
  }

  /**
   * What each instance says of `route` right now, for a failure message: delivered records, owned and
   * paused partitions, the lag of every partition it owns, its /readyz body and its last log lines (for
   * one that exited, its exit and last log lines). A scenario that times out waiting prints it, so a CI log shows where it stuck.
   */
  async describe(route: string, logLines = 12): Promise<string> {
    const out: string[] = [];
    for (const i of this.started) {
      if (!this.alive().includes(i)) {
        out.push(`${i.name}: exited (${i.proc.exitCode ?? i.proc.signalCode})`, i.tail(logLines).split('\n').map((l) => `    ${l}`).join('\n'));
        continue;
      }
      try {
        const text = await i.metrics();
        const lag = text.split('\n').filter((l) => l.startsWith('logstream_consumer_lag{') && l.includes(`route="${route}"`)).map((l) => `${/partition="(\d+)"/.exec(l)?.[1]}:${l.slice(l.lastIndexOf(' ') + 1)}`);
        const ready = await (await fetch(`http://127.0.0.1:${await i.metricsPort()}/readyz`, { signal: AbortSignal.timeout(5000) })).text();
        out.push(
          `${i.name}: sent ${metricValue(text, 'logstream_sink_sent_events_total', { route })}, owned ${metricValue(text, 'logstream_assigned_partitions', { route })}, ` +
            `paused ${metricValue(text, 'logstream_paused_partitions', { route })}, in flight ${metricValue(text, 'logstream_inflight_records', { route })}, lag by partition [${lag.join(' ')}], readyz ${ready}`,
          i.tail(logLines).split('\n').map((l) => `    ${l}`).join('\n'),
        );
      } catch (err) {
        out.push(`${i.name}: cannot describe: ${String((err as Error).message)}`);
      }
    }
    return out.join('\n');
  }

  alive(): Instance[] {
    return this.started.filter((i) => i.proc.exitCode === null && i.proc.signalCode === null);
  }

  /** Keeps a copy of every live instance's /metrics (checked for secrets at the end). */
  async snapshotMetrics(): Promise<void> {
    for (const i of this.alive()) {
      try {
        this.#metricsSeen.push(await i.metrics());
      } catch {
        // an instance that is just going down
      }
    }
  }

  /** The committed offsets of the run's group (or `route`'s), summed over the partitions. */
  async committed(route?: string): Promise<bigint> {
    const group = this.groupOf(route);
    const offsets = await committedOffsets(this.o.bootstrap, group, this.topic); // retries retriable broker errors itself
    return [...offsets.values()].reduce((a, b) => a + b, 0n);
  }

  /** The topic's end offsets (high watermarks) now. */
  endOffsets(): Promise<Map<number, bigint>> {
    return endOffsets(this.o.bootstrap, this.topic);
  }

  /**
   * Waits until the group has committed everything in the topic (the live instances have caught up):
   * every group of the run, or `only.route`'s; up to the end offsets as they are at each check, or up
   * to `only.ends` (under load, the end moves on: catching up to an earlier end).
   */
  async waitCaughtUp(timeoutMs = 300_000, only: { route?: string; ends?: ReadonlyMap<number, bigint> } = {}): Promise<void> {
    const groups = only.route !== undefined ? [this.groupOf(only.route)] : this.groups();
    for (const group of groups) {
      await waitUntil(
        `group ${group} committed to the end of ${this.topic}`,
        async () => {
          const [end, done] = await Promise.all([only.ends ?? endOffsets(this.o.bootstrap, this.topic), committedOffsets(this.o.bootstrap, group, this.topic)]);
          return [...end].every(([p, e]) => (done.get(p) ?? 0n) >= e);
        },
        timeoutMs,
        1000,
      );
    }
  }

  /**
   * Stops the load, waits until everything is committed, stops the instances (SIGTERM), reads the topic
   * and every sink back, prints `<scenario> lost=N dup=M` and appends the result to RESULTS_FILE.
   */
  async finish(opts: {
    dupBound: number;
    note?: string;
    catchUpTimeoutMs?: number;
    /** More reckoning after the sinks were read (e.g. records that are not ledger JSON): added to lost. */
    extra?: () => Promise<{ lost: number; note: string }>;
    /** The fault events of the run (kills, outages): the note gives the duplicates per event. */
    events?: { count: number; name: string };
  }): Promise<FaultResult> {
    const produced = await this.load.stop();
    await this.waitCaughtUp(opts.catchUpTimeoutMs);
    await this.snapshotMetrics();
    await Promise.all(this.alive().map((i) => i.stop(60_000)));
    const counts = await topicCounts(this.o.bootstrap, this.topic, this.run, produced);
    const inTopic = counts.reduce((a, b) => a + b, 0);
    const expected = counts.reduce((a, c) => a + (c > 0 ? 1 : 0), 0);
    const sinks: SinkTally[] = [];
    // Every route's query is `*` in the scenarios: each of its sinks must hold the whole topic.
    const shipping: Array<{ route?: string; sink: SinkName }> = this.o.routes
      ? Object.entries(this.o.routes).flatMap(([route, ss]) => ss.map((sink) => ({ route, sink })))
      : this.o.sinks.map((sink) => ({ sink }));
    for (const { route, sink } of shipping) {
      const rows = await this.o.peers.rows(sink, this.key, this.run, expected);
      sinks.push({ sink, ...(route !== undefined ? { route } : {}), ...reckon(counts, rows) });
    }
    const secretsFound = this.secretsInOutput();
    const extra = opts.extra ? await opts.extra() : undefined;
    const lost = sinks.reduce((a, s) => a + s.lost, 0) + (extra?.lost ?? 0);
    const dup = sinks.reduce((a, s) => a + s.dup, 0);
    const altered = sinks.reduce((a, s) => a + s.altered, 0);
    const perEvent = opts.events && opts.events.count > 0 ? `dup per ${opts.events.name}: ${Math.round(Math.max(0, ...sinks.map((s) => s.dup)) / opts.events.count)} (most of any sink)` : undefined;
    const note = [opts.note, perEvent, extra?.note].filter(Boolean).join('; ');
    const result: FaultResult = {
      scenario: this.o.scenario,
      full: FULL,
      at: new Date().toISOString(),
      durationS: Math.round((Date.now() - this.#t0) / 1000),
      produced,
      inTopic,
      instances: this.o.instances,
      partitions: this.o.partitions,
      sinks,
      lost,
      dup,
      altered,
      dupBound: opts.dupBound,
      secretsFound,
      pass: lost === 0 && altered === 0 && sinks.every((s) => s.dup <= opts.dupBound) && secretsFound.length === 0,
      ...(note ? { note } : {}),
    };
    report(result);
    return result;
  }

  /** Which configured secrets appear in any instance's log or in a /metrics snapshot (names only). */
  secretsInOutput(): string[] {
    const secrets = [...this.o.secrets, ...this.o.peers.secrets()].filter((s) => s.length >= 8);
    const texts = [...this.started.map((i) => readFileSync(i.logFile, 'utf8')), ...this.#metricsSeen];
    return secrets.filter((s) => texts.some((t) => t.includes(s))).map((s) => `${s.slice(0, 3)}… (${s.length} chars)`);
  }
}

const hashOf = (body: string): string => createHash('sha256').update(body).digest('hex').slice(0, 16);

/** One sink's rows against the topic's per-id counts. */
export function reckon(counts: Uint32Array, rows: Iterable<Record<string, unknown>>): Omit<SinkTally, 'sink'> {
  const seen = new Uint32Array(counts.length);
  let delivered = 0;
  let altered = 0;
  for (const r of rows) {
    if (typeof r.id !== 'number' || r.id < 0 || r.id >= counts.length) continue;
    delivered++;
    seen[r.id]!++;
    if (typeof r.body !== 'string' || hashOf(r.body) !== r.hash) altered++;
  }
  let lost = 0;
  let dup = 0;
  let expected = 0;
  for (let id = 0; id < counts.length; id++) {
    const want = counts[id]!;
    if (want === 0) continue;
    expected++;
    if (seen[id] === 0) lost++;
    else if (seen[id]! > want) dup += seen[id]! - want;
  }
  return { expected, delivered, deadLettered: 0, lost, dup, altered };
}

/** Prints the scenario line (and the per-sink detail) and appends the result to RESULTS_FILE. */
export function report(r: FaultResult): void {
  const detail = r.sinks.map((s) => `${s.route !== undefined ? `${s.route}→` : ''}${s.sink} ${s.lost}/${s.dup}`).join(', ');
  process.stdout.write(
    `${r.scenario} lost=${r.lost} dup=${r.dup}   [${detail} lost/dup per sink; dup bound ${r.dupBound} per sink; ` +
      `${r.produced} produced, ${r.instances} instances, ${r.durationS} s${r.altered ? `; ALTERED ${r.altered}` : ''}${r.secretsFound.length ? `; SECRETS IN OUTPUT: ${r.secretsFound.join(', ')}` : ''}]\n`,
  );
  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  appendFileSync(RESULTS_FILE, `${JSON.stringify(r)}\n`);
}

/** Sum of the samples of metric `name` in a /metrics text whose labels include `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const close = line.lastIndexOf('}');
    const labelText = close > 0 ? line.slice(name.length + 1, close) : '';
    if (want.every((w) => labelText.split(',').includes(w))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** `f`, tried up to 5 times 1 s apart: the test's own admin calls and writes (a coordinator still
 *  loading, a broker busy on a loaded machine) are retried rather than failing the scenario. */
export async function retrying<T>(what: string, f: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (err) {
      if (attempt >= attempts) throw new Error(`${what}: failed ${attempts} times: ${(err as Error).message}`, { cause: err });
      await sleep(1000);
    }
  }
}

/** Sleeps `ms` while the load runs, snapshotting /metrics once in the middle. */
export async function underLoad(run: FaultRun, ms: number): Promise<void> {
  await sleep(ms / 2);
  await run.snapshotMetrics();
  await sleep(ms / 2);
}

/** Duplicates one kill -9 may cause per sink: the victim's in-flight window plus what it delivered
 *  since its last commit (one commit interval at its share of the rate, doubled for slack). */
export function killDupBound(run: FaultRun): number {
  return INFLIGHT_MAX_RECORDS + Math.ceil(run.o.ratePerSec * 2 * COMMIT_INTERVAL_S);
}

/** The verdict of a scenario, as assertions: nothing lost or altered, no secret in the output, every
 *  sink's duplicates within the bound (the line was printed and recorded before any of this). */
export function expectClean(r: FaultResult): void {
  expect(r.lost, 'lost').toBe(0);
  expect(r.altered, 'altered').toBe(0);
  expect(r.secretsFound, 'secrets in logs or /metrics').toEqual([]);
  for (const s of r.sinks) expect(s.dup, `${s.sink}: duplicates`).toBeLessThanOrEqual(r.dupBound);
}

/** Starts the receivers for `sinks` before the file's tests and closes them after; the getter gives them. */
export function usePeers(sinks: readonly SinkName[]): () => FaultPeers {
  let peers: FaultPeers | undefined;
  beforeAll(async () => {
    peers = await FaultPeers.start(sinks);
  }, 240_000);
  afterAll(async () => {
    await peers?.close();
  });
  return () => {
    if (!peers) throw new Error('the fault peers are not started (usePeers outside a test file?)');
    return peers;
  };
}
