/**
 * MySQL-style date format specifiers, as used by Presto/SLS date_parse and
 * date_format (`%Y-%m-%d %H:%i:%S`). All times are UTC. A format is compiled
 * once (at query compile time when it is a literal).
 */
export class TimeFormatError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const p2 = (n: number): string => String(n).padStart(2, '0');

interface Parts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  pm: boolean | null;
  hour12: boolean;
  dayOfYear: number | null;
}

interface Spec {
  format: (d: Date) => string;
  /** Regex source for parsing, and how to store the captured text. */
  parse: [string, (p: Parts, s: string) => void] | null;
}

const hour12 = (d: Date): number => d.getUTCHours() % 12 || 12;
const monthIndex = (names: string[], s: string): number => names.findIndex((n) => n.slice(0, s.length).toLowerCase() === s.toLowerCase()) + 1;

const SPECS: Record<string, Spec> = {
  Y: { format: (d) => String(d.getUTCFullYear()).padStart(4, '0'), parse: ['\\d{4}', (p, s) => (p.year = Number(s))] },
  y: { format: (d) => p2(d.getUTCFullYear() % 100), parse: ['\\d{2}', (p, s) => (p.year = Number(s) < 70 ? 2000 + Number(s) : 1900 + Number(s))] },
  m: { format: (d) => p2(d.getUTCMonth() + 1), parse: ['\\d{1,2}', (p, s) => (p.month = Number(s))] },
  c: { format: (d) => String(d.getUTCMonth() + 1), parse: ['\\d{1,2}', (p, s) => (p.month = Number(s))] },
  d: { format: (d) => p2(d.getUTCDate()), parse: ['\\d{1,2}', (p, s) => (p.day = Number(s))] },
  e: { format: (d) => String(d.getUTCDate()), parse: ['\\d{1,2}', (p, s) => (p.day = Number(s))] },
  H: { format: (d) => p2(d.getUTCHours()), parse: ['\\d{1,2}', (p, s) => (p.hour = Number(s))] },
  k: { format: (d) => String(d.getUTCHours()), parse: ['\\d{1,2}', (p, s) => (p.hour = Number(s))] },
  h: { format: (d) => p2(hour12(d)), parse: ['\\d{1,2}', (p, s) => ((p.hour = Number(s)), (p.hour12 = true))] },
  I: { format: (d) => p2(hour12(d)), parse: ['\\d{1,2}', (p, s) => ((p.hour = Number(s)), (p.hour12 = true))] },
  l: { format: (d) => String(hour12(d)), parse: ['\\d{1,2}', (p, s) => ((p.hour = Number(s)), (p.hour12 = true))] },
  i: { format: (d) => p2(d.getUTCMinutes()), parse: ['\\d{2}', (p, s) => (p.minute = Number(s))] },
  S: { format: (d) => p2(d.getUTCSeconds()), parse: ['\\d{2}', (p, s) => (p.second = Number(s))] },
  s: { format: (d) => p2(d.getUTCSeconds()), parse: ['\\d{2}', (p, s) => (p.second = Number(s))] },
  f: {
    format: (d) => String(d.getUTCMilliseconds() * 1000).padStart(6, '0'),
    parse: ['\\d{1,9}', (p, s) => (p.ms = Number(s.slice(0, 3).padEnd(3, '0')))],
  },
  p: { format: (d) => (d.getUTCHours() < 12 ? 'AM' : 'PM'), parse: ['[AaPp][Mm]', (p, s) => (p.pm = s.toUpperCase() === 'PM')] },
  b: { format: (d) => (MONTHS[d.getUTCMonth()] as string).slice(0, 3), parse: ['[A-Za-z]{3}', (p, s) => (p.month = monthIndex(MONTHS, s))] },
  M: { format: (d) => MONTHS[d.getUTCMonth()] as string, parse: ['[A-Za-z]+', (p, s) => (p.month = MONTHS.findIndex((n) => n.toLowerCase() === s.toLowerCase()) + 1)] },
  a: { format: (d) => (DAYS[d.getUTCDay()] as string).slice(0, 3), parse: ['[A-Za-z]{3}', () => undefined] },
  W: { format: (d) => DAYS[d.getUTCDay()] as string, parse: ['[A-Za-z]+', () => undefined] },
  j: {
    format: (d) => String(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1).padStart(3, '0'),
    parse: ['\\d{1,3}', (p, s) => (p.dayOfYear = Number(s))],
  },
};

// Composite specifiers expand to simple ones.
const COMPOSITE: Record<string, string> = { T: '%H:%i:%S', r: '%h:%i:%S %p' };

export interface CompiledTimeFormat {
  format(d: Date): string;
  /** Parses the whole string; null when it does not match the format. */
  parse(s: string): Date | null;
}

export function compileTimeFormat(fmt: string): CompiledTimeFormat {
  const formatters: Array<(d: Date) => string> = [];
  const setters: Array<(p: Parts, s: string) => void> = [];
  let re = '';
  const expand = (f: string, baseOffset: number | null): void => {
    for (let i = 0; i < f.length; i++) {
      const ch = f[i] as string;
      if (ch !== '%') {
        formatters.push(() => ch);
        re += ch.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
        continue;
      }
      const spec = f[i + 1];
      const at = baseOffset === null ? 0 : baseOffset + i;
      if (spec === undefined) throw new TimeFormatError("format ends with a lone '%'", at);
      i++;
      if (spec === '%') {
        formatters.push(() => '%');
        re += '%';
        continue;
      }
      if (Object.hasOwn(COMPOSITE, spec)) {
        expand(COMPOSITE[spec] as string, null);
        continue;
      }
      const s = SPECS[spec];
      if (!s) throw new TimeFormatError(`unsupported format specifier %${spec}`, at);
      formatters.push(s.format);
      if (s.parse) {
        re += `(${s.parse[0]})`;
        setters.push(s.parse[1]);
      }
    }
  };
  expand(fmt, 0);
  const matcher = new RegExp(`^${re}$`);
  return {
    format: (d) => formatters.map((f) => f(d)).join(''),
    parse: (s) => {
      const m = matcher.exec(s);
      if (!m) return null;
      const p: Parts = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, ms: 0, pm: null, hour12: false, dayOfYear: null };
      setters.forEach((set, i) => set(p, m[i + 1] as string));
      if (p.hour12 || p.pm !== null) {
        if (p.hour > 12 || (p.hour12 && p.hour < 1)) return null;
        if (p.pm !== null) p.hour = (p.hour % 12) + (p.pm ? 12 : 0);
      }
      if (p.month < 1 || p.month > 12 || p.day < 1 || p.hour > 23 || p.minute > 59 || p.second > 59) return null;
      const t = p.dayOfYear !== null ? Date.UTC(p.year, 0, p.dayOfYear, p.hour, p.minute, p.second, p.ms) : Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, p.ms);
      const d = new Date(t);
      if (p.dayOfYear === null && d.getUTCDate() !== p.day) return null; // 2024-02-31
      return d;
    },
  };
}
