/**
 * What the query language needs of lookup tables (the tables themselves, their files and their
 * reloading live in src/enrich/). A query binds a table by name when it compiles; every record reads
 * the table's current contents, which a reload replaces between two records, never during one.
 */

/** One version of a table's contents. */
export interface LookupContents {
  /** The columns a row can have, the key column excluded. */
  readonly columns: readonly string[];
  /** The row for a key (its columns without the key), or undefined. */
  match(key: string): Readonly<Record<string, unknown>> | undefined;
}

export interface LookupTable {
  readonly name: string;
  /** The variable that names its file, for messages (LOOKUP_ASSETS_FILE). */
  readonly variable: string;
  current(): LookupContents;
  /** A query reads this column: a new version of the file without it is refused (the old one stays). */
  require(column: string): void;
}

export interface Lookups {
  table(name: string): LookupTable | undefined;
  /** The configured table names, for messages. */
  names(): string[];
}

/** A value as a lookup key: text as it is, a number or boolean as its text, anything else no key. */
export function lookupKey(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}
