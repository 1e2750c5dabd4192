// `npm test`'s runner: the vitest projects (vitest.config.ts) in two vitest processes side by side,
// each with its own Kafka broker (test/support/global-setup.ts):
//   main     unit, tools, integration and the secrets fault scenario (faults-quick); its output is live
//   faults   the other fault scenarios
// (In one process vitest runs one-file-at-a-time projects one after the other: 40 minutes instead of
// the longer of the two. A third process made the run longer: the machine's 2 cores are the bound.)
// The fault process's output goes to .cache/faults-output.log and is printed when it ends, so the
// reports do not interleave; then the fault table (scripts/faults-summary.ts), every failure again, and
// one closing line with the totals.
//
//   node scripts/run-tests.ts [vitest arguments…]   (npm test runs it after the typecheck; arguments go
//                                                    to every vitest run, e.g. a file filter)
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const CACHE = join(ROOT, '.cache');
/** vitest's CLI, run with this Node (the project's 24), whatever `node` is first on PATH. */
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults?: Array<{
    name: string;
    /** A file that failed as a whole (an error outside its tests, a hook, an import). */
    message?: string;
    status?: string;
    assertionResults?: Array<{ fullName: string; status: string; failureMessages?: string[] }>;
  }>;
}

/** Lines of a failure message kept in the digest: the assertion and the project's frames of its stack. */
const DIGEST_LINES = 12;

/**
 * What failed, repeated as the run's last lines: the two vitest reports print failures amid a
 * thousand lines of output (and the fault suite's before the main run's summary), where a CI log
 * cut to its tail loses them.
 */
function failureDigest(reports: Array<Report | undefined>): string {
  const out: string[] = [];
  const clip = (text: string): string =>
    text
      .split('\n')
      .filter((l) => !/^\s+at /.test(l) || !/node_modules|node:internal|<anonymous>/.test(l))
      .slice(0, DIGEST_LINES)
      .map((l) => `    ${l}`)
      .join('\n');
  for (const r of reports) {
    for (const file of r?.testResults ?? []) {
      const name = file.name.startsWith(ROOT) ? file.name.slice(ROOT.length + 1) : file.name;
      const failed = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
      for (const a of failed) out.push(`  ✗ ${name} › ${a.fullName}\n${clip((a.failureMessages ?? []).join('\n'))}`);
      if (failed.length === 0 && file.status === 'failed') out.push(`  ✗ ${name}\n${clip(file.message || 'failed outside its tests (a beforeAll/afterAll hook or the import): vitest printed the error above')}`);
    }
  }
  return out.length === 0 ? '' : `failed (${out.length}):\n${out.join('\n')}\n`;
}

/** Lines of a side process's own failure report repeated at the end. */
const FAILED_SECTION_LINES = 40;

/**
 * A side process's failure report (vitest's "Failed Suites" / "Failed Tests" blocks), repeated at the
 * end: an error in a hook (a broker that did not start) is in no test's result, only there.
 */
function failedSection(lane: string, logFile: string): string {
  const lines = readFileSync(logFile, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const from = lines.findIndex((l) => /Failed (Suites|Tests) \d+/.test(l));
  if (from < 0) return '';
  const to = lines.findIndex((l, i) => i > from && /^\s*Test Files\s/.test(l));
  const section = lines.slice(from, to < 0 ? undefined : to).filter((l) => l.trim() !== '' && !/^\s+at .*(node_modules|node:internal)/.test(l));
  return `the ${lane} process's failures (${logFile}):\n${section.slice(0, FAILED_SECTION_LINES).map((l) => `    ${l}`).join('\n')}\n`;
}

function vitest(projects: string[], json: string, output: 'inherit' | string): Promise<number> {
  // With a file filter a process may have nothing to run: that is not a failure.
  const filter = process.argv.slice(2);
  const args = ['run', ...projects.flatMap((p) => ['--project', p]), '--reporter=default', '--reporter=json', `--outputFile.json=${json}`, ...(filter.length > 0 ? ['--passWithNoTests'] : []), ...filter];
  const child = spawn(process.execPath, [VITEST, ...args], { cwd: ROOT, stdio: output === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'], env: process.env });
  if (output !== 'inherit') {
    const file = createWriteStream(output);
    child.stdout!.pipe(file);
    child.stderr!.pipe(file);
  }
  return new Promise((resolve) => child.once('close', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

function report(path: string): Report | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Report;
  } catch {
    return undefined;
  }
}

interface Lane {
  name: string;
  projects: string[];
  /** Where its output goes until it ends; the main lane's is live. */
  log?: string;
  json: string;
}

/** The processes (vitest.config.ts names the projects). */
const LANES: Lane[] = [
  { name: 'main', projects: ['unit', 'tools', 'integration', 'faults-quick'], json: join(CACHE, 'test-results.json') },
  { name: 'faults', projects: ['faults'], log: join(CACHE, 'faults-output.log'), json: join(CACHE, 'test-results-faults.json') },
];

mkdirSync(CACHE, { recursive: true });
const t0 = Date.now();
const side = LANES.filter((l) => l.log).map((l) => l.name).join(' and ');
process.stdout.write(`[${side}] these run beside the unit, tools and integration tests; the output of each follows when it ends\n`);
const codes = await Promise.all(
  LANES.map((lane) =>
    vitest(lane.projects, lane.json, lane.log ?? 'inherit').then((code) => {
      if (lane.log) {
        process.stdout.write(`\n[${lane.name}] ${lane.projects.join(' + ')} ended (exit ${code}) after ${Math.round((Date.now() - t0) / 1000)} s; its output (${lane.log}):\n`);
        process.stdout.write(readFileSync(lane.log, 'utf8'));
      } else {
        process.stdout.write(`\n[${lane.name}] ended (exit ${code}) after ${Math.round((Date.now() - t0) / 1000)} s\n`);
      }
      return code;
    }),
  ),
);

const summary = spawn(process.execPath, [join(ROOT, 'scripts', 'faults-summary.ts')], { cwd: ROOT, stdio: 'inherit' });
const summaryCode = await new Promise<number>((resolve) => summary.once('close', (code) => resolve(code ?? 1)));

const reports = LANES.map((l) => report(l.json));
const sum = (k: 'numPassedTests' | 'numFailedTests' | 'numPendingTests' | 'numTodoTests'): number => reports.reduce((a, r) => a + (r?.[k] ?? 0), 0);
const passed = sum('numPassedTests');
const failed = sum('numFailedTests');
const skipped = sum('numPendingTests') + sum('numTodoTests');
const missing = reports.some((r) => r === undefined);
process.stdout.write(failureDigest(reports));
LANES.forEach((lane, i) => {
  if (lane.log && codes[i] !== 0) process.stdout.write(failedSection(lane.name, lane.log));
});
process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped${missing ? ' (a vitest run wrote no report)' : ''}; ${Math.round((Date.now() - t0) / 1000)} s\n`);
process.exitCode = codes.some((c) => c !== 0) || summaryCode !== 0 || failed > 0 || passed === 0 || missing ? 1 : 0;
