// KAFKA_* settings as @platformatic/kafka options, and the checks that tie KAFKA_GROUP_INSTANCE_ID to
// the client that supports it.
import { AuthenticationError, MultipleErrors, NetworkError, ProtocolError } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { isRetriableKafkaError } from '../../../src/source/kafka/group-admin.ts';
import { parseKafkaConfig } from '../../../src/source/kafka/config.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { platformaticBaseOptions, retryDelay } from '../../../src/source/platformatic/options.ts';
import { problemsOf } from '../../support/config-problems.ts';

const base = { KAFKA_BROKERS: 'broker.example:9093', KAFKA_TOPICS: 't' };
const logger = createLogger({ level: 'silent' });

const problems = (env: Record<string, string>): string[] => problemsOf(() => parseKafkaConfig(env));

describe('@platformatic/kafka options', () => {
  it('TLS verified with SNI of the host dialled; SCRAM with the password read only when a connection authenticates', () => {
    const cfg = parseKafkaConfig({ ...base, KAFKA_TLS: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p@ss' });
    const o = platformaticBaseOptions({ brokers: cfg.brokers, clientId: 'c', security: cfg.security, logger });
    expect(o.tls).toEqual({ rejectUnauthorized: true, minVersion: 'TLSv1.2' });
    expect(o.tlsServerName).toBe(true);
    expect(o.sasl).toMatchObject({ mechanism: 'SCRAM-SHA-512', username: 'u' });
    expect(typeof o.sasl!.password).toBe('function');
    expect((o.sasl!.password as () => string)()).toBe('p@ss');
    expect(JSON.stringify(o)).not.toContain('p@ss');
  });

  it('no SNI for a broker given by IP address (Node refuses one), unless KAFKA_TLS_SERVERNAME names it', () => {
    const ip = parseKafkaConfig({ ...base, KAFKA_BROKERS: '10.0.0.1:9093', KAFKA_TLS: 'true' });
    expect(platformaticBaseOptions({ brokers: ip.brokers, clientId: 'c', security: ip.security, logger }).tlsServerName).toBeUndefined();
    const named = parseKafkaConfig({ ...base, KAFKA_BROKERS: '10.0.0.1:9093', KAFKA_TLS_SERVERNAME: 'kafka.internal' });
    expect(platformaticBaseOptions({ brokers: named.brokers, clientId: 'c', security: named.security, logger }).tlsServerName).toBe('kafka.internal');
  });

  it('retries as the kafkajs adapter: 8 by default, from 300 ms doubling to at most 10 s', () => {
    const o = platformaticBaseOptions({ brokers: ['b:9092'], clientId: 'c', logger });
    expect(o.retries).toBe(8);
    expect(retryDelay(1)).toBeGreaterThanOrEqual(240);
    expect(retryDelay(1)).toBeLessThanOrEqual(360);
    expect(retryDelay(12)).toBeLessThanOrEqual(12_000);
    expect(retryDelay(12)).toBeGreaterThanOrEqual(8_000);
  });

  it('a wrong password or an untrusted certificate, which the library retries anyway, is retried without waiting', () => {
    const delay = platformaticBaseOptions({ brokers: ['b:9092'], clientId: 'c', logger }).retryDelay as (c: unknown, op: string, attempt: number, retries: number, e: unknown) => number;
    const badPassword = new NetworkError('Connection failed.', { cause: new AuthenticationError('SASL authentication failed.', { cause: new ProtocolError('SASL_AUTHENTICATION_FAILED') }) });
    const badCa = new NetworkError('Connection failed.', { cause: new Error('unable to verify the first certificate') });
    const refused = new NetworkError('Connection failed.', { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:9092'), { code: 'ECONNREFUSED' }) });
    expect(delay(undefined, 'metadata', 3, 8, badPassword)).toBe(0);
    expect(delay(undefined, 'metadata', 3, 8, badCa)).toBe(0);
    expect(delay(undefined, 'metadata', 3, 8, refused)).toBeGreaterThanOrEqual(960);
  });

  it('the library’s errors are read by name (apiId), also inside MultipleErrors', () => {
    const loading = new ProtocolError('COORDINATOR_LOAD_IN_PROGRESS');
    expect(isRetriableKafkaError(loading)).toBe(true);
    expect(isRetriableKafkaError(new MultipleErrors('joinGroup failed 3 times.', [loading]))).toBe(true);
    expect(isRetriableKafkaError(new ProtocolError('GROUP_AUTHORIZATION_FAILED'))).toBe(false);
  });
});

describe('KAFKA_CLIENT and KAFKA_GROUP_INSTANCE_ID', () => {
  it('platformatic by default; kafkajs on request; a static member id only with platformatic', () => {
    expect(parseKafkaConfig(base).client).toBe('platformatic');
    expect(parseKafkaConfig({ ...base, KAFKA_CLIENT: 'kafkajs' }).client).toBe('kafkajs');
    expect(parseKafkaConfig({ ...base, KAFKA_GROUP_INSTANCE_ID: 'logstream-0' })).toMatchObject({ client: 'platformatic', groupInstanceId: 'logstream-0' });
    expect(problems({ ...base, KAFKA_CLIENT: 'kafkajs', KAFKA_GROUP_INSTANCE_ID: 'logstream-0' })).toEqual(['KAFKA_GROUP_INSTANCE_ID: static membership needs KAFKA_CLIENT=platformatic (kafkajs has none)']);
    expect(problems({ ...base, KAFKA_CLIENT: 'librdkafka' }).join()).toMatch(/^KAFKA_CLIENT: /);
  });

  it('KAFKA_GROUP_PROTOCOL: classic by default; consumer (KIP-848) only with platformatic', () => {
    expect(parseKafkaConfig(base).groupProtocol).toBe('classic');
    expect(parseKafkaConfig({ ...base, KAFKA_GROUP_PROTOCOL: 'consumer' })).toMatchObject({ client: 'platformatic', groupProtocol: 'consumer' });
    expect(problems({ ...base, KAFKA_CLIENT: 'kafkajs', KAFKA_GROUP_PROTOCOL: 'consumer' })).toEqual(['KAFKA_GROUP_PROTOCOL: consumer (KIP-848) needs KAFKA_CLIENT=platformatic (kafkajs speaks only the classic protocol)']);
    expect(problems({ ...base, KAFKA_GROUP_PROTOCOL: 'eager' }).join()).toMatch(/^KAFKA_GROUP_PROTOCOL: /);
  });
});
