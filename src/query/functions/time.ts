/**
 * Time functions. Timestamps are UTC instants (JS Date at runtime); written
 * into a record they become ISO 8601 text. Formats are MySQL-style (see
 * time-format.ts), the dialect SLS and Presto use for date_parse/date_format.
 */
import { QueryRuntimeError } from '../errors.ts';
import { compileTimeFormat, TimeFormatError, type CompiledTimeFormat } from '../time-format.ts';
import { parseTimestampText, type Value } from '../values.ts';
import { def, type ArgFail, type FunctionDef } from './registry.ts';

const formatCache = new Map<string, CompiledTimeFormat>();

function runtimeFormat(fmt: string): CompiledTimeFormat {
  let f = formatCache.get(fmt);
  if (!f) {
    try {
      f = compileTimeFormat(fmt);
    } catch (e) {
      if (e instanceof TimeFormatError) throw new QueryRuntimeError(`bad date format '${fmt}': ${e.message}`);
      throw e;
    }
    if (formatCache.size > 256) formatCache.clear();
    formatCache.set(fmt, f);
  }
  return f;
}

function literalFormat(lit: Value | undefined, index: number, fail: ArgFail): CompiledTimeFormat | undefined {
  if (typeof lit !== 'string') return undefined;
  try {
    return compileTimeFormat(lit);
  } catch (e) {
    if (e instanceof TimeFormatError) return fail(index, e.message, e.offset);
    throw e;
  }
}

function parseWith(f: CompiledTimeFormat, s: string, fmt: string): Date {
  const d = f.parse(s);
  if (!d) throw new QueryRuntimeError(`date_parse: '${s.length > 40 ? `${s.slice(0, 40)}…` : s}' does not match format '${fmt}'`);
  return d;
}

function fromSeconds(sec: number): Date {
  const d = new Date(sec * 1000);
  if (Number.isNaN(d.getTime())) throw new QueryRuntimeError(`from_unixtime: ${sec} is out of range`);
  return d;
}

const TRUNC_UNITS = ['second', 'minute', 'hour', 'day', 'month', 'year'];

function truncate(unit: string, d: Date): Date {
  const u = unit.toLowerCase();
  const parts = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
  const keep = { year: 1, month: 2, day: 3, hour: 4, minute: 5, second: 6 }[u];
  if (keep === undefined) throw new QueryRuntimeError(`date_trunc: unit must be one of ${TRUNC_UNITS.join(', ')}`);
  const [y = 1970, mo = 0, day = 1, h = 0, mi = 0, s = 0] = parts.map((v, i) => (i < keep ? v : i === 2 ? 1 : 0));
  return new Date(Date.UTC(y, mo, day, h, mi, s));
}

export const timeFunctions: FunctionDef[] = [
  def({
    name: 'now',
    family: 'time',
    signature: 'now() → timestamp',
    summary: 'The current time, read once per evaluation (per record), not once per query.',
    params: [],
    returns: 'timestamp',
    prepare: (_lits, env) => () => new Date(env.now()),
    impl: () => new Date(),
    examples: [{ expr: 'now()', result: '2024-05-01T12:00:00.000Z' }],
  }),
  def({
    name: 'to_unixtime',
    family: 'time',
    signature: 'to_unixtime(ts) → double',
    summary: 'Seconds since the epoch (with a fraction). Accepts a timestamp or ISO 8601 text.',
    params: ['timestamp'],
    returns: 'number',
    impl: (d: Date) => d.getTime() / 1000,
    examples: [
      { expr: "to_unixtime(date_parse('2023-11-11 01:23:45', '%Y-%m-%d %H:%i:%S'))", result: 1699665825 },
      { expr: "to_unixtime('2024-01-01T00:00:00.5Z')", result: 1704067200.5 },
    ],
  }),
  def({
    name: 'from_unixtime',
    family: 'time',
    signature: 'from_unixtime(seconds) → timestamp',
    summary: 'Timestamp from seconds since the epoch (use `__timestamp__ / 1000` for the Kafka timestamp).',
    params: ['number'],
    returns: 'timestamp',
    impl: fromSeconds,
    examples: [
      { expr: 'from_unixtime(1700000000)', result: '2023-11-14T22:13:20.000Z' },
      { expr: 'from_unixtime(ts / 1000)', input: { ts: 1700000000123 }, result: '2023-11-14T22:13:20.123Z' },
    ],
  }),
  def({
    name: 'date_parse',
    family: 'time',
    signature: 'date_parse(s, format) → timestamp',
    summary: 'Parses text with a MySQL-style format (`%Y-%m-%d %H:%i:%S`), as UTC. The whole string must match; otherwise a runtime error (wrap in try() to get null).',
    params: ['string', 'string'],
    returns: 'timestamp',
    prepare: (lits, _env, fail) => {
      const f = literalFormat(lits[1], 1, fail);
      const fmt = lits[1] as string;
      return f ? (s: string) => parseWith(f, s, fmt) : undefined;
    },
    impl: (s: string, fmt: string) => parseWith(runtimeFormat(fmt), s, fmt),
    examples: [
      { expr: "date_parse('2023-11-11 01:23:45', '%Y-%m-%d %H:%i:%S')", result: '2023-11-11T01:23:45.000Z' },
      { expr: "date_parse('10/Jun/2019:11:32:16', '%d/%b/%Y:%H:%i:%s')", result: '2019-06-10T11:32:16.000Z' },
      { expr: "try(date_parse('garbage', '%Y'))", result: null },
    ],
  }),
  def({
    name: 'date_format',
    family: 'time',
    signature: 'date_format(ts, format) → varchar',
    summary: 'Formats a timestamp (or ISO 8601 text) with a MySQL-style format, in UTC.',
    params: ['timestamp', 'string'],
    returns: 'string',
    prepare: (lits, _env, fail) => {
      const f = literalFormat(lits[1], 1, fail);
      return f ? (d: Date) => f.format(d) : undefined;
    },
    impl: (d: Date, fmt: string) => runtimeFormat(fmt).format(d),
    examples: [
      { expr: "date_format(from_unixtime(1700000000), '%Y-%m-%d %H:%i')", result: '2023-11-14 22:13' },
      { expr: "date_format('2024-02-03T04:05:06Z', '%d/%b/%Y %r')", result: '03/Feb/2024 04:05:06 AM' },
    ],
  }),
  def({
    name: 'date_trunc',
    family: 'time',
    signature: 'date_trunc(unit, ts) → timestamp',
    summary: `Truncates to the start of the unit (${TRUNC_UNITS.join(', ')}).`,
    params: ['string', 'timestamp'],
    returns: 'timestamp',
    prepare: (lits, _env, fail) => {
      if (typeof lits[0] === 'string' && !TRUNC_UNITS.includes(lits[0].toLowerCase())) {
        fail(0, `unit must be one of ${TRUNC_UNITS.join(', ')}`);
      }
      return undefined;
    },
    impl: truncate,
    examples: [{ expr: "date_trunc('hour', '2024-05-01T10:42:13Z')", result: '2024-05-01T10:00:00.000Z' }],
  }),
  def({
    name: 'to_iso8601',
    family: 'time',
    signature: 'to_iso8601(ts) → varchar',
    summary: 'ISO 8601 text of a timestamp (`2024-05-01T10:00:00.000Z`).',
    params: ['timestamp'],
    returns: 'string',
    impl: (d: Date) => d.toISOString(),
    examples: [{ expr: 'to_iso8601(from_unixtime(0))', result: '1970-01-01T00:00:00.000Z' }],
  }),
  def({
    name: 'from_iso8601_timestamp',
    family: 'time',
    signature: 'from_iso8601_timestamp(s) → timestamp',
    summary: 'Parses ISO 8601 text (a missing zone means UTC); anything else is a runtime error.',
    params: ['string'],
    returns: 'timestamp',
    impl: (s: string) => {
      const d = parseTimestampText(s);
      if (!d) throw new QueryRuntimeError(`from_iso8601_timestamp: '${s}' is not an ISO 8601 timestamp`);
      return d;
    },
    examples: [{ expr: "from_iso8601_timestamp('2024-05-01T12:00:00+02:00')", result: '2024-05-01T10:00:00.000Z' }],
  }),
];
