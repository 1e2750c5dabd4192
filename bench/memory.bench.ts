// Memory at full rate: one logstream (file sink, QUERY "* | where severity in ('high','critical')", the
// default in-flight limits) reads a topic of 1 KiB JSON records as fast as it can, under different V8
// heap settings and in-flight byte limits — what a pod's memory limit has to hold, and what a smaller
// heap costs in CPU. Same topic, same run for every row; each row is its own consumer group.
//
// Alone: node bench/memory.bench.ts   (env BENCH_MEMORY_RECORDS, default 500000; BENCH_MEMORY_REPEATS, default 3;
//        BENCH_MEMORY_VARIANTS=young,chart: only the variants whose name contains one of these)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchKafka } from './lib/bench-kafka.ts';
import { runLogstream } from './lib/logstream.ts';
import { filterWords, isSelected } from './lib/name-filter.ts';
import { fmt, formatTable } from './lib/table.ts';
import { SEVERITY_QUERY } from './throughput.bench.ts';

export interface MemoryRow {
  name: string;
  nodeOptions: string;
  /** The logstream settings of the row beside the defaults. */
  settings: string;
  /** Medians over the repeats (runs are interleaved: row 1, row 2, …, row 1, row 2, …). */
  wallS: number;
  cpuS: number;
  mbPerCpuS: number;
  peakRssMb: number;
  /** Peak RSS of every repeat. */
  peakRssMbAll: number[];
}

export const MEMORY_VARIANTS: ReadonlyArray<{ name: string; nodeOptions: string; env?: Record<string, string> }> = [
  { name: 'V8 defaults', nodeOptions: '' },
  { name: 'chart 1Gi (heap 665 MB)', nodeOptions: '--max-old-space-size=665' },
  { name: 'young 8 MB', nodeOptions: '--max-semi-space-size=8' },
  { name: 'chart 1Gi (heap 665 MB), young 8 MB', nodeOptions: '--max-old-space-size=665 --max-semi-space-size=8' },
  { name: 'heap 256 MB', nodeOptions: '--max-old-space-size=256' },
  { name: 'heap 160 MB', nodeOptions: '--max-old-space-size=160' },
  { name: 'heap 160 MB, young 8 MB', nodeOptions: '--max-old-space-size=160 --max-semi-space-size=8' },
  { name: 'heap 160 MB, in-flight 16 MiB', nodeOptions: '--max-old-space-size=160', env: { INFLIGHT_MAX_BYTES: '16MiB' } },
  { name: 'heap 160 MB, fetch 256 KiB/partition', nodeOptions: '--max-old-space-size=160', env: { KAFKA_MAX_BYTES_PER_PARTITION: '256KiB' } },
  { name: 'kafkajs, V8 defaults', nodeOptions: '', env: { KAFKA_CLIENT: 'kafkajs' } },
  { name: 'kafkajs, chart 1Gi (heap 665 MB)', nodeOptions: '--max-old-space-size=665', env: { KAFKA_CLIENT: 'kafkajs' } },
  { name: 'kafkajs, heap 160 MB', nodeOptions: '--max-old-space-size=160', env: { KAFKA_CLIENT: 'kafkajs' } },
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function runMemoryBench(opts: { records: number; repeats: number; variants?: string[]; log?: (s: string) => void }): Promise<{ rows: MemoryRow[]; problems: string[] }> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const workDir = await mkdtemp(join(tmpdir(), 'ls-bench-memory-'));
  const kafka = new BenchKafka(log);
  const rows: MemoryRow[] = [];
  const problems: string[] = [];
  try {
    const topicName = 'bench-memory';
    const { broker, admin, topic } = await kafka.startWithRecords({ topic: topicName, partitions: 4, records: opts.records, recordBytes: 1024, workDir });
    const runs = MEMORY_VARIANTS.map(() => [] as Array<{ wallS: number; cpuS: number; peakRssMb: number }>);
    for (let k = 0; k < opts.repeats; k++) {
      for (const [i, v] of MEMORY_VARIANTS.entries()) {
        if (!isSelected(v.name, opts.variants)) continue;
        const run = await runLogstream({
          name: `memory-${i}-${k}`,
          bootstrap: broker.bootstrap,
          topic: topicName,
          records: opts.records,
          expectedLines: topic.highOrCritical,
          query: SEVERITY_QUERY,
          workDir,
          admin,
          env: { NODE_OPTIONS: v.nodeOptions || undefined, ...v.env },
        });
        problems.push(...run.problems.map((p) => `${v.name}: ${p}`));
        const m = { wallS: run.wallS, cpuS: run.userS + run.sysS, peakRssMb: run.peakRssBytes / 2 ** 20 };
        runs[i]!.push(m);
        log(`${v.name} (#${k + 1}): ${fmt(m.wallS, 1)} s, ${fmt(m.cpuS, 1)} CPU s, peak RSS ${fmt(m.peakRssMb, 0)} MB`);
      }
    }
    for (const [i, v] of MEMORY_VARIANTS.entries()) {
      const r = runs[i]!;
      if (r.length === 0) continue;
      const cpuS = median(r.map((x) => x.cpuS));
      rows.push({
        name: v.name,
        nodeOptions: v.nodeOptions || '(none)',
        settings: Object.entries(v.env ?? {}).map(([k, x]) => `${k}=${x}`).join(' ') || '(defaults)',
        wallS: median(r.map((x) => x.wallS)),
        cpuS,
        mbPerCpuS: topic.valueBytes / 1e6 / cpuS,
        peakRssMb: median(r.map((x) => x.peakRssMb)),
        peakRssMbAll: r.map((x) => x.peakRssMb),
      });
    }
    return { rows, problems };
  } finally {
    await kafka.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

export function formatMemory(r: { rows: MemoryRow[] }, records: number, repeats: number): string {
  return [
    formatTable(
      ['run', 'NODE_OPTIONS', 'settings', 'wall s', 'CPU s', 'MB/CPU s', 'peak RSS MB (median)', 'peak RSS MB (each run)'],
      r.rows.map((x) => [x.name, x.nodeOptions, x.settings, fmt(x.wallS, 1), fmt(x.cpuS, 1), fmt(x.mbPerCpuS, 1), fmt(x.peakRssMb, 0), x.peakRssMbAll.map((m) => fmt(m, 0)).join(' / ')]),
    ),
    `${records} records × 1 KiB, 4 partitions, file sink, query ${SEVERITY_QUERY}, every other setting at its default; medians of ${repeats} interleaved runs`,
  ].join('\n');
}

/** BENCH_MEMORY_VARIANTS: only the variants whose name contains one of these comma-separated words. */
export function memoryVariantsFromEnv(env: NodeJS.ProcessEnv): { variants?: string[] } {
  const words = filterWords(env['BENCH_MEMORY_VARIANTS']);
  return words ? { variants: words } : {};
}

if (import.meta.main) {
  const records = Number(process.env['BENCH_MEMORY_RECORDS'] ?? 500_000);
  const repeats = Number(process.env['BENCH_MEMORY_REPEATS'] ?? 3);
  runMemoryBench({ records, repeats, ...memoryVariantsFromEnv(process.env) }).then(
    (r) => {
      process.stdout.write(`${formatMemory(r, records, repeats)}\n`);
      for (const p of r.problems) process.stdout.write(`PROBLEM: ${p}\n`);
      process.exitCode = r.problems.length ? 1 : 0;
    },
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
