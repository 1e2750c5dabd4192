// The one place that builds kafkajs clients: logging bridged to pino, quiet partitioner warnings.
import { Kafka, logLevel, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { Logger } from '../../telemetry/logger.ts';
import { registerCodecs } from './codecs.ts';
import type { KafkaConnectOptions } from '../kafka/interface.ts';
import { kafkajsSasl, kafkajsTls } from './options.ts';
import { silenceKafkajsTimeoutWarning } from './warnings.ts';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafka(opts: KafkaConnectOptions): Kafka {
  silenceKafkajsTimeoutWarning();
  registerCodecs();
  const log = opts.logger.child({ component: 'kafkajs' });
  const config: KafkaConfig = {
    brokers: [...opts.brokers],
    clientId: opts.clientId,
    connectionTimeout: opts.connectionTimeoutMs ?? 10_000,
    // kafkajs logs routine reconnects and rebalances at ERROR; we log what matters ourselves.
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const level = LEVELS[entry.level] ?? 'info';
      const { message, ...extra } = entry.log;
      // A rejoin during a rebalance is expected; keep it out of the warnings.
      const routine = /rebalanc|not the correct coordinator|coordinator is (not available|loading)/i;
      const lvl = level === 'error' && (routine.test(String(message)) || routine.test(String(extra.error ?? ''))) ? 'info' : level;
      log[lvl]({ ns: entry.namespace, ...pick(extra) }, String(message));
    },
    retry: { retries: opts.retries ?? 8, initialRetryTime: 300, maxRetryTime: 10_000 },
  };
  const ssl = kafkajsTls(opts.security?.tls);
  const sasl = kafkajsSasl(opts.security?.sasl);
  if (ssl) config.ssl = ssl;
  if (sasl) config.sasl = sasl;
  return new Kafka(config);
}

function pick(extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['broker', 'groupId', 'memberId', 'error', 'topic', 'partition', 'retryCount', 'retryTime']) {
    if (extra[k] !== undefined) out[k] = extra[k];
  }
  return out;
}
