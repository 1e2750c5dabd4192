// Table-driven instruction tests: query + input records → expected output records
// (null = dropped). Cases marked "SLS doc" are examples from the Alibaba SLS SPL
// documentation; their outputs are written with our JSON-typed semantics.
import { describe, expect, it } from 'vitest';
import { compileQuery, QueryRuntimeError, type QueryMeta } from '../../src/query/index.ts';

type Rec = Record<string, unknown>;
interface Case {
  name: string;
  query: string;
  input: Rec[];
  output: Array<Rec | null>;
}

const content = '10.0.0.0 GET /index.html 15824 0.043';

const cases: Case[] = [
  // ---------------------------------------------------------------- where
  {
    name: 'where in (...) keeps matching records only',
    query: "* | where instance_id in ('instance-1', 'instance-2')",
    input: [{ instance_id: 'instance-1' }, { instance_id: 'instance-3' }, {}],
    output: [{ instance_id: 'instance-1' }, null, null],
  },
  {
    name: 'SLS doc: where equality on a text field',
    query: "* | where ClientIp = '192.168.1.1'",
    input: [{ ClientIp: '192.168.1.1', Status: '200' }, { ClientIp: '192.168.1.2' }],
    output: [{ ClientIp: '192.168.1.1', Status: '200' }, null],
  },
  {
    name: 'SLS doc: where with lower() for a case-insensitive test',
    query: "* | where lower(Method) != 'put'",
    input: [{ Method: 'PUT' }, { Method: 'get' }],
    output: [null, { Method: 'get' }],
  },
  {
    name: 'SLS doc: where like for a fuzzy match',
    query: "* | where UserAgent like '%Macintosh%'",
    input: [{ UserAgent: 'Mozilla/5.0 (Macintosh; U)' }, { UserAgent: 'curl/8' }],
    output: [{ UserAgent: 'Mozilla/5.0 (Macintosh; U)' }, null],
  },
  {
    name: 'SLS doc: where regexp_like',
    query: "* | where regexp_like(server_protocol, '\\d+')",
    input: [{ server_protocol: 'HTTP/1.1' }, { server_protocol: 'HTTP' }],
    output: [{ server_protocol: 'HTTP/1.1' }, null],
  },
  {
    name: 'where cast(status as bigint) >= 400 works on text and numbers',
    query: '* | where cast(status as bigint) >= 400',
    input: [{ status: '404' }, { status: 200 }, { status: 503 }],
    output: [{ status: '404' }, null, { status: 503 }],
  },
  {
    name: 'where status >= 400 on a numeric field without cast',
    query: '* | where status >= 400',
    input: [{ status: 404 }, { status: 200 }, { status: '500' }, { status: 'n/a' }],
    output: [{ status: 404 }, null, { status: '500' }, null],
  },
  {
    name: 'CloudSOC filter: severity, app, object type, activity type',
    query: `* | where severity in ('critical', 'high')
                and app in ('Box', 'Dropbox')
                and object_type in ('File', 'Folder')
                and activity_type in ('Share', 'Download')`,
    input: [
      { severity: 'high', app: 'Box', object_type: 'File', activity_type: 'Share' },
      { severity: 'low', app: 'Box', object_type: 'File', activity_type: 'Share' },
      { severity: 'critical', app: 'Slack', object_type: 'File', activity_type: 'Share' },
      { severity: 'critical', app: 'Dropbox', object_type: 'Folder', activity_type: 'Login' },
    ],
    output: [{ severity: 'high', app: 'Box', object_type: 'File', activity_type: 'Share' }, null, null, null],
  },
  {
    name: 'where on a nested path and on a quoted dotted key',
    query: `* | where user.name = 'bob' and "geo.country" = 'NL'`,
    input: [{ user: { name: 'bob' }, 'geo.country': 'NL' }, { 'user.name': 'bob', 'geo.country': 'NL' }],
    output: [{ user: { name: 'bob' }, 'geo.country': 'NL' }, null],
  },
  {
    name: 'where keeps only TRUE: null comparisons drop the record',
    query: "* | where not (severity = 'low')",
    input: [{ severity: 'low' }, { severity: 'high' }, {}],
    output: [null, { severity: 'high' }, null],
  },
  // ---------------------------------------------------------------- extend
  {
    name: 'SLS doc: extend several fields in one instruction',
    query: "* | extend k1 = 'v1', k2 = 'v2', k3 = 'v3'",
    input: [{ a: 1 }],
    output: [{ a: 1, k1: 'v1', k2: 'v2', k3: 'v3' }],
  },
  {
    name: 'SLS doc: extend with cast and date_parse (data standardisation)',
    query: "* | extend Status = cast(Status as BIGINT), Time = date_parse(Time, '%Y-%m-%d %H:%i')",
    input: [{ Status: '200', Time: '2024-01-02 03:04' }],
    output: [{ Status: 200, Time: '2024-01-02T03:04:00.000Z' }],
  },
  {
    name: 'extend right-hand sides all see the input record',
    query: '* | extend a = b, b = a',
    input: [{ a: 1, b: 2 }],
    output: [{ a: 2, b: 1 }],
  },
  {
    name: 'extend: a null result neither creates nor overwrites a field (SLS value retention)',
    query: '* | extend x = missing, y = null, keep = missing2',
    input: [{ keep: 'old' }],
    output: [{ keep: 'old' }],
  },
  {
    name: 'extend a nested target creates objects and keeps siblings',
    query: "* | extend geo.city = 'Delft', meta.topic = coalesce(__topic__, 'none')",
    input: [{ geo: { country: 'NL' } }],
    output: [{ geo: { country: 'NL', city: 'Delft' }, meta: { topic: 'none' } }],
  },
  {
    name: 'extend masks and hashes PII in flight',
    query: '* | extend email = sha256(email), card = mask(card, 4)',
    input: [{ email: 'hello', card: '4111111111111111' }],
    output: [{ email: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', card: '************1111' }],
  },
  // ---------------------------------------------------------------- project
  {
    name: 'SLS doc: project keeps the listed fields',
    query: '* | project level, err_msg',
    input: [{ level: 'ERROR', err_msg: 'boom', host: 'h1' }],
    output: [{ level: 'ERROR', err_msg: 'boom' }],
  },
  {
    name: 'SLS doc: project renames with new=old',
    query: '* | project log_level=level, err_msg',
    input: [{ level: 'ERROR', err_msg: 'boom', host: 'h1' }],
    output: [{ log_level: 'ERROR', err_msg: 'boom' }],
  },
  {
    name: 'SLS doc: project "__tag__:*" without -wildcard matches that exact name',
    query: '* | project "__tag__:*"',
    input: [{ '__tag__:*': 'x', '__tag__:path': '/var/log' }],
    output: [{ '__tag__:*': 'x' }],
  },
  {
    name: 'project -wildcard with a pattern',
    query: '* | project -wildcard "__tag__:*", level',
    input: [{ '__tag__:path': '/var/log', '__tag__:host': 'h', level: 'INFO', msg: 'm' }],
    output: [{ '__tag__:path': '/var/log', '__tag__:host': 'h', level: 'INFO' }],
  },
  {
    name: 'project of a nested path keeps the structure; missing fields are not created',
    query: '* | project user.name, nothing',
    input: [{ user: { name: 'bob', id: 7 }, x: 1 }],
    output: [{ user: { name: 'bob' } }],
  },
  // ---------------------------------------------------------------- project-away
  {
    name: 'SLS doc: project-away removes fields and keeps the rest',
    query: '* | project-away ts, ms',
    input: [{ ts: 1, ms: 2, time: 't' }],
    output: [{ time: 't' }],
  },
  {
    name: 'project-away -wildcard',
    query: '* | project-away -wildcard "__tag__:*"',
    input: [{ '__tag__:a': 1, '__tag__:b': 2, c: 3 }],
    output: [{ c: 3 }],
  },
  {
    name: 'project-away of a nested path',
    query: '* | project-away user.password',
    input: [{ user: { name: 'bob', password: 'x' } }],
    output: [{ user: { name: 'bob' } }],
  },
  // ---------------------------------------------------------------- project-rename
  {
    name: 'SLS doc: project-rename several fields',
    query: '* | project-rename log_level=level, log_err_msg=err_msg',
    input: [{ level: 'ERROR', err_msg: 'boom', host: 'h1' }],
    output: [{ log_level: 'ERROR', log_err_msg: 'boom', host: 'h1' }],
  },
  {
    name: 'project-rename of a missing field does nothing',
    query: '* | project-rename a = nope',
    input: [{ x: 1 }],
    output: [{ x: 1 }],
  },
  // ---------------------------------------------------------------- parse-regexp
  {
    name: 'SLS doc: parse-regexp exploratory matching, one instruction per field',
    query: `*
      | parse-regexp content, '(\\S+)' as ip -- Generates the ip field: 10.0.0.0.
      | parse-regexp content, '\\S+\\s+(\\w+)' as method -- Generates the method field: GET.`,
    input: [{ content }],
    output: [{ content, ip: '10.0.0.0', method: 'GET' }],
  },
  {
    name: 'SLS doc: parse-regexp full pattern with positional groups',
    query: "* | parse-regexp content, '(\\S+)\\s+(\\w+)' as ip, method",
    input: [{ content }],
    output: [{ content, ip: '10.0.0.0', method: 'GET' }],
  },
  {
    name: 'parse-regexp with named groups (?P<name>…) and no `as`',
    query: "* | parse-regexp content, '(?P<ip>\\S+) (?P<method>[A-Z]+) (?<path>\\S+)'",
    input: [{ content }],
    output: [{ content, ip: '10.0.0.0', method: 'GET', path: '/index.html' }],
  },
  {
    name: 'parse-regexp: no match, missing or null field leave the record unchanged',
    query: "* | parse-regexp content, '^(\\d+)$' as n",
    input: [{ content: 'abc' }, {}, { content: null }, { content: 42 }],
    output: [{ content: 'abc' }, {}, { content: null }, { content: 42, n: '42' }],
  },
  {
    name: 'SLS doc: extract time fields with parse-regexp, date_parse and to_unixtime (times in UTC here)',
    query: `* | parse-regexp time, '([\\d\\-\\s:]+)\\.(\\d+)' as ts, ms
              | extend ts=date_parse(ts, '%Y-%m-%d %H:%i:%S')
              | extend __time__=cast(to_unixtime(ts) as INTEGER)
              | extend __time_ns_part__=cast(ms as INTEGER) * 1000000
              | project-away ts, ms`,
    input: [{ time: '2023-11-11 01:23:45.678' }],
    // SLS shows 1699637025 because its console runs in UTC+8; we parse as UTC.
    output: [{ time: '2023-11-11 01:23:45.678', __time__: 1699665825, __time_ns_part__: 678000000 }],
  },
  // ---------------------------------------------------------------- parse-csv
  {
    name: 'parse-csv with the default comma delimiter',
    query: '* | parse-csv content as ip, time, host',
    input: [{ content: '192.168.0.100,10/Jun/2019:11:32:16 +0800,example.aliyundoc.com' }],
    output: [
      {
        content: '192.168.0.100,10/Jun/2019:11:32:16 +0800,example.aliyundoc.com',
        ip: '192.168.0.100',
        time: '10/Jun/2019:11:32:16 +0800',
        host: 'example.aliyundoc.com',
      },
    ],
  },
  {
    name: 'parse-csv: quoted value containing the delimiter, doubled quotes',
    query: '* | parse-csv content as a, b, c',
    input: [{ content: 'x,"y, ""quoted""",z' }],
    output: [{ content: 'x,"y, ""quoted""",z', a: 'x', b: 'y, "quoted"', c: 'z' }],
  },
  {
    name: "parse-csv with a multi-character delimiter and -delim='\\t' escapes",
    query: "* | parse-csv -delim='||' a as x, y | parse-csv -delim='\\t' b as p, q",
    input: [{ a: '1||2', b: '3\t4' }],
    output: [{ a: '1||2', b: '3\t4', x: '1', y: '2', p: '3', q: '4' }],
  },
  {
    name: 'parse-csv -strict extracts nothing when the counts differ; non-strict fills what it can',
    query: '* | parse-csv -strict s as a, b | parse-csv t as c, d, e',
    input: [{ s: '1,2,3', t: '7,8' }],
    output: [{ s: '1,2,3', t: '7,8', c: '7', d: '8' }],
  },
  {
    name: 'SLS doc: parse a pipe-separated access log, then drop the raw field',
    query:
      "* | where _program_='access' | parse-csv -delim='|' content as remote_addr,time_local,host,request,status | project-away content",
    input: [
      { _program_: 'access', content: '10.64.10.20|10/Jun/2019:11:32:16 +0800|m.zf.cn|GET /css/mip-base.css HTTP/1.1|200' },
      { _program_: 'error', content: 'x' },
    ],
    output: [
      {
        _program_: 'access',
        remote_addr: '10.64.10.20',
        time_local: '10/Jun/2019:11:32:16 +0800',
        host: 'm.zf.cn',
        request: 'GET /css/mip-base.css HTTP/1.1',
        status: '200',
      },
      null,
    ],
  },
  {
    name: 'SLS doc: quote a value that contains the delimiter with replace(), then parse-csv -quote',
    query: `* | extend content=replace(content,'GET /a/?ad=5|8| HTTP/1.1','"GET /a/?ad=5|8| HTTP/1.1"')
              | parse-csv -delim='|' -quote='"' content as remote_addr, request, status
              | project-away content`,
    input: [{ content: '101.132.1.1|GET /a/?ad=5|8| HTTP/1.1|200' }],
    output: [{ remote_addr: '101.132.1.1', request: 'GET /a/?ad=5|8| HTTP/1.1', status: '200' }],
  },
  // ---------------------------------------------------------------- parse-json
  {
    name: 'SLS doc: parse-json expands the first level (values keep their JSON types)',
    query: '* | parse-json data',
    input: [{ data: '{"c": "c0", "d": {"e": "e0", "n": 1}}' }],
    output: [{ data: '{"c": "c0", "d": {"e": "e0", "n": 1}}', c: 'c0', d: { e: 'e0', n: 1 } }],
  },
  {
    name: 'SLS doc: parse-json -path selects a sub-object',
    query: "* | parse-json -path='$.d' data",
    input: [{ data: '{"c": "c0", "d": {"e": "e0", "f": "f0"}}' }],
    output: [{ data: '{"c": "c0", "d": {"e": "e0", "f": "f0"}}', e: 'e0', f: 'f0' }],
  },
  {
    name: 'parse-json -prefix and -mode=preserve',
    query: "* | parse-json -prefix='j_' -mode='preserve' data",
    input: [{ data: '{"a": 1, "b": 2}', j_a: 'kept' }],
    output: [{ data: '{"a": 1, "b": 2}', j_a: 'kept', j_b: 2 }],
  },
  {
    name: 'SLS doc: json_extract a dotted key, regexp_extract, then parse-json -path',
    query: `* | project attributes
              | extend a = json_extract(attributes, '$["req.body"]')
              | extend b=regexp_extract(try_cast(a as varchar), '<arg3>(.*)<\\/arg3>',1)
              | project b|parse-json -path='$.csuw' b
              | project-away b`,
    input: [{ attributes: JSON.stringify({ 'req.body': '<x><arg3>{"csuw":{"CSType":"108","n":2}}</arg3></x>' }), other: 1 }],
    output: [{ CSType: '108', n: 2 }],
  },
  {
    name: 'parse-json: text that is not JSON, or a non-object path, changes nothing',
    query: "* | parse-json -path='$.list' data",
    input: [{ data: 'not json' }, { data: '{"list": [1, 2]}' }],
    output: [{ data: 'not json' }, { data: '{"list": [1, 2]}' }],
  },
  {
    name: 'parse-json expands a field that already holds an object',
    query: '* | parse-json body | project-away body',
    input: [{ body: { user: 'u', ok: true } }],
    output: [{ user: 'u', ok: true }],
  },
  // ---------------------------------------------------------------- parse-kv
  {
    name: 'parse-kv with default delimiters and quoted values',
    query: '* | parse-kv msg',
    input: [{ msg: 'user=bob action="log in" ip=1.2.3.4' }],
    output: [{ msg: 'user=bob action="log in" ip=1.2.3.4', user: 'bob', action: 'log in', ip: '1.2.3.4' }],
  },
  {
    name: "parse-kv with -delims, -kv-sep and -prefix",
    query: "* | parse-kv -delims='&' -kv-sep=':' -prefix='q_' qs",
    input: [{ qs: 'a:1&b:two&junk&c:' }],
    output: [{ qs: 'a:1&b:two&junk&c:', q_a: '1', q_b: 'two', q_c: '' }],
  },
  {
    name: 'parse-kv SLS positional form field, delims, separator',
    query: "* | parse-kv qs, '&', '='",
    input: [{ qs: 'a=1&b=2' }],
    output: [{ qs: 'a=1&b=2', a: '1', b: '2' }],
  },
  {
    name: 'parse-kv -greedy keeps spaces inside CEF-style values; the first key wins',
    query: "* | parse-kv -greedy -delims=' ' ext",
    input: [{ ext: 'act=blocked msg=Malware found in file suser=bob act=spoofed' }],
    output: [{ ext: 'act=blocked msg=Malware found in file suser=bob act=spoofed', act: 'blocked', msg: 'Malware found in file', suser: 'bob' }],
  },
  {
    name: 'parse-kv -regexp with key and value groups',
    query: "* | parse-kv -regexp s, '(\\w+)->(\\w+)'",
    input: [{ s: 'a->1, b->2' }],
    output: [{ s: 'a->1, b->2', a: '1', b: '2' }],
  },
  // ---------------------------------------------------------------- pipelines
  {
    name: 'SLS doc optimisation: two wheres equal one where with AND',
    query: "* | where request_method = 'POST' | where cast(status as integer) >= 500",
    input: [{ request_method: 'POST', status: '502' }, { request_method: 'POST', status: '200' }, { request_method: 'GET', status: '500' }],
    output: [{ request_method: 'POST', status: '502' }, null, null],
  },
  {
    name: 'pass-through `*` returns the same records',
    query: '*',
    input: [{ a: 1 }, { _raw: 'text' }],
    output: [{ a: 1 }, { _raw: 'text' }],
  },
  {
    name: 'a statement may end with ; and carry comments',
    query: "/* filter */ * | where a = 1 -- only ones\n;",
    input: [{ a: 1 }, { a: 2 }],
    output: [{ a: 1 }, null],
  },
  {
    name: 'a field named __proto__ is data, not a prototype',
    query: "* | extend \"__proto__\" = 'x' | project \"__proto__\", a",
    input: [{ a: 1 }],
    output: [JSON.parse('{"__proto__":"x","a":1}') as Rec],
  },
];

describe('instructions', () => {
  it.each(cases)('$name', ({ query, input, output }) => {
    const q = compileQuery(query);
    const before = structuredClone(input);
    const got = input.map((r) => q.apply(r));
    expect(got).toEqual(output);
    // apply() never mutates its input, so the pipeline can dead-letter the original.
    expect(input).toEqual(before);
  });

  it('SLS doc optimisations produce the same records as their longer forms', () => {
    const rec = { request_method: 'GET', k0: 1 };
    const pairs: Array<[string, string]> = [
      ["* | extend k1 = 'v1' | extend k2 = 'v2' | extend k3 = 'v3'", "* | extend k1 = 'v1', k2 = 'v2', k3 = 'v3'"],
      ['* | extend method = request_method | project-away request_method', '* | project-rename method = request_method'],
    ];
    for (const [a, b] of pairs) expect(compileQuery(a).apply({ ...rec })).toEqual(compileQuery(b).apply({ ...rec }));
  });

  it('project-rename keeps the position of the renamed field', () => {
    const out = compileQuery('* | project-rename B = b').apply({ a: 1, b: 2, c: 3 });
    expect(Object.keys(out ?? {})).toEqual(['a', 'B', 'c']);
  });

  it('where-only queries return the very same object; writing queries return a copy', () => {
    const rec = { severity: 'high' };
    expect(compileQuery("* | where severity = 'high'").apply(rec)).toBe(rec);
    const out = compileQuery("* | extend x = 'y'").apply(rec);
    expect(out).not.toBe(rec);
    expect(rec).toEqual({ severity: 'high' });
  });

  it('isPassThrough is true only for `*` alone', () => {
    expect(compileQuery('*').isPassThrough).toBe(true);
    expect(compileQuery(' * ; ').isPassThrough).toBe(true);
    expect(compileQuery('* | where true').isPassThrough).toBe(false);
  });

  it('a runtime error after a write leaves the input untouched and carries code QUERY_RUNTIME', () => {
    const q = compileQuery("* | extend a.b = 1, c = 'x' | parse-kv kv | extend n = cast(n as bigint)");
    const rec = { a: { b: 0, keep: true }, kv: 'n=notanumber' };
    const before = structuredClone(rec);
    let err: unknown;
    try {
      q.apply(rec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QueryRuntimeError);
    expect((err as QueryRuntimeError).code).toBe('QUERY_RUNTIME');
    expect((err as Error).message).toBe("cast at line 1, column 56: cannot cast 'notanumber' to bigint");
    expect(rec).toEqual(before);
  });

  it('reads Kafka metadata from meta, not from the record', () => {
    const meta: QueryMeta = { topic: 'casb', partition: 1, offset: '7', timestamp: 1700000000000, key: null, headers: { tenant: 'acme' } };
    const q = compileQuery("* | where __topic__ = 'casb' | extend topic = __topic__, tenant = __headers__.tenant, at = from_unixtime(__timestamp__ / 1000), k = __key__");
    expect(q.apply({ __topic__: 'spoofed' }, meta)).toEqual({ __topic__: 'spoofed', topic: 'casb', tenant: 'acme', at: '2023-11-14T22:13:20.000Z' });
    expect(q.apply({ __topic__: 'casb' })).toBeNull();
  });

  it('parse-regexp on an object is a runtime error naming the instruction', () => {
    const q = compileQuery("* | parse-regexp msg, '(a)' as x");
    expect(() => q.apply({ msg: { a: 1 } })).toThrow('parse-regexp at line 1, column 5: field msg is an object, not text');
  });
});
