/** Public types of the query module (re-exported by index.ts). */
import type { GeoIp } from './geoip.ts';
import type { Lookups } from './lookups.ts';
import type { Rec } from './fields.ts';
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
  /** The summaries of `suppress -summary`; undefined for a query without one. */
  readonly summaries: Summaries | undefined;
}

/**
 * The windows of a `suppress -summary`. A summary is a record with no offset of its own that stands for
 * repeats the query dropped: whoever runs the query holds back the commit of the first of them (hold())
 * until the summary is delivered (summary() gives the hold back), so a crash repeats a summary rather
 * than losing it. Summaries come out of apply() (a window closed by a later record's time), tick()
 * (the clock: a quiet partition) and flush() (before a rebalance, or when held commits fill the
 * in-flight limit).
 */
export interface Summaries {
  /** Where holds and summaries go (the route's pipeline sets itself; the query CLI prints them). */
  target: SummaryTarget | undefined;
  /** Emits the summary of every window whose repeats have been held for a window's length of the clock
   *  (their partition went quiet, or is read far behind); the windows keep suppressing. */
  tick(): void;
  /** Emits the summary of every window with repeats now; the windows keep suppressing. */
  flush(): void;
  /** Windows with repeats not yet summarised (each holding a commit). */
  readonly held: number;
}

export interface SummaryTarget {
  /** Called inside apply() for the record being applied: it is the first repeat of a window that will
   *  be summarised. Returns the hold its summary gives back. */
  hold(meta: QueryMeta | undefined): unknown;
  /** A window's summary after the instructions that follow suppress: the record, null when one of them
   *  dropped it, or the QueryRuntimeError one of them threw (`input` is what they were given). */
  summary(out: Rec | null | Error, input: Rec, meta: QueryMeta | undefined, hold: unknown): void;
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
