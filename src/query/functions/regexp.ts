/**
 * Regular-expression functions. Patterns are RE2 (see regex.ts); a literal
 * pattern is compiled once at query compile time, so a bad regex stops the
 * daemon at start instead of dead-lettering every record.
 */
import { QueryRuntimeError } from '../errors.ts';
import { cachedRe2, compileRe2, RegexSyntaxError, type CompiledRegex } from '../regex.ts';
import type { Value } from '../values.ts';
import { def, type ArgFail, type FunctionDef, type Impl } from './registry.ts';

/** Compiles a literal pattern argument, reporting errors at the argument. */
function literalRegex(lit: Value | undefined, index: number, fail: ArgFail, flags = ''): CompiledRegex | undefined {
  if (typeof lit !== 'string') return undefined;
  try {
    return compileRe2(lit, flags);
  } catch (e) {
    if (e instanceof RegexSyntaxError) return fail(index, e.message, e.offset);
    throw e;
  }
}

function runtimeRegex(pattern: string, flags = ''): CompiledRegex {
  try {
    return cachedRe2(pattern, flags);
  } catch (e) {
    if (e instanceof RegexSyntaxError) throw new QueryRuntimeError(`bad regular expression '${pattern}': ${e.message}`);
    throw e;
  }
}

function checkGroup(rx: CompiledRegex, group: number): void {
  if (group < 0 || group > rx.groupCount) {
    throw new QueryRuntimeError(`pattern has ${rx.groupCount} groups, cannot access group ${group}`);
  }
}

/**
 * Presto replacement syntax → JS: `$1`/`${name}` are group references, `\$`
 * a literal dollar, `\\` a backslash. JS's own `$&`, `` $` `` would otherwise leak in.
 */
export function translateReplacement(rep: string, rx: CompiledRegex): string {
  let out = '';
  for (let i = 0; i < rep.length; i++) {
    const ch = rep[i] as string;
    if (ch === '\\') {
      const nextCh = rep[i + 1];
      if (nextCh === '$' || nextCh === '\\') {
        out += nextCh === '$' ? '$$' : '\\';
        i++;
        continue;
      }
      throw new QueryRuntimeError(`illegal escape in replacement '${rep}': use \\$ or \\\\`);
    }
    if (ch !== '$') {
      out += ch;
      continue;
    }
    const named = /^\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(rep.slice(i + 1));
    if (named) {
      if (!rx.groupNames.includes(named[1] as string)) throw new QueryRuntimeError(`replacement refers to unknown group '${named[1]}'`);
      out += `$<${named[1]}>`;
      i += named[0].length;
      continue;
    }
    const num = /^\d+/.exec(rep.slice(i + 1));
    if (!num) throw new QueryRuntimeError(`illegal group reference in replacement '${rep}' (write \\$ for a literal $)`);
    checkGroup(rx, Number(num[0]));
    out += `$${num[0]}`;
    i += num[0].length;
  }
  return out;
}

function extract(rx: CompiledRegex, s: string, group: number): string | null {
  checkGroup(rx, group);
  const m = rx.re.exec(s);
  return m ? (m[group] ?? null) : null;
}

function extractAll(rx: CompiledRegex, s: string, group: number): string[] {
  checkGroup(rx, group);
  const out: string[] = [];
  for (const m of s.matchAll(rx.re)) {
    const g = m[group];
    if (g !== undefined) out.push(g);
  }
  return out;
}

function prepareWith<T>(fail: ArgFail, thunk: () => T): T {
  try {
    return thunk();
  } catch (e) {
    // A literal replacement/group that is invalid for a literal pattern is a compile-time error.
    if (e instanceof QueryRuntimeError) return fail(2, e.message);
    throw e;
  }
}

export const regexpFunctions: FunctionDef[] = [
  def({
    name: 'regexp_like',
    family: 'regexp',
    signature: 'regexp_like(s, pattern) → boolean',
    summary: 'True when the RE2 `pattern` matches anywhere in `s` (anchor with ^…$ for a full match).',
    params: ['string', 'string'],
    returns: 'boolean',
    prepare: (lits, _env, fail) => {
      const rx = literalRegex(lits[1], 1, fail);
      return rx ? ((s: string) => rx.re.test(s)) : undefined;
    },
    impl: (s: string, pattern: string) => runtimeRegex(pattern).re.test(s),
    examples: [
      { expr: "regexp_like('GET /admin HTTP/1.1', '^(GET|POST) /admin')", result: true },
      { expr: "regexp_like(user_agent, '(?i)curl')", input: { user_agent: 'CURL/8.0' }, result: true },
      { expr: "regexp_like('abc', '\\d')", result: false },
    ],
  }),
  def({
    name: 'regexp_extract',
    family: 'regexp',
    signature: 'regexp_extract(s, pattern[, group]) → varchar',
    summary: 'The first match (or its capturing `group`); null when there is no match.',
    params: ['string', 'string', 'integer'],
    minArgs: 2,
    returns: 'string',
    prepare: (lits, _env, fail) => {
      const rx = literalRegex(lits[1], 1, fail);
      if (!rx) return undefined;
      if (typeof lits[2] === 'number') {
        const g = lits[2];
        prepareWith(fail, () => checkGroup(rx, g));
      }
      return ((s: string, _p: string, group = 0) => extract(rx, s, group)) as Impl;
    },
    impl: (s: string, pattern: string, group = 0) => extract(runtimeRegex(pattern), s, group),
    examples: [
      { expr: "regexp_extract('user=alice id=42', 'id=(\\d+)', 1)", result: '42' },
      { expr: "regexp_extract('HTTP/1.1', '\\d+\\.\\d+')", result: '1.1' },
      { expr: "regexp_extract('none', '(\\d+)', 1)", result: null },
    ],
  }),
  def({
    name: 'regexp_extract_all',
    family: 'regexp',
    signature: 'regexp_extract_all(s, pattern[, group]) → array',
    summary: 'Every match (or its capturing `group`) as a JSON array.',
    params: ['string', 'string', 'integer'],
    minArgs: 2,
    returns: 'json',
    prepare: (lits, _env, fail) => {
      const rx = literalRegex(lits[1], 1, fail, 'g');
      if (!rx) return undefined;
      return ((s: string, _p: string, group = 0) => extractAll(rx, s, group)) as Impl;
    },
    impl: (s: string, pattern: string, group = 0) => extractAll(runtimeRegex(pattern, 'g'), s, group),
    examples: [{ expr: "regexp_extract_all('10.0.0.1 -> 10.0.0.2', '\\d+\\.\\d+\\.\\d+\\.\\d+')", result: ['10.0.0.1', '10.0.0.2'] }],
  }),
  def({
    name: 'regexp_replace',
    family: 'regexp',
    signature: 'regexp_replace(s, pattern[, replacement]) → varchar',
    summary: 'Replaces every match; `$1` / `${name}` in `replacement` refer to groups, `\\$` is a literal $. Without `replacement`, matches are removed.',
    params: ['string', 'string', 'string'],
    minArgs: 2,
    returns: 'string',
    prepare: (lits, _env, fail) => {
      const rx = literalRegex(lits[1], 1, fail, 'g');
      if (!rx) return undefined;
      if (typeof lits[2] === 'string') {
        const rep = prepareWith(fail, () => translateReplacement(lits[2] as string, rx));
        return (s: string) => s.replace(rx.re, rep);
      }
      return ((s: string, _p: string, rep?: string) => s.replace(rx.re, rep === undefined ? '' : translateReplacement(rep, rx))) as Impl;
    },
    impl: (s: string, pattern: string, rep?: string) => {
      const rx = runtimeRegex(pattern, 'g');
      return s.replace(rx.re, rep === undefined ? '' : translateReplacement(rep, rx));
    },
    examples: [
      { expr: "regexp_replace('card 4111-1111-1111-1111', '\\d{4}-\\d{4}-\\d{4}-(\\d{4})', '****-$1')", result: 'card ****-1111' },
      { expr: "regexp_replace('a1b22c', '\\d+')", result: 'abc' },
      { expr: "regexp_replace('john@example.com', '(?P<user>[^@]+)@(.*)', '${user} at $2')", result: 'john at example.com' },
    ],
  }),
];
