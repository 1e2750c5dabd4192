// The measurement loop of the reference shippers (rsyslog imkafka, Benthos): spawn the process, poll
// how many records its output holds until it has them all (or it exits, or nothing new arrives for
// STALL_MS), take its CPU seconds and peak RSS from /proc at that moment, wait until the output has
// been quiet for a second (more would be duplicates), then SIGTERM it (SIGKILL after exitTimeoutMs,
// default 10 s) and expect exit 0. Problems are collected, never hidden; nothing is asserted on time.
// checkLinesOutput() checks a file output against the topic: N lines, every value verbatim.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readPeakRssBytes, readProcessCpu } from './proc.ts';

const POLL_MS = 100;
const STALL_MS = 120_000;
const SETTLE_QUIET_MS = 1_000;
const SETTLE_MAX_MS = 15_000;
const DEFAULT_EXIT_TIMEOUT_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ReferenceRunOptions<T> {
  /** Name in problem texts ("rsyslogd", "benthos"). */
  what: string;
  bin: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  records: number;
  /** Records the output holds now. */
  delivered: () => number | Promise<number>;
  /** Read at the moment the output was complete (committed offsets, the process's own metrics). */
  atDone?: () => Promise<T>;
  problems: string[];
  /** SIGTERM → SIGKILL (default 10 s). */
  exitTimeoutMs?: number;
}

/** What the throughput table takes from a reference shipper's run. */
export interface ReferenceMeasure {
  wallS: number;
  userS: number;
  sysS: number;
  peakRssBytes: number;
}

export const measureOf = (r: ReferenceMeasure): ReferenceMeasure => ({ wallS: r.wallS, userS: r.userS, sysS: r.sysS, peakRssBytes: r.peakRssBytes });

export interface ReferenceRun<T> extends ReferenceMeasure {
  /** Spawn → first record in the output. */
  startupS: number | undefined;
  atDone: T | undefined;
  /** Exit code or signal ('unknown' if it never exited; 'cannot spawn: …'). */
  exit: string;
  exitAfterSigtermS: number | undefined;
  /** The last 16 KiB of its stdout and stderr. */
  log: string;
}

export async function runReference<T>(o: ReferenceRunOptions<T>): Promise<ReferenceRun<T>> {
  const { problems } = o;
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const proc = spawn(o.bin, o.args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const onOut = (c: Buffer): void => {
    log = (log + c.toString('utf8')).slice(-16_384);
  };
  proc.stdout!.on('data', onOut);
  proc.stderr!.on('data', onOut);
  let exit: string | undefined;
  let exitedAt: number | undefined;
  const exited = new Promise<void>((r) => {
    proc.once('exit', (code, signal) => {
      exit = String(code ?? signal);
      exitedAt = performance.now();
      r();
    });
    proc.once('error', (err) => {
      exit = `cannot spawn: ${err.message}`;
      exitedAt = performance.now();
      r();
    });
  });
  // Never leave it behind, whatever happens to this process.
  const killOnExit = (): void => {
    if (exit === undefined) proc.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const pid = proc.pid ?? 0;

  let wallS = Number.NaN;
  let cpu = { userS: Number.NaN, sysS: Number.NaN };
  let peak = Number.NaN;
  let startupS: number | undefined;
  let atDone: T | undefined;
  let exitAfterSigtermS: number | undefined;
  try {
    let last = 0;
    let lastChangeS = 0;
    for (;;) {
      if (exit !== undefined) {
        problems.push(`${o.what} exited early (${exit}) after ${elapsed().toFixed(1)} s with ${await o.delivered()} of ${o.records} records delivered`);
        break;
      }
      const n = await o.delivered();
      const now = elapsed();
      if (n > 0 && startupS === undefined) startupS = now;
      if (n >= o.records) {
        wallS = now;
        cpu = readProcessCpu(pid);
        peak = readPeakRssBytes(pid);
        atDone = await o.atDone?.();
        break;
      }
      if (n !== last) {
        last = n;
        lastChangeS = now;
      } else if (now - lastChangeS > STALL_MS / 1000) {
        problems.push(`${o.what}: nothing new delivered for ${STALL_MS / 1000} s (${n} of ${o.records})`);
        break;
      }
      await sleep(POLL_MS);
    }
    // More may still come (duplicates): wait until the output has been quiet for a second.
    if (exit === undefined) {
      const s0 = performance.now();
      let n = await o.delivered();
      let changedAt = s0;
      while (performance.now() - changedAt < SETTLE_QUIET_MS && performance.now() - s0 < SETTLE_MAX_MS) {
        await sleep(100);
        const m = await o.delivered();
        if (m !== n) {
          n = m;
          changedAt = performance.now();
        }
      }
    }
  } finally {
    if (exit === undefined) {
      const sigtermAt = performance.now();
      proc.kill('SIGTERM');
      const exitTimeoutMs = o.exitTimeoutMs ?? DEFAULT_EXIT_TIMEOUT_MS;
      const timer = setTimeout(() => {
        problems.push(`${o.what} did not exit within ${exitTimeoutMs / 1000} s of SIGTERM; killed`);
        proc.kill('SIGKILL');
      }, exitTimeoutMs);
      await exited;
      clearTimeout(timer);
      exitAfterSigtermS = (exitedAt! - sigtermAt) / 1000;
      if (exit !== '0') problems.push(`${o.what} exit ${exit} after SIGTERM (expected 0)`);
    }
    process.off('exit', killOnExit);
  }
  return { wallS, userS: cpu.userS, sysS: cpu.sysS, peakRssBytes: peak, startupS, atDone, exit: exit ?? 'unknown', exitAfterSigtermS, log };
}

/** A file output against the topic: `lines` lines of `records`, and N + sum(value sizes) bytes (every
 *  value verbatim plus a newline). Returns the file's size. */
export function checkLinesOutput(what: string, outFile: string, lines: number, o: { records: number; valueBytes: number }, problems: string[]): { outputBytes: number; expectedBytes: number } {
  const outputBytes = existsSync(outFile) ? statSync(outFile).size : 0;
  const expectedBytes = o.valueBytes + o.records;
  if (lines < o.records) problems.push(`${what} wrote ${lines} lines, expected ${o.records}: ${o.records - lines} records missing`);
  if (lines > o.records) problems.push(`${what} wrote ${lines} lines, expected ${o.records}: ${lines - o.records} extra (duplicates)`);
  if (lines === o.records && outputBytes !== expectedBytes) {
    problems.push(`${what} output is ${outputBytes} bytes, expected ${expectedBytes} (every value verbatim plus a newline): values were altered`);
  }
  return { outputBytes, expectedBytes };
}
