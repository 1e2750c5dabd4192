// One route inside one instance: its consumer group (a GroupConsumer), its compiled query, its sinks
// wrapped in the shared delivery layer, its share of the in-flight budget and its commits. Routes are
// the unit of isolation: a route whose sink is down pauses only its own partitions and its own group's
// commits. A route can be paused (drain, commit, leave its group: what `logstream routes pause` and
// `reset-offsets --route` ask every instance for) and resumed (join again, from the group's commit).
import type { RouteConfig } from '../app-config.ts';
import { oneLine } from '../core/errors.ts';
import { DeadLetterQueue, type DeadLetterPublisher } from '../delivery/dead-letter.ts';
import { SinkRunner } from '../delivery/sink-runner.ts';
import { compileQuery, QueryError, type CompiledQuery, type CompileOptions } from '../query/index.ts';
import { usesRegistry, valueDecoder, withKeys } from '../source/decode/formats.ts';
import type { SchemaRegistry } from '../source/decode/registry.ts';
import { decoderFor, jsonDecoder } from '../source/kafka/decode.ts';
import type { Sink } from '../delivery/sink.ts';
import type { GroupConsumer, KafkaClient } from '../source/kafka/interface.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { Pipeline } from './pipeline.ts';

export type RouteState = 'starting' | 'running' | 'pausing' | 'paused' | 'stopped' | 'failed';
const STATES: readonly RouteState[] = ['starting', 'running', 'pausing', 'paused', 'stopped', 'failed'];

export interface RouteDeps {
  kafka: KafkaClient;
  metrics: Metrics;
  /** The instance's logger; the route adds its name. */
  logger: Logger;
  /** Writes dead letters to the route's dead-letter topic. */
  publishDeadLetters: DeadLetterPublisher;
  drainTimeoutMs: number;
  /** ROUTES is set: messages name the route. */
  routed: boolean;
  /** The consumer stopped for good: the process should exit non-zero. */
  onFatal: (err: Error) => void;
  /** The instance's schema registry client (SCHEMA_REGISTRY_URL), for the schema-registry formats. */
  schemaRegistry?: SchemaRegistry | undefined;
}

export interface RouteStatus {
  route: string;
  state: RouteState;
  group: string;
  /** Empty when the route works (or is paused on purpose). */
  problems: string[];
}

/** Compiles a route's query; with ROUTES set, an error names the route (line and column stay). */
export function compileRouteQuery(cfg: RouteConfig, routed: boolean, options?: CompileOptions): CompiledQuery {
  try {
    return compileQuery(cfg.query, options);
  } catch (err) {
    if (routed && err instanceof QueryError) err.message = `route ${cfg.name}: query ${err.message}`;
    throw err;
  }
}

/** How often the in-flight and oldest-record gauges are refreshed while no batch arrives. */
const GAUGE_INTERVAL_MS = 2000;

export class Route {
  readonly name: string;
  readonly cfg: RouteConfig;
  readonly #d: RouteDeps;
  readonly #log: Logger;
  readonly #query: CompiledQuery;
  readonly #sinks: Array<{ name: string; sink: Sink }> = [];
  readonly #runners: SinkRunner[] = [];
  readonly #dlq: DeadLetterQueue;
  /** The running consumer and pipeline; undefined while paused or stopped. */
  #run: { source: GroupConsumer; pipeline: Pipeline } | undefined;
  #state: RouteState = 'starting';
  /** Pause, resume and stop run one after another. */
  #transitions: Promise<unknown> = Promise.resolve();
  #gauges: NodeJS.Timeout | undefined;

  constructor(cfg: RouteConfig, query: CompiledQuery, deps: RouteDeps) {
    this.name = cfg.name;
    this.cfg = cfg;
    this.#d = deps;
    this.#query = query;
    this.#log = deps.logger.child({ route: cfg.name });
    this.#dlq = new DeadLetterQueue(deps.publishDeadLetters, undefined, cfg.name);
    for (const s of cfg.sinks) {
      const name = s.definition.type;
      const sink = s.definition.create(s.config, {
        name,
        logger: this.#log.child({ sink: name }),
        countTruncated: (n = 1) => deps.metrics.truncated.inc({ route: cfg.name, sink: name }, n),
      });
      this.#sinks.push({ name, sink });
      this.#runners.push(new SinkRunner(name, sink, s.delivery, { dlq: this.#dlq, metrics: deps.metrics, logger: this.#log, route: cfg.name }));
    }
    this.#setState('starting');
  }

  get state(): RouteState {
    return this.#state;
  }

  get sinkNames(): string[] {
    return this.#sinks.map((s) => s.name);
  }

  /** Opens the sinks (connections, test writes); throws naming the sink. */
  async startSinks(): Promise<void> {
    for (const { name, sink } of this.#sinks) {
      try {
        await sink.start?.();
      } catch (err) {
        throw new Error(`${this.#d.routed ? `route ${this.name}: ` : ''}sink ${name} failed to start: ${oneLine(String((err as Error).message))}`, { cause: err });
      }
    }
  }

  /** Joins the route's group and starts consuming, unless it starts paused. */
  async start(paused: boolean): Promise<void> {
    for (const t of this.cfg.kafka.topics) this.#d.metrics.topicRetention.set({ topic: t }, -1);
    this.#gauges = setInterval(() => {
      this.#run?.pipeline.updateGauges();
      this.#run?.pipeline.tickSummaries();
    }, GAUGE_INTERVAL_MS);
    this.#gauges.unref();
    if (paused) {
      this.#setState('paused');
      this.#log.warn({ group: this.cfg.kafka.groupId }, 'route is paused (logstream routes resume to resume it): not joining its group');
      return;
    }
    await this.#consume();
  }

  async #consume(): Promise<void> {
    // A query that only filters, in front of sinks that ship records as their bytes, reads the records
    // without parsing them whole (decoderFor); otherwise every record is parsed once, up front.
    const json = this.#sinks.every(({ sink }) => sink.shipsBytes) ? decoderFor(this.#query) : jsonDecoder;
    const decoder = withKeys(this.cfg.kafka.keyFormat, valueDecoder(this.cfg.kafka.valueFormat, json, this.#d.schemaRegistry), this.#d.schemaRegistry);
    const source = this.#d.kafka.groupConsumer(this.cfg.kafka, this.#log, decoder);
    const pipeline = new Pipeline({
      route: this.name,
      source,
      query: this.#query,
      runners: this.#runners,
      dlq: this.#dlq,
      metrics: this.#d.metrics,
      logger: this.#log,
      inflightMaxRecords: this.cfg.inflightMaxRecords,
      inflightMaxBytes: this.cfg.inflightMaxBytes,
      rateLimit: this.cfg.rateLimit,
      // The time a member has to give partitions up: classic, its session (no heartbeat during a
      // JoinGroup); consumer protocol (KIP-848), its rebalance timeout (heartbeats go on meanwhile).
      rebalanceDrainMs: Math.min(this.#d.drainTimeoutMs, Math.floor((this.cfg.kafka.groupProtocol === 'consumer' ? this.cfg.kafka.rebalanceTimeoutMs : this.cfg.kafka.sessionTimeoutMs) / 2)),
      onFatal: (err) => {
        this.#setState('failed');
        // Names the route (the process's own fatal line that follows does not).
        this.#log.error({ group: this.cfg.kafka.groupId, err: oneLine(String(err?.message ?? err)) }, 'the route\'s consumer stopped for good');
        this.#d.onFatal(err);
      },
      onTopicRetention: (topic, ms) => this.#d.metrics.topicRetention.set({ topic }, ms < 0 ? -1 : ms / 1000),
    });
    this.#run = { source, pipeline };
    pipeline.committer.start(this.cfg.kafka.commitIntervalMs);
    try {
      await source.start(pipeline);
    } catch (err) {
      pipeline.committer.stop();
      this.#run = undefined;
      throw err;
    }
    this.#setState('running');
  }

  /** Drains, commits and leaves the group on this instance; the route's sinks stay open. */
  pause(reason: string): Promise<void> {
    return this.#serial(async () => {
      if (this.#state !== 'running' && this.#state !== 'starting') return;
      this.#setState('pausing');
      this.#log.info({ reason }, 'pausing the route: draining, committing, leaving its group');
      const drained = await this.#release('pause');
      this.#setState('paused');
      this.#log.info({ drained }, 'route paused');
    });
  }

  /** Joins the group again; the route continues from its group's commit. */
  resume(): Promise<void> {
    return this.#serial(async () => {
      if (this.#state !== 'paused') return;
      this.#log.info('resuming the route: joining its group');
      this.#setState('starting');
      await this.#consume();
    });
  }

  /** Shutdown: stop taking records, drain, commit, leave the group. Resolves with whether all was delivered. */
  stop(): Promise<boolean> {
    return this.#serial(async () => {
      if (this.#gauges) clearInterval(this.#gauges);
      const drained = await this.#release('shutdown');
      if (!drained) for (const r of this.#runners) r.abort();
      this.#setState('stopped');
      return drained;
    }) as Promise<boolean>;
  }

  /** Closes the sinks (after every route stopped). */
  async closeSinks(): Promise<void> {
    for (const { name, sink } of this.#sinks) {
      await sink.stop?.().catch((err) => this.#log.warn({ sink: name }, `sink close failed: ${oneLine(String(err?.message ?? err))}`));
    }
  }

  async #release(reason: string): Promise<boolean> {
    const run = this.#run;
    if (!run) return true;
    this.#run = undefined;
    run.source.stopAccepting();
    const drained = await run.pipeline.drainAndRelease(this.#d.drainTimeoutMs, reason);
    run.pipeline.committer.stop();
    await run.source.stop().catch((err) => this.#log.warn(`leaving the group failed: ${oneLine(String(err?.message ?? err))}`));
    run.pipeline.updateGauges();
    // Out of its group, the route owns no partition here: drop its assigned-partition and lag series
    // (a paused route would otherwise report the partitions it had, and their lag, frozen).
    run.pipeline.onAssigned([]);
    this.#d.metrics.pausedPartitions.set({ route: this.name }, 0);
    return drained;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#transitions.then(fn);
    this.#transitions = next.catch(() => undefined);
    return next;
  }

  #setState(state: RouteState): void {
    this.#state = state;
    for (const s of STATES) this.#d.metrics.routeState.set({ route: this.name, state: s }, s === state ? 1 : 0);
  }

  /** The route's state for /readyz: problems are empty when it delivers (or is paused on purpose). */
  status(): RouteStatus {
    const problems: string[] = [];
    if (this.#state === 'running' && !this.#run?.source.joined) problems.push('not a member of its consumer group (joining or rebalancing)');
    else if (this.#state !== 'running' && this.#state !== 'paused') problems.push(this.#state);
    if (this.#state !== 'paused') {
      for (const r of this.#runners) if (!r.healthy) problems.push(`sink ${r.name} failing: ${r.lastError ?? 'unknown error'}`);
      for (const { name, sink } of this.#sinks) {
        const problem = sink.problem?.();
        if (problem) problems.push(`sink ${name}: ${problem}`);
      }
      const registry = this.#d.schemaRegistry?.problem;
      if (registry !== undefined && (usesRegistry(this.cfg.kafka.valueFormat) || usesRegistry(this.cfg.kafka.keyFormat))) problems.push(registry);
    }
    return { route: this.name, state: this.#state, group: this.cfg.kafka.groupId, problems };
  }
}
