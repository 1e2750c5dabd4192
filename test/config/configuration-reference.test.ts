// The variable tables in docs/configuration.md and on each docs/sinks/ page are generated from the
// variable specs; this fails when a page drifts from the code, or a sink has no page.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { embed, generatedSections, markers, readPage } from '../../scripts/config-doc.ts';
import { sinkPage } from '../../src/config-reference.ts';
import { SINKS } from '../../src/sinks/index.ts';

const root = new URL('../../', import.meta.url);
const FIX = 'run `node scripts/config-doc.ts --write` after changing a variable';

describe('generated configuration reference', () => {
  it.each(generatedSections().map((s) => [s.path, s] as const))('%s matches the variable specs', (path, section) => {
    expect(existsSync(new URL(path, root)), `${path} is missing: add it with the ${section.marker} markers`).toBe(true);
    const doc = readPage(path);
    expect(embed(doc, section), FIX).toBe(doc);
  });

  it('has a page for every sink', () => {
    const paths = new Set(generatedSections().map((s) => s.path));
    for (const sink of SINKS) expect(paths.has(`docs/sinks/${sinkPage(sink.type)}.md`), sink.type).toBe(true);
  });

  it('keeps the markers out of README, so nobody edits a stale copy there', () => {
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    for (const name of ['CONFIG-REFERENCE', 'SINK-REFERENCE']) for (const m of markers(name)) expect(readme).not.toContain(m);
  });

  it('embed replaces only what is between the markers, and refuses a page without them', () => {
    const [begin, end] = markers('SINK-REFERENCE');
    const section = { path: 'x.md', marker: 'SINK-REFERENCE', content: 'new' };
    expect(embed(`a\n${begin}\nold\n${end}\nb`, section)).toBe(`a\n${begin}\nnew\n${end}\nb`);
    expect(() => embed('no markers', section)).toThrow(/x\.md lacks the SINK-REFERENCE markers/);
  });
});
