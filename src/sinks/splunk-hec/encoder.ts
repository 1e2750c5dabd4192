// Pure HEC encoding: one record → one JSON event envelope (the /event endpoint), or the record's text
// (the /raw endpoint, metadata in the query string). No I/O; tested byte for byte.
import type { PipelineRecord } from '../../core/record.ts';
import { fieldText, isMetadataPath, parseEventTime, recordField, recordValue } from '../record-field.ts';
import type { HecConfig, MetaSource } from './config.ts';

export type HecEncodeConfig = Pick<HecConfig, 'endpoint' | 'index' | 'source' | 'sourcetype' | 'host' | 'timeField' | 'fields' | 'stampOrigin'>;

function meta(record: PipelineRecord, m: MetaSource): string | undefined {
  if (m.field !== undefined) {
    const v = fieldText(recordValue(record, m.field));
    if (v !== undefined && v !== '') return v;
  }
  return m.constant;
}

/** Epoch seconds with millisecond decimals, e.g. 1433188255.5 */
export function hecTime(record: PipelineRecord, timeField: string | undefined): number {
  const ms = (timeField !== undefined ? parseEventTime(recordField(record.fields, timeField)) : undefined) ?? record.meta.timestamp;
  return Math.round(ms) / 1000;
}

/** The event body: a record that is only {"_raw": text} is sent as that text, anything else as JSON. */
function eventOf(record: PipelineRecord): unknown {
  const f = record.fields;
  const keys = Object.keys(f);
  return keys.length === 1 && keys[0] === '_raw' && typeof f._raw === 'string' ? f._raw : f;
}

function indexedFields(record: PipelineRecord, cfg: HecEncodeConfig): Record<string, string | string[]> | undefined {
  if (cfg.fields.length === 0 && !cfg.stampOrigin) return undefined;
  const out: Record<string, string | string[]> = {};
  for (const { name, path } of cfg.fields) {
    const v = recordValue(record, path);
    if (Array.isArray(v)) {
      const items = v.map(fieldText).filter((x): x is string => x !== undefined);
      if (items.length > 0) out[name] = items;
    } else {
      const t = fieldText(v);
      if (t !== undefined) out[name] = t;
    }
  }
  if (cfg.stampOrigin) {
    out.kafka_topic = record.meta.topic;
    out.kafka_partition = String(record.meta.partition);
    out.kafka_offset = record.meta.offset;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Whether encodeHecEvent reads no field of an unchanged JSON record under `cfg` (Sink.shipsBytes):
 *  the event endpoint, the Kafka timestamp as time, metadata from constants or Kafka metadata only. */
export function hecShipsBytes(cfg: HecEncodeConfig): boolean {
  const metaOk = [cfg.index, cfg.source, cfg.sourcetype, cfg.host].every((m) => m.field === undefined || isMetadataPath(m.field));
  return cfg.endpoint === 'event' && cfg.timeField === undefined && cfg.fields.every((f) => isMetadataPath(f.path)) && metaOk;
}

export function encodeHecEvent(record: PipelineRecord, cfg: HecEncodeConfig): Buffer {
  if (cfg.endpoint === 'raw') {
    const e = eventOf(record);
    return Buffer.from(typeof e === 'string' ? e : JSON.stringify(e), 'utf8');
  }
  const envelope: Record<string, unknown> = { time: hecTime(record, cfg.timeField) };
  const host = meta(record, cfg.host);
  const source = meta(record, cfg.source);
  const sourcetype = meta(record, cfg.sourcetype);
  const index = meta(record, cfg.index);
  if (host !== undefined) envelope.host = host;
  if (source !== undefined) envelope.source = source;
  if (sourcetype !== undefined) envelope.sourcetype = sourcetype;
  if (index !== undefined) envelope.index = index;
  const fields = indexedFields(record, cfg);
  if (fields) envelope.fields = fields;
  if (shipsRaw(record)) return withRawEvent(JSON.stringify(envelope), record.raw);
  envelope.event = eventOf(record);
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const EVENT_KEY = ',"event":';
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A JSON object no query changed is the event as its original bytes (a record that is only
 *  {"_raw": text} is the exception: its event is the text). */
function shipsRaw(record: PipelineRecord): record is PipelineRecord & { raw: Buffer } {
  const raw = record.raw;
  if (!record.unchanged || raw === null || raw[0] !== OPEN_BRACE) return false;
  // A lone "_raw" member is the first one: when the first key is another, spelled without escapes, no
  // need to read (for a record shipped as bytes: parse) the fields. Two byte reads, not a search.
  let i = 1;
  while (raw[i] === 0x20 || raw[i] === 0x0a || raw[i] === 0x0d || raw[i] === 0x09) i++;
  if (raw[i] === QUOTE && raw[i + 1] !== 0x5f /* _ */ && raw[i + 1] !== BACKSLASH) return true;
  const f = record.fields;
  return typeof f._raw !== 'string' || Object.keys(f).length !== 1;
}

/** `{…envelope…,"event":<raw>}` in one buffer: the envelope's JSON with the record's bytes spliced in
 *  as the last member, instead of parsing them and serialising them again. */
function withRawEvent(envelopeJson: string, raw: Buffer): Buffer {
  const head = Buffer.byteLength(envelopeJson, 'utf8') - 1; // without the closing brace
  const out = Buffer.allocUnsafe(head + EVENT_KEY.length + raw.length + 1);
  out.write(envelopeJson, 0, head, 'utf8');
  out.write(EVENT_KEY, head, 'latin1');
  raw.copy(out, head + EVENT_KEY.length);
  out[out.length - 1] = CLOSE_BRACE;
  return out;
}

/** The record's original bytes inside its encoded event (Sink.rawIn): the envelope's last member, as
 *  withRawEvent() puts them, checked byte for byte; undefined when they are not there verbatim. */
export function rawEventIn(record: PipelineRecord, payload: Buffer): Buffer | undefined {
  const raw = record.raw;
  if (raw === null || raw.length === 0) return undefined;
  const end = payload.length - 1;
  const start = end - raw.length;
  if (start < 0 || payload[end] !== CLOSE_BRACE || payload.compare(raw, 0, raw.length, start, end) !== 0) return undefined;
  return payload.subarray(start, end);
}

/** For the raw endpoint, records with different metadata go to different requests: the key is the
 *  query string that carries it. */
export function rawBatchKey(record: PipelineRecord, cfg: HecEncodeConfig): string {
  const q = new URLSearchParams();
  for (const [name, m] of [['index', cfg.index], ['source', cfg.source], ['sourcetype', cfg.sourcetype], ['host', cfg.host]] as const) {
    const value = meta(record, m);
    if (value !== undefined) q.set(name, value);
  }
  return q.toString();
}
