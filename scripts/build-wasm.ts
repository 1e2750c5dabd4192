/**
 * Assembles the project's WebAssembly sources (text format, `*.wat`) into the TypeScript modules that
 * carry their bytes (`*.wasm.ts`, base64), so that the running daemon needs no assembler and no file
 * beside its sources. wabt (https://github.com/WebAssembly/wabt, its npm build) is a devDependency.
 *
 * CLI:
 *   node scripts/build-wasm.ts          writes every module (after editing a .wat)
 *   node scripts/build-wasm.ts --check  exits 1 when a committed module differs from its source
 *
 * test/source/json-scan-wasm.test.ts runs the check too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import wabtInit from 'wabt';

const ROOT = join(import.meta.dirname, '..');

/** Each source and the module generated from it, with the name of its export. */
export const WASM_MODULES = [{ wat: 'src/source/kafka/json-scan.wat', ts: 'src/source/kafka/json-scan.wasm.ts', name: 'JSON_SCAN_WASM' }] as const;

/** The generated module's text for a source file's contents. */
export async function assemble(watPath: string, wat: string, name: string): Promise<string> {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat(watPath, wat, { simd: true });
  try {
    parsed.validate();
    const { buffer } = parsed.toBinary({});
    return (
      `// Generated from ${watPath.split('/').pop()} by scripts/build-wasm.ts: edit the .wat and run it again.\n` +
      `export const ${name} = '${Buffer.from(buffer).toString('base64')}';\n`
    );
  } finally {
    parsed.destroy();
  }
}

/** The modules whose committed text is not what their source assembles to. */
export async function staleModules(): Promise<string[]> {
  const stale: string[] = [];
  for (const m of WASM_MODULES) {
    const want = await assemble(m.wat, readFileSync(join(ROOT, m.wat), 'utf8'), m.name);
    let have = '';
    try {
      have = readFileSync(join(ROOT, m.ts), 'utf8');
    } catch {
      // missing: stale
    }
    if (have !== want) stale.push(m.ts);
  }
  return stale;
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const stale = await staleModules();
    for (const s of stale) process.stderr.write(`${s} is not what its .wat assembles to: run node scripts/build-wasm.ts\n`);
    process.exitCode = stale.length ? 1 : 0;
  } else {
    for (const m of WASM_MODULES) {
      writeFileSync(join(ROOT, m.ts), await assemble(m.wat, readFileSync(join(ROOT, m.wat), 'utf8'), m.name));
      process.stdout.write(`${m.wat} → ${m.ts}\n`);
    }
  }
}
