// sample and trim-fields: what they keep, that they are deterministic, what they count, their errors.
import { describe, expect, it } from 'vitest';
import { compileQuery, QueryError, QueryRuntimeError, type CompiledQuery, type QueryMeta } from '../../src/query/index.ts';
import { sampleHash } from '../../src/query/instructions/sample.ts';

const meta = (offset: number, partition = 0): QueryMeta => ({ topic: 'auth', partition, offset: String(offset), timestamp: 0, key: null, headers: {} });

function errorOf(query: string): QueryError {
  try {
    compileQuery(query);
  } catch (e) {
    if (e instanceof QueryError) return e;
    throw e;
  }
  throw new Error(`${query} compiled`);
}

describe('sample', () => {
  it('keeps about the fraction asked for, and the same records every time (a replay samples alike)', () => {
    const q = compileQuery('* | sample 0.1');
    const kept = (): number[] => {
      const out: number[] = [];
      for (let o = 0; o < 100_000; o++) if (q.apply({ n: o }, meta(o)) !== null) out.push(o);
      return out;
    };
    const first = kept();
    // Binomial(100 000, 0.1): the standard deviation is about 95 records; 1 % is more than 10 of them.
    expect(first.length).toBeGreaterThan(9_000);
    expect(first.length).toBeLessThan(11_000);
    expect(kept()).toEqual(first);
    // A new compile (a restart) keeps the same offsets.
    const again = compileQuery('* | sample 0.1');
    expect(first.every((o) => again.apply({ n: o }, meta(o)) !== null)).toBe(true);
    const counts = q.stats.take();
    expect(counts.dropped.sample).toBe(2 * (100_000 - first.length));
    expect(counts.dropped.where).toBe(0);
    expect(q.stats.take().dropped.sample).toBe(0);
  });

  it('by fields: every record of one key is kept or dropped together, and about the fraction of keys is kept', () => {
    const q = compileQuery('* | sample 0.25 by user, src_ip');
    let keptKeys = 0;
    for (let u = 0; u < 4000; u++) {
      const results = new Set<boolean>();
      for (let i = 0; i < 5; i++) results.add(q.apply({ user: `u${u}`, src_ip: '10.0.0.1', i }, meta(u * 5 + i)) !== null);
      expect(results.size).toBe(1);
      if (results.has(true)) keptKeys++;
    }
    // Binomial(4000, 0.25): sd ≈ 27.
    expect(keptKeys).toBeGreaterThan(850);
    expect(keptKeys).toBeLessThan(1150);
  });

  it('the type of a key is part of it, a missing field is a key of its own, and -seed picks another subset', () => {
    const a = compileQuery('* | sample 0.5 by id');
    const b = compileQuery("* | sample -seed='siem-b' 0.5 by id");
    let differs = 0;
    let typeDiffers = 0;
    for (let i = 0; i < 2000; i++) {
      if ((a.apply({ id: i }) === null) !== (b.apply({ id: i }) === null)) differs++;
      if ((a.apply({ id: i }) === null) !== (a.apply({ id: String(i) }) === null)) typeDiffers++;
    }
    expect(differs).toBeGreaterThan(800);
    expect(typeDiffers).toBeGreaterThan(800);
    const missing = a.apply({}) === null;
    expect(a.apply({ other: 1 }) === null).toBe(missing);
    expect(a.apply({ id: null }) === null).toBe(missing);
  });

  it('1 keeps everything; the hash is stable across versions (pinned values)', () => {
    const q = compileQuery('* | sample 1');
    for (let o = 0; o < 100; o++) expect(q.apply({ o }, meta(o))).toEqual({ o });
    // These pin the hash (values computed by a Python FNV-1a + murmur3 fmix32): changing it would
    // change which records every deployed rate keeps.
    expect(sampleHash('')).toBe(2872998923);
    expect(sampleHash('a')).toBe(444641715);
    expect(sampleHash('auth\u00010\u00017')).toBe(3615545004);
    expect(sampleHash('s10.0.0.1')).toBe(3072356089);
  });

  it('is a filter: the record returned is the input itself, and the query still only filters', () => {
    const q = compileQuery("* | where action = 'login' | sample 0.5 by user");
    expect([...(q.filterFields ?? [])].sort()).toEqual(['action', 'user']);
    const rec = { action: 'login', user: 'x', other: 1 };
    for (let i = 0; i < 50; i++) {
      const r = { ...rec, user: `u${i}` };
      const out = q.apply(r, meta(i));
      if (out !== null) expect(out).toBe(r);
    }
    const s = q.stats.take();
    expect(s.dropped.where).toBe(0);
    expect(s.dropped.sample).toBeGreaterThan(0);
    q.apply({ action: 'logout', user: 'y' }, meta(99));
    expect(q.stats.take().dropped).toEqual({ where: 1, sample: 0, suppress: 0 });
  });

  it('sample … where samples only the records the condition selects; the others all pass', () => {
    const q = compileQuery("* | sample 0.1 by src_ip where action = 'allowed' and severity = 'info'");
    let allowedKept = 0;
    for (let i = 0; i < 2000; i++) {
      const ip = `10.0.${i >> 8}.${i & 255}`;
      expect(q.apply({ action: 'blocked', severity: 'info', src_ip: ip })).not.toBeNull();
      expect(q.apply({ action: 'allowed', severity: 'high', src_ip: ip })).not.toBeNull();
      expect(q.apply({ action: 'allowed', src_ip: ip })).not.toBeNull(); // condition null: not selected
      if (q.apply({ action: 'allowed', severity: 'info', src_ip: ip }) !== null) allowedKept++;
    }
    expect(allowedKept).toBeGreaterThan(140);
    expect(allowedKept).toBeLessThan(260);
    expect(q.stats.take().dropped).toEqual({ where: 0, sample: 2000 - allowedKept, suppress: 0 });
    expect([...(q.filterFields ?? [])].sort()).toEqual(['action', 'severity', 'src_ip']);
  });

  it('errors point at the problem', () => {
    expect(errorOf("* | sample 0.1 where lower(action)").message).toMatch(/sample … where needs a condition \(true\/false\), but this expression is text/);
    expect(errorOf('* | sample 0').message).toMatch(/^line 1, column 12: the fraction to keep must be more than 0 and at most 1, found 0/);
    expect(errorOf('* | sample 1.5').message).toMatch(/at most 1, found 1.5/);
    expect(errorOf('* | sample by user').message).toMatch(/the fraction of records to keep/);
    expect(errorOf('* | sample 0.1 by user, user').message).toMatch(/sample key 'user' appears twice/);
    expect(errorOf('* | project a | sample 0.1 by b').message).toMatch(/unknown field 'b'/);
    expect(errorOf("* | sample -rate='0.1' 0.1").message).toMatch(/unknown option -rate for sample \(allowed: -seed\)/);
  });
});

describe('trim-fields', () => {
  it('cuts long text to -max-length everywhere (never splitting a surrogate pair) and counts each cut', () => {
    const q = compileQuery('* | trim-fields -max-length=5');
    const input = { msg: 'abcdefgh', short: 'abc', n: 1234567, nested: { cmd: '0123456789', list: ['xxxxxxx', 'y'] }, emoji: 'abcd😀x' };
    const out = q.apply(input);
    expect(out).toEqual({ msg: 'abcde', short: 'abc', n: 1234567, nested: { cmd: '01234', list: ['xxxxx', 'y'] }, emoji: 'abcd' });
    // The input is untouched.
    expect(input.nested.cmd).toBe('0123456789');
    expect(input.nested.list[0]).toBe('xxxxxxx');
    expect(q.stats.take()).toMatchObject({ truncated: 4, emptyRemoved: 0 });
    const same = { a: 'abc', b: { c: 'd' } };
    expect(q.apply(same)).toBe(same);
  });

  it('-drop-empty removes null, empty text, empty arrays and objects (and objects left empty), at any depth', () => {
    const q = compileQuery('* | trim-fields -drop-empty');
    const out = q.apply({ a: '', b: null, c: [], d: {}, e: { f: '', g: { h: null } }, keep: 0, f: false, arr: ['', 'x'] });
    expect(out).toEqual({ keep: 0, f: false, arr: ['', 'x'] });
    // a, b, c, d, e.f, e.g.h, e.g (left empty), e (left empty)
    expect(q.stats.take().emptyRemoved).toBe(8);
  });

  it('listed fields only, both options together', () => {
    const q = compileQuery("* | trim-fields -max-length=3 -drop-empty msg, detail.cmd, gone");
    expect(q.apply({ msg: 'abcdef', other: 'abcdef', empty: '', detail: { cmd: '', x: 'abcdef' }, gone: null })).toEqual({
      msg: 'abc',
      other: 'abcdef',
      empty: '',
      detail: { x: 'abcdef' },
    });
    expect(q.stats.take()).toMatchObject({ truncated: 1, emptyRemoved: 2 });
  });

  it('errors point at the problem', () => {
    expect(errorOf('* | trim-fields').message).toMatch(/^line 1, column 5: trim-fields needs -max-length=N, -drop-empty or both/);
    expect(errorOf("* | trim-fields -max-length='x'").message).toMatch(/-max-length must be a whole number of characters, at least 1, found 'x'/);
    expect(errorOf('* | trim-fields -max-length=0').message).toMatch(/at least 1, found '0'/);
    expect(errorOf('* | project a | trim-fields -drop-empty b').message).toMatch(/unknown field 'b'/);
  });
});

describe('suppress', () => {
  const at = (offset: number, seconds: number, partition = 0): QueryMeta => ({ ...meta(offset, partition), timestamp: Date.UTC(2024, 0, 1) + seconds * 1000 });

  it('passes the first record of a key, drops its repeats within the window (record time), passes the first after it', () => {
    const q = compileQuery('* | suppress -window=60 by user, src_ip');
    const login = (user: string, ip: string) => ({ action: 'login_failed', user, src_ip: ip });
    const seen = [
      q.apply(login('bob', '10.0.0.1'), at(0, 0)),
      q.apply(login('bob', '10.0.0.1'), at(1, 10)),
      q.apply(login('bob', '10.0.0.2'), at(2, 11)), // another address: another key
      q.apply(login('eve', '10.0.0.1'), at(3, 12)),
      q.apply(login('bob', '10.0.0.1'), at(4, 59.999)),
      q.apply(login('bob', '10.0.0.1'), at(5, 60)), // the window (from the first) is over
      q.apply(login('bob', '10.0.0.1'), at(6, 61)),
    ].map((r) => r !== null);
    expect(seen).toEqual([true, false, true, true, false, true, false]);
    expect(q.stats.take()).toMatchObject({ dropped: { where: 0, sample: 0, suppress: 3 }, suppressStateFull: 0 });
  });

  it('state is per partition; a partition read again from an earlier offset starts afresh (nothing it never delivered stays suppressed)', () => {
    const q = compileQuery('* | suppress -window=60 by user');
    expect(q.apply({ user: 'a' }, at(10, 0, 0))).not.toBeNull();
    expect(q.apply({ user: 'a' }, at(5, 1, 1))).not.toBeNull(); // partition 1: its own state
    expect(q.apply({ user: 'a' }, at(11, 2, 0))).toBeNull();
    // Partition 0 read again from offset 10 (a rebalance before the commit): the same first record passes again.
    expect(q.apply({ user: 'a' }, at(10, 0, 0))).not.toBeNull();
    expect(q.apply({ user: 'a' }, at(11, 2, 0))).toBeNull();
  });

  it('where: only the selected records are considered; the type of a key value is part of it', () => {
    const q = compileQuery("* | suppress -window='5m' by id where action = 'denied'");
    expect(q.apply({ action: 'allowed', id: 1 }, at(0, 0))).not.toBeNull();
    expect(q.apply({ action: 'allowed', id: 1 }, at(1, 1))).not.toBeNull();
    expect(q.apply({ action: 'denied', id: 1 }, at(2, 2))).not.toBeNull();
    expect(q.apply({ action: 'denied', id: 1 }, at(3, 3))).toBeNull();
    expect(q.apply({ action: 'denied', id: '1' }, at(4, 4))).not.toBeNull();
    expect([...(q.filterFields ?? [])].sort()).toEqual(['action', 'id']);
  });

  it('bounded: when -max-keys is reached, expired windows make room, else a new key passes and is counted (fails open)', () => {
    const q = compileQuery('* | suppress -window=10 -max-keys=3 by k');
    ['a', 'b', 'c'].forEach((k, i) => expect(q.apply({ k }, at(i, 0))).not.toBeNull());
    // Full, nothing expired: d passes, and its repeat passes too (it was never remembered).
    expect(q.apply({ k: 'd' }, at(3, 1))).not.toBeNull();
    expect(q.apply({ k: 'd' }, at(4, 2))).not.toBeNull();
    expect(q.apply({ k: 'a' }, at(5, 3))).toBeNull(); // a, b, c are still suppressed
    expect(q.stats.take()).toMatchObject({ suppressStateFull: 2, dropped: { suppress: 1 } });
    // After the window, their entries expire and make room.
    expect(q.apply({ k: 'e' }, at(6, 11))).not.toBeNull();
    expect(q.apply({ k: 'e' }, at(7, 12))).toBeNull();
    expect(q.stats.take()).toMatchObject({ suppressStateFull: 0, dropped: { suppress: 1 } });
  });

  it('a flood of distinct keys costs no more than a bounded scan per record', () => {
    const q = compileQuery("* | suppress -window='1h' -max-keys=1000 by k");
    const t0 = performance.now();
    for (let i = 0; i < 200_000; i++) q.apply({ k: `attacker-${i}` }, at(i, i / 1000));
    const ms = performance.now() - t0;
    expect(q.stats.take().suppressStateFull).toBe(199_000);
    // Not a timing assertion of the product: a guard against a scan of every key per record, which takes minutes here.
    expect(ms).toBeLessThan(20_000);
  });

  it('errors point at the problem; the pull webhook refuses it', () => {
    expect(errorOf('* | suppress by user').message).toMatch(/^line 1, column 5: suppress needs -window=<duration>/);
    expect(errorOf("* | suppress -window='soon' by user").message).toMatch(/-window must be a number of seconds or a duration such as '90s', '5m' or '1h', found 'soon'/);
    expect(errorOf('* | suppress -window=60 user').message).toMatch(/expected 'by'/);
    expect(errorOf('* | suppress -window=60 -max-keys=0 by user').message).toMatch(/-max-keys must be a whole number, at least 1, found '0'/);
    let message = '';
    try {
      compileQuery('* | suppress -window=60 by user', { stateless: true });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^line 1, column 5: suppress keeps state per partition as a route reads it; the pull webhook's query/);
  });
});

describe('suppress -summary', () => {
  const T0 = Date.UTC(2024, 0, 1);
  const at = (offset: number, seconds: number, partition = 0): QueryMeta => ({ ...meta(offset, partition), timestamp: T0 + seconds * 1000 });
  const iso = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

  /** A target like the pipeline's: holds are numbered; summaries are collected with the hold they release. */
  function collect(q: CompiledQuery) {
    const holds: Array<{ offset: string | undefined }> = [];
    const out: Array<{ out: unknown; hold: unknown; offset: string | undefined }> = [];
    q.summaries!.target = {
      hold: (m) => {
        const h = { offset: m?.offset };
        holds.push(h);
        return h;
      },
      summary: (o, _input, m, hold) => out.push({ out: o, hold, offset: m?.offset }),
    };
    return { holds, out };
  }

  it("a window's repeats become one summary when a later record of the partition passes its end: the first repeat with the count and times, through the rest of the query", () => {
    let clock = T0;
    const q = compileQuery("* | suppress -window=60 -summary by user, src_ip where action = 'login_failed' | extend seen = 'yes' | project-away action", { now: () => clock });
    const { holds, out } = collect(q);
    const login = (user: string, n: number) => ({ action: 'login_failed', user, src_ip: '10.0.0.1', n });
    expect(q.apply(login('bob', 0), at(0, 0))).toEqual({ user: 'bob', src_ip: '10.0.0.1', n: 0, seen: 'yes' });
    expect(q.apply(login('bob', 1), at(1, 5))).toBeNull();
    expect(q.apply(login('eve', 2), at(2, 6))).not.toBeNull();
    expect(q.apply(login('bob', 3), at(3, 30))).toBeNull();
    expect(q.apply(login('bob', 4), at(4, 59))).toBeNull();
    // One hold per window with repeats, asked for while its first repeat was applied.
    expect(holds).toEqual([{ offset: '1' }]);
    expect(q.summaries!.held).toBe(1);
    expect(out).toEqual([]);
    // A record of another key at 60 s: bob's window (from 0 s) is over; eve's (from 6 s) is not.
    expect(q.apply({ action: 'logout', user: 'x' }, at(5, 60))).not.toBeNull();
    expect(out).toEqual([
      {
        out: { user: 'bob', src_ip: '10.0.0.1', n: 1, seen: 'yes', suppressed_count: 3, suppressed_first_time: iso(5), suppressed_last_time: iso(59) },
        hold: holds[0],
        offset: '1',
      },
    ]);
    expect(q.summaries!.held).toBe(0);
    // eve had no repeat: no summary, no hold. bob's next record opens a new window.
    expect(q.apply(login('bob', 6), at(6, 61))).not.toBeNull();
    expect(q.apply(login('eve', 7), at(7, 100))).not.toBeNull();
    expect(out).toHaveLength(1);
    expect(q.stats.take()).toMatchObject({ dropped: { suppress: 3 }, summaries: 1 });
    // Not a filter-only query any more: the summary is built from the whole record.
    expect(q.filterFields).toBeUndefined();
  });

  it("the repeat that reopens a window closes it first: its summary comes out before the record", () => {
    const q = compileQuery('* | suppress -window=10 -summary by k');
    const { out } = collect(q);
    q.apply({ k: 'a' }, at(0, 0));
    q.apply({ k: 'a', i: 1 }, at(1, 1));
    expect(out).toHaveLength(0);
    // Out of order (before the window's start) reopens the window too.
    expect(q.apply({ k: 'a', i: 2 }, at(2, -5))).not.toBeNull();
    expect(out.map((o) => (o.out as { suppressed_count: number }).suppressed_count)).toEqual([1]);
  });

  it('tick(): repeats held for a window of the clock are summarised early (a quiet partition); the window keeps suppressing', () => {
    let clock = T0;
    const q = compileQuery("* | suppress -window='1m' -summary by k", { now: () => clock });
    const { holds, out } = collect(q);
    q.apply({ k: 'a' }, at(0, 0));
    q.apply({ k: 'a' }, at(1, 1));
    clock += 30_000;
    q.apply({ k: 'b' }, at(2, 2));
    q.apply({ k: 'b' }, at(3, 3));
    q.summaries!.tick();
    expect(out).toHaveLength(0);
    clock += 30_000; // a has been held for 60 s of the clock, b for 30 s
    q.summaries!.tick();
    expect(out.map((o) => [o.offset, (o.out as { suppressed_count: number }).suppressed_count])).toEqual([['1', 1]]);
    // a's window (record time 0-60 s) still suppresses; a new hold covers the next repeats.
    expect(q.apply({ k: 'a' }, at(4, 4))).toBeNull();
    expect(holds.map((h) => h.offset)).toEqual(['1', '3', '4']);
    expect(q.summaries!.held).toBe(2);
  });

  it('flush(): every window with repeats is summarised now (before a rebalance, or when held commits fill the in-flight limit)', () => {
    const q = compileQuery('* | suppress -window=60 -summary by k');
    const { out } = collect(q);
    for (const [i, k] of ['a', 'a', 'a', 'b', 'b', 'c'].entries()) q.apply({ k }, at(i, i));
    q.summaries!.flush();
    expect(out.map((o) => [(o.out as { k: string }).k, (o.out as { suppressed_count: number }).suppressed_count])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect(q.summaries!.held).toBe(0);
    q.summaries!.flush();
    expect(out).toHaveLength(2);
  });

  it('the rest of the query may drop a summary (null) or fail on it (the error, to be dead-lettered)', () => {
    const q = compileQuery("* | suppress -window=60 -summary by k | where suppressed_count is null or suppressed_count > 1 | extend n = cast(v as bigint)");
    const { out } = collect(q);
    q.apply({ k: 'a', v: '1' }, at(0, 0));
    q.apply({ k: 'a', v: '2' }, at(1, 1)); // a: one repeat, dropped by the where
    q.apply({ k: 'b', v: '1' }, at(2, 2));
    q.apply({ k: 'b', v: 'x' }, at(3, 3));
    q.apply({ k: 'b', v: '3' }, at(4, 4)); // b: two repeats, the first has v = 'x'
    q.summaries!.flush();
    expect(out[0]!.out).toBeNull();
    expect(out[1]!.out).toBeInstanceOf(QueryRuntimeError);
  });

  it('a partition read again from an earlier offset forgets what it held (those holds went with the partition)', () => {
    const q = compileQuery('* | suppress -window=60 -summary by k');
    const { out } = collect(q);
    q.apply({ k: 'a' }, at(10, 0));
    q.apply({ k: 'a' }, at(11, 1));
    expect(q.summaries!.held).toBe(1);
    q.apply({ k: 'a' }, at(10, 0)); // read again after a rebalance
    expect(q.summaries!.held).toBe(0);
    q.summaries!.flush();
    expect(out).toHaveLength(0);
  });

  it('the check knows the summary fields; one -summary per query; without a target summaries go nowhere', () => {
    expect(() => compileQuery('* | project k | suppress -window=60 -summary by k | project k, suppressed_count, suppressed_first_time')).not.toThrow();
    expect(errorOf('* | project k | suppress -window=60 by k | project k, suppressed_count').message).toMatch(/unknown field 'suppressed_count'/);
    expect(errorOf('* | suppress -window=60 -summary by k | suppress -window=10 -summary by j').message).toMatch(/^line 1, column 41: only one suppress -summary per query: /);
    const q = compileQuery('* | suppress -window=60 -summary by k');
    q.apply({ k: 'a' }, at(0, 0));
    expect(q.apply({ k: 'a' }, at(1, 1))).toBeNull();
    q.summaries!.flush();
    expect(q.stats.take().summaries).toBe(1);
    expect(compileQuery('* | suppress -window=60 by k').summaries).toBeUndefined();
  });
});
