// Pure form POST encoding: a record is one JSON line (the same bytes the file and stdout sinks write);
// a batch is one multipart/form-data body with the product field, the rows field and one file part
// holding the lines. No I/O.
import type { PipelineRecord } from '../../core/record.ts';
import { encodeJson, joinLines } from '../json-lines.ts';
import { fieldText, recordValue } from '../record-field.ts';
import type { BatchItem } from '../../delivery/sink.ts';
import type { FormPostConfig } from './config.ts';
import { encodeMultipart, randomBoundary, type MultipartBody } from './multipart.ts';

export type FormEncodeConfig = Pick<FormPostConfig, 'product' | 'productField' | 'parts' | 'fileContentType'>;

/** A product taken from a record is cut to this many characters. */
const MAX_PRODUCT_CHARS = 128;

/** One record: its JSON text, without the line feed. */
export const encodeRecord: (record: PipelineRecord) => Buffer = encodeJson;

/** The record's product: FORMPOST_PRODUCT_FIELD when it holds non-empty text, else FORMPOST_PRODUCT. */
export function productOf(record: PipelineRecord, cfg: Pick<FormPostConfig, 'product' | 'productField'>): string {
  if (cfg.productField === undefined) return cfg.product;
  const t = fieldText(recordValue(record, cfg.productField))?.trim();
  if (t === undefined || t === '') return cfg.product;
  return t.length > MAX_PRODUCT_CHARS ? t.slice(0, MAX_PRODUCT_CHARS) : t;
}

/** 20261122T235959.123Z: ISO 8601 basic format, no characters a file system objects to. */
export function fileTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}

/**
 * `<product>-<send time>-<partition>-<first offset>.json`, e.g. `web-20261122T235959.123Z-3-1040.json`:
 * unique per POST, sortable by time, and naming where the rows came from. A product from a record is
 * reduced to letters, digits and `._-` here (the product field itself carries it unchanged).
 */
export function fileName(product: string, sentAtMs: number, first: PipelineRecord): string {
  const safe = product.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'logs';
  return `${safe}-${fileTime(sentAtMs)}-${first.meta.partition}-${first.meta.offset}.json`;
}

/**
 * The body of one POST: field `product`, field `rows` (the line count), then the file part (one JSON
 * object per line, each line ending with LF), under the configured part names.
 */
export function encodeForm(items: readonly BatchItem[], product: string, cfg: FormEncodeConfig, sentAtMs: number, newBoundary: () => string = randomBoundary): MultipartBody {
  if (items.length === 0) throw new Error('a form POST needs at least one row');
  return encodeMultipart(
    [
      { name: cfg.parts.product, data: Buffer.from(product, 'utf8') },
      { name: cfg.parts.rows, data: Buffer.from(String(items.length), 'latin1') },
      { name: cfg.parts.file, filename: fileName(product, sentAtMs, items[0]!.record), contentType: cfg.fileContentType, data: joinLines(items) },
    ],
    newBoundary,
  );
}
