/**
 * The HEC test receiver as its own process, for benchmarks and receiver-restart tests:
 *
 *   node test/support/hec/main.ts --port 0 --token T [--token T2] [--ack] [--tls-cert f --tls-key f]
 *        [--host 127.0.0.1] [--count-only] [--ack-delay-ms N] [--max-content-length N]
 *        [--index main --index other] [--raw-channel-optional]
 *
 * Prints one line `HEC_URL=http://127.0.0.1:<port>` on stdout once listening, and serves until
 * SIGTERM (or SIGINT), then exits 0. Fault switches: POST /_control (see HecControlCommand in
 * receiver.ts); counters: GET /_stats; recorded events: GET /_events?offset=&limit=.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { HecReceiver, type HecTokenConfig } from './receiver.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    token: { type: 'string', multiple: true, default: [] },
    ack: { type: 'boolean', default: false },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'count-only': { type: 'boolean', default: false },
    'ack-delay-ms': { type: 'string', default: '0' },
    'max-content-length': { type: 'string' },
    index: { type: 'string', multiple: true },
    'raw-channel-optional': { type: 'boolean', default: false },
  },
  strict: true,
});

function num(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`hec receiver: --${name} must be a non-negative number, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
}

if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
  process.stderr.write('hec receiver: --tls-cert and --tls-key go together\n');
  process.exit(2);
}

const tokens: HecTokenConfig[] = values.token.map((token) => ({
  token,
  ack: values.ack,
  ...(values.index ? { indexes: values.index } : {}),
}));

const receiver = new HecReceiver({
  host: values.host,
  port: num('port', values.port),
  tokens,
  ack: values.ack,
  ...(values['tls-cert'] && values['tls-key'] ? { tls: { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) } } : {}),
  ...(values['max-content-length'] !== undefined ? { maxContentLength: num('max-content-length', values['max-content-length']) } : {}),
  ackDelayMs: num('ack-delay-ms', values['ack-delay-ms']),
  record: values['count-only'] ? 'count' : 'all',
  rawRequiresChannel: !values['raw-channel-optional'],
  controlEndpoints: true,
});

const url = await receiver.start();
process.stdout.write(`HEC_URL=${url}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  receiver.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
