// The unit that travels from the Kafka source through the query to every sink.

export interface RecordMeta {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset as a decimal string (kafkajs' representation). */
  readonly offset: string;
  /** Kafka timestamp, epoch milliseconds. */
  readonly timestamp: number;
  readonly key: string | null;
  readonly headers: Record<string, string>;
  /** The registry schema the value was written with (a schema-registry format), read as __schema_id__,
   *  __schema_subject__, __schema_version__. */
  readonly schema?: SchemaMeta;
}

export interface SchemaMeta {
  readonly id: number;
  /** The first subject and version registered with the id, when the registry says. */
  readonly subject?: string;
  readonly version?: number;
}

/** One acknowledgement obligation of one sink for one record. */
export interface Ack {
  /** Delivered, or written to the dead-letter topic. Idempotent. */
  done(): void;
  /** False once the partition was revoked: delivering it now would only make a duplicate. */
  readonly live: boolean;
}

export type Fields = Record<string, unknown>;

export interface PipelineRecord {
  readonly meta: RecordMeta;
  /** The original bytes of the Kafka value, kept for the dead-letter topic. */
  readonly raw: Buffer | null;
  /** The record after decoding and the query. Sinks must not mutate it (it is shared by all sinks). */
  readonly fields: Fields;
  /** Bytes this record holds while in flight (raw size), for the in-flight limit. */
  readonly size: number;
  /** True when `raw` is a JSON object and `fields` is exactly its parse (no query changed it): an
   *  encoder may ship `raw` as is. */
  readonly unchanged: boolean;
  /** Offsets of its partition read before it and not handed to the sinks (see Accounted); undefined
   *  when there are none. An archive manifest records them, so that a gap can be told from a drop. */
  readonly accounted?: Accounted | undefined;
  /** A summary of `suppress -summary` (its offset is the first repeat's, which is counted as filtered
   *  in the span of the next record handed on). */
  readonly summary?: true;
}

/**
 * The offsets of a partition between the previous record handed to the sinks and this one: [from,
 * offset). The route read them and handed none on: `filtered` were dropped by the query, `deadLettered`
 * went to the dead-letter topic (decode or query error); the rest hold no record (transaction markers,
 * aborted transactions, compaction).
 */
export interface Accounted {
  readonly from: number;
  readonly filtered: number;
  readonly deadLettered: number;
}

/** The same record with its original bytes held at another place (the same bytes, e.g. a view into a
 *  sink's encoded payload): what a sink waits with (Sink.rawIn). */
export function withRawAt(record: PipelineRecord, raw: Buffer): PipelineRecord {
  if (record instanceof JsonBytesRecord) return new JsonBytesRecord(record.meta, raw, record.size, record.accounted);
  const out = { meta: record.meta, raw, fields: record.fields, size: record.size, unchanged: record.unchanged, accounted: record.accounted };
  return record.summary ? { ...out, summary: true } : out;
}

/**
 * A record shipped as its original bytes, a JSON object validated but not parsed (a route whose query
 * only filters): `fields` is parsed the first time a sink asks for it (HEC indexed fields, an S3 key
 * field, a syslog template), never for a sink that ships the bytes.
 */
export class JsonBytesRecord implements PipelineRecord {
  readonly meta: RecordMeta;
  readonly raw: Buffer;
  readonly size: number;
  readonly unchanged = true;
  readonly accounted: Accounted | undefined;
  #fields: Fields | undefined;
  constructor(meta: RecordMeta, raw: Buffer, size: number, accounted?: Accounted) {
    this.meta = meta;
    this.raw = raw;
    this.size = size;
    this.accounted = accounted;
  }
  get fields(): Fields {
    return (this.#fields ??= JSON.parse(this.raw.toString('utf8')) as Fields);
  }
}
