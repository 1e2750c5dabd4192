/**
 * The OCSF validator of the tests: the published OCSF schema as packaged on PyPI by ocsf-json-schema
 * (its exports of OCSF 1.0.0–1.8.0, turned into JSON Schema draft 2020-12 per class), checked by
 * jsonschema — nothing hand-written about OCSF. A virtualenv in .cache/ocsf-validator; the checking
 * script is test/support/ocsf/validate.py.
 *
 *   node scripts/ocsf-validator.ts fetch            makes the virtualenv (PyPI, about 10 s)
 *   node scripts/ocsf-validator.ts check < x.jsonl  validates JSON lines, one verdict line each
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { err, out, runMain } from './cli.ts';
import { ensureVenv } from './python-venv.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');

/** The OCSF version the mappings in config/queries/ocsf-*.spl target (Amazon Security Lake's). */
export const OCSF_VERSION = '1.1.0';
/** Pinned: the schema's package and the validator with its dependencies. */
export const OCSF_PACKAGES = ['ocsf-json-schema==1.2.0', 'jsonschema==4.26.0', 'jsonschema-specifications==2025.9.1', 'referencing==0.37.0', 'rpds-py==2026.9.1', 'attrs==26.1.0'];
const SCRIPT = join(REPO_ROOT, 'test', 'support', 'ocsf', 'validate.py');

export function ensureOcsfValidator(): Promise<string> {
  return ensureVenv('ocsf-validator', OCSF_PACKAGES);
}

export interface OcsfVerdict {
  /** The record's class as the schema names it (e.g. authentication), when its class_uid is known. */
  class?: string;
  /** Empty when the record is valid: each entry is `<path>: <message>`. */
  errors: string[];
}

/** Validates records against OCSF `version` (default OCSF_VERSION); one verdict per record, in order. */
export async function validateOcsf(records: unknown[], version = OCSF_VERSION): Promise<OcsfVerdict[]> {
  const python = await ensureOcsfValidator();
  const child = spawn(python, [SCRIPT, version], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  child.stdin.end(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const code = await new Promise<number>((res) => child.once('close', (c) => res(c ?? 1)));
  if (code !== 0) throw new Error(`the OCSF validator failed (exit ${code}): ${stderr.trim().split('\n').slice(-10).join('\n')}`);
  const verdicts = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as OcsfVerdict);
  if (verdicts.length !== records.length) throw new Error(`the OCSF validator answered ${verdicts.length} verdicts for ${records.length} records`);
  return verdicts;
}

async function main(argv: string[]): Promise<number> {
  const [cmd] = argv;
  if (cmd === 'fetch') {
    const python = await ensureOcsfValidator();
    out(`OCSF validator ready: ${python} (${OCSF_PACKAGES.join(', ')})`);
    return 0;
  }
  if (cmd === 'check') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const records = Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
    const verdicts = await validateOcsf(records, argv[1]);
    for (const v of verdicts) out(JSON.stringify(v));
    return verdicts.every((v) => v.errors.length === 0) ? 0 : 1;
  }
  err('usage: node scripts/ocsf-validator.ts fetch | check [version] < records.jsonl');
  return 2;
}

if (import.meta.main) runMain(main);
