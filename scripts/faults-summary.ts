// The fault suite's table: reads the results the scenarios appended (format: fault-results.ts;
// .cache/faults/results.jsonl) and prints one row per scenario, as markdown (docs/reliability.md's table is pasted
// from a FAULTS_FULL=1 run). `--clear` empties the file before a run.
//
//   node scripts/faults-summary.ts [--clear] [results.jsonl]
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { cpus, totalmem } from 'node:os';
import type { FaultResultLine } from './fault-results.ts';

const args = process.argv.slice(2);
const file = resolve(args.find((a) => !a.startsWith('--')) ?? process.env['FAULTS_RESULTS'] ?? join(import.meta.dirname, '..', '.cache', 'faults', 'results.jsonl'));

if (args.includes('--clear')) {
  mkdirSync(dirname(file), { recursive: true });
  rmSync(file, { force: true });
} else if (!existsSync(file)) {
  process.stdout.write(`faults: no results in ${file} (no fault scenario ran)\n`);
} else {
  const results = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as FaultResultLine);
  const cell = (s: string): string => s.replaceAll('|', '\\|');
  const rows = results.map((r) =>
    [
      r.scenario,
      String(r.lost),
      String(r.dup),
      r.sinks.map((s) => `${s.sink} ${s.lost}/${s.dup}`).join(', '),
      String(r.dupBound),
      r.produced.toLocaleString('en-US'),
      String(r.durationS),
      r.pass ? 'pass' : `FAIL${r.altered ? ` (altered ${r.altered})` : ''}${r.secretsFound.length ? ' (secrets in output)' : ''}`,
      r.note ?? '',
    ].map(cell),
  );
  const head = ['scenario', 'lost', 'dup', 'per sink lost/dup', 'dup bound per sink', 'records', 's', 'result', 'notes'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
  const full = results.some((r) => r.full) ? 'FAULTS_FULL=1' : 'default (CI) counts';
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  process.stdout.write(`\nfault scenarios (${full}; ${results[0]?.at.slice(0, 10)}; ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.versions.node}):\n${lines.join('\n')}\n`);
  const failed = results.filter((r) => !r.pass);
  process.stdout.write(`faults: ${results.length - failed.length} of ${results.length} scenarios passed\n`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}
