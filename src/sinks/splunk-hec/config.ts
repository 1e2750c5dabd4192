// Splunk HEC sink settings (HEC_*). Metadata (index, source, sourcetype, host) is each a constant or
// taken from a record field with the constant as default.
import { ConfigError } from '../../core/errors.ts';
import type { Secret } from '../../config/secret.ts';
import { parseVars, v, type Env } from '../../config/vars.ts';
import { httpTlsVars, parseHttpTls, type HttpTls } from '../../config/http-tls.ts';
import { httpUrlProblem } from '../http/url.ts';

export const hecVars = {
  HEC_URLS: v.list({ doc: 'HEC base URLs (https://splunk:8088), comma-separated; batches are spread over the healthy ones.', required: true, item: (u) => httpUrlProblem(u, 'HEC_TOKEN') }),
  HEC_TOKEN: v.secret({ doc: 'HEC token, sent as `Authorization: Splunk <token>`.', required: true }),
  HEC_ENDPOINT: v.oneOf(['event', 'raw'] as const, { doc: '`event` (/services/collector/event, JSON envelopes) or `raw` (/services/collector/raw, metadata in the query string).', default: 'event' }),
  HEC_INDEX: v.optionalString({ doc: 'Index (constant, or the default when HEC_INDEX_FIELD is missing in a record). Unset: the token\'s default index.' }),
  HEC_INDEX_FIELD: v.optionalString({ doc: 'Record field holding the index (e.g. `index`).' }),
  HEC_SOURCE: v.optionalString({ doc: 'source (constant or default).' }),
  HEC_SOURCE_FIELD: v.optionalString({ doc: 'Record field holding the source.' }),
  HEC_SOURCETYPE: v.string({ doc: 'sourcetype (constant or default).', default: '_json' }),
  HEC_SOURCETYPE_FIELD: v.optionalString({ doc: 'Record field holding the sourcetype.' }),
  HEC_HOST: v.optionalString({ doc: 'host (constant or default).' }),
  HEC_HOST_FIELD: v.optionalString({ doc: 'Record field holding the host.' }),
  HEC_TIME_FIELD: v.optionalString({ doc: 'Record field holding the event time: epoch seconds or milliseconds (number or numeric text) or ISO 8601 text; otherwise the Kafka timestamp is used.' }),
  HEC_FIELDS: v.list({
    doc: 'Indexed `fields` (event endpoint only), comma-separated: `field` or `name=field`, where field may be Kafka metadata: `__topic__`, `__partition__`, `__offset__`, `__timestamp__`, `__key__`, `__schema_id__`, `__schema_subject__`, `__schema_version__`, `__headers__.<name>` (e.g. `tenant=__headers__.tenant,kafka_key=__key__`).',
    default: [],
    item: (s) => (/^[^=]+(=[^=]+)?$/.test(s) ? undefined : `${JSON.stringify(s)} is not field or name=field`),
  }),
  HEC_STAMP_ORIGIN: v.bool({ doc: 'Add indexed fields kafka_topic, kafka_partition, kafka_offset, so duplicates can be removed in Splunk.', default: false }),
  HEC_GZIP: v.bool({ doc: 'Compress request bodies (Content-Encoding: gzip).', default: true }),
  HEC_GZIP_LEVEL: v.int({ doc: 'gzip level, 1 (fast) to 9 (small).', default: 6, min: 1, max: 9 }),
  HEC_CONNECTIONS: v.int({ doc: 'Keep-alive connections per HEC URL.', default: 4, min: 1, max: 256 }),
  ...httpTlsVars('HEC'),
  HEC_ACK: v.bool({ doc: 'Indexer acknowledgement: records count as delivered only when Splunk says they are indexed (Splunk Enterprise; the token must have it on).', default: false }),
  HEC_ACK_TIMEOUT: v.duration({ doc: 'A batch whose acknowledgement does not come within this is sent again.', default: 300_000, min: 100 }),
  HEC_ACK_POLL_INTERVAL: v.duration({ doc: 'How often /services/collector/ack is polled.', default: 10_000, min: 10 }),
  HEC_ACK_MAX_PENDING: v.int({ doc: 'Batches awaiting acknowledgement at most; sending waits past it.', default: 200, min: 1 }),
  HEC_HEALTH_CHECK: v.bool({ doc: 'Check /services/collector/health on every URL at start and every 15 s; a failing URL is reported in /readyz and logged (delivery goes on: a failed request takes a URL out of rotation for 5 s).', default: true }),
};

export interface MetaSource {
  readonly constant: string | undefined;
  readonly field: string | undefined;
}

export interface HecConfig {
  urls: URL[];
  token: Secret;
  endpoint: 'event' | 'raw';
  index: MetaSource;
  source: MetaSource;
  sourcetype: MetaSource;
  host: MetaSource;
  timeField: string | undefined;
  /** Indexed fields: the HEC field name and where its value comes from (a field or Kafka metadata). */
  fields: Array<{ name: string; path: string }>;
  stampOrigin: boolean;
  gzip: boolean;
  gzipLevel: number;
  connections: number;
  tls: HttpTls;
  healthCheck: boolean;
  ack: { enabled: boolean; timeoutMs: number; pollIntervalMs: number; maxPending: number };
}

export function parseHecConfig(env: Env): HecConfig {
  const p = parseVars(hecVars, env);
  const problems: string[] = [];
  if (p.HEC_ENDPOINT === 'raw' && (p.HEC_FIELDS.length > 0 || p.HEC_STAMP_ORIGIN)) problems.push('HEC_FIELDS: indexed fields need HEC_ENDPOINT=event (the raw endpoint has no fields)');
  const tls = parseHttpTls('HEC', p, problems);
  if (problems.length) throw new ConfigError(problems);
  return {
    urls: p.HEC_URLS.map((u) => new URL(u)),
    token: p.HEC_TOKEN!,
    endpoint: p.HEC_ENDPOINT,
    index: { constant: p.HEC_INDEX, field: p.HEC_INDEX_FIELD },
    source: { constant: p.HEC_SOURCE, field: p.HEC_SOURCE_FIELD },
    sourcetype: { constant: p.HEC_SOURCETYPE, field: p.HEC_SOURCETYPE_FIELD },
    host: { constant: p.HEC_HOST, field: p.HEC_HOST_FIELD },
    timeField: p.HEC_TIME_FIELD,
    fields: p.HEC_FIELDS.map((item) => {
      const eq = item.indexOf('=');
      return eq < 0 ? { name: item, path: item } : { name: item.slice(0, eq).trim(), path: item.slice(eq + 1).trim() };
    }),
    stampOrigin: p.HEC_STAMP_ORIGIN,
    gzip: p.HEC_GZIP,
    gzipLevel: p.HEC_GZIP_LEVEL,
    connections: p.HEC_CONNECTIONS,
    tls,
    healthCheck: p.HEC_HEALTH_CHECK,
    ack: { enabled: p.HEC_ACK, timeoutMs: p.HEC_ACK_TIMEOUT, pollIntervalMs: p.HEC_ACK_POLL_INTERVAL, maxPending: p.HEC_ACK_MAX_PENDING },
  };
}
