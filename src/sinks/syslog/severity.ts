// Syslog facility and severity names (RFC 5424 §6.2.1), how a record's severity text or number
// becomes a syslog severity, and the CEF severity (0–10) that goes with it.

/** Facility codes by name. The names are those of <syslog.h> / rsyslog; 13–15 have no standard
 *  keyword, so RFC 5424's descriptions give them theirs (log audit, log alert, clock daemon). */
export const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9,
  authpriv: 10, ftp: 11, ntp: 12, audit: 13, alert: 14, clock: 15,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

/**
 * Severity codes by name (matched without case). Besides the RFC 5424 names and their <syslog.h>
 * abbreviations, the words security feeds use are mapped so that their order survives:
 * critical → 2 critical, high → 3 error, medium → 4 warning, low → 5 notice (and CEF's very-high
 * → 2, next to critical); common logger levels too: fatal → 2, trace → 7.
 */
export const SEVERITIES: Readonly<Record<string, number>> = {
  emergency: 0, emerg: 0, panic: 0,
  alert: 1,
  critical: 2, crit: 2, fatal: 2, 'very-high': 2,
  error: 3, err: 3, high: 3,
  warning: 4, warn: 4, medium: 4,
  notice: 5, low: 5,
  informational: 6, info: 6,
  debug: 7, trace: 7,
};

/** A whole number in [min, max], from a number or from its decimal text; else undefined. */
function code(value: unknown, min: number, max: number): number | undefined {
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) n = Number(value);
  return n !== undefined && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

const lookup = (table: Readonly<Record<string, number>>, value: unknown): number | undefined => {
  if (typeof value !== 'string') return undefined;
  const key = value.trim().toLowerCase();
  return Object.hasOwn(table, key) ? table[key] : undefined;
};

/** Facility from a name (local0, auth) or a number 0–23. */
export function parseFacility(value: unknown): number | undefined {
  return code(value, 0, 23) ?? lookup(FACILITIES, value);
}

/** Syslog severity 0–7 from a name (see SEVERITIES) or a number 0–7; undefined when unreadable. */
export function syslogSeverity(value: unknown): number | undefined {
  return code(value, 0, 7) ?? lookup(SEVERITIES, value);
}

/** PRI = facility × 8 + severity (0–191). */
export function priority(facility: number, severity: number): number {
  return facility * 8 + severity;
}

/**
 * CEF severity from a syslog severity. CEF's bands are Low 0–3, Medium 4–6, High 7–8, Very-High
 * 9–10; the values are chosen so that a word means the same band whichever way it comes:
 * critical (2) → 9, high (3 error) → 8, medium (4 warning) → 5, low (5 notice) → 3.
 */
const CEF_BY_SYSLOG: readonly number[] = [10, 10, 9, 8, 5, 3, 1, 0];

export function cefFromSyslog(severity: number): number {
  return CEF_BY_SYSLOG[severity] ?? 0;
}

/** CEF's own severity words, at the same points of their bands as CEF_BY_SYSLOG gives. */
const CEF_WORDS: Readonly<Record<string, number>> = { low: 3, medium: 5, high: 8, 'very-high': 10 };

/**
 * CEF severity 0–10 from a record value: a number 0–10 as is (a CEF field holds CEF numbers, not
 * syslog ones), CEF's words Low/Medium/High/Very-High, or a syslog severity name through
 * cefFromSyslog. Undefined when unreadable (including CEF's "Unknown"): the caller falls back.
 */
export function cefSeverity(value: unknown): number | undefined {
  const n = code(value, 0, 10) ?? lookup(CEF_WORDS, value);
  if (n !== undefined) return n;
  const s = lookup(SEVERITIES, value);
  return s === undefined ? undefined : cefFromSyslog(s);
}
