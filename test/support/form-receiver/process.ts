/**
 * Runs the form POST receiver (main.ts) as a child process and drives it over its control endpoints:
 * for benchmarks (none of the receiver's parsing on the caller's event loop) and for outage tests
 * (SIGKILL, then a new process on the same port with the same --store file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent, fetch, type Dispatcher } from 'undici';
import type { FormControlCommand, FormPost, FormStats } from './receiver.ts';

const MAIN = resolve(import.meta.dirname, 'main.ts');

type Exit = { code: number | null; signal: NodeJS.Signals | null };

export class FormReceiverProcess {
  readonly proc: ChildProcess;
  /** The upload URL. */
  readonly url: string;
  readonly port: number;
  readonly exited: Promise<Exit>;
  readonly #log: { stderr: string };
  /** The control endpoints share the upload port: over TLS the harness does not check the test certificate. */
  readonly #dispatcher: Dispatcher | undefined;

  private constructor(proc: ChildProcess, url: string, exited: Promise<Exit>, log: { stderr: string }) {
    this.proc = proc;
    this.url = url;
    this.port = Number(new URL(url).port);
    this.exited = exited;
    this.#log = log;
    this.#dispatcher = url.startsWith('https:') ? new Agent({ connect: { rejectUnauthorized: false } }) : undefined;
  }

  /** Starts main.ts with `args` (e.g. ['--port', '0', '--store', file]) and waits for FORM_URL. */
  static async start(args: readonly string[], timeoutMs = 15_000): Promise<FormReceiverProcess> {
    const proc = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = { stderr: '' };
    proc.stderr!.on('data', (c: Buffer) => {
      log.stderr = (log.stderr + c.toString('utf8')).slice(-20_000);
    });
    const exited = new Promise<Exit>((res) => proc.once('exit', (code, signal) => res({ code, signal })));
    const url = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        rej(new Error(`form receiver did not start in ${timeoutMs} ms: ${log.stderr}`));
      }, timeoutMs);
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        const m = /^FORM_URL=(\S+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          res(m[1]!);
        }
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        rej(new Error(`form receiver exited (${code ?? signal}) before listening: ${log.stderr}`));
      });
    });
    return new FormReceiverProcess(proc, url, exited, log);
  }

  get stderr(): string {
    return this.#log.stderr;
  }

  get #base(): string {
    const u = new URL(this.url);
    return `${u.protocol}//${u.host}`;
  }

  async control(cmd: FormControlCommand): Promise<void> {
    const r = await fetch(`${this.#base}/_form/control`, { method: 'POST', body: JSON.stringify(cmd), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000), dispatcher: this.#dispatcher });
    if (!r.ok) throw new Error(`form receiver control ${cmd.op}: HTTP ${r.status} ${await r.text()}`);
  }

  async stats(): Promise<FormStats> {
    const r = await fetch(`${this.#base}/_form/stats`, { signal: AbortSignal.timeout(5000), dispatcher: this.#dispatcher });
    return (await r.json()) as FormStats;
  }

  /** Every accepted POST this process holds (record 'all'). */
  async posts(): Promise<FormPost[]> {
    const out: FormPost[] = [];
    for (;;) {
      const r = await fetch(`${this.#base}/_form/posts?offset=${out.length}&limit=2000`, { signal: AbortSignal.timeout(30_000), dispatcher: this.#dispatcher });
      const page = (await r.json()) as { total: number; posts: FormPost[] };
      out.push(...page.posts);
      if (page.posts.length === 0 || out.length >= page.total) return out;
    }
  }

  /** SIGTERM (or `signal`), then waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    const exit = await this.exited;
    await this.#dispatcher?.close();
    return exit;
  }
}
