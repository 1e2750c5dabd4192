// Compile-time errors: code, line, column and the caret snippet. The daemon
// prints these messages verbatim and refuses to start.
import { describe, expect, it } from 'vitest';
import { compileQuery, QueryError } from '../../src/query/index.ts';

function compileError(text: string): QueryError {
  try {
    compileQuery(text);
  } catch (e) {
    if (e instanceof QueryError) return e;
    throw e;
  }
  throw new Error(`expected a QueryError for: ${text}`);
}

describe('error messages', () => {
  it('formats line, column and a caret under the offending text', () => {
    const e = compileError("* | where severity in ('high', 'critical'");
    expect(e.code).toBe('QUERY_SYNTAX');
    expect(e.message).toBe(
      "line 1, column 42: expected ',' or ')' in the IN list, found end of query\n" +
        "  * | where severity in ('high', 'critical'\n" +
        '                                           ^',
    );
  });

  it('points into the right line of a multi-line query', () => {
    const e = compileError("*\n| where a = 1\n| extnd b = 2");
    expect([e.code, e.line, e.column]).toEqual(['QUERY_SYNTAX', 3, 3]);
    expect(e.message).toBe("line 3, column 3: unknown instruction 'extnd' (supported: where, extend, project, project-away, project-rename, parse-json, parse-regexp, parse-csv, parse-kv, sample, trim-fields, lookup, suppress)\n  | extnd b = 2\n    ^^^^^");
  });

  it('keeps tabs so the caret lines up', () => {
    const e = compileError('*\n\t| where lowr(x)');
    expect(e.message.split('\n').slice(1)).toEqual(['  \t| where lowr(x)', '  \t        ^^^^']);
  });

  const cases: Array<[query: string, code: QueryError['code'], line: number, column: number, reason: RegExp]> = [
    ['', 'QUERY_SYNTAX', 1, 1, /empty query/],
    ['  -- only a comment', 'QUERY_SYNTAX', 1, 20, /empty query/],
    ["status = 'x'", 'QUERY_SYNTAX', 1, 1, /must start with the source `\*`/],
    ["* | where a = 'abc", 'QUERY_SYNTAX', 1, 15, /unterminated string/],
    ['* | where a = "" ', 'QUERY_SYNTAX', 1, 15, /empty field name/],
    ['* | where a = 1 b', 'QUERY_SYNTAX', 1, 17, /expected '\|' or the end of the query, found 'b'/],
    ['* | where a = 12ab', 'QUERY_SYNTAX', 1, 15, /invalid number/],
    ['* | where a = #', 'QUERY_SYNTAX', 1, 15, /unexpected character '#'/],
    ['* | where end = 1', 'QUERY_SYNTAX', 1, 11, /keyword 'end' \(quote it as "end"/],
    ['* /* open', 'QUERY_SYNTAX', 1, 3, /unterminated comment/],
    ['* | expand-values x', 'QUERY_SYNTAX', 1, 5, /expand-values is not supported/],
    ['* | parse-json -foo=1 x', 'QUERY_SYNTAX', 1, 16, /unknown option -foo for parse-json \(allowed: -prefix, -path, -mode\)/],
    ["* | parse-json -mode='merge' x", 'QUERY_SYNTAX', 1, 16, /-mode must be 'overwrite' or 'preserve'/],
    ["* | parse-csv -quote='ab' x as a", 'QUERY_SYNTAX', 1, 15, /-quote must be a single character/],
    ['* | parse-csv x', 'QUERY_SYNTAX', 1, 16, /expected 'as'/],
    ['* | where cast(a as money) = 1', 'QUERY_SYNTAX', 1, 21, /unknown type 'money'/],
    ["* | where lowr(x) = 'a'", 'QUERY_CHECK', 1, 11, /unknown function 'lowr' \(did you mean lower\?\)/],
    ["* | extend a = substr('x')", 'QUERY_CHECK', 1, 16, /substr\(\) takes 2 to 3 arguments, got 1/],
    ["* | extend a = lower('x', 'y')", 'QUERY_CHECK', 1, 16, /lower\(\) takes 1 argument, got 2/],
    ["* | where regexp_like(x, '(a)\\1')", 'QUERY_CHECK', 1, 30, /backreferences \(\\1\) are not supported/],
    ["* | where regexp_like(x, 'a(?<=b)')", 'QUERY_CHECK', 1, 28, /lookbehind .* not supported/],
    ["* | where regexp_like(x, 'a(b')", 'QUERY_CHECK', 1, 30, /missing closing '\)'/],
    ["* | parse-regexp msg, 'x(?!y)'", 'QUERY_CHECK', 1, 25, /lookahead .* not supported/],
    ["* | parse-regexp msg, '(\\w+) (\\w+)' as a", 'QUERY_CHECK', 1, 40, /2 capturing groups but 1 output name/],
    ["* | parse-regexp msg, '(\\w+)'", 'QUERY_CHECK', 1, 23, /group 1 has no name/],
    ["* | parse-regexp msg, '\\w+' as a", 'QUERY_CHECK', 1, 23, /no capturing group/],
    ['* | project a, b | where c = 1', 'QUERY_CHECK', 1, 26, /unknown field 'c': after project at line 1, column 5 only a, b can exist/],
    ['* | project a | project-rename b = c', 'QUERY_CHECK', 1, 36, /unknown field 'c'/],
    ['* | project a | project-away a | where a = 1', 'QUERY_CHECK', 1, 40, /unknown field 'a': after project at line 1, column 5 no field can exist/],
    ['* | where 1 + 2', 'QUERY_CHECK', 1, 11, /where needs a condition \(true\/false\)/],
    ["* | extend a = 1 + 'x'", 'QUERY_CHECK', 1, 20, /'\+' expects a number, got varchar/],
    ["* | extend t = date_format(now(), '%Y %Q')", 'QUERY_CHECK', 1, 39, /unsupported format specifier %Q/],
    ["* | extend v = json_extract(x, 'a.b')", 'QUERY_CHECK', 1, 33, /must start with '\$'/],
    ["* | parse-json -path='$.a[*]' x", 'QUERY_CHECK', 1, 26, /expected \[index\]/],
    ["* | where regexp_extract(x, '(a)', 2) = 'a'", 'QUERY_CHECK', 1, 36, /pattern has 1 groups, cannot access group 2/],
    ["* | where x like 'a\\b' escape '\\'", 'QUERY_CHECK', 1, 18, /escape character must be followed by %, _ or itself/],
    ['* | extend a = 1, a = 2', 'QUERY_CHECK', 1, 19, /extend target 'a' appears twice/],
    ["* | extend d = from_unixtime('x')", 'QUERY_CHECK', 1, 30, /expects a number/],
    ["* | extend d = to_unixtime(123)", 'QUERY_CHECK', 1, 28, /use from_unixtime/],
  ];

  it.each(cases)('%j → %s at %i:%i', (query, code, line, column, reason) => {
    const e = compileError(query);
    expect(e.reason).toMatch(reason);
    expect({ code: e.code, line: e.line, column: e.column }).toEqual({ code, line, column });
    expect(e.message).toContain(`line ${line}, column ${column}`);
    // The snippet: the source line, then a caret line whose caret sits at the column.
    const [, src, caret] = e.message.split('\n');
    expect(src).toBe(`  ${query.split('\n')[line - 1] ?? ''}`);
    expect(caret?.indexOf('^')).toBe(column + 1);
  });

  it('a deeply nested expression is an error, not a stack overflow', () => {
    const e = compileError(`* | where ${'('.repeat(5000)}1${')'.repeat(5000)} = 1`);
    expect(e.reason).toMatch(/nested too deeply/);
  });

  it('QueryError is an Error with a stable name', () => {
    const e = compileError('* | where');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('QueryError');
  });
});
