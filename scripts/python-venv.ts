// Python virtualenvs for test tools from PyPI (the schema-registry test producer, the OCSF validator):
// .cache/<name>/venv with pinned packages, made once and made again when the pins change.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const REPO_ROOT = resolve(import.meta.dirname, '..');

async function run(cmd: string, args: string[], what: string): Promise<void> {
  try {
    await promisify(execFile)(cmd, args, { cwd: REPO_ROOT, timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    const tail = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${what} failed: ${e.message}\n${tail}`);
  }
}

/** Makes .cache/<name>/venv with exactly `packages` unless it is there; returns its python. */
export async function ensureVenv(name: string, packages: readonly string[]): Promise<string> {
  const venv = join(REPO_ROOT, '.cache', name, 'venv');
  const python = join(venv, 'bin', 'python');
  const marker = join(venv, '.logstream-complete');
  const wanted = packages.join('\n');
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === wanted) return python;
  await rm(venv, { recursive: true, force: true });
  await mkdir(dirname(venv), { recursive: true });
  await run('python3', ['-m', 'venv', venv], 'python3 -m venv');
  await run(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', ...packages], `pip install ${packages.join(' ')}`);
  await writeFile(marker, wanted);
  return python;
}
