// Schema registry settings (SCHEMA_REGISTRY_*): shared by every route that reads a schema-registry
// format. Validation is pure; the registry is asked only when a record names a schema id.
import { ConfigError } from '../../core/errors.ts';
import { httpTlsVars, parseHttpTls, type HttpTls } from '../../config/http-tls.ts';
import type { Secret } from '../../config/secret.ts';
import { parseVars, v, type Env } from '../../config/vars.ts';

export const schemaRegistryVars = {
  SCHEMA_REGISTRY_URL: v.list({
    doc: 'Schema registry base URL(s), comma-separated, tried in turn when one fails (Confluent Schema Registry, Apicurio `…/apis/ccompat/v7`, Karapace, Redpanda). Needed by KAFKA_VALUE_FORMAT avro, protobuf, json-schema and auto.',
    required: false,
    item: (s) => (/^https?:\/\/[^\s/]+/i.test(s) ? undefined : `${JSON.stringify(s)} is not an http(s) URL`),
  }),
  SCHEMA_REGISTRY_USERNAME: v.optionalString({ doc: 'User for HTTP basic authentication to the registry (with SCHEMA_REGISTRY_PASSWORD; Confluent Cloud: the API key).' }),
  SCHEMA_REGISTRY_PASSWORD: v.secret({ doc: 'Password for basic authentication (Confluent Cloud: the API secret).' }),
  SCHEMA_REGISTRY_TOKEN: v.secret({ doc: 'Bearer token for the registry (`Authorization: Bearer`), instead of basic authentication.' }),
  SCHEMA_REGISTRY_TIMEOUT: v.duration({ doc: 'Longest one registry request may take before it counts as failed (and the next URL is tried).', default: 10_000, min: 100 }),
  SCHEMA_REGISTRY_CACHE_SIZE: v.int({ doc: 'Schemas kept compiled, by id (least recently used ones are dropped beyond it; a schema id never changes, so a dropped one is only fetched again).', default: 1000, min: 1 }),
  ...httpTlsVars('SCHEMA_REGISTRY'),
};

export interface SchemaRegistryConfig {
  urls: string[];
  auth: { kind: 'basic'; username: string; password: Secret } | { kind: 'bearer'; token: Secret } | undefined;
  timeoutMs: number;
  cacheSize: number;
  tls: HttpTls;
}

/** undefined when SCHEMA_REGISTRY_URL is not set; problems name their variable. */
export function parseSchemaRegistryConfig(env: Env): SchemaRegistryConfig | undefined {
  const p = parseVars(schemaRegistryVars, env);
  const problems: string[] = [];
  const tls = parseHttpTls('SCHEMA_REGISTRY', p, problems);
  if (p.SCHEMA_REGISTRY_TOKEN && (p.SCHEMA_REGISTRY_USERNAME !== undefined || p.SCHEMA_REGISTRY_PASSWORD)) problems.push('SCHEMA_REGISTRY_TOKEN: set either a token or SCHEMA_REGISTRY_USERNAME/SCHEMA_REGISTRY_PASSWORD, not both');
  if ((p.SCHEMA_REGISTRY_USERNAME === undefined) !== (p.SCHEMA_REGISTRY_PASSWORD === undefined)) problems.push('SCHEMA_REGISTRY_PASSWORD: basic authentication needs both SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD');
  const urls = p.SCHEMA_REGISTRY_URL;
  // Not echoed: the URL would carry the password into the error.
  if (urls?.some((u) => /^https?:\/\/[^/]*@/i.test(u))) problems.push('SCHEMA_REGISTRY_URL: credentials in the URL are not used (and would be logged): set SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD, or SCHEMA_REGISTRY_TOKEN');
  if (!urls) {
    const set = Object.keys(schemaRegistryVars).flatMap((k) => [k, `${k}_FILE`]).filter((k) => !k.startsWith('SCHEMA_REGISTRY_URL') && env[k] !== undefined && env[k]!.trim() !== '');
    if (set.length > 0) problems.push(`SCHEMA_REGISTRY_URL: is not set, but ${set.join(', ')} is`);
  }
  if (problems.length) throw new ConfigError(problems);
  if (!urls) return undefined;
  return {
    urls: urls.map((u) => u.replace(/\/+$/, '')),
    auth: p.SCHEMA_REGISTRY_TOKEN
      ? { kind: 'bearer', token: p.SCHEMA_REGISTRY_TOKEN }
      : p.SCHEMA_REGISTRY_USERNAME !== undefined && p.SCHEMA_REGISTRY_PASSWORD
        ? { kind: 'basic', username: p.SCHEMA_REGISTRY_USERNAME, password: p.SCHEMA_REGISTRY_PASSWORD }
        : undefined,
    timeoutMs: p.SCHEMA_REGISTRY_TIMEOUT,
    cacheSize: p.SCHEMA_REGISTRY_CACHE_SIZE,
    tls,
  };
}
