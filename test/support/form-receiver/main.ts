/**
 * The form POST test receiver as its own process, for benchmarks and receiver-outage tests:
 *
 *   node test/support/form-receiver/main.ts --port 0 [--host 127.0.0.1] [--path /upload]
 *        [--auth-header Authorization --auth-value V] [--max-rows 20] [--max-body-bytes N]
 *        [--file-content-type application/x-ndjson ...] [--count-only] [--store FILE]
 *        [--tls-cert f --tls-key f]
 *
 * Prints one line `FORM_URL=http://127.0.0.1:<port>/upload` on stdout once listening and serves
 * until SIGTERM (or SIGINT), then exits 0. Fault switches: POST /_form/control (FormControlCommand in
 * receiver.ts); counters: GET /_form/stats; accepted POSTs: GET /_form/posts?offset=&limit=.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FormReceiver } from './receiver.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    path: { type: 'string', default: '/upload' },
    'auth-header': { type: 'string' },
    'auth-value': { type: 'string' },
    'max-rows': { type: 'string', default: '20' },
    'max-body-bytes': { type: 'string' },
    'file-content-type': { type: 'string', multiple: true },
    'count-only': { type: 'boolean', default: false },
    store: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
  },
  strict: true,
});

function num(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`form receiver: --${name} must be a non-negative whole number, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
}

if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined) || (values['auth-header'] !== undefined && values['auth-value'] === undefined)) {
  process.stderr.write('form receiver: --tls-cert and --tls-key go together; --auth-header needs --auth-value\n');
  process.exit(2);
}

const receiver = new FormReceiver({
  host: values.host,
  port: num('port', values.port),
  path: values.path,
  ...(values['auth-value'] !== undefined ? { auth: { header: values['auth-header'] ?? 'authorization', value: values['auth-value'] } } : {}),
  rules: { maxRows: num('max-rows', values['max-rows']), ...(values['file-content-type'] ? { fileContentTypes: values['file-content-type'] } : {}) },
  ...(values['max-body-bytes'] !== undefined ? { maxBodyBytes: num('max-body-bytes', values['max-body-bytes']) } : {}),
  ...(values['tls-cert'] && values['tls-key'] ? { tls: { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) } } : {}),
  record: values['count-only'] ? 'count' : 'all',
  ...(values.store !== undefined ? { storeFile: values.store } : {}),
  controlEndpoints: true,
});

const url = await receiver.start();
process.stdout.write(`FORM_URL=${url}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  receiver.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
