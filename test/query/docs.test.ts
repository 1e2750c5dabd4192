// Keeps docs/query.md honest: every ```spl example compiles, and the compile
// error examples are exactly what the compiler prints.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileQuery, QueryError } from '../../src/query/index.ts';
import { INSTRUCTIONS } from '../../src/query/parser.ts';
import { exampleCompileOptions } from '../enrich/example-data.ts';

/** The lookup and geoip examples read the test data in test/enrich/fixtures. */
const ENRICH = exampleCompileOptions();

const doc = readFileSync(new URL('../../docs/query.md', import.meta.url), 'utf8');
const splBlocks = [...doc.matchAll(/```spl\n([\s\S]*?)```/g)].map((m) => m[1] as string);

describe('docs/query.md', () => {
  it('has spl examples for every instruction', () => {
    expect(splBlocks.length).toBeGreaterThanOrEqual(10);
    for (const ins of INSTRUCTIONS) {
      expect(splBlocks.some((b) => b.includes(`| ${ins} `)), ins).toBe(true);
    }
  });

  it.each(splBlocks)('compiles: %s', (block) => {
    // A block may hold several one-line statements; a statement continues on lines starting with | or spaces.
    const statements = block.split(/\n(?=\*)/).filter((s) => s.trim() !== '' && !/^\s*(--[^\n]*)?$/.test(s));
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements) expect(() => compileQuery(s, ENRICH)).not.toThrow();
  });

  const errorExamples = [
    "* | where severity in ('high', 'critical'",
    '*\n| where status >= 400\n| extend user = lowr(user)',
    "* | parse-regexp msg, '(\\w+) \\1' as a",
    "* | project ts, severity\n  | where app = 'Box'",
    "* | parse-regexp content, '(\\S+)\\s+(\\w+)' as ip",
    '* | extend n = substr(name)',
    "* | where x = 'it's'",
  ];
  it.each(errorExamples)('shows the real compile error for %j', (query) => {
    let message = '';
    try {
      compileQuery(query);
    } catch (e) {
      if (!(e instanceof QueryError)) throw e;
      message = e.message;
    }
    expect(message).not.toBe('');
    expect(doc).toContain(`\`\`\`text\n${message}\n\`\`\``);
  });
});
