/**
 * The instance's enrichment data: lookup tables and MaxMind databases, read at start (a bad file stops
 * the start, naming its variable) and read again when a file changes (Kubernetes replaces a mounted
 * ConfigMap or Secret by swapping a symlink; a stat of the path sees a new inode or modification time).
 * A new version replaces the old between two records, never during one: queries read current() once
 * per use, and JavaScript runs one record to its end. A new version that cannot be read, does not
 * parse or lacks a column a query uses is reported (log line, logstream_enrichment_reloads_total
 * {result="error"}) and the old one stays.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { Reader, type AsnResponse, type CityResponse } from 'maxmind';
import { ConfigError, oneLine } from '../core/errors.ts';
import type { GeoIp, GeoIpResult } from '../query/geoip.ts';
import type { LookupContents, LookupTable, Lookups } from '../query/lookups.ts';
import type { EnrichConfig } from './config.ts';
import { LookupFileError, parseLookupTable, type LookupSpec, type ParsedTable } from './lookup-table.ts';
import { toGeoIpResult } from './geoip-result.ts';

export interface EnrichmentEvents {
  /** A file was read (again): ok, or error (the old version stays); `count` 0 declares the series. */
  reload(source: string, result: 'ok' | 'error', count?: number): void;
  /** Rows of a table (or 1 for a database) after a load. */
  size(source: string, rows: number): void;
  log(level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void;
}

const fingerprint = (s: Stats): string => `${s.ino}:${s.size}:${s.mtimeMs}`;

/** One file and the version of it in use. */
class Source<T> {
  readonly name: string;
  readonly variable: string;
  readonly file: string;
  readonly #load: (bytes: Buffer) => T;
  readonly #check: (next: T) => void;
  #current: T;
  #seen: string;

  constructor(name: string, variable: string, file: string, load: (bytes: Buffer) => T, check: (next: T) => void) {
    this.name = name;
    this.variable = variable;
    this.file = file;
    this.#load = load;
    this.#check = check;
    let stat: Stats;
    let bytes: Buffer;
    try {
      stat = statSync(file);
      bytes = readFileSync(file);
    } catch (err) {
      throw new ConfigError([`${variable}: cannot read ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
    try {
      this.#current = load(bytes);
    } catch (err) {
      throw new ConfigError([`${variable}: ${file}: ${oneLine((err as Error).message)}`]);
    }
    this.#seen = fingerprint(stat);
  }

  current(): T {
    return this.#current;
  }

  /** Reads the file again if it changed: 'unchanged', 'ok', or the error (the old version stays). */
  refresh(): 'unchanged' | 'ok' | Error {
    let stat: Stats;
    try {
      stat = statSync(this.file);
    } catch (err) {
      return new Error(`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const f = fingerprint(stat);
    if (f === this.#seen) return 'unchanged';
    try {
      const next = this.#load(readFileSync(this.file));
      this.#check(next);
      this.#current = next;
      this.#seen = f;
      return 'ok';
    } catch (err) {
      // Remembered, so one bad version is reported once (a later change is tried again).
      this.#seen = f;
      return err as Error;
    }
  }
}

class Table implements LookupTable {
  readonly name: string;
  readonly variable: string;
  readonly source: Source<ParsedTable>;
  readonly #required = new Set<string>();

  constructor(spec: LookupSpec) {
    this.name = spec.name;
    this.variable = `LOOKUP_${spec.name.toUpperCase()}_FILE`;
    this.source = new Source(spec.name, this.variable, spec.file, (bytes) => parseLookupTable(bytes.toString('utf8'), spec), (next) => {
      const missing = [...this.#required].filter((c) => !next.columns.includes(c));
      if (missing.length) throw new LookupFileError(`no column ${missing.map((c) => JSON.stringify(c)).join(', ')}, which a query reads`);
    });
  }

  current(): LookupContents {
    return this.source.current();
  }

  require(column: string): void {
    this.#required.add(column);
  }
}

/** Results cached per address (a few addresses make most of the traffic); bounded, oldest out first. */
const GEOIP_CACHE_SIZE = 10_000;

class GeoDatabases implements GeoIp {
  readonly city: Source<Reader<CityResponse>> | undefined;
  readonly asn: Source<Reader<AsnResponse>> | undefined;
  #cache = new Map<string, GeoIpResult | null>();
  #cityVersion: Reader<CityResponse> | undefined;
  #asnVersion: Reader<AsnResponse> | undefined;

  constructor(cfg: EnrichConfig) {
    const open = <T extends CityResponse | AsnResponse>(bytes: Buffer): Reader<T> => new Reader<T>(bytes);
    this.city = cfg.geoipDbFile === undefined ? undefined : new Source('geoip', 'GEOIP_DB_FILE', cfg.geoipDbFile, open<CityResponse>, () => undefined);
    this.asn = cfg.asnDbFile === undefined ? undefined : new Source('asn', 'ASN_DB_FILE', cfg.asnDbFile, open<AsnResponse>, () => undefined);
  }

  get hasCity(): boolean {
    return this.city !== undefined;
  }

  get hasAsn(): boolean {
    return this.asn !== undefined;
  }

  lookup(text: string): GeoIpResult | null {
    // An IPv4-mapped IPv6 address is its IPv4 address (the databases keep IPv4 under ::/96, not ::ffff:0:0/96).
    const ip = text.length > 7 && (text.startsWith('::ffff:') || text.startsWith('::FFFF:')) && text.includes('.') ? text.slice(7) : text;
    const city = this.city?.current();
    const asn = this.asn?.current();
    // A reload empties the cache: results of the old version must not outlive it.
    if (city !== this.#cityVersion || asn !== this.#asnVersion) {
      this.#cache = new Map();
      this.#cityVersion = city;
      this.#asnVersion = asn;
    }
    const cache = this.#cache;
    const hit = cache.get(ip);
    if (hit !== undefined || cache.has(ip)) {
      // Most recently used last: delete and set again.
      cache.delete(ip);
      cache.set(ip, hit!);
      return hit!;
    }
    let c: CityResponse | null = null;
    let a: AsnResponse | null = null;
    try {
      c = city ? city.get(ip) : null;
      a = asn ? asn.get(ip) : null;
    } catch {
      // Not an IP address: no result (the reader throws).
    }
    const result = toGeoIpResult(c, a);
    if (cache.size >= GEOIP_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    cache.set(ip, result);
    return result;
  }
}

export class Enrichment implements Lookups {
  readonly #tables = new Map<string, Table>();
  readonly geo: GeoDatabases;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;

  /** Reads every file; a ConfigError names each variable whose file cannot be used. */
  constructor(cfg: EnrichConfig) {
    const problems: string[] = [];
    const attempt = (f: () => void): void => {
      try {
        f();
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems.push(...err.problems);
      }
    };
    for (const spec of cfg.lookups) attempt(() => void this.#tables.set(spec.name, new Table(spec)));
    let geo: GeoDatabases | undefined;
    attempt(() => void (geo = new GeoDatabases(cfg)));
    if (problems.length > 0 || !geo) throw new ConfigError(problems);
    this.geo = geo;
    this.#intervalMs = cfg.reloadIntervalMs;
  }

  table(name: string): LookupTable | undefined {
    return this.#tables.get(name.toLowerCase());
  }

  names(): string[] {
    return [...this.#tables.keys()];
  }

  get empty(): boolean {
    return this.#tables.size === 0 && !this.geo.hasCity && !this.geo.hasAsn;
  }

  #sources(): Array<Source<unknown>> {
    const all: Array<Source<unknown>> = [...this.#tables.values()].map((t) => t.source as Source<unknown>);
    if (this.geo.city) all.push(this.geo.city as Source<unknown>);
    if (this.geo.asn) all.push(this.geo.asn as Source<unknown>);
    return all;
  }

  /** Reports the sizes loaded at start and checks the files every LOOKUP_RELOAD_INTERVAL. */
  start(events: EnrichmentEvents): void {
    // The reload counters exist from the start, so an alert on their increase sees the first error.
    for (const s of this.#sources()) {
      events.reload(s.name, 'ok', 0);
      events.reload(s.name, 'error', 0);
    }
    for (const t of this.#tables.values()) {
      const c = t.source.current();
      events.size(t.name, c.rows);
      events.log('info', { table: t.name, rows: c.rows, duplicates: c.duplicates }, `lookup table ${t.name}: ${c.rows} rows from ${t.source.file}${c.duplicates ? ` (${c.duplicates} repeated keys: the first row of each is used)` : ''}`);
    }
    if (this.geo.city) events.size(this.geo.city.name, 1);
    if (this.geo.asn) events.size(this.geo.asn.name, 1);
    if (this.empty) return;
    this.#timer = setInterval(() => this.refresh(events), this.#intervalMs);
    this.#timer.unref();
  }

  /** Checks every file once (the timer calls this; tests call it directly). */
  refresh(events: EnrichmentEvents): void {
    for (const s of this.#sources()) {
      const r = s.refresh();
      if (r === 'unchanged') continue;
      if (r === 'ok') {
        events.reload(s.name, 'ok');
        const c = s.current() as Partial<ParsedTable>;
        const rows = typeof c.rows === 'number' ? c.rows : 1;
        events.size(s.name, rows);
        events.log('info', { source: s.name, file: s.file, rows }, `${s.variable}: a new version of ${s.file} is in use${typeof c.rows === 'number' ? ` (${c.rows} rows)` : ''}`);
      } else {
        events.reload(s.name, 'error');
        events.log('error', { source: s.name, file: s.file }, `${s.variable}: the new version of ${s.file} is not used, the previous one stays: ${oneLine(r.message)}`);
      }
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
