// The Enrichment: files read at start (a bad one names its variable), read again when they change,
// a bad new version refused with the old one kept; the lookup instruction; the settings.
import { copyFileSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync, mkdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnrichConfig } from '../../src/enrich/config.ts';
import { Enrichment, type EnrichmentEvents } from '../../src/enrich/enrichment.ts';
import { compileQuery, QueryError } from '../../src/query/index.ts';
import { problemsOf } from '../support/config-problems.ts';
import { FIXTURES } from './example-data.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'logstream-enrich-'));
  dirs.push(d);
  return d;
}

function recorder(): EnrichmentEvents & { reloads: string[]; sizes: Record<string, number>; logs: string[] } {
  const r = {
    reloads: [] as string[],
    sizes: {} as Record<string, number>,
    logs: [] as string[],
    reload: (source: string, result: string, count = 1) => void (count > 0 && r.reloads.push(`${source}:${result}`)),
    size: (source: string, rows: number) => void (r.sizes[source] = rows),
    log: (level: string, _f: Record<string, unknown>, message: string) => void r.logs.push(`${level} ${message}`),
  };
  return r;
}

/** A later modification time, so the change is seen even on a file system with coarse times. */
function touchLater(file: string, seconds: number): void {
  const t = Date.now() / 1000 + seconds;
  utimesSync(file, t, t);
}

describe('settings', () => {
  it('reads any number of tables, with their defaults', () => {
    const cfg = parseEnrichConfig({ LOOKUP_ASSETS_FILE: '/x/assets.csv', LOOKUP_ASSETS_MATCH: 'cidr', LOOKUP_USER_TEAMS_FILE: '/x/u.jsonl', LOOKUP_USER_TEAMS_KEY: 'email', GEOIP_DB_FILE: '/g.mmdb', LOOKUP_RELOAD_INTERVAL: '2s' });
    expect(cfg.lookups).toEqual([
      { name: 'assets', file: '/x/assets.csv', format: 'csv', key: undefined, match: 'cidr' },
      { name: 'user_teams', file: '/x/u.jsonl', format: 'jsonl', key: 'email', match: 'exact' },
    ]);
    expect(cfg.reloadIntervalMs).toBe(2000);
    expect(cfg.geoipDbFile).toBe('/g.mmdb');
    expect(cfg.asnDbFile).toBeUndefined();
  });

  it('every problem names its variable', () => {
    expect(
      problemsOf(() =>
        parseEnrichConfig({ LOOKUP_A_FILE: '/a.csv', LOOKUP_A_MATCH: 'regex', LOOKUP_A_FORMAT: 'xml', LOOKUP_B_KEY: 'id', LOOKUP_C_FILE: '/c.jsonl', LOOKUP_X: '1', LOOKUP_RELOAD_INTERVAL: 'soon' }),
      ).sort(),
    ).toEqual([
      'LOOKUP_A_FORMAT: must be csv or jsonl, got "xml"',
      'LOOKUP_A_MATCH: must be exact, ignore-case or cidr, got "regex"',
      'LOOKUP_B_KEY: LOOKUP_B_FILE is not set, so there is no table b',
      'LOOKUP_C_KEY: JSON lines have no column order: name the key column',
      expect.stringMatching(/^LOOKUP_RELOAD_INTERVAL: must be a duration/),
      'LOOKUP_X: not a lookup table variable (LOOKUP_<NAME>_FILE, _FORMAT, _KEY, _MATCH)',
    ]);
  });

  it('the names of the MaxMind databases are not table names (they share the metrics\' source label)', () => {
    expect(problemsOf(() => parseEnrichConfig({ LOOKUP_GEOIP_FILE: '/g.csv', LOOKUP_ASN_FILE: '/a.csv' }))).toEqual([
      "LOOKUP_ASN_FILE: the name asn is the MaxMind database's (ASN_DB_FILE) in the enrichment metrics: name the table otherwise",
      "LOOKUP_GEOIP_FILE: the name geoip is the MaxMind database's (GEOIP_DB_FILE) in the enrichment metrics: name the table otherwise",
    ]);
  });

  it('a file that cannot be used stops the start, naming the variable and the line', () => {
    const d = tempDir();
    writeFileSync(join(d, 'bad.csv'), 'ip,owner\n10.0.0.0/8,a\nx,b\n');
    writeFileSync(join(d, 'notdb.mmdb'), 'not a database');
    const problems = problemsOf(
      () =>
        new Enrichment({
          lookups: [
            { name: 'bad', file: join(d, 'bad.csv'), format: 'csv', key: undefined, match: 'cidr' },
            { name: 'gone', file: join(d, 'gone.csv'), format: 'csv', key: undefined, match: 'exact' },
          ],
          reloadIntervalMs: 1000,
          geoipDbFile: join(d, 'notdb.mmdb'),
          asnDbFile: undefined,
        }),
    );
    expect(problems).toEqual([
      `LOOKUP_BAD_FILE: ${join(d, 'bad.csv')}: line 3: the key "x" is not an IP address or CIDR network`,
      `LOOKUP_GONE_FILE: cannot read "${join(d, 'gone.csv')}": ENOENT`,
      expect.stringMatching(/^GEOIP_DB_FILE: .*notdb\.mmdb: /),
    ]);
  });
});

describe('reloading', () => {
  it('a changed table is used from the next record; a bad version is refused and the old one stays; a later good one is used', () => {
    const d = tempDir();
    const file = join(d, 'owners.csv');
    writeFileSync(file, 'user,team\nalice,red\n');
    const e = new Enrichment({ lookups: [{ name: 'owners', file, format: 'csv', key: undefined, match: 'exact' }], reloadIntervalMs: 60_000, geoipDbFile: undefined, asnDbFile: undefined });
    const ev = recorder();
    e.start(ev);
    e.stop();
    expect(ev.sizes).toEqual({ owners: 1 });
    const q = compileQuery("* | extend team = lookup('owners', user, 'team')", { lookups: e });
    expect(q.apply({ user: 'alice' })).toEqual({ user: 'alice', team: 'red' });

    e.refresh(ev);
    expect(ev.reloads).toEqual([]); // unchanged: not read again

    writeFileSync(file, 'user,team\nalice,blue\nbob,green\n');
    touchLater(file, 5);
    e.refresh(ev);
    expect(ev.reloads).toEqual(['owners:ok']);
    expect(ev.sizes).toEqual({ owners: 2 });
    expect(q.apply({ user: 'alice' })).toEqual({ user: 'alice', team: 'blue' });
    expect(q.apply({ user: 'bob' })).toEqual({ user: 'bob', team: 'green' });

    // Malformed: refused, the log names the line, the previous version answers.
    writeFileSync(file, 'user,team\nalice,"unclosed\n');
    touchLater(file, 10);
    e.refresh(ev);
    expect(ev.reloads).toEqual(['owners:ok', 'owners:error']);
    expect(ev.logs.at(-1)).toMatch(/^error LOOKUP_OWNERS_FILE: the new version of .*owners\.csv is not used, the previous one stays: line 2: a quoted value is not closed$/);
    expect(q.apply({ user: 'bob' })).toEqual({ user: 'bob', team: 'green' });
    e.refresh(ev);
    expect(ev.reloads).toHaveLength(2); // the same bad version is reported once

    // Without the column the query reads: refused too.
    writeFileSync(file, 'user,colour\nalice,red\n');
    touchLater(file, 15);
    e.refresh(ev);
    expect(ev.logs.at(-1)).toMatch(/no column "team", which a query reads$/);
    expect(q.apply({ user: 'bob' })).toEqual({ user: 'bob', team: 'green' });

    // Deleted: refused, kept.
    rmSync(file);
    e.refresh(ev);
    expect(ev.logs.at(-1)).toMatch(/cannot read the file: ENOENT$/);
    expect(q.apply({ user: 'bob' })).toEqual({ user: 'bob', team: 'green' });

    writeFileSync(file, 'user,team\ncarol,black\n');
    touchLater(file, 20);
    e.refresh(ev);
    expect(ev.reloads.at(-1)).toBe('owners:ok');
    expect(q.apply({ user: 'carol' })).toEqual({ user: 'carol', team: 'black' });
    expect(q.apply({ user: 'bob' })).toEqual({ user: 'bob' });
  });

  it('a ConfigMap update (the ..data symlink swapped to a new directory) is seen, and the timer reloads on its own', async () => {
    // The layout the kubelet writes: name -> ..data/name, ..data -> ..<timestamp>/ (swapped atomically).
    const d = tempDir();
    mkdirSync(join(d, '..v1'));
    writeFileSync(join(d, '..v1', 'assets.csv'), 'net,owner\n10.0.0.0/8,it\n');
    symlinkSync('..v1', join(d, '..data'));
    symlinkSync('..data/assets.csv', join(d, 'assets.csv'));
    const e = new Enrichment({ lookups: [{ name: 'assets', file: join(d, 'assets.csv'), format: 'csv', key: undefined, match: 'cidr' }], reloadIntervalMs: 100, geoipDbFile: undefined, asnDbFile: undefined });
    const ev = recorder();
    e.start(ev);
    try {
      const q = compileQuery('* | lookup -prefix=\'a_\' assets on ip', { lookups: e });
      expect(q.apply({ ip: '10.1.1.1' })).toEqual({ ip: '10.1.1.1', a_owner: 'it' });
      mkdirSync(join(d, '..v2'));
      writeFileSync(join(d, '..v2', 'assets.csv'), 'net,owner,site\n10.0.0.0/8,it,\n10.1.0.0/16,payments,fra1\n');
      symlinkSync('..v2', join(d, '..data_tmp'));
      renameSync(join(d, '..data_tmp'), join(d, '..data'));
      const until = Date.now() + 5000;
      while (ev.reloads.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(ev.reloads).toEqual(['assets:ok']);
      // A column the new version brought is added too.
      expect(q.apply({ ip: '10.1.1.1' })).toEqual({ ip: '10.1.1.1', a_owner: 'payments', a_site: 'fra1' });
    } finally {
      e.stop();
    }
  });

  it('a new GeoIP database replaces the old one, and the cached answers of the old one go with it', () => {
    const d = tempDir();
    const db = join(d, 'city.mmdb');
    copyFileSync(join(FIXTURES, 'city.mmdb'), db);
    const e = new Enrichment({ lookups: [], reloadIntervalMs: 60_000, geoipDbFile: db, asnDbFile: join(FIXTURES, 'asn.mmdb') });
    const ev = recorder();
    const q = compileQuery("* | extend city = geoip(ip, 'city'), asn = geoip(ip, 'asn')", { geoip: e.geo });
    expect(q.apply({ ip: '81.2.69.142' })).toEqual({ ip: '81.2.69.142', city: 'London', asn: 64500 });
    copyFileSync(join(FIXTURES, 'city-v2.mmdb'), db);
    touchLater(db, 5);
    e.refresh(ev);
    expect(ev.reloads).toEqual(['geoip:ok']);
    expect(q.apply({ ip: '81.2.69.142' })).toEqual({ ip: '81.2.69.142', city: 'City of London', asn: 64500 });
    writeFileSync(db, 'truncated');
    touchLater(db, 10);
    e.refresh(ev);
    expect(ev.reloads).toEqual(['geoip:ok', 'geoip:error']);
    expect(ev.logs.at(-1)).toMatch(/^error GEOIP_DB_FILE: the new version of .*city\.mmdb is not used/);
    expect(q.apply({ ip: '81.2.69.142' })).toEqual({ ip: '81.2.69.142', city: 'City of London', asn: 64500 });
  });
});

describe('in queries', () => {
  const assets = (): Enrichment => new Enrichment({ lookups: [{ name: 'assets', file: join(FIXTURES, 'assets.csv'), format: 'csv', key: undefined, match: 'cidr' }], reloadIntervalMs: 60_000, geoipDbFile: undefined, asnDbFile: undefined });

  it('lookup instruction: prefix, default on a miss, no overwrite by a miss, input untouched', () => {
    const e = assets();
    const q = compileQuery("* | lookup -prefix='asset_' assets on src_ip", { lookups: e });
    const input = { src_ip: '10.1.2.3' };
    expect(q.apply(input)).toEqual({ src_ip: '10.1.2.3', asset_owner: 'payments-team', asset_site: 'fra1' });
    expect(input).toEqual({ src_ip: '10.1.2.3' });
    expect(q.apply({ src_ip: '10.9.9.9' })).toEqual({ src_ip: '10.9.9.9', asset_owner: 'it-ops' });
    const miss = { src_ip: '192.0.2.1', asset_owner: 'kept' };
    expect(q.apply(miss)).toBe(miss);
    expect(q.apply({})).toEqual({});
    const d = compileQuery("* | lookup -prefix='asset_' -default='unknown' assets on src_ip | where asset_owner != 'it-ops'", { lookups: e });
    expect(d.apply({ src_ip: '192.0.2.1' })).toEqual({ src_ip: '192.0.2.1', asset_owner: 'unknown', asset_site: 'unknown' });
    expect(d.apply({ src_ip: '10.9.9.9' })).toBeNull();
  });

  it('unknown tables, columns and databases are compile errors with line and column', () => {
    const e = assets();
    const err = (q: string, o: object): string => {
      try {
        compileQuery(q, o);
      } catch (x) {
        if (x instanceof QueryError) return x.message.split('\n')[0]!;
        throw x;
      }
      return 'compiled';
    };
    expect(err('* | lookup users on u', { lookups: e })).toBe("line 1, column 12: no lookup table 'users': set LOOKUP_USERS_FILE (tables: assets)");
    expect(err("* | extend o = lookup('asset', ip, 'owner')", { lookups: e })).toBe("line 1, column 23: lookup(): no lookup table 'asset': set LOOKUP_ASSET_FILE (tables: assets)");
    expect(err("* | extend o = lookup('assets', ip, 'owners')", { lookups: e })).toBe("line 1, column 37: lookup(): table 'assets' has no column 'owners' (columns: owner, site)");
    expect(err("* | extend o = lookup(t, ip)", { lookups: e })).toMatch(/^line 1, column 23: lookup\(\): the table must be named by a literal/);
    expect(err("* | extend c = geoip(ip)", {})).toBe('line 1, column 22: geoip(): no database: set GEOIP_DB_FILE (City or Country) and/or ASN_DB_FILE');
    const cityOnly = new Enrichment({ lookups: [], reloadIntervalMs: 60_000, geoipDbFile: join(FIXTURES, 'city.mmdb'), asnDbFile: undefined });
    expect(err("* | extend c = geoip(ip, 'asn')", { geoip: cityOnly.geo })).toBe("line 1, column 26: geoip(): 'asn' comes from an ASN database: set ASN_DB_FILE");
    expect(err("* | extend c = geoip(ip, 'region')", { geoip: cityOnly.geo })).toMatch(/^line 1, column 26: geoip\(\): no field 'region' \(fields: country_code, /);
  });
});
