// Building the test peers that come from the Go module proxy (MinIO, helm, kube-validate): one `go`
// runner with progress every 30 s, a time limit and the output's tail in the error, and one
// "go install a module's binary into a cache, once" on top of it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A fresh MinIO build takes ~10 min on 2 cores; leave room for a slow machine. */
const BUILD_TIMEOUT_MS = 60 * 60_000;

/** Runs `go <args>` in `cwd`; throws with the last 40 lines of its output when it fails. */
export async function runGo(args: string[], opts: { cwd: string; env?: Record<string, string>; what: string; progress: (line: string) => void }): Promise<void> {
  const t0 = Date.now();
  let packages = 0;
  let last = '';
  let output = '';
  const child = spawn('go', args, {
    cwd: opts.cwd,
    env: { ...process.env, GOFLAGS: `${process.env['GOFLAGS'] ?? ''} -buildvcs=false`.trim(), GOTOOLCHAIN: process.env['GOTOOLCHAIN'] ?? 'auto', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-20_000);
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      if (!line.startsWith('go: ')) packages++;
      last = line.trim();
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const ticker = setInterval(() => opts.progress(`  … ${Math.round((Date.now() - t0) / 1000)} s, ${packages} packages built (last: ${last})`), 30_000);
  const killer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res, rej) => {
    child.once('error', (err) => rej(new Error(`cannot run go (Go ≥ 1.24 must be on PATH to build ${opts.what}): ${err.message}`)));
    child.once('close', (code, signal) => res({ code, signal }));
  }).finally(() => {
    clearInterval(ticker);
    clearTimeout(killer);
  });
  if (result.code !== 0) throw new Error(`go ${args.join(' ')} failed (${result.code ?? result.signal}):\n${output.split('\n').slice(-40).join('\n')}`);
}

/** `go install module@version` into `bin` (its directory), once: nothing to do when `bin` exists. */
export async function goInstallOnce(opts: { module: string; version: string; name: string; bin: string; cwd: string; progress: (line: string) => void }): Promise<string> {
  const { bin, name } = opts;
  if (existsSync(bin)) return bin;
  const cache = dirname(dirname(bin));
  await mkdir(cache, { recursive: true });
  const tmp = await mkdtemp(join(cache, 'gobin.tmp-'));
  const t0 = Date.now();
  try {
    opts.progress(`building ${opts.module}@${opts.version} with go install (once; several minutes on 2 cores)…`);
    await runGo(['install', '-v', `${opts.module}@${opts.version}`], { cwd: opts.cwd, env: { GOBIN: tmp }, what: name, progress: opts.progress });
    if (!existsSync(join(tmp, name))) throw new Error(`go install ${opts.module}@${opts.version} produced no ${name} binary in ${tmp}`);
    await mkdir(dirname(bin), { recursive: true });
    if (!existsSync(bin)) await rename(join(tmp, name), bin); // else another build won the race
    opts.progress(`${name} built in ${Math.round((Date.now() - t0) / 1000)} s: ${bin}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return bin;
}
