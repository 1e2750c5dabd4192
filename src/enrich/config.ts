/**
 * Enrichment settings: lookup tables (LOOKUP_<NAME>_FILE and its companions, any number of tables)
 * and the MaxMind-format databases (GEOIP_DB_FILE, ASN_DB_FILE). A table's name in a query is <NAME>
 * in lower case: LOOKUP_ASSET_OWNERS_FILE is lookup('asset_owners', …).
 */
import { ConfigError } from '../core/errors.ts';
import { parseVars, v, type Env } from '../config/vars.ts';
import type { LookupFormat, LookupMatch, LookupSpec } from './lookup-table.ts';

export const enrichVars = {
  LOOKUP_RELOAD_INTERVAL: v.duration({ doc: 'How often the lookup tables and MaxMind databases are checked for a new version of their files (a changed ConfigMap or volume); a new version is used from the next record.', default: 10_000, min: 100 }),
  GEOIP_DB_FILE: v.optionalString({ doc: 'A MaxMind-format City or Country database (GeoIP2, GeoLite2, DB-IP) for geoip() and the geoip instruction.' }),
  ASN_DB_FILE: v.optionalString({ doc: 'A MaxMind-format ASN database (GeoLite2-ASN, DB-IP ASN) for the asn fields of geoip.' }),
};

/** The per-table variables, documented once for LOOKUP_<NAME>_*. */
export const LOOKUP_TABLE_VARS: Record<string, string> = {
  FILE: 'The table: a CSV file with a header line (.csv) or JSON lines (.jsonl, .ndjson). Defines the table <name> (lower case) for lookup() and the lookup instruction.',
  FORMAT: 'csv or jsonl; default from the file name (.jsonl and .ndjson are jsonl, anything else csv).',
  KEY: 'The key column; default the first CSV column (JSON lines must set it).',
  MATCH: 'exact (default), ignore-case, or cidr: the key column holds IP addresses and CIDR networks, and the longest network holding the address matches.',
};

export interface EnrichConfig {
  lookups: LookupSpec[];
  reloadIntervalMs: number;
  geoipDbFile: string | undefined;
  asnDbFile: string | undefined;
}

const TABLE_VAR = /^LOOKUP_([A-Z0-9_]+)_(FILE|FORMAT|KEY|MATCH)$/;

/** Whether a variable is one of the lookup tables' (the unknown-variable check leaves those to this file). */
export const isLookupVariable = (name: string): boolean => name.startsWith('LOOKUP_') && name !== 'LOOKUP_RELOAD_INTERVAL';

export function parseEnrichConfig(env: Env): EnrichConfig {
  const problems: string[] = [];
  let shared: ReturnType<typeof parseVars<typeof enrichVars>> | undefined;
  try {
    shared = parseVars(enrichVars, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const byName = new Map<string, Record<string, string>>();
  for (const [name, value] of Object.entries(env)) {
    if (!isLookupVariable(name) || value === undefined) continue;
    const m = TABLE_VAR.exec(name);
    if (!m) {
      problems.push(`${name}: not a lookup table variable (LOOKUP_<NAME>_FILE, _FORMAT, _KEY, _MATCH)`);
      continue;
    }
    const [, table, what] = m as unknown as [string, string, string];
    if (!byName.has(table)) byName.set(table, {});
    byName.get(table)![what] = value.trim();
  }
  const lookups: LookupSpec[] = [];
  for (const [table, vars] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    const p = `LOOKUP_${table}_`;
    if (table === 'GEOIP' || table === 'ASN') {
      problems.push(`${p}FILE: the name ${table.toLowerCase()} is the MaxMind database's (${table === 'GEOIP' ? 'GEOIP_DB_FILE' : 'ASN_DB_FILE'}) in the enrichment metrics: name the table otherwise`);
      continue;
    }
    const file = vars['FILE'];
    if (file === undefined || file === '') {
      for (const what of Object.keys(vars)) problems.push(`${p}${what}: ${p}FILE is not set, so there is no table ${table.toLowerCase()}`);
      continue;
    }
    const formatText = vars['FORMAT'] ?? (/\.(jsonl|ndjson)$/i.test(file) ? 'jsonl' : 'csv');
    if (formatText !== 'csv' && formatText !== 'jsonl') problems.push(`${p}FORMAT: must be csv or jsonl, got ${JSON.stringify(formatText)}`);
    const match = vars['MATCH'] ?? 'exact';
    if (!['exact', 'ignore-case', 'cidr'].includes(match)) problems.push(`${p}MATCH: must be exact, ignore-case or cidr, got ${JSON.stringify(match)}`);
    const key = vars['KEY'] === '' ? undefined : vars['KEY'];
    if (formatText === 'jsonl' && key === undefined) problems.push(`${p}KEY: JSON lines have no column order: name the key column`);
    lookups.push({ name: table.toLowerCase(), file, format: formatText as LookupFormat, key, match: match as LookupMatch });
  }
  if (problems.length > 0 || !shared) throw new ConfigError(problems);
  return { lookups, reloadIntervalMs: shared.LOOKUP_RELOAD_INTERVAL, geoipDbFile: shared.GEOIP_DB_FILE, asnDbFile: shared.ASN_DB_FILE };
}
