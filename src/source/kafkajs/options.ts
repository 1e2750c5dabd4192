// KafkaSecurity (KAFKA_TLS_*, KAFKA_SASL_*) as kafkajs options.
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import { mskIamToken, nodeTlsOptions, type KafkaSasl, type KafkaTls } from '../kafka/security.ts';

/** The kafkajs `ssl` option (its ca, cert and key follow renewed files: see nodeTlsOptions). */
export function kafkajsTls(tls: KafkaTls | undefined): ConnectionOptions | undefined {
  const o = nodeTlsOptions(tls);
  if (o && tls?.servername) o.servername = tls.servername;
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
      oauthBearerProvider: async () => ({ value: await mskIamToken(region) }),
    };
  }
  const { mechanism, username, password } = sasl;
  // kafkajs reads `password` each time a connection authenticates (it keeps this object): a getter
  // gives it the current content of a rotated KAFKA_SASL_PASSWORD_FILE.
  const o = { mechanism, username } as SASLOptions & { password: string };
  Object.defineProperty(o, 'password', { get: () => password.reveal(), enumerable: true });
  return o;
}
