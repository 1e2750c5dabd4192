import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app-config.ts';
import { Secret } from '../../src/config/secret.ts';
import { parseByteSize, parseDurationMs, parseVars, v } from '../../src/config/vars.ts';
import { problemsOf } from '../support/config-problems.ts';

const base = { KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_TOPICS: 'logs', SINKS: 'stdout' };


describe('environment variables', () => {
  it('parses sizes and durations with units', () => {
    expect(parseByteSize('2MiB')).toBe(2 * 1024 * 1024);
    expect(parseByteSize('512kb')).toBe(512_000);
    expect(parseByteSize('100')).toBe(100);
    expect(parseByteSize('2 parsecs')).toBeUndefined();
    expect(parseDurationMs('5s')).toBe(5000);
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(parseDurationMs('250')).toBe(250);
    expect(parseDurationMs('soon')).toBeUndefined();
  });

  it('names the variable when a required one is missing', () => {
    const problems = problemsOf(() => loadConfig({ KAFKA_TOPICS: 'logs', SINKS: 'stdout' }));
    expect(problems).toEqual(['KAFKA_BROKERS: is required but not set']);
  });

  it('names the variable and the bad value when a number is not a number', () => {
    const problems = problemsOf(() => loadConfig({ ...base, INFLIGHT_MAX_RECORDS: 'lots' }));
    expect(problems).toEqual(['INFLIGHT_MAX_RECORDS: must be a whole number, got "lots"']);
  });

  it('reports every problem at once, across groups and sinks', () => {
    const problems = problemsOf(() =>
      loadConfig({ KAFKA_BROKERS: 'nohostport', KAFKA_TOPICS: 'logs', SINKS: 'file', FILE_MAX_BYTES: '3 bananas', HTTP_PORT: '70000' }),
    );
    expect(problems.some((p) => p.startsWith('KAFKA_BROKERS: "nohostport" is not host:port'))).toBe(true);
    expect(problems).toContain('FILE_PATH: is required but not set');
    expect(problems.some((p) => p.startsWith('FILE_MAX_BYTES: must be a size in bytes'))).toBe(true);
    expect(problems).toContain('HTTP_PORT: must be at most 65535, got "70000"');
  });

  it('rejects unknown sinks and a dead-letter topic that is also a source', () => {
    expect(problemsOf(() => loadConfig({ ...base, SINKS: 'stdout,nope' }))[0]).toMatch(/^SINKS: unknown sink "nope"/);
    expect(problemsOf(() => loadConfig({ ...base, KAFKA_DLQ_TOPIC: 'logs' }))[0]).toMatch(/^KAFKA_DLQ_TOPIC: must not be one of KAFKA_TOPICS/);
  });

  it('parses start positions', () => {
    expect(loadConfig(base).kafka.startFrom).toEqual({ kind: 'earliest' });
    expect(loadConfig({ ...base, KAFKA_START_FROM: 'latest' }).kafka.startFrom).toEqual({ kind: 'latest' });
    expect(loadConfig({ ...base, KAFKA_START_FROM: '2026-01-02T03:04:05Z' }).kafka.startFrom).toEqual({ kind: 'timestamp', ms: Date.UTC(2026, 0, 2, 3, 4, 5) });
    expect(loadConfig({ ...base, KAFKA_START_FROM: '1767323045' }).kafka.startFrom).toEqual({ kind: 'timestamp', ms: 1767323045000 });
    expect(problemsOf(() => loadConfig({ ...base, KAFKA_START_FROM: 'yesterday-ish' }))[0]).toMatch(/^KAFKA_START_FROM:/);
  });

  it('applies sink delivery settings under the sink prefix', () => {
    const cfg = loadConfig({ ...base, SINKS: 'file', FILE_PATH: '/tmp/x.jsonl', FILE_BATCH_MAX_RECORDS: '7', FILE_RETRY_MAX: '2s' });
    expect(cfg.routes[0]!.sinks[0]!.delivery.batchMaxRecords).toBe(7);
    expect(cfg.routes[0]!.sinks[0]!.delivery.retryMaxMs).toBe(2000);
    expect(problemsOf(() => loadConfig({ ...base, SINKS: 'file', FILE_PATH: '/x', FILE_CONCURRENCY: '0' }))).toEqual(['FILE_CONCURRENCY: must be at least 1, got "0"']);
  });
});

describe('secrets', () => {
  const specs = { API_TOKEN: v.secret({ doc: 'a token', required: true }) };

  it('reads NAME_FILE, strips the trailing newline and never prints the value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-secret-'));
    writeFileSync(join(dir, 'token'), 's3cr3t-value\n');
    const { API_TOKEN } = parseVars(specs, { API_TOKEN_FILE: join(dir, 'token') });
    expect(API_TOKEN).toBeInstanceOf(Secret);
    expect(API_TOKEN!.reveal()).toBe('s3cr3t-value');
    const shown = [String(API_TOKEN), JSON.stringify({ API_TOKEN }), inspect({ API_TOKEN }), `${API_TOKEN}`].join(' ');
    expect(shown).not.toContain('s3cr3t');
    expect(shown).toContain('**REDACTED**');
  });

  it('refuses both NAME and NAME_FILE, and names an unreadable file', () => {
    expect(problemsOf(() => parseVars(specs, { API_TOKEN: 'a', API_TOKEN_FILE: '/x' }))).toEqual(['API_TOKEN and API_TOKEN_FILE are both set: set only one']);
    expect(problemsOf(() => parseVars(specs, { API_TOKEN_FILE: '/no/such/file' }))[0]).toBe('API_TOKEN_FILE: cannot read "/no/such/file": ENOENT');
  });

  it('a bad value is quoted, but a secret is never echoed in a problem', () => {
    const p = problemsOf(() => parseVars(specs, {}));
    expect(p).toEqual(['API_TOKEN: is required but not set']);
  });
});
