// Expression semantics, table-driven: expression + record → value (null = SQL null).
// These pin the comparison, null, cast and arithmetic rules documented in docs/query.md.
import { describe, expect, it } from 'vitest';
import { compileExpression } from '../../src/query/compile.ts';
import { QueryRuntimeError, type QueryMeta } from '../../src/query/index.ts';

type Rec = Record<string, unknown>;
const meta: QueryMeta = { topic: 'casb', partition: 3, offset: '42', timestamp: 1700000000123, key: 'k1', headers: { tenant: 'acme', 'x-id': '9' } };

const cases: Array<[expr: string, rec: Rec, expected: unknown]> = [
  // equality across JSON types
  ["s = 'a'", { s: 'a' }, true],
  ["n = '404'", { n: 404 }, true],
  ["n = '404.0'", { n: 404 }, true],
  ["n = 'abc'", { n: 404 }, false],
  ["s = '1.0'", { s: '1' }, false], // two strings compare as text
  ["b = 'TRUE'", { b: true }, true],
  ['b = 1', { b: true }, false],
  ['o = o2', { o: { a: [1] }, o2: { a: [1] } }, true],
  ["o = '{}'", { o: {} }, false],
  ["x = 'a'", {}, null],
  ["x != 'a'", {}, null],
  ["s <> 'b'", { s: 'a' }, true],
  // ordering
  ['n >= 400', { n: 404 }, true],
  ['n >= 400', { n: '404' }, true],
  ["n >= '400'", { n: 404 }, true],
  ["s > '9'", { s: '10' }, false], // text order, like SQL varchar
  ['s > 9', { s: 'abc' }, null],
  ['n < 1.5', { n: 1 }, true],
  ["ts > '2024-01-01'", { ts: '2024-02-01T00:00:00Z' }, true], // two strings: text order
  ["date_parse(d, '%Y-%m-%d') > '2024-01-01T00:00:00Z'", { d: '2024-03-01' }, true],
  // three-valued logic
  ['x = 1 and false', {}, false],
  ['x = 1 or true', {}, true],
  ['x = 1 and true', {}, null],
  ['not (x = 1)', {}, null],
  ["flag and s = 'a'", { flag: 'true', s: 'a' }, true],
  // in / not in
  ["s in ('a', 'b')", { s: 'b' }, true],
  ["s in ('a', 'b')", { s: 'c' }, false],
  ["s not in ('a', 'b')", { s: 'c' }, true],
  ["n in ('1', '2')", { n: 2 }, true],
  ['s in (1, 2)', { s: '2' }, true],
  ['s in (1, 2)', { s: '2.0' }, true],
  ["s in ('a', null)", { s: 'z' }, null],
  ["s in ('a', null)", { s: 'a' }, true],
  ['x in (1, 2)', {}, null],
  ['b in (true)', { b: 'True' }, true],
  ["b in ('true')", { b: true }, true],
  ['s in (lower(t), 2)', { s: 'q', t: 'Q' }, true],
  // like
  ["s like 'ab%'", { s: 'abc' }, true],
  ["s like '%bc'", { s: 'abc' }, true],
  ["s like '%b%'", { s: 'abc' }, true],
  ["s like 'a_c'", { s: 'abc' }, true],
  ["s like 'a_c'", { s: 'abbc' }, false],
  ["s like 'a.c'", { s: 'abc' }, false],
  ["s not like 'a%'", { s: 'abc' }, false],
  ["s like '100\\%' escape '\\'", { s: '100%' }, true],
  ["s like '100\\%' escape '\\'", { s: '1000' }, false],
  ["n like '40%'", { n: 404 }, true],
  ["x like '%'", {}, null],
  ["s like p", { s: 'xyz', p: 'x%' }, true],
  // between / is null
  ['n between 1 and 5', { n: 3 }, true],
  ['n between 1 and 5', { n: 6 }, false],
  ['n not between 1 and 5', { n: 6 }, true],
  ["n between '1' and '5'", { n: 5 }, true],
  ['x between 1 and 5', {}, null],
  ['x is null', {}, true],
  ['x is null', { x: null }, true],
  ['x is not null', { x: 0 }, true],
  ['x.y is null', { x: 'str' }, true],
  // arithmetic and concatenation
  ['a + b * 2', { a: 1, b: 3 }, 7],
  ["a + '2'", { a: 1 }, 3],
  ['(a + b) * 2', { a: 1, b: 3 }, 8],
  ['7 / 2', {}, 3.5],
  ['-7 % 3', {}, -1],
  ['-a', { a: 5 }, -5],
  ['a + x', { a: 1 }, null],
  ["a || '-' || b", { a: 'x', b: 2 }, 'x-2'],
  ["a || x", { a: 'x' }, null],
  // case
  ["case when n >= 500 then 'error' when n >= 400 then 'warn' else 'ok' end", { n: 404 }, 'warn'],
  ["case when n >= 500 then 'error' end", { n: 200 }, null],
  ["case sev when 'high' then 3 when 'low' then 1 else 0 end", { sev: 'low' }, 1],
  ["case sev when 'high' then 3 end", {}, null],
  // cast / try_cast
  ["cast('42' as bigint)", {}, 42],
  ['cast(2.5 as bigint)', {}, 3],
  ['cast(-2.5 as bigint)', {}, -3],
  ["cast(' 7 ' as integer)", {}, 7],
  ["cast('1e3' as double)", {}, 1000],
  ['cast(42 as varchar)', {}, '42'],
  ['cast(o as varchar)', { o: { a: 1 } }, '{"a":1}'],
  ["cast('t' as boolean)", {}, true],
  ["cast('0' as boolean)", {}, false],
  ['cast(1 as boolean)', {}, true],
  ['cast(x as bigint)', {}, null],
  ["try_cast('4.2' as bigint)", {}, null],
  ["try_cast('abc' as double)", {}, null],
  ["cast(cast('2024-05-01 10:00:00' as timestamp) as varchar)", {}, '2024-05-01 10:00:00.000'],
  ['cast(n as varchar(10))', { n: 5 }, '5'],
  // keywords are case-insensitive, fields are not
  ["S IN ('a') AND s Is Not Null", { S: 'a', s: 1 }, true],
  ['"end" = 1', { end: 1 }, true],
  // metadata
  ['__topic__', {}, 'casb'],
  ['__partition__ + 1', {}, 4],
  ['__offset__', {}, '42'],
  ['__timestamp__', {}, 1700000000123],
  ['__key__', {}, 'k1'],
  ['__headers__.tenant', {}, 'acme'],
  ['__headers__."x-id"', {}, '9'],
  ['__headers__.nope', {}, null],
  ['"__topic__"', { __topic__: 'field' }, 'field'],
];

describe('expressions', () => {
  it.each(cases)('%s  with %j  →  %j', (expr, rec, expected) => {
    expect(compileExpression(expr)(rec, meta)).toEqual(expected);
  });

  it('metadata reads as null without meta', () => {
    expect(compileExpression('__topic__')({})).toBeNull();
    expect(compileExpression('__headers__.tenant')({})).toBeNull();
  });

  it('inherited Object.prototype names are not fields', () => {
    expect(compileExpression('constructor is null')({})).toBe(true);
    expect(compileExpression('toString')({ toString: 'x' })).toBe('x');
    expect(compileExpression('a.constructor is null')({ a: {} })).toBe(true);
  });

  const runtimeErrors: Array<[string, Rec, RegExp]> = [
    ["cast('abc' as bigint)", {}, /cast at line 1, column 1: cannot cast 'abc' to bigint/],
    ["cast('9007199254740993' as bigint)", {}, /cannot cast/],
    ['cast(o as double)', { o: {} }, /cannot cast object to double/],
    ['a + s', { a: 1, s: 'x' }, /'\+' at line 1, column 1: expected a number, got 'x'/],
    ['a / 0', { a: 1 }, /division by zero/],
    ['a % b', { a: 1, b: 0 }, /division by zero/],
    ['a * a', { a: 1e200 }, /numeric overflow/],
    ["regexp_like(o, 'x')", { o: { a: 1 } }, /regexp_like\(\) at line 1, column 1: argument 1 .*expected a string, got object/],
    ["lower(l)", { l: [1] }, /expected a string, got array/],
    ["o || 'x'", { o: {} }, /expected a string, got object/],
    ["date_parse('nope', '%Y')", {}, /does not match format/],
    ['n and true', { n: 1 }, /expected a boolean, got 1/],
    ['substr(s, 1.5)', { s: 'abc' }, /expected an integer/],
    ["regexp_like('a', p)", { p: '(?=x)' }, /bad regular expression/],
  ];
  it.each(runtimeErrors)('%s raises QueryRuntimeError', (expr, rec, message) => {
    const f = compileExpression(expr);
    expect(() => f(rec)).toThrow(QueryRuntimeError);
    expect(() => f(rec)).toThrow(message);
  });

  it('try() and try_cast turn runtime errors into null', () => {
    expect(compileExpression("try(cast('abc' as bigint))")({})).toBeNull();
    expect(compileExpression('coalesce(try(a / 0), -1)')({ a: 1 })).toBe(-1);
  });

  it('untaken branches do not raise', () => {
    expect(compileExpression("case when true then 1 else cast('x' as bigint) end")({})).toBe(1);
    expect(compileExpression("if(false, cast('x' as bigint), 2)")({})).toBe(2);
    expect(compileExpression("coalesce(1, cast('x' as bigint))")({})).toBe(1);
    expect(compileExpression("false and cast('x' as bigint) = 1")({})).toBe(false);
  });

  it('now() uses the configured clock, per evaluation', () => {
    let t = 0;
    const f = compileExpression('to_unixtime(now())', { now: () => (t += 1000) });
    expect(f({})).toBe(1);
    expect(f({})).toBe(2);
  });
});
