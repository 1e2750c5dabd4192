// SCHEMA_REGISTRY_* and the formats that need them: every problem names its variable, and no secret is
// echoed.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/app-config.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import { parseSchemaRegistryConfig } from '../../../src/source/decode/registry-config.ts';

const problems = (f: () => unknown): string[] => {
  try {
    f();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};
const BASE = { KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_TOPICS: 't', SINKS: 'stdout' };

describe('schema registry settings', () => {
  it('is off without SCHEMA_REGISTRY_URL, and parses URLs, auth and limits', () => {
    expect(parseSchemaRegistryConfig({})).toBeUndefined();
    const cfg = parseSchemaRegistryConfig({ SCHEMA_REGISTRY_URL: 'https://a:8081/,http://b/apis/ccompat/v7', SCHEMA_REGISTRY_USERNAME: 'u', SCHEMA_REGISTRY_PASSWORD: 'secret-pw', SCHEMA_REGISTRY_TIMEOUT: '2s' })!;
    expect(cfg.urls).toEqual(['https://a:8081', 'http://b/apis/ccompat/v7']);
    expect(cfg.auth).toMatchObject({ kind: 'basic', username: 'u' });
    expect(JSON.stringify(cfg)).not.toContain('secret-pw');
    expect(cfg).toMatchObject({ timeoutMs: 2000, cacheSize: 1000 });
  });

  it('names the variable at fault, and never echoes a password', () => {
    expect(problems(() => parseSchemaRegistryConfig({ SCHEMA_REGISTRY_URL: 'https://user:hunter2@reg:8081' }))).toEqual([
      'SCHEMA_REGISTRY_URL: credentials in the URL are not used (and would be logged): set SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD, or SCHEMA_REGISTRY_TOKEN',
    ]);
    expect(problems(() => parseSchemaRegistryConfig({ SCHEMA_REGISTRY_URL: 'https://reg', SCHEMA_REGISTRY_USERNAME: 'u' }))).toEqual(['SCHEMA_REGISTRY_PASSWORD: basic authentication needs both SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD']);
    expect(problems(() => parseSchemaRegistryConfig({ SCHEMA_REGISTRY_URL: 'https://reg', SCHEMA_REGISTRY_TOKEN: 't', SCHEMA_REGISTRY_USERNAME: 'u', SCHEMA_REGISTRY_PASSWORD: 'p' }))[0]).toMatch(/^SCHEMA_REGISTRY_TOKEN: set either a token or/);
    expect(problems(() => parseSchemaRegistryConfig({ SCHEMA_REGISTRY_TOKEN: 'tok' }))).toEqual(['SCHEMA_REGISTRY_URL: is not set, but SCHEMA_REGISTRY_TOKEN is']);
    expect(problems(() => parseSchemaRegistryConfig({ SCHEMA_REGISTRY_URL: 'reg:8081' }))[0]).toMatch(/^SCHEMA_REGISTRY_URL: .*is not an http\(s\) URL/);
    expect(problems(() => parseSchemaRegistryConfig({ SCHEMA_REGISTRY_URL: 'https://reg', SCHEMA_REGISTRY_TLS_CERT_FILE: '/x.pem' }))[0]).toMatch(/^SCHEMA_REGISTRY_TLS_CERT_FILE: a client certificate needs SCHEMA_REGISTRY_TLS_KEY_FILE/);
  });

  it('a format that reads schemas needs SCHEMA_REGISTRY_URL, per route', () => {
    expect(problems(() => loadConfig({ ...BASE, KAFKA_VALUE_FORMAT: 'avro' }))).toEqual(['KAFKA_VALUE_FORMAT: avro reads schemas from a registry: set SCHEMA_REGISTRY_URL']);
    expect(problems(() => loadConfig({ ...BASE, KAFKA_KEY_FORMAT: 'auto' }))).toEqual(['KAFKA_KEY_FORMAT: auto reads schemas from a registry: set SCHEMA_REGISTRY_URL']);
    expect(problems(() => loadConfig({ ...BASE, ROUTES: 'a,b', ROUTE_B_KAFKA_VALUE_FORMAT: 'protobuf' }))).toEqual(['ROUTE_B_KAFKA_VALUE_FORMAT: protobuf reads schemas from a registry: set SCHEMA_REGISTRY_URL']);
    expect(problems(() => loadConfig({ ...BASE, KAFKA_VALUE_FORMAT: 'xml' }))[0]).toMatch(/^KAFKA_VALUE_FORMAT: must be one of json, text, auto, avro, protobuf, json-schema/);
    const cfg = loadConfig({ ...BASE, KAFKA_VALUE_FORMAT: 'text' });
    expect(cfg.routes[0]!.kafka).toMatchObject({ valueFormat: 'text', keyFormat: 'text' });
    expect(cfg.schemaRegistry).toBeUndefined();
  });
});
