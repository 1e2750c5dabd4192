// Wires the routes, the webhook and the HTTP server of one instance and owns their start/stop order.
//   start: every route's sinks (I/O checks) → dead-letter producers → HTTP → webhook → control topic
//          → every route joins its consumer group (unless paused there)
//   stop:  every route at once: stop taking records → flush → drain (DRAIN_TIMEOUT) → commit → leave
//          its group; then the webhook, the sinks, the producers, HTTP
import type { AppConfig } from './app-config.ts';
import { oneLine } from './core/errors.ts';
import { DeadLetterQueue } from './delivery/dead-letter.ts';
import { Enrichment } from './enrich/enrichment.ts';
import { HttpServer, type Readiness } from './http/server.ts';
import { watchedFiles } from './config/watched-file.ts';
import { compileRouteQuery, Route, type RouteStatus } from './pipeline/route.ts';
import { valueDecoder, withKeys } from './source/decode/formats.ts';
import { SchemaRegistry } from './source/decode/registry.ts';
import { jsonDecoder } from './source/kafka/decode.ts';
import { ControlTopic } from './source/kafka/control-topic.ts';
import { KafkaDeadLetterPublisher } from './source/kafka/dead-letter-publisher.ts';
import type { KafkaClient } from './source/kafka/interface.ts';
import { namingTheSetting } from './source/kafka/setting-errors.ts';
import type { Logger } from './telemetry/logger.ts';
import { createMetrics, type Metrics } from './telemetry/metrics.ts';
import { Webhook, WEBHOOK_PATH_PREFIX } from './webhook/index.ts';
import { compileWebhookQuery } from './webhook/query.ts';

/** How often every instance reads the control topic (how soon a pause or resume takes effect). */
const CONTROL_POLL_MS = 1000;

export class App {
  readonly #cfg: AppConfig;
  readonly #log: Logger;
  readonly metrics: Metrics;
  readonly #kafka: KafkaClient;
  /** One producer per dead-letter topic (routes may share one). */
  readonly #dlqPublishers = new Map<string, KafkaDeadLetterPublisher>();
  readonly routes: Route[] = [];
  readonly #http: HttpServer;
  /** METRICS_PORT's listener (/metrics and the probes), when set. */
  readonly #metricsHttp: HttpServer | undefined;
  #secretWatch: { stop(): void } | undefined;
  metricsPort: number | undefined;
  readonly #webhook: Webhook | undefined;
  readonly #control: ControlTopic | undefined;
  readonly #schemaRegistry: SchemaRegistry | undefined;
  readonly #enrichment: Enrichment;
  #fatal: ((err: Error) => void) | undefined;
  #stopping: Promise<void> | undefined;
  #started = false;
  httpPort = 0;

  /** `kafka`: the client of cfg.kafka (connectKafkaFor), made by the caller because loading it is asynchronous. */
  constructor(cfg: AppConfig, logger: Logger, kafka: KafkaClient) {
    this.#cfg = cfg;
    this.#log = logger;
    // Lookup tables and databases are read first (a bad file names its variable), then every query
    // compiles before any other I/O (QueryError with line and column, and the route's name).
    this.#enrichment = new Enrichment(cfg.enrich);
    const compileOptions = { lookups: this.#enrichment, geoip: this.#enrichment.geo };
    const queries = cfg.routes.map((r) => compileRouteQuery(r, cfg.routed, compileOptions));
    const webhookQuery = compileWebhookQuery(cfg.query, cfg.webhook !== undefined, compileOptions);
    this.metrics = createMetrics();
    this.#kafka = kafka;
    if (cfg.schemaRegistry) {
      const m = this.metrics;
      this.#schemaRegistry = new SchemaRegistry(cfg.schemaRegistry, logger, {
        request: (result) => m.schemaRegistryRequests.inc({ result }),
        up: (up) => m.schemaRegistryUp.set(up ? 1 : 0),
      });
    }
    const publisher = (topic: string): KafkaDeadLetterPublisher => {
      let p = this.#dlqPublishers.get(topic);
      if (!p) {
        p = new KafkaDeadLetterPublisher(this.#kafka, topic, logger);
        this.#dlqPublishers.set(topic, p);
      }
      return p;
    };
    cfg.routes.forEach((r, i) => {
      this.routes.push(
        new Route(r, queries[i]!, {
          kafka: this.#kafka,
          metrics: this.metrics,
          logger,
          publishDeadLetters: publisher(r.kafka.dlqTopic).publish,
          drainTimeoutMs: cfg.drainTimeoutMs,
          routed: cfg.routed,
          schemaRegistry: this.#schemaRegistry,
          onFatal: (err) => this.#fatal?.(err),
        }),
      );
    });
    const m = this.metrics;
    const serve = { registry: m.registry, alive: () => true, readiness: () => this.readiness() };
    const tlsLog = logger.child({ component: 'http' });
    this.#http = new HttpServer({
      ...serve,
      metrics: cfg.metricsPort === undefined,
      ...(cfg.httpTls ? { tls: cfg.httpTls } : {}),
      onTls: (e) => {
        if (e.kind === 'refused') return m.httpTlsRefused.inc({ reason: e.reason });
        m.httpTlsReloads.inc({ result: e.kind === 'reloaded' ? 'ok' : 'failed' });
        if (e.kind === 'reloaded') tlsLog.info('HTTP server certificate renewed: new connections get it');
        else tlsLog.warn(`HTTP_TLS_CERT_FILE / HTTP_TLS_KEY_FILE changed but make no valid pair yet; the previous certificate stays (${oneLine(e.why)})`);
      },
    });
    this.#metricsHttp = cfg.metricsPort === undefined ? undefined : new HttpServer(serve);
    if (cfg.webhook) {
      const dlq = new DeadLetterQueue(publisher(cfg.kafka.dlqTopic).publish, undefined, 'webhook');
      this.#webhook = new Webhook(cfg.webhook, {
        kafka: this.#kafka,
        query: webhookQuery,
        decoder: withKeys(cfg.kafka.keyFormat, valueDecoder(cfg.kafka.valueFormat, jsonDecoder, this.#schemaRegistry), this.#schemaRegistry),
        dlq,
        metrics: this.metrics,
        logger,
        trustedProxies: cfg.trustedProxies,
      });
      this.#http.routePrefix(WEBHOOK_PATH_PREFIX, this.#webhook.handle);
    }
    if (this.routes.length > 0) this.#control = new ControlTopic(this.#kafka, cfg.kafka.controlTopic, logger);
  }

  /** Called once if a consumer stops for good; the process should exit non-zero. */
  onFatal(handler: (err: Error) => void): void {
    this.#fatal = handler;
  }

  /**
   * Ready while any route works (or is paused on purpose): a dead SIEM on one route must not take the
   * pod out of its Service, which also serves the webhook. The body says how each route is.
   */
  readiness(): Readiness & { routes?: RouteStatus[] } {
    const reasons: string[] = [];
    if (!this.#started) reasons.push('starting');
    if (this.#stopping) reasons.push('stopping');
    const routes = this.routes.map((r) => r.status());
    const working = routes.filter((r) => r.problems.length === 0);
    if (routes.length > 0 && working.length === 0) {
      for (const r of routes) for (const p of r.problems) reasons.push(this.#cfg.routed ? `route ${r.route}: ${p}` : p);
    }
    return { ready: reasons.length === 0, reasons, ...(this.#cfg.routed ? { routes } : {}) };
  }

  async start(): Promise<void> {
    const m = this.metrics;
    const enrichLog = this.#log.child({ component: 'enrich' });
    this.#enrichment.start({
      reload: (source, result, count = 1) => m.enrichmentReloads.inc({ source, result }, count),
      size: (source, rows) => m.enrichmentRows.set({ source }, rows),
      log: (level, fields, message) => enrichLog[level](fields, message),
    });
    const secretLog = this.#log.child({ component: 'secrets' });
    this.#secretWatch = watchedFiles.watch(this.#cfg.secretsReloadMs, (file, result, why) => {
      m.secretReloads.inc({ variable: file.variable, result });
      if (result === 'changed') secretLog.info({ variable: file.variable, file: file.path }, `${file.variable}: new content in use from the next request or connection`);
      else secretLog.warn({ variable: file.variable, file: file.path, result }, `${file.variable}: new content not used (${result}${why ? `: ${oneLine(why)}` : ''}); the previous value stays`);
    });
    for (const route of this.routes) await route.startSinks();
    this.httpPort = await this.#http.listen(this.#cfg.httpPort, this.#cfg.httpHost);
    if (this.#metricsHttp) this.metricsPort = await this.#metricsHttp.listen(this.#cfg.metricsPort!, this.#cfg.httpHost);
    // A connection problem names the endpoint (a message that names its variable already says enough).
    const k = this.#cfg.kafka;
    const where = `Kafka ${k.brokers.join(',')} (KAFKA_BROKERS${k.security.sasl ? `, SASL ${k.security.sasl.mechanism}` : ''}${k.security.tls ? ', TLS' : ''})`;
    const kafkaError = (err: unknown): Error => {
      const msg = namingTheSetting(err, oneLine(String((err as Error)?.message ?? err)));
      return new Error(/^KAFKA_[A-Z_]+: /.test(msg) ? msg : `${where}: ${msg}`, { cause: err });
    };
    if (k.security.tls?.insecure) this.#log.warn('KAFKA_TLS_INSECURE=true: the broker certificates are NOT verified');
    for (const w of this.#cfg.warnings) this.#log.warn(w);
    try {
      for (const [topic, p] of this.#dlqPublishers) {
        const sources = new Set(this.#cfg.routes.filter((r) => r.kafka.dlqTopic === topic).flatMap((r) => r.kafka.topics));
        if (this.#cfg.webhook && topic === k.dlqTopic) for (const t of this.#cfg.webhook.products.values()) sources.add(t);
        const partitions = this.#cfg.routes.find((r) => r.kafka.dlqTopic === topic)?.kafka.dlqPartitions ?? k.dlqPartitions;
        await p.start(partitions, [...sources]);
      }
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
    if (this.#control) {
      try {
        await this.#control.start();
      } catch (err) {
        throw kafkaError(err);
      }
    }
    try {
      await Promise.all(this.routes.map((r) => r.start(this.#control?.states.get(r.name)?.state === 'paused')));
    } catch (err) {
      throw kafkaError(err);
    }
    this.#control?.follow(CONTROL_POLL_MS, (name, control) => {
      const route = this.routes.find((r) => r.name === name);
      if (!route || this.#stopping) return;
      this.#log.info({ route: name, state: control.state, by: control.by, at: control.at, reason: control.reason }, `control topic: route ${control.state === 'paused' ? 'pause' : 'resume'} requested`);
      const change = control.state === 'paused' ? route.pause(`requested by ${control.by}`) : route.resume();
      change.catch((err) => {
        this.#log.error({ route: name }, `route ${control.state === 'paused' ? 'pause' : 'resume'} failed: ${oneLine(String((err as Error)?.message ?? err))}`);
        if (control.state === 'running') this.#fatal?.(err as Error);
      });
    });
    this.#started = true;
    this.#log.info(
      {
        httpPort: this.httpPort,
        ...(this.metricsPort !== undefined ? { metricsPort: this.metricsPort } : {}),
        https: this.#cfg.httpTls !== undefined,
        kafkaClient: this.#cfg.kafka.client,
        groupProtocol: this.#cfg.kafka.groupProtocol,
        routes: this.routes.map((r) => ({ route: r.name, state: r.state, group: r.cfg.kafka.groupId, topics: r.cfg.kafka.topics, sinks: r.sinkNames })),
        ...(this.#cfg.webhook ? { webhook: Object.fromEntries(this.#cfg.webhook.products) } : {}),
      },
      'logstream started',
    );
  }

  /** Graceful stop; idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#log.info('stopping: no new records, draining in-flight deliveries');
    await this.#control?.stop();
    const drained = await Promise.all(this.routes.map((r) => r.stop()));
    if (drained.some((d) => !d)) for (const p of this.#dlqPublishers.values()) p.abort();
    await this.#webhook?.stop();
    for (const r of this.routes) await r.closeSinks();
    for (const p of this.#dlqPublishers.values()) await p.stop().catch(() => undefined);
    this.#schemaRegistry?.close();
    this.#enrichment.stop();
    this.#secretWatch?.stop();
    await this.#http.close();
    await this.#metricsHttp?.close();
    this.#log.info({ drained: drained.every(Boolean) }, 'stopped');
  }
}
