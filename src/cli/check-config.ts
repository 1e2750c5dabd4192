// `logstream check-config`: validates the environment and prints the resolved configuration — the
// shared settings and each route as it resolved (its group, topics, query, sinks, in-flight share) —
// with secrets masked. Variables nothing reads are listed as warnings on stderr.
import { loadConfig } from '../app-config.ts';
import { compileRouteQuery } from '../pipeline/route.ts';
import { Enrichment } from '../enrich/enrichment.ts';
import { compileWebhookQuery } from '../webhook/query.ts';

export function checkConfigCommand(env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, err?: NodeJS.WritableStream): void {
  const cfg = loadConfig(env);
  // The lookup tables and databases are read (a bad file names its variable) and the queries use them.
  const enrichment = new Enrichment(cfg.enrich);
  const options = { lookups: enrichment, geoip: enrichment.geo };
  for (const r of cfg.routes) compileRouteQuery(r, cfg.routed, options);
  compileWebhookQuery(cfg.query, cfg.webhook !== undefined, options);
  const { routes, warnings, kafka, ...shared } = cfg;
  const { topics: _t, groupId: _g, startFrom: _s, commitIntervalMs: _c, fetchMaxWaitMs: _f, maxBytesPerPartition: _m, dlqTopic: _d, dlqPartitions: _p, ...kafkaShared } = kafka;
  const printable = {
    ...shared,
    kafka: kafkaShared,
    routes: routes.map((r) => {
      const { brokers: _b, clientId: _ci, groupProtocol: _gp, security: _sec, sessionTimeoutMs: _st, heartbeatIntervalMs: _h, rebalanceTimeoutMs: _r, connectionTimeoutMs: _ct, controlTopic: _ctl, ...own } = r.kafka;
      return {
        name: r.name,
        kafka: own,
        query: r.query,
        sinks: r.sinks.map((s) => ({ type: s.definition.type, config: s.config, delivery: s.delivery })),
        inflightMaxRecords: r.inflightMaxRecords,
        inflightMaxBytes: r.inflightMaxBytes,
        rateLimit: r.rateLimit,
      };
    }),
    webhook: cfg.webhook && {
      ...cfg.webhook,
      products: Object.fromEntries(cfg.webhook.products),
      keys: cfg.webhook.keys.map((k) => ({ product: k.product, keyId: k.hash.slice('sha256:'.length, 'sha256:'.length + 12) })),
    },
    warnings,
  };
  out.write(`${JSON.stringify(printable, hideFileContents, 2)}\n`);
  for (const w of warnings) err?.write(`logstream: warning: ${w}\n`);
}

/** Files read at load (CA, certificates, private keys) print as their size, never their bytes. */
function hideFileContents(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (Buffer.isBuffer(raw)) return `<${raw.length} bytes read>`;
  return value;
}
