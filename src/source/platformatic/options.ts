// KafkaConnectOptions (brokers, KAFKA_TLS_*, KAFKA_SASL_*, retries) as @platformatic/kafka base options,
// shared by every client this adapter makes (admin, producer, reader, group consumer).
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { BaseOptions, SASLOptions } from '@platformatic/kafka';
import type { KafkaConnectOptions } from '../kafka/interface.ts';
import { isPermanent } from './errors.ts';
import { mskIamToken, nodeTlsOptions, type KafkaSasl, type KafkaTls } from '../kafka/security.ts';

/** Backoff between retries, as the kafkajs adapter: from 300 ms, doubling, at most 10 s, ±20 % jitter. */
export function retryDelay(attempt: number): number {
  const base = Math.min(10_000, 300 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** The host of host:port ([v6]:port too). */
const hostOf = (broker: string): string => broker.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');

export function platformaticBaseOptions(opts: KafkaConnectOptions): BaseOptions {
  const o: BaseOptions = {
    clientId: opts.clientId,
    bootstrapBrokers: [...opts.brokers],
    connectTimeout: opts.connectionTimeoutMs ?? 10_000,
    // The library's defaults (3 retries, 1 s apart) give up during a broker restart; kafkajs' do not.
    retries: opts.retries ?? 8,
    // The library retries a wrong password or an untrusted certificate too (its canRetry test skips
    // `cause`) and has no way to stop it from outside: those attempts run back to back, so the start
    // fails within a few seconds instead of after the whole backoff (~40 s).
    retryDelay: (_client, _op, attempt, _retries, error) => (isPermanent(error) ? 0 : retryDelay(attempt)),
    // Broker-side timeout of produce and admin requests (library default 5 s; kafkajs 30 s)…
    timeout: 30_000,
    // …below the client-side one, so a slow broker answers before the request is given up.
    requestTimeout: 35_000,
  };
  const tls = platformaticTls(opts.security?.tls);
  if (tls) {
    o.tls = tls;
    // SNI, which managed services route on: the configured name, else (true) the host dialled, as kafkajs
    // sends it. The library would send an IP address as well, which Node refuses (ERR_INVALID_ARG_VALUE),
    // and it has no per-host choice: with a bootstrap broker given as an IP address, no SNI at all (and
    // brokers advertised by IP address need bootstrap brokers given by IP address, or KAFKA_TLS_SERVERNAME).
    const servername = opts.security?.tls?.servername;
    if (servername) o.tlsServerName = servername;
    else if (!opts.brokers.some((b) => isIP(hostOf(b)) !== 0)) o.tlsServerName = true;
  }
  const sasl = platformaticSasl(opts.security?.sasl);
  if (sasl) o.sasl = sasl;
  return o;
}

/** The `tls` option (node:tls connect options). The server name is set through tlsServerName. */
export function platformaticTls(tls: KafkaTls | undefined): ConnectionOptions | undefined {
  return nodeTlsOptions(tls);
}

const MECHANISMS = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

/** The `sasl` option. Secrets are read when a connection authenticates, not kept as strings. */
export function platformaticSasl(sasl: KafkaSasl | undefined): SASLOptions | undefined {
  if (!sasl) return undefined;
  if (sasl.mechanism === 'aws-msk-iam') {
    const region = sasl.region;
    return {
      mechanism: 'OAUTHBEARER',
      // A signed token from the AWS default credential chain, fetched at every (re)authentication.
      token: () => mskIamToken(region),
    };
  }
  const password = sasl.password;
  return { mechanism: MECHANISMS[sasl.mechanism], username: sasl.username, password: () => password.reveal() };
}
