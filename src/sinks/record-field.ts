// Reading a configured field of a record (`index`, `geo.city`): an exact key first, then a dotted path.
// recordValue also reads the Kafka metadata by the query's names: __topic__, __partition__, __offset__,
// __timestamp__, __key__, __schema_id__, __schema_subject__, __schema_version__, __headers__.<name>,
// so sinks can stamp or route on them.
import type { Fields, PipelineRecord } from '../core/record.ts';

const HEADERS_PREFIX = '__headers__.';
const METADATA_NAMES = new Set(['__topic__', '__partition__', '__offset__', '__timestamp__', '__key__', '__schema_id__', '__schema_subject__', '__schema_version__']);

/** True when recordValue(record, path) reads Kafka metadata only, never a field of the record. */
export function isMetadataPath(path: string): boolean {
  return METADATA_NAMES.has(path) || path.startsWith(HEADERS_PREFIX);
}

/** A record field, or Kafka metadata when `path` is one of the metadata names (checked first). */
export function recordValue(record: PipelineRecord, path: string): unknown {
  if (path.startsWith('__')) {
    const m = record.meta;
    switch (path) {
      case '__topic__':
        return m.topic;
      case '__partition__':
        return m.partition;
      case '__offset__':
        return m.offset;
      case '__timestamp__':
        return m.timestamp;
      case '__key__':
        return m.key ?? undefined;
      case '__schema_id__':
        return m.schema?.id;
      case '__schema_subject__':
        return m.schema?.subject;
      case '__schema_version__':
        return m.schema?.version;
      default:
        if (path.startsWith(HEADERS_PREFIX)) return m.headers[path.slice(HEADERS_PREFIX.length)];
    }
  }
  return recordField(record.fields, path);
}

export function recordField(fields: Fields, path: string): unknown {
  if (Object.hasOwn(fields, path)) return fields[path];
  if (!path.includes('.')) return undefined;
  let cur: unknown = fields;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A scalar as text; objects and arrays as JSON; null/undefined as undefined. */
export function fieldText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/**
 * Event time in epoch milliseconds from a field value: epoch seconds or milliseconds (number or
 * numeric text; values above 1e11 are taken as milliseconds) or ISO 8601 / RFC 3339 text.
 * Undefined when the value is missing or unreadable (the caller falls back to the Kafka timestamp).
 */
export function parseEventTime(value: unknown): number | undefined {
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && value.trim() !== '') {
    const t = value.trim();
    if (/^-?\d+(\.\d+)?$/.test(t)) n = Number(t);
    else {
      const ms = Date.parse(t);
      return Number.isFinite(ms) ? ms : undefined;
    }
  }
  if (n === undefined || !Number.isFinite(n) || n < 0) return undefined;
  return n > 1e11 ? n : n * 1000;
}
