// Wires source → query → sinks and owns the start/stop order of one instance.
//   start: sinks (I/O checks) → dead-letter producer → HTTP → consumer group
//   stop:  stop taking records → flush → drain (DRAIN_TIMEOUT) → commit → leave the group → close sinks
import type { AppConfig } from './config/app-config.ts';
import { oneLine } from './core/errors.ts';
import { DeadLetterQueue } from './delivery/dead-letter.ts';
import { SinkRunner } from './delivery/sink-runner.ts';
import { HttpServer, type Readiness } from './http/server.ts';
import { Pipeline } from './pipeline/pipeline.ts';
import { compileQuery } from './query/index.ts';
import type { Sink } from './sinks/types.ts';
import { KafkaGroupSource } from './source/kafka/consumer.ts';
import { KafkaDeadLetterPublisher } from './source/kafka/dead-letter-publisher.ts';
import type { Logger } from './telemetry/logger.ts';
import { createMetrics, type Metrics } from './telemetry/metrics.ts';
import { Webhook, WEBHOOK_PATH_PREFIX } from './webhook/index.ts';

export class App {
  readonly #cfg: AppConfig;
  readonly #log: Logger;
  readonly metrics: Metrics;
  readonly #source: KafkaGroupSource;
  readonly #dlqPublisher: KafkaDeadLetterPublisher;
  readonly #sinks: Array<{ name: string; sink: Sink }> = [];
  readonly #runners: SinkRunner[] = [];
  readonly #pipeline: Pipeline;
  readonly #http: HttpServer;
  readonly #webhook: Webhook | undefined;
  /** False for a webhook-only instance (no SINKS): it joins no consumer group. */
  readonly #consuming: boolean;
  #fatal: ((err: Error) => void) | undefined;
  #stopping: Promise<void> | undefined;
  #started = false;
  httpPort = 0;

  constructor(cfg: AppConfig, logger: Logger) {
    this.#cfg = cfg;
    this.#log = logger;
    const query = compileQuery(cfg.query); // throws QueryError (line, column) before any I/O
    this.metrics = createMetrics();
    this.#source = new KafkaGroupSource(cfg.kafka, logger);
    this.#dlqPublisher = new KafkaDeadLetterPublisher(this.#source.kafka, cfg.kafka.dlqTopic, logger);
    const dlq = new DeadLetterQueue(this.#dlqPublisher.publish);
    for (const s of cfg.sinks) {
      const name = s.definition.type;
      const sink = s.definition.create(s.config, {
        name,
        logger: logger.child({ sink: name }),
        countTruncated: (n = 1) => this.metrics.truncated.inc({ sink: name }, n),
      });
      this.#sinks.push({ name, sink });
      this.#runners.push(new SinkRunner(name, sink, s.delivery, { dlq, metrics: this.metrics, logger }));
    }
    this.#pipeline = new Pipeline({
      source: this.#source,
      query,
      runners: this.#runners,
      dlq,
      metrics: this.metrics,
      logger,
      inflightMaxRecords: cfg.inflightMaxRecords,
      inflightMaxBytes: cfg.inflightMaxBytes,
      rebalanceDrainMs: Math.min(cfg.drainTimeoutMs, Math.floor(cfg.kafka.sessionTimeoutMs / 2)),
      onFatal: (err) => this.#fatal?.(err),
    });
    this.#http = new HttpServer({ registry: this.metrics.registry, alive: () => true, readiness: () => this.readiness() });
    this.#consuming = cfg.sinks.length > 0;
    if (cfg.webhook) {
      this.#webhook = new Webhook(cfg.webhook, { kafka: this.#source.kafka, query, dlq, metrics: this.metrics, logger });
      this.#http.routePrefix(WEBHOOK_PATH_PREFIX, this.#webhook.handle);
    }
  }

  /** Called once if the consumer stops for good; the process should exit non-zero. */
  onFatal(handler: (err: Error) => void): void {
    this.#fatal = handler;
  }

  readiness(): Readiness {
    const reasons: string[] = [];
    if (!this.#started) reasons.push('starting');
    if (this.#stopping) reasons.push('stopping');
    if (this.#consuming && !this.#source.joined) reasons.push('not a member of the consumer group (joining or rebalancing)');
    for (const r of this.#runners) if (!r.healthy) reasons.push(`sink ${r.name} failing: ${r.lastError ?? 'unknown error'}`);
    for (const { name, sink } of this.#sinks) {
      const problem = sink.problem?.();
      if (problem) reasons.push(`sink ${name}: ${problem}`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  async start(): Promise<void> {
    for (const { name, sink } of this.#sinks) {
      try {
        await sink.start?.();
      } catch (err) {
        throw new Error(`sink ${name} failed to start: ${oneLine(String((err as Error).message))}`, { cause: err });
      }
    }
    this.httpPort = await this.#http.listen(this.#cfg.httpPort, this.#cfg.httpHost);
    // A connection problem names the endpoint (a message that names its variable already says enough).
    const where = `Kafka ${this.#cfg.kafka.brokers.join(',')} (KAFKA_BROKERS${this.#cfg.kafka.security.sasl ? `, SASL ${this.#cfg.kafka.security.sasl.mechanism}` : ''}${this.#cfg.kafka.security.tls ? ', TLS' : ''})`;
    const kafkaError = (err: unknown): Error => {
      const msg = oneLine(String((err as Error)?.message ?? err));
      return new Error(/^KAFKA_[A-Z_]+: /.test(msg) ? msg : `${where}: ${msg}`, { cause: err });
    };
    if (this.#cfg.kafka.security.tls?.insecure) this.#log.warn('KAFKA_TLS_INSECURE=true: the broker certificates are NOT verified');
    try {
      await this.#dlqPublisher.start(this.#cfg.kafka.dlqPartitions, this.#cfg.kafka.topics);
    } catch (err) {
      throw kafkaError(err);
    }
    if (this.#webhook) {
      try {
        await this.#webhook.start();
      } catch (err) {
        throw new Error(`webhook failed to start: ${oneLine(String((err as Error).message))}`, { cause: err });
      }
    }
    if (this.#consuming) {
      this.#pipeline.committer.start(this.#cfg.kafka.commitIntervalMs);
      try {
        await this.#source.start(this.#pipeline);
      } catch (err) {
        throw kafkaError(err);
      }
    }
    this.#started = true;
    this.#log.info(
      {
        httpPort: this.httpPort,
        sinks: this.#sinks.map((s) => s.name),
        ...(this.#consuming ? { topics: this.#cfg.kafka.topics, group: this.#cfg.kafka.groupId } : {}),
        ...(this.#cfg.webhook ? { webhook: Object.fromEntries(this.#cfg.webhook.products) } : {}),
      },
      'logstream started',
    );
  }

  /** Graceful stop; idempotent. Resolves with whether everything in flight was delivered. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#log.info('stopping: no new records, draining in-flight deliveries');
    this.#source.stopAccepting();
    const drained = await this.#pipeline.drainAndRelease(this.#cfg.drainTimeoutMs, 'shutdown');
    this.#pipeline.committer.stop();
    if (!drained) {
      for (const r of this.#runners) r.abort();
      this.#dlqPublisher.abort();
    }
    await this.#source.stop().catch((err) => this.#log.warn(`leaving the group failed: ${oneLine(String(err?.message ?? err))}`));
    await this.#webhook?.stop();
    for (const { name, sink } of this.#sinks) {
      await sink.stop?.().catch((err) => this.#log.warn({ sink: name }, `sink close failed: ${oneLine(String(err?.message ?? err))}`));
    }
    await this.#dlqPublisher.stop().catch(() => undefined);
    await this.#http.close();
    this.#log.info({ drained }, 'stopped');
  }
}
