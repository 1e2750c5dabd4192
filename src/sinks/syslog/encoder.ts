// Pure syslog encoding: one record → one RFC 5424 or RFC 3164 message (without framing, see
// framing.ts), its MSG the record's text or, for the CEF formats, a CEF line. Tested byte for byte.
import type { PipelineRecord } from '../../core/record.ts';
import { fieldText, parseEventTime, recordValue } from '../record-field.ts';
import { encodeCef } from './cef.ts';
import type { SyslogConfig, ValueSource } from './config.ts';
import { cutUtf8 } from './framing.ts';
import { priority, syslogSeverity } from './severity.ts';
import { renderTemplate } from './template.ts';

export type SyslogEncodeConfig = Pick<SyslogConfig,
  'format' | 'facility' | 'severityField' | 'severityDefault' | 'hostname' | 'appName' | 'procId' | 'msgId' | 'timeField' | 'sd' | 'template' | 'bom' | 'cef'>;

/** RFC 5424 §6.2 header field limits, in characters (which are ASCII there, so also bytes). */
export const LIMITS = { hostname: 255, appName: 48, procId: 128, msgId: 32 } as const;
/** RFC 3164 §4.1.3: the TAG is at most 32 alphanumeric characters. */
export const TAG_MAX = 32;
/** RFC 3164 §4.1: the whole packet is at most 1024 bytes. */
export const RFC3164_MAX_BYTES = 1024;

const NIL = '-';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** DATE-FULLYEAR is 4 digits: 0000-01-01 to 9999-12-31. */
const MAX_TIME_MS = 253402300799999;

function valueOf(record: PipelineRecord, s: ValueSource): string | undefined {
  if (s.field !== undefined) {
    const t = fieldText(recordValue(record, s.field));
    if (t !== undefined && t !== '') return t;
  }
  return s.constant;
}

/**
 * A header field (HOSTNAME, APP-NAME, PROCID, MSGID): only printable US-ASCII (33–126) is allowed,
 * so every other character (space, control, non-ASCII, one per code point) becomes `_`; then cut to
 * `max` characters. Missing or empty: the NILVALUE `-`.
 */
export function headerField(text: string | undefined, max: number): string {
  if (text === undefined || text === '') return NIL;
  let out = '';
  for (const ch of text) {
    if (out.length === max) break;
    const c = ch.codePointAt(0)!;
    out += c >= 33 && c <= 126 ? ch : '_';
  }
  return out;
}

/** PARAM-VALUE (RFC 5424 §6.3.3): `"`, `\` and `]` MUST be escaped with `\`; nothing else is. */
export function escapeParamValue(text: string): string {
  return text.replace(/["\\\]]/g, '\\$&');
}

/** The record's syslog severity: its severity field when readable, else the configured default. */
export function severityOf(record: PipelineRecord, cfg: Pick<SyslogEncodeConfig, 'severityField' | 'severityDefault'>): number {
  return syslogSeverity(recordValue(record, cfg.severityField)) ?? cfg.severityDefault;
}

/** Event time in epoch ms: the time field when readable, else the Kafka timestamp; undefined when
 *  neither fits a 4-digit year (Kafka reports -1 for messages without a timestamp). */
export function eventTime(record: PipelineRecord, timeField: string | undefined): number | undefined {
  const fromField = timeField !== undefined ? parseEventTime(recordValue(record, timeField)) : undefined;
  for (const ms of [fromField, record.meta.timestamp]) {
    if (ms !== undefined && Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIME_MS) return Math.floor(ms);
  }
  return undefined;
}

/** RFC 3339 in UTC with milliseconds (RFC 5424 allows up to 6 fractional digits), e.g.
 *  2026-11-22T10:00:00.250Z; `-` when unknown. */
export function timestamp5424(ms: number | undefined): string {
  return ms === undefined ? NIL : new Date(ms).toISOString();
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/**
 * RFC 3164 TIMESTAMP `Mmm dd hh:mm:ss`, the day padded with a space (`Nov  2`). It has no zone and
 * no year; RFC 3164 means the sender's local time, but a daemon's zone is an accident of where it
 * runs, so this is always UTC (receivers should be set to read it so). Unknown time: the epoch.
 */
export function timestamp3164(ms: number | undefined): string {
  const d = new Date(ms ?? 0);
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** STRUCTURED-DATA: one element `[SD-ID name="value" …]` of the configured fields; `-` when none is
 *  configured or the record has none of them. An array gives the parameter once per item (§6.3.3
 *  allows repeating a PARAM-NAME). */
export function structuredData(record: PipelineRecord, sd: SyslogEncodeConfig['sd']): string {
  if (sd === undefined) return NIL;
  let params = '';
  for (const { name, field } of sd.params) {
    const value = recordValue(record, field);
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      const t = fieldText(item);
      if (t !== undefined) params += ` ${name}="${escapeParamValue(t)}"`;
    }
  }
  return params === '' ? NIL : `[${sd.id}${params}]`;
}

/** The MSG text: the CEF line for the CEF formats, else the template (or the record as JSON). */
function messageText(record: PipelineRecord, cfg: SyslogEncodeConfig, severity: number): string {
  return cfg.format === 'cef-5424' || cfg.format === 'cef-3164' ? encodeCef(record, cfg.cef, severity) : renderTemplate(record, cfg.template);
}

/** `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [SP [BOM] MSG]` (RFC 5424 §6). */
export function encode5424(record: PipelineRecord, cfg: SyslogEncodeConfig): Buffer {
  const severity = severityOf(record, cfg);
  const header = [
    `<${priority(cfg.facility, severity)}>1`,
    timestamp5424(eventTime(record, cfg.timeField)),
    headerField(valueOf(record, cfg.hostname), LIMITS.hostname),
    headerField(valueOf(record, cfg.appName), LIMITS.appName),
    headerField(valueOf(record, cfg.procId), LIMITS.procId),
    headerField(valueOf(record, cfg.msgId), LIMITS.msgId),
    structuredData(record, cfg.sd),
  ].join(' ');
  const msg = messageText(record, cfg, severity);
  if (msg === '') return Buffer.from(header, 'utf8');
  return Buffer.concat([Buffer.from(`${header} `, 'utf8'), ...(cfg.bom ? [BOM] : []), Buffer.from(msg, 'utf8')]);
}

/** The TAG: the APP-NAME's letters and digits (RFC 3164 allows nothing else), at most 32 of them;
 *  `logstream` if none is left. */
export function tag3164(text: string | undefined): string {
  const t = (text ?? '').replace(/[^A-Za-z0-9]/g, '').slice(0, TAG_MAX);
  return t === '' ? 'logstream' : t;
}

/**
 * `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: MSG` (RFC 3164 §4.1), cut to 1024 bytes at a UTF-8 character
 * boundary. The MSG is sent as UTF-8 (RFC 3164 says ASCII; today's receivers read UTF-8), without a
 * BOM, which RFC 3164 does not know.
 */
export function encode3164(record: PipelineRecord, cfg: SyslogEncodeConfig): Buffer {
  const severity = severityOf(record, cfg);
  const line = `<${priority(cfg.facility, severity)}>${timestamp3164(eventTime(record, cfg.timeField))} ` +
    `${headerField(valueOf(record, cfg.hostname), LIMITS.hostname)} ${tag3164(valueOf(record, cfg.appName))}: ${messageText(record, cfg, severity)}`;
  return cutUtf8(Buffer.from(line, 'utf8'), RFC3164_MAX_BYTES).bytes;
}

/** The message of a record in the configured format. */
export function encodeSyslog(record: PipelineRecord, cfg: SyslogEncodeConfig): Buffer {
  return cfg.format === 'rfc3164' || cfg.format === 'cef-3164' ? encode3164(record, cfg) : encode5424(record, cfg);
}
