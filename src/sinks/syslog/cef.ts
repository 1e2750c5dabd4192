// ArcSight Common Event Format: one record → `CEF:0|Vendor|Product|Version|Class ID|Name|Severity|Extension`,
// the message of an RFC 5424 or 3164 line. Pure; escaping per the CEF specification (header: `\` and `|`;
// extension values: `\` and `=`, newlines as `\n` / `\r`).
import type { PipelineRecord } from '../../core/record.ts';
import { fieldText, recordValue } from '../record-field.ts';
import type { CefConfig, ValueSource } from './config.ts';
import { cefFromSyslog, cefSeverity } from './severity.ts';

/** A header field: `\` and `|` escaped; CR and LF (which the header may not hold, and which have no
 *  escape there) become spaces. */
export function escapeCefHeader(text: string): string {
  return text.replace(/[\\|]/g, '\\$&').replace(/\r\n|[\r\n]/g, ' ');
}

/** An extension value: `\` and `=` escaped, CR and LF as `\r` and `\n`. A `|` is not escaped there
 *  (the spec says so: after the seventh bar the header is over). */
export function escapeCefValue(text: string): string {
  return text.replace(/[\\=]/g, '\\$&').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

function valueOf(record: PipelineRecord, s: ValueSource): string {
  if (s.field !== undefined) {
    const t = fieldText(recordValue(record, s.field));
    if (t !== undefined && t !== '') return t;
  }
  return s.constant ?? '';
}

/** The record's CEF severity: CEF_SEVERITY_FIELD when set and readable, else the syslog severity's. */
export function cefSeverityOf(record: PipelineRecord, cfg: CefConfig, syslogSeverity: number): number {
  const own = cfg.severityField === undefined ? undefined : cefSeverity(recordValue(record, cfg.severityField));
  return own ?? cefFromSyslog(syslogSeverity);
}

/** `key=value` pairs separated by single spaces; fields missing (or null) in the record are left out. */
export function cefExtension(record: PipelineRecord, cfg: CefConfig): string {
  const pairs: string[] = [];
  for (const { name, field } of cfg.extension) {
    const t = fieldText(recordValue(record, field));
    if (t !== undefined) pairs.push(`${name}=${escapeCefValue(t)}`);
  }
  return pairs.join(' ');
}

export function encodeCef(record: PipelineRecord, cfg: CefConfig, syslogSeverity: number): string {
  const header = [cfg.vendor, cfg.product, cfg.version, valueOf(record, cfg.signature), valueOf(record, cfg.name)].map(escapeCefHeader);
  return `CEF:0|${header.join('|')}|${cefSeverityOf(record, cfg, syslogSeverity)}|${cefExtension(record, cfg)}`;
}
