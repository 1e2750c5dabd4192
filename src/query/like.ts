/**
 * SQL LIKE: `%` any run of characters, `_` exactly one character, optional
 * ESCAPE character. A literal pattern is compiled once; the common shapes
 * ('abc', 'abc%', '%abc', '%abc%') avoid regular expressions entirely.
 */
import type { Expr } from './ast.ts';
import type { Eval } from './eval.ts';
import { QueryRuntimeError } from './errors.ts';
import { toText } from './values.ts';

type Token = { lit: string } | '%' | '_';

function tokens(pattern: string, escape: string | null): Token[] {
  const out: Token[] = [];
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (escape !== null && ch === escape) {
      const next = chars[i + 1];
      if (next !== '%' && next !== '_' && next !== escape) {
        throw new QueryRuntimeError('LIKE: the escape character must be followed by %, _ or itself');
      }
      out.push({ lit: next });
      i++;
    } else if (ch === '%' || ch === '_') {
      // Collapse %% into one %.
      if (!(ch === '%' && out[out.length - 1] === '%')) out.push(ch);
    } else {
      out.push({ lit: ch });
    }
  }
  // Merge adjacent literal characters.
  const merged: Token[] = [];
  for (const t of out) {
    const last = merged[merged.length - 1];
    if (typeof t === 'object' && last !== undefined && typeof last === 'object') merged[merged.length - 1] = { lit: last.lit + t.lit };
    else merged.push(t);
  }
  return merged;
}

const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/g;

export function likeMatcher(pattern: string, escape: string | null): (s: string) => boolean {
  const t = tokens(pattern, escape);
  const lit = (x: Token | undefined): string | null => (typeof x === 'object' ? x.lit : null);
  if (t.length === 0) return (s) => s === '';
  if (t.length === 1 && lit(t[0]) !== null) {
    const a = lit(t[0]) as string;
    return (s) => s === a;
  }
  if (t.length === 1 && t[0] === '%') return () => true;
  if (t.length === 2 && t[1] === '%' && lit(t[0]) !== null) {
    const a = lit(t[0]) as string;
    return (s) => s.startsWith(a);
  }
  if (t.length === 2 && t[0] === '%' && lit(t[1]) !== null) {
    const a = lit(t[1]) as string;
    return (s) => s.endsWith(a);
  }
  if (t.length === 3 && t[0] === '%' && t[2] === '%' && lit(t[1]) !== null) {
    const a = lit(t[1]) as string;
    return (s) => s.includes(a);
  }
  const source = t.map((x) => (x === '%' ? '.*' : x === '_' ? '.' : x.lit.replace(REGEX_SYNTAX, '\\$&'))).join('');
  const re = new RegExp(`^${source}$`, 'su');
  return (s) => re.test(s);
}

type LikeExpr = Extract<Expr, { kind: 'like' }>;

export function compileLike(e: LikeExpr, arg: Eval, pattern: Eval, escape: Eval | null, where: string): Eval {
  const neg = e.negated;
  const literalEscape = e.escape === null ? null : e.escape.kind === 'literal' ? e.escape.value : undefined;
  if (e.pattern.kind === 'literal' && typeof e.pattern.value === 'string' && (typeof literalEscape === 'string' || literalEscape === null)) {
    // The checker already validated a literal pattern, so this cannot throw.
    const match = likeMatcher(e.pattern.value, literalEscape);
    return (rec, meta) => {
      const v = arg(rec, meta);
      if (v === null) return null;
      const r = match(typeof v === 'string' ? v : toText(v, where));
      return neg ? !r : r;
    };
  }
  const cache = new Map<string, (s: string) => boolean>();
  return (rec, meta) => {
    const v = arg(rec, meta);
    const p = pattern(rec, meta);
    const esc = escape ? escape(rec, meta) : null;
    if (v === null || p === null || (escape && esc === null)) return null;
    const key = `${String(esc)}\u0000${toText(p, where)}`;
    let match = cache.get(key);
    if (!match) {
      match = likeMatcher(toText(p, where), esc === null ? null : toText(esc, where));
      if (cache.size > 256) cache.clear();
      cache.set(key, match);
    }
    const r = match(toText(v, where));
    return neg ? !r : r;
  };
}
