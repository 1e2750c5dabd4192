// The lifecycle the test peers' start functions share (ElasticMQ, MinIO, toxiproxy): a spawned server
// process that does not keep the parent alive, is SIGKILLed when the parent exits, and can be stopped
// (SIGTERM, then SIGKILL after a grace period) or killed, each idempotent; startSupervised() spawns
// one with its output in a log file and waits until it serves (or says why not, from that log).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null };

export interface SupervisedChild {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  /** Set once the process has exited. */
  exitInfo(): ExitInfo | undefined;
  /** SIGTERM, SIGKILL after `graceMs`; resolves when it exited. */
  stop(): Promise<void>;
  /** SIGKILL; resolves when it exited. */
  kill(): Promise<void>;
}

/** What a peer's start function hands back about its process (the rest of SupervisedChild is internal). */
export type PeerProcess = Pick<SupervisedChild, 'pid' | 'exited' | 'stop' | 'kill'>;

const children = new Set<ChildProcess>();
let exitHook = false;

/** Waits for `child` to spawn (throws naming `what` if it cannot), then supervises it. */
export async function supervise(child: ChildProcess, what: string, graceMs = 20_000): Promise<SupervisedChild> {
  const spawnError = await new Promise<Error | undefined>((r) => {
    child.once('spawn', () => r(undefined));
    child.once('error', r);
  });
  if (spawnError || child.pid === undefined) throw new Error(`cannot start ${what}: ${spawnError?.message ?? 'no pid'}`);
  child.unref();
  children.add(child);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
  let info: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((r) => {
    child.once('exit', (code, signal) => {
      info = { code, signal };
      children.delete(child);
      r(info);
    });
  });
  /** Waits for the exit; the child is unref'd, so a timer keeps the event loop alive meanwhile. */
  const waitExit = async (): Promise<void> => {
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await exited;
    } finally {
      clearInterval(keepAlive);
    }
  };
  let stopping: Promise<void> | undefined;
  let killing: Promise<void> | undefined;
  return {
    pid: child.pid,
    exited,
    exitInfo: () => info,
    stop() {
      stopping ??= (async () => {
        if (info !== undefined) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await waitExit();
        clearTimeout(timer);
      })();
      return stopping;
    },
    kill() {
      killing ??= (async () => {
        if (info === undefined) child.kill('SIGKILL');
        await waitExit();
      })();
      return killing;
    },
  };
}

export interface StartSupervisedOptions {
  /** Names the server in errors (e.g. `minio`, `ElasticMQ 1.6.15`). */
  what: string;
  command: string;
  args: string[];
  cwd: string;
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Its stdout and stderr, appended (or truncated first with `truncateLog`). */
  logFile: string;
  truncateLog?: boolean;
  /** Where it serves, for the time-out message. */
  where: string;
  /** Resolves true once it serves (polled every `pollMs`). */
  ready: () => Promise<boolean>;
  /** A reason to give up at once, e.g. read from its log; undefined while there is none. */
  failed?: () => string | undefined;
  startTimeoutMs: number;
  pollMs?: number;
  /** SIGTERM → SIGKILL grace of stop(). */
  graceMs?: number;
}

/** Spawns a server, supervises it and waits until `ready()`; on exit, failure or time-out it throws
 *  with the tail of the server's log (and kills it if it is still running). */
export async function startSupervised(o: StartSupervisedOptions): Promise<SupervisedChild> {
  const fd = openSync(o.logFile, o.truncateLog ? 'w' : 'a');
  let child: ChildProcess;
  try {
    child = spawn(o.command, o.args, { cwd: o.cwd, ...(o.env ? { env: o.env } : {}), stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const proc = await supervise(child, o.what, o.graceMs);
  const deadline = Date.now() + o.startTimeoutMs;
  for (;;) {
    const info = proc.exitInfo();
    if (info !== undefined) throw new Error(`${o.what} exited during startup (${info.code ?? info.signal}):\n${fileTail(o.logFile, 30)}`);
    const failure = o.failed?.();
    if (failure !== undefined) {
      await proc.kill();
      throw new Error(`${o.what}: ${failure}; killed it:\n${fileTail(o.logFile, 10)}`);
    }
    if (await o.ready()) return proc;
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`${o.what} on ${o.where} did not answer within ${o.startTimeoutMs} ms; killed it:\n${fileTail(o.logFile, 30)}`);
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 100));
  }
}

/** Whether `url` answers 200 within 2 s (a server's health or version endpoint during start-up). */
export async function answers200(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** The last `n` lines of a log file ('' when it cannot be read). */
export function fileTail(file: string, n: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}
