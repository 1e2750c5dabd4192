/**
 * Runs the HEC test receiver (main.ts) as a child process and drives it over its control endpoints:
 * for benchmarks (no receiver work on the benchmark's event loop) and for tests that kill and
 * restart the receiver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { HecControlCommand, HecRecordedEvent, HecStats } from './receiver.ts';

const MAIN = resolve(import.meta.dirname, 'main.ts');

export class HecProcess {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly port: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #log: { stderr: string };

  private constructor(proc: ChildProcess, url: string, exited: HecProcess['exited'], log: { stderr: string }) {
    this.proc = proc;
    this.#log = log;
    this.url = url;
    this.port = Number(new URL(url).port);
    this.exited = exited;
  }

  /** Starts `main.ts` with `args` (e.g. ['--port', '0', '--token', 'T', '--ack']) and waits for HEC_URL. */
  static async start(args: readonly string[], timeoutMs = 15_000): Promise<HecProcess> {
    const proc = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = { stderr: '' };
    proc.stderr!.on('data', (c: Buffer) => {
      log.stderr += c.toString('utf8');
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.once('exit', (code, signal) => res({ code, signal })));
    const url = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`HEC receiver did not start in ${timeoutMs} ms: ${log.stderr}`)), timeoutMs);
      const lines = createInterface({ input: proc.stdout! });
      lines.on('line', (line) => {
        const m = /^HEC_URL=(\S+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          res(m[1] as string);
        }
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        rej(new Error(`HEC receiver exited (${code ?? signal}) before listening: ${log.stderr}`));
      });
    });
    return new HecProcess(proc, url, exited, log);
  }

  /** What the receiver wrote on stderr so far. */
  get stderr(): string {
    return this.#log.stderr;
  }

  async control(cmd: HecControlCommand): Promise<Record<string, unknown>> {
    const r = await fetch(`${this.url}/_control`, { method: 'POST', body: JSON.stringify(cmd), headers: { 'content-type': 'application/json' } });
    const body = (await r.json()) as Record<string, unknown>;
    if (!r.ok) throw new Error(`HEC control ${cmd.op}: ${JSON.stringify(body)}`);
    return body;
  }

  async stats(): Promise<HecStats> {
    const r = await fetch(`${this.url}/_stats`);
    return (await r.json()) as HecStats;
  }

  async events(offset = 0, limit = 100_000): Promise<{ total: number; events: HecRecordedEvent[] }> {
    const r = await fetch(`${this.url}/_events?offset=${offset}&limit=${limit}`);
    return (await r.json()) as { total: number; events: HecRecordedEvent[] };
  }

  /** SIGTERM (or `signal`), then waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }
}
