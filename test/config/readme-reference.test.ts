// README's configuration table is generated from the code; this fails when they drift apart.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference } from '../../src/config-reference.ts';
import { embed } from '../../scripts/config-doc.ts';

describe('README configuration reference', () => {
  it('matches the variable specs (run `node scripts/config-doc.ts --write` after changing a variable)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(embed(readme, configReference())).toBe(readme);
  });
});
