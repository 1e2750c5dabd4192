// `logstream query`: JSON lines in, JSON lines out, summary and errors on stderr.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { queryCommand, recordFromLine } from '../../src/cli/query.ts';

async function run(argv: string[], input: string): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { out: '', err: '' };
  stdout.on('data', (c: Buffer) => (chunks.out += c.toString()));
  stderr.on('data', (c: Buffer) => (chunks.err += c.toString()));
  const code = await queryCommand(argv, { stdin: Readable.from([input]), stdout, stderr });
  return { code, ...chunks };
}

describe('logstream query', () => {
  it('prints output records as JSON lines and the summary on stderr', async () => {
    const input = [
      '{"severity":"high","user":"Alice"}',
      '{"severity":"low","user":"Bob"}',
      'Jun 10 11:32:16 host sshd[1]: Failed password',
      '',
      '{"severity":"critical","port":"eighty"}',
    ].join('\n');
    const r = await run(["* | where severity in ('critical','high') or _raw like '%Failed%' | extend user = lower(user), port = cast(port as bigint)"], input);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { severity: 'high', user: 'alice' },
      { _raw: 'Jun 10 11:32:16 host sshd[1]: Failed password' },
    ]);
    expect(r.err).toMatch(/^line 5: cast at line 1, column \d+: cannot cast 'eighty' to bigint/m);
    expect(r.err).toMatch(/^in 4, out 2, dropped 1, errors 1$/m);
  });

  it('suppress -summary: the summaries of the windows still open at the end of the input are printed last', async () => {
    const input = ['{"u":"a","n":1}', '{"u":"a","n":2}', '{"u":"b","n":3}', '{"u":"a","n":4}', '{"u":"a","n":"x"}'].join('\n');
    const r = await run(['* | suppress -window=60 -summary by u | project u, n, suppressed_count'], input);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { u: 'a', n: 1 },
      { u: 'b', n: 3 },
      { u: 'a', n: 2, suppressed_count: 3 },
    ]);
    expect(r.err).toMatch(/^in 5, out 3, dropped 3, errors 0$/m);
  });

  it('reads the query from --file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logstream-query-'));
    const file = join(dir, 'q.spl');
    writeFileSync(file, "-- keep errors\n* | where level = 'error'\n  | project msg\n");
    const r = await run(['--file', file], '{"level":"error","msg":"m","x":1}\n{"level":"info"}\n');
    expect(r.code).toBe(0);
    expect(r.out).toBe('{"msg":"m"}\n');
    expect(r.err).toContain('in 2, out 1, dropped 1, errors 0');
  });

  it('exits 2 with the formatted error for a bad query', async () => {
    const r = await run(['* | where severity = '], '');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe('logstream query: QUERY_SYNTAX: line 1, column 22: expected an expression, found end of query\n  * | where severity = \n                       ^\n');
  });

  it('exits 2 on usage errors', async () => {
    expect((await run([], '')).code).toBe(2);
    expect((await run(['*', '--file', 'x'], '')).code).toBe(2);
    expect((await run(['--file', '/nonexistent/q.spl'], '')).err).toMatch(/cannot read/);
    expect((await run(['--bogus'], '')).code).toBe(2);
  });

  it('passes large inputs through in order', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(50) }));
    const r = await run(['* | where i % 2 = 0 | project i'], lines.join('\n'));
    const out = r.out.trim().split('\n');
    expect(out).toHaveLength(2500);
    expect(out[1249]).toBe('{"i":2498}');
  });

  it('treats non-object JSON and plain text as _raw, like the daemon', () => {
    expect(recordFromLine('{"a":1}')).toEqual({ a: 1 });
    expect(recordFromLine('[1,2]')).toEqual({ _raw: '[1,2]' });
    expect(recordFromLine('42')).toEqual({ _raw: '42' });
    expect(recordFromLine('{broken')).toEqual({ _raw: '{broken' });
  });
});
