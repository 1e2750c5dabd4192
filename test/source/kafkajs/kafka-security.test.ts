import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { watchedFiles } from '../../../src/config/watched-file.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import { parseKafkaConfig } from '../../../src/source/kafka/config.ts';
import { kafkajsSasl, kafkajsTls } from '../../../src/source/kafkajs/options.ts';
import { replaceFile } from '../../support/mounted-file.ts';

const base = { KAFKA_BROKERS: 'b:9093', KAFKA_TOPICS: 't' };

function problems(env: Record<string, string>): string[] {
  try {
    parseKafkaConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('Kafka TLS and SASL settings', () => {
  it('plaintext by default', () => {
    expect(parseKafkaConfig(base).security).toEqual({ tls: undefined, sasl: undefined });
  });

  it('TLS with verification on; SCRAM with the password kept secret', () => {
    const cfg = parseKafkaConfig({ ...base, KAFKA_TLS: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p@ss' });
    expect(kafkajsTls(cfg.security.tls)).toEqual({ rejectUnauthorized: true, minVersion: 'TLSv1.2' });
    expect(kafkajsSasl(cfg.security.sasl)).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p@ss' });
    expect(JSON.stringify(cfg)).not.toContain('p@ss');
  });

  it('any TLS setting turns TLS on; insecure is explicit', () => {
    const cfg = parseKafkaConfig({ ...base, KAFKA_TLS_SERVERNAME: 'broker.internal', KAFKA_TLS_INSECURE: 'true' });
    expect(kafkajsTls(cfg.security.tls)).toEqual({ rejectUnauthorized: false, minVersion: 'TLSv1.2', servername: 'broker.internal' });
  });

  it('aws-msk-iam: TLS and an OAUTHBEARER token provider, region from AWS_REGION', () => {
    const cfg = parseKafkaConfig({ ...base, KAFKA_SASL_MECHANISM: 'aws-msk-iam', AWS_REGION: 'eu-west-1' });
    expect(cfg.security.tls).toEqual({ insecure: false });
    expect(cfg.security.sasl).toEqual({ mechanism: 'aws-msk-iam', region: 'eu-west-1' });
    const sasl = kafkajsSasl(cfg.security.sasl) as { mechanism: string; oauthBearerProvider: unknown };
    expect(sasl.mechanism).toBe('oauthbearer');
    expect(typeof sasl.oauthBearerProvider).toBe('function');
  });

  it('names the variable for every wrong combination', () => {
    expect(problems({ ...base, KAFKA_SASL_MECHANISM: 'scram-sha-256' })).toEqual([
      'KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM=scram-sha-256',
      'KAFKA_SASL_PASSWORD: is required with KAFKA_SASL_MECHANISM=scram-sha-256 (or KAFKA_SASL_PASSWORD_FILE)',
    ]);
    expect(problems({ ...base, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toEqual([
      'KAFKA_TLS: SASL PLAIN sends the password as is: turn TLS on (KAFKA_TLS=true)',
    ]);
    expect(problems({ ...base, KAFKA_SASL_USERNAME: 'u' })[0]).toMatch(/^KAFKA_SASL_MECHANISM: is none but/);
    expect(problems({ ...base, KAFKA_TLS_CERT_FILE: '/etc/hosts' })).toEqual(['KAFKA_TLS_KEY_FILE: mutual TLS needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE']);
    expect(problems({ ...base, KAFKA_TLS_CA_FILE: '/nonexistent/ca.pem' })).toEqual(['KAFKA_TLS_CA_FILE: cannot read "/nonexistent/ca.pem": ENOENT']);
    expect(problems({ ...base, KAFKA_SASL_MECHANISM: 'gssapi' })[0]).toMatch(/^KAFKA_SASL_MECHANISM: must be one of none, plain, scram-sha-256, scram-sha-512, aws-msk-iam/);
    expect(problems({ ...base, KAFKA_SASL_MECHANISM: 'aws-msk-iam' })).toEqual(['KAFKA_SASL_AWS_REGION: is required with KAFKA_SASL_MECHANISM=aws-msk-iam (or set AWS_REGION)']);
  });

  it('opens the client key at load: a wrong passphrase or a file that is no key fails at start, naming the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-kafka-key-'));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyFile = join(dir, 'client.key');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'right horse' }));
    const tls = { ...base, KAFKA_TLS_CERT_FILE: '/etc/hosts', KAFKA_TLS_KEY_FILE: keyFile };
    expect(problems({ ...tls, KAFKA_TLS_KEY_PASSWORD: 'right horse' })).toEqual([]);
    expect(problems({ ...tls, KAFKA_TLS_KEY_PASSWORD: 'wrong horse' })).toEqual(['KAFKA_TLS_KEY_FILE: the passphrase (KAFKA_TLS_KEY_PASSWORD) does not open it']);
    expect(problems(tls)).toEqual(['KAFKA_TLS_KEY_FILE: the key is encrypted: set KAFKA_TLS_KEY_PASSWORD (or KAFKA_TLS_KEY_PASSWORD_FILE)']);
    expect(problems({ ...tls, KAFKA_TLS_KEY_FILE: '/etc/hosts' })).toEqual(['KAFKA_TLS_KEY_FILE: not a readable private key (PEM)']);
  });

  it('kafkajs reads the password at each authentication: the option follows the file', async () => {
    const pw = join(mkdtempSync(join(tmpdir(), 'ls-kafka-pw-')), 'sasl.pw');
    writeFileSync(pw, 'first\n');
    const cfg = parseKafkaConfig({ KAFKA_BROKERS: 'b:9093', KAFKA_TOPICS: 't', KAFKA_TLS: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD_FILE: pw });
    const sasl = kafkajsSasl(cfg.security.sasl) as { password: string };
    expect(sasl.password).toBe('first');
    replaceFile(pw, 'second\n');
    for (const f of watchedFiles.all.filter((w) => w.path === pw)) await f.poll();
    expect(sasl.password).toBe('second');
  });
});
