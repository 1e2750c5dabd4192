// Every built-in function declares its signature and examples next to its
// implementation; this runs every example, and checks the reference in
// docs/query.md documents every function.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileExpression } from '../../src/query/compile.ts';
import { ALL_FUNCTIONS } from '../../src/query/index.ts';
import { toRecordValue } from '../../src/query/values.ts';
import { exampleCompileOptions } from '../enrich/example-data.ts';

const NOW = Date.parse('2024-05-01T12:00:00Z');
/** lookup() and geoip() examples read test/enrich/fixtures (a CIDR table `assets`, small MaxMind databases). */
const ENRICH = exampleCompileOptions();
const examples = ALL_FUNCTIONS.flatMap((fn) => fn.examples.map((ex) => ({ fn: fn.name, ...ex })));

describe('built-in function examples', () => {
  it('every function has a signature starting with its name and at least one example', () => {
    for (const fn of ALL_FUNCTIONS) {
      expect(fn.signature.startsWith(`${fn.name}(`), fn.name).toBe(true);
      expect(fn.examples.length, fn.name).toBeGreaterThan(0);
    }
  });

  it('the issue’s required functions exist', () => {
    const required = [
      'lower', 'upper', 'length', 'trim', 'concat', 'coalesce', 'substr', 'strpos', 'replace', 'split_part',
      'regexp_like', 'regexp_extract', 'regexp_replace', 'json_extract', 'json_extract_scalar', 'to_unixtime',
      'from_unixtime', 'date_parse', 'date_format', 'now', 'md5', 'sha256', 'to_base64', 'mask',
    ];
    const names = new Set(ALL_FUNCTIONS.map((f) => f.name));
    expect(required.filter((n) => !names.has(n))).toEqual([]);
  });

  it.each(examples)('$fn: $expr → $result', ({ expr, input, result }) => {
    const value = compileExpression(expr, { now: () => NOW, ...ENRICH })(input ?? {});
    expect(toRecordValue(value)).toEqual(result);
  });

  it('docs/query.md has a section with an example for every function', () => {
    const doc = readFileSync(new URL('../../docs/query.md', import.meta.url), 'utf8');
    const missing = ALL_FUNCTIONS.filter((fn) => {
      const at = doc.indexOf(`\n#### ${fn.name}\n`);
      if (at < 0) return true;
      const section = doc.slice(at + 1, doc.indexOf('\n#### ', at + 1) >>> 0 || undefined);
      return !section.includes(`${fn.name}(`) || !section.includes('→');
    });
    expect(missing.map((f) => f.name)).toEqual([]);
  });
});
