// Runs bench/lib/syslog-discard-server.ts (a count-and-discard RFC 5425 receiver) as a child process
// and reads its counters, so that none of the receiver's work lands on the benchmark's event loop.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { SyslogDiscardStats } from './syslog-discard-server.ts';

export type { SyslogDiscardStats };

const SERVER = resolve(import.meta.dirname, 'syslog-discard-server.ts');
const NODE = resolve(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'node');

type Exit = { code: number | null; signal: NodeJS.Signals | null };
interface Output {
  stderr: string;
  finalStats: SyslogDiscardStats | undefined;
}

export class SyslogDiscardProcess {
  readonly proc: ChildProcess;
  readonly tlsPort: number;
  readonly statsPort: number;
  /** PEM of the throw-away CA that signed the server certificate. */
  readonly caFile: string;
  readonly exited: Promise<Exit>;
  readonly #out: Output;

  private constructor(proc: ChildProcess, info: { tlsPort: number; statsPort: number; caFile: string }, exited: Promise<Exit>, out: Output) {
    this.proc = proc;
    this.tlsPort = info.tlsPort;
    this.statsPort = info.statsPort;
    this.caFile = info.caFile;
    this.exited = exited;
    this.#out = out;
  }

  get url(): string {
    return `tls://127.0.0.1:${this.tlsPort}`;
  }

  static async start(timeoutMs = 30_000): Promise<SyslogDiscardProcess> {
    const proc = spawn(NODE, [SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Output = { stderr: '', finalStats: undefined };
    proc.stderr!.on('data', (c: Buffer) => {
      out.stderr = (out.stderr + c.toString('utf8')).slice(-20_000);
    });
    const exited = new Promise<Exit>((res) => proc.once('exit', (code, signal) => res({ code, signal })));
    const lines = createInterface({ input: proc.stdout! });
    const info = await new Promise<{ tlsPort: number; statsPort: number; caFile: string }>((res, rej) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        rej(new Error(`syslog discard receiver did not start in ${timeoutMs} ms: ${out.stderr}`));
      }, timeoutMs);
      lines.on('line', (line) => {
        const m = /^SYSLOG_DISCARD (\{.*\})$/.exec(line);
        if (m) {
          clearTimeout(timer);
          res(JSON.parse(m[1]!) as { tlsPort: number; statsPort: number; caFile: string });
        }
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        rej(new Error(`syslog discard receiver exited (${code ?? signal}) before listening: ${out.stderr}`));
      });
    });
    lines.on('line', (line) => {
      const m = /^SYSLOG_DISCARD_STATS (\{.*\})$/.exec(line);
      if (m) out.finalStats = JSON.parse(m[1]!) as SyslogDiscardStats;
    });
    return new SyslogDiscardProcess(proc, info, exited, out);
  }

  get stderr(): string {
    return this.#out.stderr;
  }

  async stats(): Promise<SyslogDiscardStats> {
    const r = await fetch(`http://127.0.0.1:${this.statsPort}/stats`, { signal: AbortSignal.timeout(5000) });
    if (!r.ok) throw new Error(`syslog discard receiver /stats: HTTP ${r.status}`);
    return (await r.json()) as SyslogDiscardStats;
  }

  /** SIGTERM (SIGKILL after `timeoutMs`); the counters it printed on the way out, if any. */
  async stop(timeoutMs = 15_000): Promise<Exit & { killed: boolean; finalStats: SyslogDiscardStats | undefined }> {
    let killed = false;
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        killed = true;
        this.proc.kill('SIGKILL');
      }, timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    const exit = await this.exited;
    // stdout may still hold the last line when 'exit' fires: let the stream drain.
    if (!this.proc.stdout!.closed) await new Promise<void>((r) => this.proc.stdout!.once('close', () => r()));
    return { ...exit, killed, finalStats: this.#out.finalStats };
  }
}
