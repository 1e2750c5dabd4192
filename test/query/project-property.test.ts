// Property test: `project A | project-away B` with disjoint A and B never loses
// a projected field, and `project-away B` never loses a field outside B.
// Records and field sets come from a small seeded PRNG, so a failure is
// reproducible from the seed printed in the assertion message.
import { describe, expect, it } from 'vitest';
import { compileQuery } from '../../src/query/index.ts';
import { prng } from '../support/prng.ts';


// Names that stress quoting and object handling: dots, spaces, quotes, keywords, prototype names.
const NAMES = ['a', 'b', 'c_1', 'severity', 'user.name', 'x-y', 'has space', 'say "hi"', 'end', 'in', '__proto__', 'constructor', 'toString', 'ключ', '__tag__:path', 'é', '0'];

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)] as T;
}

function value(rnd: () => number, depth = 0): unknown {
  const r = rnd();
  if (r < 0.15) return null;
  if (r < 0.35) return Math.floor(rnd() * 1000) - 500;
  if (r < 0.6) return pick(rnd, ['', 'x', 'critical', 'ünïcode', '{"json":1}']);
  if (r < 0.7) return rnd() < 0.5;
  if (r < 0.85 && depth < 2) return [value(rnd, depth + 1), value(rnd, depth + 1)];
  if (depth < 2) return { k: value(rnd, depth + 1), [pick(rnd, NAMES)]: value(rnd, depth + 1) };
  return 'leaf';
}

/** A record built through JSON.parse so that keys such as __proto__ are own data properties. */
function record(rnd: () => number): Record<string, unknown> {
  const entries: string[] = [];
  const used = new Set<string>();
  const n = Math.floor(rnd() * NAMES.length);
  for (let i = 0; i < n; i++) {
    const k = pick(rnd, NAMES);
    if (used.has(k)) continue;
    used.add(k);
    entries.push(`${JSON.stringify(k)}:${JSON.stringify(value(rnd))}`);
  }
  return JSON.parse(`{${entries.join(',')}}`) as Record<string, unknown>;
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

function disjointSets(rnd: () => number): [string[], string[]] {
  const a: string[] = [];
  const b: string[] = [];
  for (const name of NAMES) {
    const r = rnd();
    if (r < 0.35) a.push(name);
    else if (r < 0.7) b.push(name);
  }
  if (a.length === 0) a.push(pick(rnd, NAMES.filter((n) => !b.includes(n))));
  return [a, b];
}

describe('project / project-away property', () => {
  const SEEDS = Array.from({ length: 400 }, (_, i) => 1000 + i);

  it('project A | project-away B (disjoint) equals the fields of A that exist', () => {
    for (const seed of SEEDS) {
      const rnd = prng(seed);
      const rec = record(rnd);
      const [a, b] = disjointSets(rnd);
      const text = `* | project ${a.map(quote).join(', ')}${b.length ? ` | project-away ${b.map(quote).join(', ')}` : ''}`;
      const snapshot = JSON.stringify(rec);
      const out = compileQuery(text).apply(rec) ?? {};
      const expected = Object.keys(rec).filter((k) => a.includes(k));
      const msg = `seed ${seed}: ${text} on ${snapshot}`;
      expect(Object.keys(out).sort(), msg).toEqual(expected.sort());
      for (const k of expected) expect(Object.getOwnPropertyDescriptor(out, k)?.value, msg).toBe(rec[k]);
      expect(Object.getPrototypeOf(out), msg).toBe(Object.prototype);
      expect(JSON.stringify(rec), msg).toBe(snapshot);
    }
  });

  it('project-away B keeps every other field, in order, with identical values', () => {
    for (const seed of SEEDS) {
      const rnd = prng(seed * 7);
      const rec = record(rnd);
      const [, b] = disjointSets(rnd);
      if (b.length === 0) continue;
      const text = `* | project-away ${b.map(quote).join(', ')}`;
      const out = compileQuery(text).apply(rec) ?? {};
      const kept = Object.keys(rec).filter((k) => !b.includes(k));
      const msg = `seed ${seed}: ${text} on ${JSON.stringify(rec)}`;
      expect(Object.keys(out), msg).toEqual(kept);
      for (const k of kept) expect(Object.getOwnPropertyDescriptor(out, k)?.value, msg).toBe(rec[k]);
    }
  });

  it('the generator really produces the tricky cases (guards against a vacuous property)', () => {
    const recs = SEEDS.map((s) => record(prng(s)));
    expect(recs.some((r) => Object.hasOwn(r, '__proto__'))).toBe(true);
    expect(recs.some((r) => Object.hasOwn(r, 'user.name'))).toBe(true);
    expect(recs.filter((r) => Object.keys(r).length > 5).length).toBeGreaterThan(50);
  });
});
