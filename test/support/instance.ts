/**
 * Runs logstream instances as real child processes (`node src/main.ts run`), so that kill -9 and
 * SIGTERM are what an orchestrator does to a pod. Logs (pino JSON on stderr) are kept for assertions
 * and written to a file for post-mortems.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createWriteStream, mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export class Instance {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly logFile: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #stderrTail = '';

  /** With `holdStdout`, nothing reads the child's stdout until readStdout(): its pipe fills and the
   *  stdout sink blocks, as a stalled downstream would. */
  readonly stdoutChunks: Buffer[] = [];

  constructor(name: string, env: Record<string, string>, args: string[] = ['run'], opts: { holdStdout?: boolean } = {}) {
    this.name = name;
    const dir = mkdtempSync(join(tmpdir(), `ls-${name}-`));
    this.logFile = join(dir, 'stderr.log');
    const file = createWriteStream(this.logFile);
    this.proc = spawn(process.execPath, ['src/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', INSTANCE_ID: name, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout!.on('data', (c: Buffer) => this.stdoutChunks.push(c));
    if (opts.holdStdout) this.proc.stdout!.pause();
    this.proc.stderr!.on('data', (chunk: Buffer) => {
      file.write(chunk);
      const text = this.#stderrTail + chunk.toString('utf8');
      const lines = text.split('\n');
      this.#stderrTail = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ level: 'raw', msg: line });
        }
      }
    });
    this.exited = new Promise((res) => this.proc.on('exit', (code, signal) => {
      file.end();
      res({ code, signal });
    }));
  }

  /** Starts (or resumes) reading the child's stdout. */
  readStdout(): void {
    this.proc.stdout!.resume();
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Resolves with the first log line matching, waiting up to `timeoutMs`. */
  async waitForLog(match: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.find(match);
      if (hit) return hit;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`${this.name} exited (${this.proc.exitCode ?? this.proc.signalCode}) while waiting; log: ${this.logFile}\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: timed out waiting for a log line; log: ${this.logFile}\n${this.tail()}`);
      await sleep(100);
    }
  }

  async httpPort(): Promise<number> {
    const started = await this.waitForLog((l) => l.msg === 'logstream started');
    return started.httpPort as number;
  }

  /** The port of /metrics and the probes: METRICS_PORT's listener when there is one. */
  async metricsPort(): Promise<number> {
    const started = await this.waitForLog((l) => l.msg === 'logstream started');
    return (started.metricsPort ?? started.httpPort) as number;
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${await this.metricsPort()}/metrics`);
    return res.text();
  }

  /** Sum of a metric's samples (all label sets, or those whose labels include every `labels` pair). */
  async metricSum(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await this.metrics();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }

  /** True once the instance logged that it uses the new content of the file `variable` names. */
  usesNewFile(variable: string): boolean {
    return this.logs.some((l) => l['variable'] === variable && l.msg === `${variable}: new content in use from the next request or connection`);
  }

  /** Waits until usesNewFile(variable) (the file is polled every SECRETS_RELOAD_INTERVAL). */
  waitForNewFile(variable: string, timeoutMs = 10_000): Promise<void> {
    return waitUntil(`the new ${variable} in use`, () => this.usesNewFile(variable), timeoutMs, 200);
  }

  tail(n = 15): string {
    return this.logs.slice(-n).map((l) => JSON.stringify(l)).join('\n');
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }

  async stop(timeoutMs = 40_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until it holds. A throwing check (a coordinator not ready yet…) counts as not yet. */
export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 120_000, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await cond()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

/** Reads JSON lines from a file and its rotated backups (missing files are empty). */
export function readJsonLines(path: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const p of [path]) {
    if (!existsSync(p)) continue;
    for (const line of readFileSync(p, 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

export function tmpDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ls-${prefix}-`));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one logstream command (`node src/main.ts …`) to its end. */
export async function runCli(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<CliResult> {
  try {
    const r = await promisify(execFile)(process.execPath, ['src/main.ts', ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', HOME: '/tmp', ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
