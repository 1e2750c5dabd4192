// Webhook benchmark: how long a caller waits for a 100 000-record window (~1 KiB records, 4
// partitions), called back to back while Logstream-More is true, from a webhook-only logstream
// (no consumer group), against kcat -C reading the same topic in the same run. Runs:
//   default caps (10 000 records / 8 MiB a response), identity;
//   default caps, gzip (Accept-Encoding: gzip);
//   one response for the whole window (WEBHOOK_MAX_RECORDS=100000, WEBHOOK_MAX_BYTES=256MiB).
// Every run uses a new key, so each first call takes the whole window (the records were produced
// less than WEBHOOK_FIRST_WINDOW ago); each must return exactly N records, else it is a problem.
//
// Alone: node bench/webhook.bench.ts   (env BENCH_WEBHOOK_RECORDS, BENCH_RECORD_BYTES)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { startBroker, type Broker } from '../scripts/kafka-broker.ts';
import { newKey } from '../src/webhook/keys.ts';
import { connectAdmin } from './lib/kafka.ts';
import { kcatConsumeAll, kcatProduceFile } from './lib/kcat.ts';
import { REPO_ROOT } from './lib/logstream.ts';
import { readPeakRssBytes, readProcessCpu } from './lib/proc.ts';
import { writeRecordsFile } from './lib/records.ts';
import { fmt, formatTable } from './lib/table.ts';

const TOPIC = 'bench-webhook';
const PARTITIONS = 4;
const MB = 1e6;

export interface WebhookBenchRow {
  name: string;
  calls: number;
  records: number;
  /** First request sent → last response read. */
  wallS: number;
  recordsPerSec: number;
  /** JSON-lines bytes returned (before compression) per second. */
  mbPerSec: number;
  /** Bytes on the wire (compressed when gzip). */
  wireBytes: number;
  ratioToKcat: number;
  logstreamCpuS: number;
  logstreamPeakRssMb: number;
  problems: string[];
}

export interface WebhookBenchResult {
  records: number;
  recordBytes: number;
  kcat: { wallS: number; mbPerSec: number; recordsPerSec: number };
  rows: WebhookBenchRow[];
  problems: string[];
}

async function waitForStart(proc: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`logstream did not start in 60 s:\n${buf.slice(-2000)}`)), 60_000);
    proc.stderr!.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      const m = /"httpPort":(\d+).*"msg":"logstream started"/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => reject(new Error(`logstream exited (${code}) before starting:\n${buf.slice(-2000)}`)));
  });
}

async function drainWindow(port: number, key: string, gzip: boolean): Promise<{ calls: number; records: number; bytes: number; wire: number; wallS: number; problems: string[] }> {
  const problems: string[] = [];
  let calls = 0;
  let records = 0;
  let bytes = 0;
  let wire = 0;
  const t0 = performance.now();
  for (;;) {
    const res = await request(`http://127.0.0.1:${port}/v1/logstream/web`, { headers: { authorization: `Bearer ${key}`, ...(gzip ? { 'accept-encoding': 'gzip' } : {}) } });
    const raw = Buffer.from(await res.body.arrayBuffer());
    calls++;
    if (res.statusCode !== 200) {
      problems.push(`call ${calls}: HTTP ${res.statusCode} ${raw.toString('utf8').slice(0, 200)}`);
      break;
    }
    wire += raw.length;
    const body = res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
    bytes += body.length;
    let lines = 0;
    for (let i = body.indexOf(10); i >= 0; i = body.indexOf(10, i + 1)) lines++;
    records += lines;
    if (Number(res.headers['logstream-records']) !== lines) problems.push(`call ${calls}: Logstream-Records ${String(res.headers['logstream-records'])} but ${lines} lines`);
    if (res.headers['logstream-more'] !== 'true') break;
  }
  return { calls, records, bytes, wire, wallS: (performance.now() - t0) / 1000, problems };
}

export async function runWebhookBench(opts: { records: number; recordBytes: number; log?: (s: string) => void }): Promise<WebhookBenchResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const workDir = await mkdtemp(join(tmpdir(), 'ls-bench-webhook-'));
  let broker: Broker | undefined;
  const problems: string[] = [];
  try {
    broker = await startBroker({ heapMb: 1024 });
    const admin = await connectAdmin(broker.bootstrap);
    await admin.createTopic(TOPIC, PARTITIONS);
    await admin.close();
    const file = writeRecordsFile(join(workDir, 'records.jsonl'), opts.records, opts.recordBytes);
    await kcatProduceFile(broker.bootstrap, TOPIC, file.path);
    log(`webhook bench: ${opts.records} records of ${opts.recordBytes} B produced`);
    const k = await kcatConsumeAll(broker.bootstrap, TOPIC);
    const kcat = { wallS: k.wallS, mbPerSec: file.valueBytes / MB / k.wallS, recordsPerSec: opts.records / k.wallS };

    const runs = [
      { name: 'webhook, 10 000/response', gzip: false, env: {} },
      { name: 'webhook, 10 000/response, gzip', gzip: true, env: {} },
      { name: 'webhook, whole window in 1 response', gzip: false, env: { WEBHOOK_MAX_RECORDS: String(opts.records), WEBHOOK_MAX_BYTES: '256MiB' } },
    ];
    const rows: WebhookBenchRow[] = [];
    for (const run of runs) {
      const { key, hash } = newKey();
      const proc = spawn(process.execPath, ['src/main.ts', 'run'], {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env['PATH'] ?? '',
          KAFKA_BROKERS: broker.bootstrap,
          WEBHOOK_PRODUCTS: `web=${TOPIC}`,
          WEBHOOK_KEYS: `web=${hash}`,
          WEBHOOK_RATE_LIMIT: '0',
          HTTP_PORT: '0',
          HTTP_HOST: '127.0.0.1',
          ...run.env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      try {
        const port = await waitForStart(proc);
        const cpu0 = readProcessCpu(proc.pid!);
        const r = await drainWindow(port, key, run.gzip);
        const cpu1 = readProcessCpu(proc.pid!);
        const rowProblems = [...r.problems];
        if (r.records !== opts.records) rowProblems.push(`returned ${r.records} records, expected ${opts.records}`);
        rows.push({
          name: run.name,
          calls: r.calls,
          records: r.records,
          wallS: r.wallS,
          recordsPerSec: r.records / r.wallS,
          mbPerSec: r.bytes / MB / r.wallS,
          wireBytes: r.wire,
          ratioToKcat: r.bytes / MB / r.wallS / kcat.mbPerSec,
          logstreamCpuS: cpu1.userS + cpu1.sysS - cpu0.userS - cpu0.sysS,
          logstreamPeakRssMb: readPeakRssBytes(proc.pid!) / 2 ** 20,
          problems: rowProblems,
        });
        problems.push(...rowProblems.map((p) => `${run.name}: ${p}`));
        log(`webhook bench: ${run.name}: ${r.records} records in ${fmt(r.wallS, 2)} s over ${r.calls} calls`);
      } finally {
        proc.kill('SIGTERM');
        await new Promise((res) => (proc.exitCode !== null ? res(undefined) : proc.once('exit', res)));
      }
    }
    return { records: opts.records, recordBytes: opts.recordBytes, kcat, rows, problems };
  } finally {
    await broker?.stop();
    if (broker) await rm(broker.dataDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  }
}

export function formatWebhook(r: WebhookBenchResult): string {
  return formatTable(
    ['run', 'calls', 'records', 'wall s', 'records/s', 'MB/s', 'x kcat', 'wire MB', 'CPU s', 'peak RSS MB'],
    [
      ['kcat -C (reference)', '', fmt(r.records, 0), fmt(r.kcat.wallS, 2), fmt(r.kcat.recordsPerSec, 0), fmt(r.kcat.mbPerSec, 1), '1.00', '', '', ''],
      ...r.rows.map((w) => [w.name, fmt(w.calls, 0), fmt(w.records, 0), fmt(w.wallS, 2), fmt(w.recordsPerSec, 0), fmt(w.mbPerSec, 1), fmt(w.ratioToKcat, 2), fmt(w.wireBytes / MB, 1), fmt(w.logstreamCpuS, 2), fmt(w.logstreamPeakRssMb, 0)]),
    ],
  );
}

if (import.meta.main) {
  const records = Number(process.env['BENCH_WEBHOOK_RECORDS'] ?? 100_000);
  const recordBytes = Number(process.env['BENCH_RECORD_BYTES'] ?? 1024);
  runWebhookBench({ records, recordBytes }).then(
    (r) => {
      process.stdout.write(`${formatWebhook(r)}\n`);
      for (const p of r.problems) process.stdout.write(`PROBLEM: ${p}\n`);
      process.exitCode = r.problems.length ? 1 : 0;
    },
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
