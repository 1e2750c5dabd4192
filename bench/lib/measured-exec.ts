// Runs an external command to completion and measures it: wall time, user+sys CPU seconds and peak
// RSS. CPU and RSS come from getrusage(RUSAGE_CHILDREN) in a tiny python3 wrapper (exact, no race
// with the exit, unlike reading /proc/<pid>/stat); GNU /usr/bin/time is the fallback.
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface Measured {
  wallS: number;
  userS: number;
  sysS: number;
  peakRssBytes: number;
  exitCode: number | null;
  stderr: string;
}

const PY_WRAPPER = [
  'import resource, subprocess, sys, time',
  't = time.monotonic()',
  'rc = subprocess.call(sys.argv[2:])',
  'w = time.monotonic() - t',
  'r = resource.getrusage(resource.RUSAGE_CHILDREN)',
  'open(sys.argv[1], "w").write("%f %f %f %d\\n" % (w, r.ru_utime, r.ru_stime, r.ru_maxrss))',
  'sys.exit(rc if rc >= 0 else 128 - rc)',
].join('\n');

function hasPython(): boolean {
  return (process.env['PATH'] ?? '').split(':').some((d) => d !== '' && existsSync(join(d, 'python3')));
}

/** Wrapper command whose report file holds "wallS userS sysS maxRssKiB" (wall absent for /usr/bin/time). */
function wrap(reportFile: string, cmd: string, args: string[]): { cmd: string; args: string[] } {
  if (hasPython()) return { cmd: 'python3', args: ['-c', PY_WRAPPER, reportFile, cmd, ...args] };
  if (existsSync('/usr/bin/time')) return { cmd: '/usr/bin/time', args: ['-o', reportFile, '-f', '%e %U %S %M', cmd, ...args] };
  throw new Error('neither python3 nor /usr/bin/time is available to measure CPU time (apt-get install time)');
}

/**
 * Runs `cmd args` with stdout sent to `stdoutFile` (default /dev/null), stderr captured.
 * Resolves when it exits; does not throw on a non-zero exit (see exitCode).
 */
export async function runMeasured(cmd: string, args: string[], opts: { stdoutFile?: string } = {}): Promise<Measured> {
  const reportFile = join(tmpdir(), `logstream-bench-rusage-${randomBytes(6).toString('hex')}`);
  const w = wrap(reportFile, cmd, args);
  const outFd = openSync(opts.stdoutFile ?? '/dev/null', 'w');
  const t0 = performance.now();
  try {
    const child = spawn(w.cmd, w.args, { stdio: ['ignore', outFd, 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-20_000);
    });
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    });
    const outerWallS = (performance.now() - t0) / 1000;
    // Last line: /usr/bin/time writes "Command exited with non-zero status N" before it.
    const lines = (await readFile(reportFile, 'utf8').catch(() => '')).trim().split('\n');
    const report = (lines[lines.length - 1] ?? '').trim().split(/\s+/).map(Number);
    if (report.length !== 4 || report.some((n) => !Number.isFinite(n))) {
      throw new Error(`${cmd}: no resource report (exit ${exitCode}): ${stderr.slice(-2000)}`);
    }
    const [wallS, userS, sysS, maxRssKiB] = report as [number, number, number, number];
    // The python wrapper times the child alone (its own start-up excluded); /usr/bin/time's %e is coarse.
    return { wallS: w.cmd === 'python3' ? wallS : outerWallS, userS, sysS, peakRssBytes: maxRssKiB * 1024, exitCode, stderr };
  } finally {
    closeSync(outFd);
    await rm(reportFile, { force: true });
  }
}
