// KafkaSecurity (KAFKA_TLS_*, KAFKA_SASL_*) as kafkajs options.
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import type { KafkaSasl, KafkaTls } from '../kafka/security.ts';

/** The kafkajs `ssl` option. */
export function kafkajsTls(tls: KafkaTls | undefined): ConnectionOptions | undefined {
  if (!tls) return undefined;
  const o: ConnectionOptions = { rejectUnauthorized: !tls.insecure, minVersion: 'TLSv1.2' };
  if (tls.ca) o.ca = [tls.ca];
  if (tls.cert) o.cert = tls.cert;
  if (tls.key) o.key = tls.key;
  if (tls.passphrase) o.passphrase = tls.passphrase.reveal();
  if (tls.servername) o.servername = tls.servername;
  return o;
}

/** The kafkajs `sasl` option. */
export function kafkajsSasl(sasl: KafkaSasl | undefined): SASLOptions | undefined {
  if (!sasl) return undefined;
  if (sasl.mechanism === 'aws-msk-iam') {
    const region = sasl.region;
    return {
      mechanism: 'oauthbearer',
      // A signed token from the AWS default credential chain, fetched at every (re)authentication.
      oauthBearerProvider: async () => {
        const { generateAuthToken } = await import('aws-msk-iam-sasl-signer-js');
        const { token } = await generateAuthToken({ region });
        return { value: token };
      },
    };
  }
  const { mechanism, username } = sasl;
  const password = sasl.password.reveal();
  return mechanism === 'plain' ? { mechanism, username, password } : mechanism === 'scram-sha-256' ? { mechanism, username, password } : { mechanism, username, password };
}
