// The StrongDM Log Stream object layout, pure: `<prefix>/<logType>/YYYY/MM/DD/HH/MM/<uuid>.json[.gz]`.
// The log type comes from a record field, the folders from the record's event time (UTC, minute
// precision). Records of different log types or different minutes never share an object, so the key
// of an object holds for every line in it.
//
// The <uuid> is not random: it is derived from the batch (topic, partition, every offset, and the
// SHA-256 of the stored bytes). A PUT retried after its reply was lost, or the same batch formed again after a
// restart, overwrites the same key with the same bytes instead of leaving a duplicate object; two
// different batches can never share a key, so an overwrite can never drop a record.
import { createHash } from 'node:crypto';
import type { PipelineRecord } from '../../core/record.ts';
import { fieldText, parseEventTime, recordField } from '../record-field.ts';
import type { S3Config } from './config.ts';

export type LayoutConfig = Pick<S3Config, 'prefix' | 'logTypeField' | 'logTypeDefault' | 'timeField' | 'gzip'>;

const MAX_LOG_TYPE = 100;
/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the years a 4-digit YYYY folder can name. */
const MIN_TIME_MS = -62_167_219_200_000;
const MAX_TIME_MS = 253_402_300_799_999;

/** The log type folder: the field's text with characters unsafe in a key replaced by `_`. */
export function logTypeOf(record: PipelineRecord, cfg: Pick<LayoutConfig, 'logTypeField' | 'logTypeDefault'>): string {
  const text = fieldText(recordField(record.fields, cfg.logTypeField));
  if (text === undefined) return cfg.logTypeDefault;
  const safe = text.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, MAX_LOG_TYPE);
  return /^\.*$/.test(safe) ? cfg.logTypeDefault : safe;
}

/** Event time in epoch ms: the time field when readable and within years 0–9999, else the Kafka timestamp. */
export function eventTimeMs(record: PipelineRecord, timeField: string): number {
  const t = parseEventTime(recordField(record.fields, timeField));
  if (t !== undefined && t >= MIN_TIME_MS && t <= MAX_TIME_MS) return t;
  const k = record.meta.timestamp;
  return Number.isFinite(k) && k >= MIN_TIME_MS && k <= MAX_TIME_MS ? k : 0;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** `YYYY/MM/DD/HH/MM` in UTC. */
export function minuteFolder(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}/${pad(d.getUTCMonth() + 1, 2)}/${pad(d.getUTCDate(), 2)}/${pad(d.getUTCHours(), 2)}/${pad(d.getUTCMinutes(), 2)}`;
}

/** `<logType>/YYYY/MM/DD/HH/MM`: the folder of a record, and the sink's batch key. */
export function recordFolder(record: PipelineRecord, cfg: LayoutConfig): string {
  return `${logTypeOf(record, cfg)}/${minuteFolder(eventTimeMs(record, cfg.timeField))}`;
}

export function objectKey(cfg: Pick<LayoutConfig, 'prefix' | 'gzip'>, folder: string, id: string): string {
  return `${cfg.prefix === '' ? '' : `${cfg.prefix}/`}${folder}/${id}.json${cfg.gzip ? '.gz' : ''}`;
}

/** Where the Test button (and `logstream s3 test`) writes: `<prefix>/test`. */
export function testObjectKey(prefix: string): string {
  return prefix === '' ? 'test' : `${prefix}/test`;
}

/**
 * A UUID (RFC 9562 version 8, "custom") derived from the records of a batch and the bytes of its body:
 * the same batch always gets the same name, different batches different names.
 */
export function batchObjectId(records: ReadonlyArray<Pick<PipelineRecord, 'meta'>>, bodyDigest: Buffer): string {
  const h = createHash('sha256');
  const first = records[0]?.meta;
  h.update(`${first?.topic ?? ''}\u0000${first?.partition ?? -1}\u0000`);
  for (const r of records) h.update(`${r.meta.offset},`);
  h.update(bodyDigest);
  const b = h.digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
