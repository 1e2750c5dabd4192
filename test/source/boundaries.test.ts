// The import rules a maintainer relies on, checked on every file of the repository:
//   - a Kafka client library is imported only inside its adapter (src/source/kafkajs/,
//     src/source/platformatic/ and their tests);
//     everything else — app, routes, webhook, commands, tests, bench, scripts — uses
//     src/source/kafka/interface.ts, and only src/source/kafka/connect.ts picks the adapter;
//   - layers import downwards only: core ← checkpoint ← delivery ← sinks, and src/config/ (the typed
//     variable machinery) imports no sink, source, webhook or pipeline.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SCANNED = ['src', 'test', 'bench', 'scripts'];
const CLIENT_LIBRARIES = ['kafkajs', '@platformatic/kafka', 'node-rdkafka', '@confluentinc/kafka-javascript'];

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...files(path));
    else if (/\.(ts|mts|js|mjs)$/.test(e.name)) out.push(path);
  }
  return out;
}

/** Every module specifier a file imports: static, type-only, re-exported, dynamic, or required. */
export function specifiers(source: string): string[] {
  const out: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1]!);
  return out;
}

const all = SCANNED.flatMap(files);
const imports = new Map(all.map((f) => [f, specifiers(readFileSync(join(ROOT, f), 'utf8'))]));
/** Repository paths a file imports (relative specifiers resolved). */
const localImports = (f: string): string[] => (imports.get(f) ?? []).filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(ROOT, dirname(f), s)));
/** The client library a specifier names, if any. */
const clientLibrary = (s: string): string | undefined => CLIENT_LIBRARIES.find((lib) => s === lib || s.startsWith(`${lib}/`));
/** Each adapter's folders (the adapter and its tests) and the one client library they may import. */
const ADAPTER_FOLDERS: Record<string, string[]> = {
  kafkajs: ['src/source/kafkajs/', 'test/source/kafkajs/'],
  '@platformatic/kafka': ['src/source/platformatic/', 'test/source/platformatic/'],
};
const ADAPTERS = Object.values(ADAPTER_FOLDERS).flat();

describe('import boundaries', () => {
  it('reads every kind of import (the scanner itself)', () => {
    const src = `import a from 'x1';\nimport type { B } from "x2";\nexport { c } from './x3.ts';\nimport './x4.ts';\nconst d = await import('x5');\nconst e = require('x6');\nimport {\n  f,\n} from 'x7';`;
    expect(specifiers(src).sort()).toEqual(['./x3.ts', './x4.ts', 'x1', 'x2', 'x5', 'x6', 'x7']);
  });

  it('scans the whole repository', () => {
    expect(all.length).toBeGreaterThan(200);
    expect(all).toContain('src/source/kafkajs/group-consumer.ts');
  });

  it('a Kafka client library is imported only inside its adapter folder', () => {
    const uses = all.flatMap((f) => (imports.get(f) ?? []).flatMap((s) => {
      const lib = clientLibrary(s);
      return lib === undefined ? [] : [{ f, lib }];
    }));
    expect(new Set(uses.map((u) => u.lib))).toEqual(new Set(Object.keys(ADAPTER_FOLDERS))); // each adapter imports its own
    expect(uses.filter(({ f, lib }) => !(ADAPTER_FOLDERS[lib] ?? []).some((a) => f.startsWith(a))).map(({ f, lib }) => `${f} → ${lib}`)).toEqual([]);
  });

  it('only src/source/kafka/connect.ts reaches into an adapter from outside it', () => {
    const reaching = all.filter((f) => !ADAPTERS.some((a) => f.startsWith(a)) && localImports(f).some((p) => ADAPTERS.some((a) => p.startsWith(a))));
    expect(reaching).toEqual(['src/source/kafka/connect.ts']);
  });

  it('layers import downwards only', () => {
    const rules: Array<{ layer: string; never: string[] }> = [
      { layer: 'src/core/', never: ['src/checkpoint/', 'src/delivery/', 'src/sinks/', 'src/source/', 'src/pipeline/', 'src/config/', 'src/webhook/', 'src/http/', 'src/app'] },
      { layer: 'src/checkpoint/', never: ['src/delivery/', 'src/sinks/', 'src/source/', 'src/pipeline/', 'src/webhook/', 'src/app'] },
      { layer: 'src/delivery/', never: ['src/sinks/', 'src/source/', 'src/pipeline/', 'src/webhook/', 'src/app'] },
      { layer: 'src/sinks/', never: ['src/source/', 'src/pipeline/', 'src/webhook/', 'src/app'] },
      { layer: 'src/config/', never: ['src/sinks/', 'src/source/', 'src/webhook/', 'src/pipeline/', 'src/app'] },
      { layer: 'src/source/', never: ['src/sinks/', 'src/pipeline/', 'src/webhook/', 'src/app'] },
    ];
    const broken: string[] = [];
    for (const f of all) {
      for (const r of rules) {
        if (!f.startsWith(r.layer)) continue;
        for (const p of localImports(f)) if (r.never.some((n) => p.startsWith(n))) broken.push(`${f} → ${p}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
