// `npm run bench`: the throughput benchmark (kcat vs logstream on a real local broker), then the routes
// benchmark (1, 2 and 3 routes over one topic, and archive + filtered SIEM: what each extra route costs;
// bench/routes.bench.ts, result key `routes`), then the query engine benchmark when
// bench/query.bench.ts exists, then decoding the same records as JSON, Avro and Protobuf
// (bench/decode.bench.ts, result key `decode`), then the webhook benchmark (a 100 000-record
// window served to a caller, BENCH_WEBHOOK_RECORDS), then the rolling-restart cost (3 instances), then
// duplicates per kill -9 and the broker's cost by KAFKA_COMMIT_INTERVAL (bench/kill-duplicates.bench.ts,
// BENCH_KILL_RATE, BENCH_KILL_INTERVALS, result key `kill`), then
// logstream's memory while its HEC sink is down for BENCH_OUTAGE_S under a steady 5 MB/s
// (bench/outage-memory.bench.ts, result key `outage`), then peak RSS and CPU at full rate under V8 heap
// settings and smaller limits (bench/memory.bench.ts, BENCH_MEMORY_RECORDS, BENCH_MEMORY_REPEATS, result
// key `memory`); prints tables and writes everything to
// bench/results/latest.json (git-ignored). Never part of `npm test`.
//
// Env: BENCH_RECORDS (default 1000000), BENCH_RECORD_BYTES (default 1024),
//      BENCH_ROUTES_RECORDS (the routes benchmark's topic; default BENCH_RECORDS),
//      BENCH_RUNS (throughput: only the runs whose name contains one of these words),
//      BENCH_MEMORY_VARIANTS (memory: only the variants whose name contains one of these words),
//      BENCH_CPU_PROF=1 (one more logstream run under --cpu-prof, summarised; profile kept in bench/results/),
//      BENCH_OUTAGE_S (default 300), BENCH_OUTAGE_WARMUP_S (60), BENCH_OUTAGE_RATE (5000 records/s),
//      BENCH_DAEMON_NODE_OPTIONS, BENCH_DAEMON_ENV ("NAME=value …": every logstream daemon's Node flags / settings),
//      LOGSTREAM_KAFKA_VERSION (broker version).
// Needs (Debian): apt-get install kcat rsyslog rsyslog-openssl rsyslog-gnutls rsyslog-kafka python3
// (rsyslog-kafka: the rsyslog imkafka reference run); Java 17+ and Maven (the broker); Go (MinIO, and
// Benthos 4.27 for the Benthos reference runs: scripts/benthos.ts builds it once).
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_KAFKA_VERSION } from '../scripts/kafka-broker.ts';
import { requireKcat } from './lib/kcat.ts';
import { machineInfo } from './lib/proc.ts';
import { fmt, formatTable } from './lib/table.ts';
import { benchOptionsFromEnv, formatThroughput, runThroughputBench } from './throughput.bench.ts';
import { formatRoutes, routesOptionsFromEnv, runRoutesBench } from './routes.bench.ts';
import { formatWebhook, runWebhookBench } from './webhook.bench.ts';
import { formatDecode, runDecodeBench } from './decode.bench.ts';
import { formatRollingRestart, restartVariantsFromEnv, runRollingRestartBench } from './rolling-restart.bench.ts';
import { formatKill, killOptionsFromEnv, runKillBench } from './kill-duplicates.bench.ts';
import { formatMemory, memoryVariantsFromEnv, runMemoryBench } from './memory.bench.ts';
import { formatOutage, outageOptionsFromEnv, runOutageBench } from './outage-memory.bench.ts';

interface QueryBenchRow {
  name: string;
  recordsPerSecPerCore: number;
  recordsPerSecWall: number;
}

const BENCH_DIR = import.meta.dirname;
const RESULTS_DIR = join(BENCH_DIR, 'results');

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Runs bench/query.bench.ts's runQueryBench() if that file exists; otherwise a note. */
async function runQueryBenchIfPresent(): Promise<{ rows: QueryBenchRow[] } | { skipped: string }> {
  const file = join(BENCH_DIR, 'query.bench.ts');
  if (!existsSync(file)) return { skipped: 'bench/query.bench.ts does not exist' };
  const spec = './query.bench.ts'; // a variable: the file may not exist when this is typechecked
  const mod = (await import(spec)) as { runQueryBench?: unknown };
  if (typeof mod.runQueryBench !== 'function') return { skipped: 'bench/query.bench.ts does not export runQueryBench()' };
  return { rows: (await (mod.runQueryBench as () => Promise<QueryBenchRow[]>)()) };
}

/**
 * Runs one benchmark (which prints its report and adds its problems itself); when it throws, says so on
 * stderr and in `problems`, and the result is { error } in its place.
 */
async function attempt<T>(what: string, problems: string[], run: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await run();
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    problems.push(`${what} benchmark failed: ${msg}`);
    process.stderr.write(`${what} benchmark failed: ${(err as Error)?.stack ?? msg}\n`);
    return { error: msg };
  }
}

async function main(): Promise<number> {
  try {
    requireKcat();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
  const opts = benchOptionsFromEnv(process.env);
  const date = new Date().toISOString();
  const problems: string[] = [];

  say(`== throughput: ${opts.records.toLocaleString('en-US')} records of ${opts.recordBytes} B ==`);
  const throughput = await attempt('throughput', problems, async () => {
    const r = await runThroughputBench(opts);
    say(formatThroughput(r));
    problems.push(...r.problems);
    return r;
  });

  const routesOpts = routesOptionsFromEnv(process.env);
  say(`\n== routes: 1, 2, 3 routes over one topic of ${routesOpts.records.toLocaleString('en-US')} records of ${routesOpts.recordBytes} B, each route its own group ==`);
  const routes = await attempt('routes', problems, async () => {
    const r = await runRoutesBench({ ...routesOpts, log: (l) => process.stderr.write(`[routes] ${l}\n`) });
    say(formatRoutes(r));
    problems.push(...r.problems);
    return r;
  });

  say('\n== query engine ==');
  const query = await attempt('query', problems, async () => {
    const r = await runQueryBenchIfPresent();
    if ('skipped' in r) say(`skipped: ${r.skipped}`);
    else say(formatTable(['query', 'records/s per core', 'records/s wall'], r.rows.map((q) => [q.name, fmt(q.recordsPerSecPerCore, 0), fmt(q.recordsPerSecWall, 0)])));
    return r;
  });

  say('\n== decode: the same ~1 KiB records as JSON, Avro and Protobuf (schema-registry wire format, schema cached) ==');
  const decode = await attempt('decode', problems, async () => {
    const rows = await runDecodeBench();
    say(formatDecode(rows));
    return rows;
  });

  const webhookRecords = Number(process.env['BENCH_WEBHOOK_RECORDS'] ?? 100_000);
  say(`\n== webhook: a ${webhookRecords.toLocaleString('en-US')}-record window ==`);
  const webhook = await attempt('webhook', problems, async () => {
    const r = await runWebhookBench({ records: webhookRecords, recordBytes: opts.recordBytes, log: (l) => process.stderr.write(`${l}\n`) });
    say(formatWebhook(r));
    problems.push(...r.problems);
    return r;
  });

  say('\n== rebalances: 3 instances, 6 partitions under 2000 records/s — rolling restart, a member added, kill -9; per Kafka client ==');
  const rolling = await attempt('rolling restart', problems, async () => {
    const results = [];
    for (const variant of restartVariantsFromEnv(process.env)) {
      const r = await runRollingRestartBench({ ratePerSec: Number(process.env['BENCH_RESTART_RATE'] ?? 2000), variant, log: (l) => process.stderr.write(`${l}\n`) });
      say(formatRollingRestart(r));
      problems.push(...r.problems.map((p) => `rebalances (${variant}): ${p}`));
      results.push(r);
    }
    return results;
  });

  const killOpts = killOptionsFromEnv(process.env);
  say(`\n== kill -9: duplicates per kill and broker cost by KAFKA_COMMIT_INTERVAL (${killOpts.intervals.join(', ')}), 2 instances under ${killOpts.ratePerSec} records/s ==`);
  const kill = await attempt('kill -9', problems, async () => {
    const r = await runKillBench({ ...killOpts, log: (l) => process.stderr.write(`${l}\n`) });
    say(formatKill(r));
    problems.push(...r.problems.map((p) => `kill -9: ${p}`));
    return r;
  });

  const outageOpts = outageOptionsFromEnv(process.env);
  say(`\n== outage: HEC receiver down ${outageOpts.outageS} s under ${outageOpts.ratePerSec} records/s of ${outageOpts.recordBytes} B, one logstream's memory ==`);
  const outage = await attempt('outage', problems, async () => {
    const r = await runOutageBench({ ...outageOpts, log: (l) => process.stderr.write(`[outage] ${l}\n`) });
    say(formatOutage(r));
    problems.push(...r.problems.map((p) => `outage: ${p}`));
    return r;
  });

  const memoryRecords = Number(process.env['BENCH_MEMORY_RECORDS'] ?? 500_000);
  const memoryRepeats = Number(process.env['BENCH_MEMORY_REPEATS'] ?? 3);
  say(`\n== memory at full rate: one logstream under V8 heap settings and smaller in-flight/fetch limits (${memoryRecords} records, ${memoryRepeats} runs each) ==`);
  const memory = await attempt('memory', problems, async () => {
    const r = await runMemoryBench({ records: memoryRecords, repeats: memoryRepeats, ...memoryVariantsFromEnv(process.env), log: (l) => process.stderr.write(`[memory] ${l}\n`) });
    say(formatMemory(r, memoryRecords, memoryRepeats));
    problems.push(...r.problems.map((p) => `memory: ${p}`));
    return r;
  });

  const machine = machineInfo('kafkaVersion' in throughput ? throughput.kafkaVersion : (process.env['LOGSTREAM_KAFKA_VERSION'] ?? DEFAULT_KAFKA_VERSION));
  say(`\nmachine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, Kafka ${machine.kafka}, kcat ${machine.kcat}`);

  await mkdir(RESULTS_DIR, { recursive: true });
  const out = join(RESULTS_DIR, 'latest.json');
  const params = { records: opts.records, recordBytes: opts.recordBytes, routesRecords: routesOpts.records, cpuProfile: opts.cpuProfile ?? false };
  await writeFile(out, `${JSON.stringify({ date, machine, params, throughput, routes, query, decode, webhook, rolling, kill, outage, memory, problems }, null, 2)}\n`);
  say(`results: ${out}`);

  if (problems.length > 0) {
    process.stderr.write(`\nBENCHMARK FAILED:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
