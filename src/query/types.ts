/** Public types of the query module (re-exported by index.ts). */
import type { GeoIp } from './geoip.ts';
import type { Lookups } from './lookups.ts';
import type { QueryStats } from './stats.ts';

/** Kafka metadata of the record being processed, readable as __topic__, __partition__, ... */
export interface QueryMeta {
  topic: string;
  partition: number;
  offset: string;
  timestamp: number;
  key: string | null;
  headers: Record<string, string>;
  /** The registry schema of a schema-registry format (__schema_id__, __schema_subject__, __schema_version__). */
  schema?: { id: number; subject?: string; version?: number } | undefined;
}

export interface CompiledQuery {
  readonly text: string;
  /** True for `*` alone (lets the pipeline skip work). */
  readonly isPassThrough: boolean;
  /** When the query only filters (`*`, or nothing but `where`), the top-level fields its conditions
   *  read ([] for `*`): apply() needs no other field, and returns its input or null. Else undefined. */
  readonly filterFields: readonly string[] | undefined;
  /**
   * Returns the output record or null when dropped by `where`. Never mutates
   * `record` (nor objects nested in it): the result is `record` itself when
   * nothing changed, else a new object. Throws QueryRuntimeError for a
   * runtime error that must dead-letter the record.
   */
  apply(record: Record<string, unknown>, meta?: QueryMeta): Record<string, unknown> | null;
  /** Records dropped by reason and fields trimmed, since the caller last took them. */
  readonly stats: QueryStats;
}

export interface CompileOptions {
  /** Clock for now(), in ms since the epoch (tests pin it). Default Date.now. */
  now?: () => number;
  /** Lookup tables for lookup() and the lookup instruction (src/enrich/). */
  lookups?: Lookups | undefined;
  /** MaxMind-format databases for geoip() (src/enrich/). */
  geoip?: GeoIp | undefined;
  /** The query serves readers at different positions (the pull webhook): suppress is refused. */
  stateless?: boolean;
}
