/**
 * RE2 syntax → JavaScript RegExp. Patterns in SPL are RE2; we run them on V8's
 * engine, so we translate what RE2 and JS spell differently ((?P<name>…), (?i),
 * \A, \z, \Q…\E, \pL, POSIX classes) and reject what RE2 does not have
 * (backreferences, lookaround, atomic groups, possessive quantifiers) so a
 * query that works here also works in SLS. The result always uses the `u`
 * flag: RE2 matches code points, not UTF-16 units.
 *
 * Limitation: V8 backtracks, RE2 does not; a pathological pattern can be slow
 * here. docs/query.md says so.
 */

export class RegexSyntaxError extends Error {
  /** Offset in the (decoded) pattern text. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

export interface CompiledRegex {
  re: RegExp;
  source: string;
  /** Number of capturing groups. */
  groupCount: number;
  /** Name of each capturing group in order (null when positional). */
  groupNames: Array<string | null>;
}

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

// Unicode general categories RE2 accepts as \pX / \p{X}; anything else is a script name.
const CATEGORIES = new Set(['C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No', 'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs']);

const JS_SYNTAX = '^$\\.*+?()[]{}|/';
const MAX_REPEAT = 1000; // RE2's limit on {n,m}

function literal(ch: string, inClass: boolean): string {
  if (JS_SYNTAX.includes(ch) || (inClass && ch === '-')) return `\\${ch}`;
  return ch;
}

function codePointEscape(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

interface Level {
  /** Openers of `(?i)`-style groups started at this nesting level, closed at `|` and `)`. */
  pending: string[];
}

export function translateRe2(pattern: string): { source: string; flags: string; groupNames: Array<string | null> } {
  let out = '';
  let flags = '';
  const groupNames: Array<string | null> = [];
  const levels: Level[] = [{ pending: [] }];
  const fail = (msg: string, at: number): never => {
    throw new RegexSyntaxError(msg, at);
  };
  let i = 0;
  // After an atom, a quantifier may follow; after a quantifier another one may not (RE2: "bad repetition operator").
  let lastWasQuantifier = false;
  let canRepeat = false;

  const readEscape = (inClass: boolean): string => {
    const at = i;
    const e = pattern[i + 1];
    if (e === undefined) return fail('trailing backslash at end of pattern', at);
    i += 2;
    if (/[1-7]/.test(e) && /[0-7]/.test(pattern[i] ?? '')) {
      let digits = e;
      while (digits.length < 3 && /[0-7]/.test(pattern[i] ?? '')) digits += pattern[i++];
      return codePointEscape(parseInt(digits, 8));
    }
    if (/[1-9]/.test(e)) return fail(`backreferences (\\${e}) are not supported: RE2 has no backreferences`, at);
    if (e === '0') {
      let digits = '';
      while (digits.length < 2 && /[0-7]/.test(pattern[i] ?? '')) digits += pattern[i++];
      return codePointEscape(parseInt(digits || '0', 8));
    }
    if ('dDwWsS'.includes(e)) return `\\${e}`;
    if (e === 'b' || e === 'B') {
      if (inClass) return fail(`\\${e} is not allowed inside a character class`, at);
      return `\\${e}`;
    }
    if (e === 'A' && !inClass) return '(?<![\\s\\S])';
    if (e === 'z' && !inClass) return '(?![\\s\\S])';
    const simple: Record<string, string> = { a: '\\x07', f: '\\f', t: '\\t', n: '\\n', r: '\\r', v: '\\v' };
    if (Object.hasOwn(simple, e)) return simple[e] as string;
    if (e === 'x') {
      if (pattern[i] === '{') {
        const close = pattern.indexOf('}', i);
        const hex = close < 0 ? '' : pattern.slice(i + 1, close);
        if (!/^[0-9a-fA-F]{1,6}$/.test(hex) || parseInt(hex, 16) > 0x10ffff) return fail('bad \\x{...} escape', at);
        i = close + 1;
        return codePointEscape(parseInt(hex, 16));
      }
      const hex = pattern.slice(i, i + 2);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return fail('bad \\x escape: expected two hex digits', at);
      i += 2;
      return codePointEscape(parseInt(hex, 16));
    }
    if (e === 'p' || e === 'P') {
      let name: string;
      if (pattern[i] === '{') {
        const close = pattern.indexOf('}', i);
        if (close < 0) return fail('unterminated \\p{...}', at);
        name = pattern.slice(i + 1, close);
        i = close + 1;
      } else {
        name = pattern[i] ?? '';
        i++;
      }
      let negate = e === 'P';
      if (name.startsWith('^')) {
        negate = !negate;
        name = name.slice(1);
      }
      if (!/^[A-Za-z_]+$/.test(name)) return fail(`bad Unicode class \\${e}{${name}}`, at);
      const body = name === 'Any' ? 'Any' : CATEGORIES.has(name) ? name : `Script=${name}`;
      return `\\${negate ? 'P' : 'p'}{${body}}`;
    }
    if (e === 'k') return fail('named backreferences (\\k<name>) are not supported: RE2 has no backreferences', at);
    if (e === 'Z' || e === 'G' || e === 'C' || e === 'X' || e === 'R' || e === 'K') {
      return fail(`\\${e} is not supported by RE2`, at);
    }
    if (/[A-Za-z0-9]/.test(e)) return fail(`unknown escape \\${e}`, at);
    // Escaped punctuation (or any other symbol) is that character.
    return literal(e, inClass);
  };

  const readClass = (): string => {
    const start = i;
    let s = '[';
    i++;
    if (pattern[i] === '^') {
      s += '^';
      i++;
    }
    let first = true;
    for (;;) {
      const ch = pattern[i];
      if (ch === undefined) return fail('missing closing ] of character class', start);
      if (ch === ']' && !first) break;
      // RE2 (like POSIX) reads a leading ']' as a literal; JS would read `[]` as an empty class.
      if (ch === ']') {
        s += '\\]';
        i++;
        first = false;
        continue;
      }
      first = false;
      if (ch === '[' && pattern[i + 1] === ':') {
        const close = pattern.indexOf(':]', i + 2);
        const name = close < 0 ? '' : pattern.slice(i + 2, close);
        if (name.startsWith('^')) return fail(`negated POSIX class [:${name}:] is not supported`, i);
        const body = POSIX[name];
        if (body === undefined) return fail(`unknown POSIX class [:${name}:]`, i);
        s += body;
        i = close + 2;
        continue;
      }
      if (ch === '\\') {
        s += readEscape(true);
        continue;
      }
      s += ch === '[' ? '\\[' : ch;
      i += ch.length;
    }
    i++;
    return `${s}]`;
  };

  while (i < pattern.length) {
    const ch = pattern[i] as string;
    const at = i;
    const level = levels[levels.length - 1] as Level;
    if (ch === '*' || ch === '+' || ch === '?' || (ch === '{' && /^\{\d+(,\d*)?\}/.test(pattern.slice(i)))) {
      if (lastWasQuantifier) return fail(`bad repetition operator '${ch}' (possessive and stacked quantifiers are not RE2)`, at);
      if (!canRepeat) return fail(`missing argument to repetition operator '${ch}'`, at);
      let q = ch;
      if (ch === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i)) as RegExpExecArray;
        const lo = Number(m[1]);
        const hi = m[3] ? Number(m[3]) : m[2] ? Infinity : lo;
        if (lo > MAX_REPEAT || (hi !== Infinity && hi > MAX_REPEAT)) return fail(`repeat count above ${MAX_REPEAT}`, at);
        if (hi < lo) return fail('bad repeat range {n,m} with n > m', at);
        q = m[0];
      }
      i += q.length;
      if (pattern[i] === '?') {
        q += '?';
        i++;
      }
      out += q;
      lastWasQuantifier = true;
      continue;
    }
    lastWasQuantifier = false;
    canRepeat = true;
    if (ch === '\\') {
      if (pattern[i + 1] === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        const text = pattern.slice(i + 2, end < 0 ? pattern.length : end);
        out += [...text].map((c) => literal(c, false)).join('');
        i = end < 0 ? pattern.length : end + 2;
        canRepeat = text.length > 0;
        continue;
      }
      const esc = readEscape(false);
      out += esc;
      canRepeat = !['\\b', '\\B', '(?<![\\s\\S])', '(?![\\s\\S])'].includes(esc);
      continue;
    }
    if (ch === '[') {
      out += readClass();
      continue;
    }
    if (ch === '(') {
      canRepeat = false;
      if (pattern[i + 1] !== '?') {
        groupNames.push(null);
        out += '(';
        i++;
        levels.push({ pending: [] });
        continue;
      }
      const rest = pattern.slice(i + 2);
      const named = /^P?<([^>]*)>/.exec(rest);
      if (named && !rest.startsWith('<=') && !rest.startsWith('<!')) {
        const name = named[1] as string;
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return fail(`invalid group name '${name}'`, at);
        if (groupNames.includes(name)) return fail(`duplicate group name '${name}'`, at);
        groupNames.push(name);
        out += `(?<${name}>`;
        i += 2 + named[0].length;
        levels.push({ pending: [] });
        continue;
      }
      if (rest.startsWith(':')) {
        out += '(?:';
        i += 3;
        levels.push({ pending: [] });
        continue;
      }
      if (rest.startsWith('=') || rest.startsWith('!')) return fail('lookahead (?= / (?! is not supported: RE2 has no lookaround', at);
      if (rest.startsWith('<=') || rest.startsWith('<!')) return fail('lookbehind (?<= / (?<! is not supported: RE2 has no lookaround', at);
      if (rest.startsWith('P=') || rest.startsWith('P>')) return fail('backreferences and recursion ((?P=name)) are not supported by RE2', at);
      if (rest.startsWith('>')) return fail('atomic groups (?> are not supported by RE2', at);
      const fl = /^([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
      if (!fl) return fail('unknown group syntax (?…', at);
      const [whole, on = '', off = '', kind] = fl;
      if ((on + off).includes('U')) return fail('the U (ungreedy) flag is not supported', at);
      if (on === '' && off === '') return fail('missing flags in (?…)', at);
      i += 2 + whole.length;
      const modifiers = `${on}${off ? `-${off}` : ''}`;
      if (kind === ':') {
        out += `(?${modifiers}:`;
        levels.push({ pending: [] });
        continue;
      }
      // `(?i)` at the very start applies to the whole pattern: use real flags.
      if (at === 0 && off === '') {
        flags = [...new Set(on)].join('');
        continue;
      }
      // Elsewhere it applies to the rest of the enclosing group: wrap that in (?i:…).
      const opener = `(?${modifiers}:`;
      level.pending.push(opener);
      out += opener;
      continue;
    }
    if (ch === '|') {
      canRepeat = false;
      // RE2 flags set with (?i) carry across '|': close the wrappers and reopen them on the other side.
      out += ')'.repeat(level.pending.length) + '|' + level.pending.join('');
      i++;
      continue;
    }
    if (ch === ')') {
      if (levels.length === 1) return fail("unexpected ')'", at);
      out += ')'.repeat(level.pending.length) + ')';
      levels.pop();
      i++;
      continue;
    }
    if (ch === '^' || ch === '$') {
      canRepeat = false;
      out += ch;
      i++;
      continue;
    }
    // Literal characters; RE2 accepts a lone ] { } which the u flag forbids, so escape them.
    const cp = pattern.codePointAt(i) as number;
    const c = String.fromCodePoint(cp);
    out += c === ']' || c === '{' || c === '}' ? `\\${c}` : c;
    i += c.length;
  }
  if (levels.length > 1) return fail("missing closing ')'", pattern.length);
  out += ')'.repeat((levels[0] as Level).pending.length);
  return { source: out, flags, groupNames };
}

/** Translates and compiles; throws RegexSyntaxError with an offset into the pattern. */
export function compileRe2(pattern: string, extraFlags = ''): CompiledRegex {
  const { source, flags, groupNames } = translateRe2(pattern);
  let re: RegExp;
  try {
    re = new RegExp(source, `${flags}${extraFlags}u`);
  } catch (e) {
    throw new RegexSyntaxError(`invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`, 0);
  }
  return { re, source, groupCount: groupNames.length, groupNames };
}

// Patterns that are not literals (regexp_like(x, field)) are compiled per record; cache them.
const cache = new Map<string, CompiledRegex | RegexSyntaxError>();
const CACHE_MAX = 256;

export function cachedRe2(pattern: string, extraFlags = ''): CompiledRegex {
  const key = `${extraFlags}/${pattern}`;
  let hit = cache.get(key);
  if (hit === undefined) {
    try {
      hit = compileRe2(pattern, extraFlags);
    } catch (e) {
      if (!(e instanceof RegexSyntaxError)) throw e;
      hit = e;
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(key, hit);
  }
  if (hit instanceof RegexSyntaxError) throw hit;
  return hit;
}
