// Every relative link in README.md and docs/ must point at a file that exists, and every #anchor at a
// heading that exists, as GitHub renders them; every page under docs/ must be reachable by a link.
// Pages move and headings get renamed: this keeps the docs from rotting quietly.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return markdownFiles(p);
    return e.name.endsWith('.md') ? [p] : [];
  });
}

const PAGES = [join(ROOT, 'README.md'), ...markdownFiles(join(ROOT, 'docs'))];

/** The text outside fenced code blocks (``` or ~~~, indented or not), line numbers kept. */
export function withoutFences(md: string): string {
  let fence: string | undefined;
  return md
    .split('\n')
    .map((line) => {
      const m = /^\s*(`{3,}|~{3,})/.exec(line);
      if (fence === undefined && m) {
        fence = m[1]!;
        return '';
      }
      if (fence !== undefined) {
        if (m && m[1]![0] === fence[0] && m[1]!.length >= fence.length && line.trim() === m[1]) fence = undefined;
        return '';
      }
      return line;
    })
    .join('\n');
}

/** GitHub's heading anchor (github-slugger): lower case, punctuation and symbols dropped except `-`
 *  and `_`, each space a `-`. Markup is rendered away first: code ticks, emphasis, link targets, tags. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Every anchor a page offers: its headings (duplicates numbered -1, -2 as GitHub does) and explicit ids. */
export function anchors(md: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  const text = withoutFences(md);
  for (const m of text.matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$/gm)) {
    const base = slug(m[1]!);
    let id = base;
    while (out.has(id)) {
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      id = `${base}-${n}`;
    }
    out.add(id);
  }
  for (const m of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]!);
  return out;
}

/** The link targets of a page, with their line, outside code blocks and code spans. */
export function links(md: string): Array<{ target: string; line: number }> {
  const text = withoutFences(md).replace(/`+[^`]*`+/g, (code) => code.replace(/[^\n]/g, ' '));
  const out: Array<{ target: string; line: number }> = [];
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  for (const m of text.matchAll(/!?\[((?:[^[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[2]!, line: lineOf(m.index) });
  for (const m of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/gm)) out.push({ target: m[1]!, line: lineOf(m.index) });
  return out;
}

const anchorCache = new Map<string, Set<string>>();
const anchorsOf = (file: string): Set<string> => {
  let a = anchorCache.get(file);
  if (!a) anchorCache.set(file, (a = anchors(readFileSync(file, 'utf8'))));
  return a;
};

/** Why `target`, linked from `from`, does not resolve; undefined when it does (or is not ours to check). */
function problem(from: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined; // http:, mailto:, …
  const hash = target.indexOf('#');
  const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const file = path === '' ? from : path.startsWith('/') ? join(ROOT, path) : resolve(dirname(from), path);
  if (!existsSync(file)) return `no file ${relative(ROOT, file)}`;
  if (anchor === undefined) return undefined;
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return `#${anchor} on ${relative(ROOT, file)}, which is not a markdown page`;
  if (!anchorsOf(file).has(anchor)) return `no heading #${anchor} in ${relative(ROOT, file)}`;
  return undefined;
}

describe('documentation links', () => {
  it.each(PAGES.map((p) => [relative(ROOT, p), p] as const))('%s: every relative link and #anchor resolves', (_name, page) => {
    const broken = links(readFileSync(page, 'utf8'))
      .map(({ target, line }) => ({ target, line, why: problem(page, target) }))
      .filter((l) => l.why !== undefined)
      .map((l) => `line ${l.line}: (${l.target}) ${l.why}`);
    expect(broken).toEqual([]);
  });

  it('every page under docs/ is linked from README.md or another page', () => {
    const linked = new Set<string>();
    for (const page of PAGES) {
      for (const { target } of links(readFileSync(page, 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
        const path = decodeURIComponent(target.split('#')[0]!);
        const file = resolve(dirname(page), path);
        if (file !== page) linked.add(file);
      }
    }
    const orphans = PAGES.filter((p) => p !== join(ROOT, 'README.md') && !linked.has(p)).map((p) => relative(ROOT, p));
    expect(orphans).toEqual([]);
  });
});

describe('the checker itself', () => {
  it('makes GitHub anchors', () => {
    expect(slug('Start position, rebalances, shutdown')).toBe('start-position-rebalances-shutdown');
    expect(slug('Trying a query (`logstream query`)')).toBe('trying-a-query-logstream-query');
    expect(slug('Sink `splunk_hec`')).toBe('sink-splunk_hec');
    expect(slug('Secrets and `*_FILE`')).toBe('secrets-and-_file');
    expect(slug('Routes: one deployment, several destinations — each its own')).toBe('routes-one-deployment-several-destinations--each-its-own');
    expect(slug('Why Node 26 (not Node 20)')).toBe('why-node-26-not-node-20');
    expect(slug('See [the docs](x.md) now')).toBe('see-the-docs-now');
  });

  it('numbers repeated headings and ignores headings in code blocks', () => {
    const md = '# A\n## Regular expressions\n```sh\n# not a heading\n```\n### Regular expressions\n## Regular expressions\n';
    expect([...anchors(md)]).toEqual(['a', 'regular-expressions', 'regular-expressions-1', 'regular-expressions-2']);
  });

  it('finds links outside code, with their lines', () => {
    const md = 'see [a](a.md#x) and `[not](b.md)`\n```\n[no](c.md)\n```\n[ref]: d.md\n![img](e.png "t")\n';
    expect(links(md)).toEqual([
      { target: 'a.md#x', line: 1 },
      { target: 'e.png', line: 6 },
      { target: 'd.md', line: 5 },
    ]);
  });
});
