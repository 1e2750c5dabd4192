// KAFKA_TLS_* and KAFKA_SASL_*: how logstream authenticates to a secured cluster or a managed
// Kafka-compatible service. Files are read at load (a wrong path fails at start, naming the variable);
// passwords are Secrets (from the variable or from *_FILE) and never printed.
import { createPrivateKey } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import { readTlsFiles, type TlsFiles } from '../../config/tls-files.ts';
import type { Secret } from '../../config/secret.ts';
import { v } from '../../config/vars.ts';

export const SASL_MECHANISMS = ['none', 'plain', 'scram-sha-256', 'scram-sha-512', 'aws-msk-iam'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export const kafkaSecurityVars = {
  KAFKA_TLS: v.bool({ doc: 'Connect to the brokers over TLS (server certificate and name verified). Turned on by any other KAFKA_TLS_* setting and by aws-msk-iam.', default: false }),
  KAFKA_TLS_CA_FILE: v.optionalString({ doc: 'PEM file of the CA(s) that signed the broker certificates (default: the system CAs).' }),
  KAFKA_TLS_CERT_FILE: v.optionalString({ doc: 'PEM client certificate for mutual TLS (with KAFKA_TLS_KEY_FILE).' }),
  KAFKA_TLS_KEY_FILE: v.optionalString({ doc: 'PEM private key of the client certificate.' }),
  KAFKA_TLS_KEY_PASSWORD: v.secret({ doc: 'Passphrase of an encrypted KAFKA_TLS_KEY_FILE.' }),
  KAFKA_TLS_SERVERNAME: v.optionalString({ doc: 'Name to verify in the broker certificates instead of the host name dialled (SNI too).' }),
  KAFKA_TLS_INSECURE: v.bool({ doc: 'Skip verification of the broker certificates (warned at start; never for production).', default: false }),
  KAFKA_SASL_MECHANISM: v.oneOf(SASL_MECHANISMS, { doc: 'SASL mechanism: none, plain, scram-sha-256, scram-sha-512, or aws-msk-iam (Amazon MSK IAM through OAUTHBEARER, credentials from the AWS default chain).', default: 'none' }),
  KAFKA_SASL_USERNAME: v.optionalString({ doc: 'SASL user name (plain, scram-*). Event Hubs: `$ConnectionString`.' }),
  KAFKA_SASL_PASSWORD: v.secret({ doc: 'SASL password (plain, scram-*). Event Hubs: the connection string.' }),
  KAFKA_SASL_AWS_REGION: v.optionalString({ doc: 'aws-msk-iam: region of the cluster (default AWS_REGION).' }),
};

export interface KafkaTls {
  /** CA, client certificate and key, followed while running (the next connection uses a renewed set). */
  files?: TlsFiles;
  passphrase?: Secret;
  servername?: string;
  insecure: boolean;
}

export type KafkaSasl =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: Secret }
  | { mechanism: 'aws-msk-iam'; region: string };

export interface KafkaSecurity {
  /** undefined: plaintext. */
  tls: KafkaTls | undefined;
  /** undefined: no SASL. */
  sasl: KafkaSasl | undefined;
}

type SecurityValues = {
  KAFKA_TLS: boolean;
  KAFKA_TLS_CA_FILE: string | undefined;
  KAFKA_TLS_CERT_FILE: string | undefined;
  KAFKA_TLS_KEY_FILE: string | undefined;
  KAFKA_TLS_KEY_PASSWORD: Secret | undefined;
  KAFKA_TLS_SERVERNAME: string | undefined;
  KAFKA_TLS_INSECURE: boolean;
  KAFKA_SASL_MECHANISM: SaslMechanism;
  KAFKA_SASL_USERNAME: string | undefined;
  KAFKA_SASL_PASSWORD: Secret | undefined;
  KAFKA_SASL_AWS_REGION: string | undefined;
};

/** Checks the combination and reads the files; problems name their variable. */
export function parseKafkaSecurity(p: SecurityValues, env: Record<string, string | undefined>, problems: string[]): KafkaSecurity {
  const mech = p.KAFKA_SASL_MECHANISM;
  const anyTlsSetting = p.KAFKA_TLS_CA_FILE !== undefined || p.KAFKA_TLS_CERT_FILE !== undefined || p.KAFKA_TLS_KEY_FILE !== undefined || p.KAFKA_TLS_SERVERNAME !== undefined || p.KAFKA_TLS_INSECURE;
  let tls: KafkaTls | undefined;
  if (p.KAFKA_TLS || anyTlsSetting || mech === 'aws-msk-iam') {
    if ((p.KAFKA_TLS_CERT_FILE === undefined) !== (p.KAFKA_TLS_KEY_FILE === undefined)) {
      problems.push(`${p.KAFKA_TLS_CERT_FILE === undefined ? 'KAFKA_TLS_CERT_FILE' : 'KAFKA_TLS_KEY_FILE'}: mutual TLS needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE`);
    }
    const passphrase = p.KAFKA_TLS_KEY_PASSWORD;
    const files = readTlsFiles(
      { ca: 'KAFKA_TLS_CA_FILE', cert: 'KAFKA_TLS_CERT_FILE', key: 'KAFKA_TLS_KEY_FILE' },
      { ca: p.KAFKA_TLS_CA_FILE, cert: p.KAFKA_TLS_CERT_FILE, key: p.KAFKA_TLS_KEY_FILE },
      problems,
      () => passphrase?.reveal(),
    );
    tls = { insecure: p.KAFKA_TLS_INSECURE };
    if (files.watched.length > 0) tls.files = files;
    if (passphrase) tls.passphrase = passphrase;
    const key = files.key;
    if (key) {
      // Open the key now: a wrong passphrase (or a key that is not one) fails at start, not after
      // the client's connection retries.
      try {
        createPrivateKey(passphrase ? { key, passphrase: passphrase.reveal() } : { key });
      } catch (err) {
        const msg = String((err as Error).message);
        const why = !passphrase && /ENCRYPTED/.test(key.toString('latin1'))
          ? 'the key is encrypted: set KAFKA_TLS_KEY_PASSWORD (or KAFKA_TLS_KEY_PASSWORD_FILE)'
          : /bad decrypt|passphrase/i.test(msg) ? 'the passphrase (KAFKA_TLS_KEY_PASSWORD) does not open it' : 'not a readable private key (PEM)';
        problems.push(`KAFKA_TLS_KEY_FILE: ${why}`);
      }
    }
    if (p.KAFKA_TLS_SERVERNAME) tls.servername = p.KAFKA_TLS_SERVERNAME;
  }
  let sasl: KafkaSasl | undefined;
  if (mech === 'plain' || mech === 'scram-sha-256' || mech === 'scram-sha-512') {
    if (p.KAFKA_SASL_USERNAME === undefined) problems.push(`KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM=${mech}`);
    if (p.KAFKA_SASL_PASSWORD === undefined) problems.push(`KAFKA_SASL_PASSWORD: is required with KAFKA_SASL_MECHANISM=${mech} (or KAFKA_SASL_PASSWORD_FILE)`);
    if (p.KAFKA_SASL_USERNAME !== undefined && p.KAFKA_SASL_PASSWORD !== undefined) sasl = { mechanism: mech, username: p.KAFKA_SASL_USERNAME, password: p.KAFKA_SASL_PASSWORD };
  } else if (mech === 'aws-msk-iam') {
    const region = p.KAFKA_SASL_AWS_REGION ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
    if (!region) problems.push('KAFKA_SASL_AWS_REGION: is required with KAFKA_SASL_MECHANISM=aws-msk-iam (or set AWS_REGION)');
    else sasl = { mechanism: 'aws-msk-iam', region };
  } else if (p.KAFKA_SASL_USERNAME !== undefined || p.KAFKA_SASL_PASSWORD !== undefined) {
    problems.push('KAFKA_SASL_MECHANISM: is none but KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD are set: name the mechanism (plain, scram-sha-256, scram-sha-512)');
  }
  if (mech === 'plain' && tls === undefined) problems.push('KAFKA_TLS: SASL PLAIN sends the password as is: turn TLS on (KAFKA_TLS=true)');
  return { tls, sasl };
}

/** A signed Amazon MSK IAM token from the AWS default credential chain (the signer is loaded on first
 *  use); both adapters fetch one at every (re)authentication. */
export async function mskIamToken(region: string): Promise<string> {
  const { generateAuthToken } = await import('aws-msk-iam-sasl-signer-js');
  return (await generateAuthToken({ region })).token;
}

/** KafkaTls as node:tls connect options, TLS 1.2 at least; the server name is left to the adapter,
 *  whose clients set it differently. ca, cert, key and passphrase are getters: both clients copy the
 *  options into node:tls for each connection they open, so a new connection uses renewed files. */
export function nodeTlsOptions(tls: KafkaTls | undefined): ConnectionOptions | undefined {
  if (!tls) return undefined;
  const o: ConnectionOptions = { rejectUnauthorized: !tls.insecure, minVersion: 'TLSv1.2' };
  const files = tls.files;
  const passphrase = tls.passphrase;
  if (files?.ca) Object.defineProperty(o, 'ca', { get: () => files.ca && [files.ca], enumerable: true });
  if (files?.cert) Object.defineProperty(o, 'cert', { get: () => files.cert, enumerable: true });
  if (files?.key) Object.defineProperty(o, 'key', { get: () => files.key, enumerable: true });
  if (passphrase) Object.defineProperty(o, 'passphrase', { get: () => passphrase.reveal(), enumerable: true });
  return o;
}
