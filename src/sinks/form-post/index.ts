// form_post sink: the SaaS "Form Post" output (seeds/000) — JSON lines as a multipart/form-data file,
// at most 20 rows per POST — without its data loss: a receiver that is down delays delivery, and
// Kafka keeps the records until it is back.
import type { SinkDefinition } from '../../delivery/sink.ts';
import { formPostVars, parseFormPostConfig, type FormPostConfig } from './config.ts';
import { encodeRecord, productOf } from './encoder.ts';
import { FormPostTransport } from './transport.ts';

export const formPostSink: SinkDefinition<FormPostConfig> = {
  type: 'form_post',
  envPrefix: 'FORMPOST',
  summary: 'JSON lines POSTed as a multipart/form-data file, at most 20 rows per POST, with product and row-count fields.',
  vars: formPostVars,
  parseConfig: parseFormPostConfig,
  // 20 rows per POST as the SaaS sends; ~1 MB per POST stays under nginx's default client_max_body_size
  // (1 MiB) with the form's own few hundred bytes; a partial POST leaves after 1 s.
  deliveryDefaults: { batchMaxRecords: 20, batchMaxBytes: 1_000_000, batchMaxWaitMs: 1000, concurrency: 8, requestTimeoutMs: 30_000 },
  create(cfg, ctx) {
    const transport = new FormPostTransport(cfg);
    return {
      encode: encodeRecord,
      ...(cfg.productField !== undefined ? { batchKey: (record) => productOf(record, cfg) } : {}),
      async start() {
        if (cfg.tls.insecure) ctx.logger.warn('FORMPOST_TLS_INSECURE=true: the receiver\'s certificate is NOT verified');
        if (cfg.origin.startsWith('http:') && cfg.auth) ctx.logger.warn(`FORMPOST_URL is plain http: the ${cfg.auth.header} header travels unencrypted to ${cfg.origin}`);
      },
      send: (batch, signal) => transport.send(batch, signal),
      stop: () => transport.close(),
    };
  },
};
