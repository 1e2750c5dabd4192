/**
 * Enrichment: lookup tables (LOOKUP_<NAME>_FILE) and the MaxMind-format databases (GEOIP_DB_FILE,
 * ASN_DB_FILE). The table and the field are named by literals, checked when the query compiles; the
 * contents are the files' current version (they are read again when they change).
 */
import { isIP } from 'node:net';
import { GEOIP_FIELDS, type GeoIpResult } from '../geoip.ts';
import { lookupKey } from '../lookups.ts';
import { def, type ArgFail, type FunctionDef, type FunctionEnv } from './registry.ts';

function boundTable(literals: unknown[], env: FunctionEnv, fail: ArgFail) {
  const name = literals[0];
  if (typeof name !== 'string') return fail(0, 'the table must be named by a literal, e.g. lookup(\'assets\', src_ip)');
  const table = env.lookups?.table(name);
  if (!table) {
    const known = env.lookups?.names() ?? [];
    return fail(0, `no lookup table '${name}': set LOOKUP_${name.toUpperCase()}_FILE${known.length ? ` (tables: ${known.join(', ')})` : ''}`);
  }
  return table;
}

export const enrichFunctions: FunctionDef[] = [
  def({
    name: 'is_ip',
    family: 'enrich',
    signature: 'is_ip(s) → boolean',
    summary: 'True when the text is an IPv4 address (dotted quad) or an IPv6 address (any RFC 4291 form, a zone allowed); false for anything else, such as a host name or an address out of range.',
    params: ['string'],
    returns: 'boolean',
    impl: (s: string) => isIP(s) !== 0,
    examples: [
      { expr: "is_ip('10.1.2.3')", result: true },
      { expr: "is_ip('2001:db8::1')", result: true },
      { expr: "is_ip('456.456.456.456')", result: false },
      { expr: 'is_ip(src)', input: {}, result: null },
    ],
  }),
  def({
    name: 'lookup',
    family: 'enrich',
    signature: 'lookup(table, key[, column]) → varchar | json',
    summary:
      "The row of a lookup table whose key matches (exactly, ignoring case, or the longest CIDR network holding an IP address: LOOKUP_<NAME>_MATCH): one column's value, or with no column the whole row as an object; null when nothing matches (coalesce() gives a default). The table and column are literals, checked at start.",
    params: ['string', 'any', 'string'],
    minArgs: 2,
    returns: (args) => (args.length === 3 ? 'any' : 'json'),
    impl: () => null,
    prepare: (literals, env, fail) => {
      const table = boundTable(literals, env, fail);
      if (literals.length === 3) {
        const column = literals[2];
        if (typeof column !== 'string') return fail(2, 'the column must be a literal');
        const columns = table.current().columns;
        if (!columns.includes(column)) return fail(2, `table '${table.name}' has no column '${column}' (columns: ${columns.join(', ')})`);
        table.require(column);
        return (_t: unknown, key: unknown) => {
          const k = lookupKey(key);
          if (k === undefined) return null;
          const v = table.current().match(k)?.[column];
          return v === undefined ? null : v;
        };
      }
      return (_t: unknown, key: unknown) => {
        const k = lookupKey(key);
        return k === undefined ? null : (table.current().match(k) ?? null);
      };
    },
    examples: [
      { expr: "lookup('assets', '10.1.2.3', 'owner')", result: 'payments-team' },
      { expr: "lookup('assets', src_ip, 'owner')", input: { src_ip: '10.200.0.9' }, result: 'it-ops' },
      { expr: "coalesce(lookup('assets', src_ip, 'owner'), 'unknown')", input: { src_ip: '192.0.2.1' }, result: 'unknown' },
      { expr: "lookup('assets', '10.1.2.3')", result: { owner: 'payments-team', site: 'fra1' } },
    ],
  }),
  def({
    name: 'geoip',
    family: 'enrich',
    signature: 'geoip(ip[, field]) → json | varchar | bigint | double',
    summary:
      'Where an IPv4 or IPv6 address is, from GEOIP_DB_FILE and ASN_DB_FILE (MaxMind format): with no field an object of country_code, country, continent_code, subdivision, city, postal_code, latitude, longitude, accuracy_radius_km, time_zone, asn and as_org (those the databases know), else that one field; null for an address neither knows or text that is no address. Results are cached per address.',
    params: ['string', 'string'],
    minArgs: 1,
    returns: (args) => (args.length === 2 ? 'any' : 'json'),
    impl: () => null,
    prepare: (literals, env, fail) => {
      const geo = env.geoip;
      if (!geo || (!geo.hasCity && !geo.hasAsn)) return fail(0, 'no database: set GEOIP_DB_FILE (City or Country) and/or ASN_DB_FILE');
      if (literals.length === 2) {
        const field = literals[1];
        if (typeof field !== 'string') return fail(1, 'the field must be a literal');
        if (!Object.hasOwn(GEOIP_FIELDS, field)) return fail(1, `no field '${field}' (fields: ${Object.keys(GEOIP_FIELDS).join(', ')})`);
        const needs = GEOIP_FIELDS[field as keyof GeoIpResult];
        if (needs === 'asn' && !geo.hasAsn) return fail(1, `'${field}' comes from an ASN database: set ASN_DB_FILE`);
        if (needs === 'city' && !geo.hasCity) return fail(1, `'${field}' comes from a City or Country database: set GEOIP_DB_FILE`);
        const f = field as keyof GeoIpResult;
        return (ip: string) => geo.lookup(ip)?.[f] ?? null;
      }
      return (ip: string) => geo.lookup(ip);
    },
    examples: [
      { expr: "geoip('81.2.69.142', 'country_code')", result: 'GB' },
      { expr: "geoip(src_ip, 'asn')", input: { src_ip: '81.2.69.142' }, result: 64500 },
      { expr: "geoip('2001:db8::1')", result: { country_code: 'DE', country: 'Germany', continent_code: 'EU', city: 'Frankfurt am Main', latitude: 50.1109, longitude: 8.6821, accuracy_radius_km: 0, time_zone: 'Europe/Berlin' } },
      { expr: "geoip('::ffff:81.2.69.142', 'city')", result: 'London' },
      { expr: "geoip('192.0.2.1')", result: null },
      { expr: "geoip('not an address')", result: null },
    ],
  }),
];
