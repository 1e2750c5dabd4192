// RE2 → JavaScript translation: what RE2 spells differently is translated,
// what RE2 does not support is rejected with an error and an offset.
import { describe, expect, it } from 'vitest';
import { compileRe2, RegexSyntaxError, translateRe2 } from '../../src/query/regex.ts';

const matches: Array<[pattern: string, text: string, expected: string | null]> = [
  ['(?P<user>\\w+)@', 'bob@x', 'bob@'],
  ['(?i)error', 'ERROR: x', 'ERROR'],
  ['a(?i)b', 'aB', 'aB'],
  ['a(?i)b', 'AB', null],
  ['x(?i)a|b', 'B', 'B'], // RE2: the flag carries across |
  ['(?i:a)b', 'Ab', 'Ab'],
  ['(?i:a)b', 'AB', null],
  ['(?s)a.b', 'a\nb', 'a\nb'],
  ['a.b', 'a\nb', null],
  ['\\Aab', 'ab', 'ab'],
  ['ab\\z', 'cab', 'ab'],
  ['\\Qa.b*\\E', 'xa.b*', 'a.b*'],
  ['[[:digit:]]+', 'ab123', '123'],
  ['[[:alpha:]_]+', '9ab_c', 'ab_c'],
  ['\\pL+', '12héllo', 'héllo'],
  ['\\p{Greek}+', 'abcαβγ', 'αβγ'],
  ['\\x41\\x{42}', 'zAB', 'AB'],
  ['\\101', 'A', 'A'],
  ['a{2,3}', 'aaaa', 'aaa'],
  ['a{,2}', 'a{,2}', 'a{,2}'], // not a repeat in RE2: literal
  ['\\d+\\.\\d+', 'v1.25', '1.25'],
  ['<\\/arg3>', 'x</arg3>', '</arg3>'],
  ['[\\w.-]+@', 'a.b-c@', 'a.b-c@'],
  ['a]b}', 'a]b}', 'a]b}'],
  ['\\#\\:\\@', '#:@', '#:@'],
  ['😀.', '😀x', '😀x'],
  ['[]a]+', 'x]a]', ']a]'],
  ['[^]a]+', ']]bc', 'bc'],
];

const rejects: Array<[pattern: string, message: RegExp, offset: number]> = [
  ['(a)\\1', /backreferences/, 3],
  ['(?P<n>a)(?P=n)', /backreferences and recursion/, 8],
  ['\\k<n>', /named backreferences/, 0],
  ['a(?=b)', /lookahead/, 1],
  ['a(?!b)', /lookahead/, 1],
  ['(?<=a)b', /lookbehind/, 0],
  ['(?<!a)b', /lookbehind/, 0],
  ['(?>a)', /atomic groups/, 0],
  ['a*+', /bad repetition operator/, 2],
  ['a**', /bad repetition operator/, 2],
  ['*a', /missing argument to repetition/, 0],
  ['a{1001}', /repeat count above 1000/, 1],
  ['a{3,2}', /n > m/, 1],
  ['(?U)a+', /ungreedy/, 0],
  ['[[:^alpha:]]', /negated POSIX/, 1],
  ['[[:foo:]]', /unknown POSIX class/, 1],
  ['\\Z', /not supported by RE2/, 0],
  ['\\q', /unknown escape/, 0],
  ['(?P<1x>a)', /invalid group name/, 0],
  ['(?P<a>x)(?P<a>y)', /duplicate group name/, 8],
  ['(a', /missing closing '\)'/, 2],
  ['a)', /unexpected '\)'/, 1],
  ['[a', /missing closing \]/, 0],
  ['a\\', /trailing backslash/, 1],
];

describe('RE2 regular expressions', () => {
  it.each(matches)('%s on %j', (pattern, text, expected) => {
    const m = compileRe2(pattern).re.exec(text);
    expect(m ? m[0] : null).toBe(expected);
  });

  it.each(rejects)('rejects %s', (pattern, message, offset) => {
    let err: unknown;
    try {
      compileRe2(pattern);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegexSyntaxError);
    expect((err as RegexSyntaxError).message).toMatch(message);
    expect((err as RegexSyntaxError).offset).toBe(offset);
  });

  it('reports group names in order, null for positional groups', () => {
    expect(translateRe2('(?P<a>x)(y)(?:z)(?<b>w)').groupNames).toEqual(['a', null, 'b']);
  });

  it('a leading (?i) becomes a real flag', () => {
    expect(translateRe2('(?i)abc')).toMatchObject({ source: 'abc', flags: 'i' });
  });
});
