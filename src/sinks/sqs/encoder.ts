// One record → one SQS message body: the record as one JSON object (the JSON-lines encoding without the
// line break), with every character SQS accepts; plus the optional origin attributes and FIFO ids. Pure.
//
// SQS allows #x9 #xA #xD #x20–#xD7FF #xE000–#xFFFD #x10000–#x10FFFF. JSON.stringify already writes control
// characters and lone surrogates as \uXXXX escapes, and the source drops bytes that are not UTF-8, so what
// can remain are the non-characters U+FFFE and U+FFFF: they can only stand inside JSON strings, where the
// escapes \ufffe and \uffff mean the same thing, so they are written that way. The final body is checked
// anyway; a body that still fails is dead-lettered, never altered silently.
import { hash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { permanent } from '../../core/errors.ts';
import type { PipelineRecord, RecordMeta } from '../../core/record.ts';
import { encodeJson } from '../json-lines.ts';
import { fieldText, recordField } from '../record-field.ts';

export interface MessageAttribute {
  readonly DataType: 'String' | 'Number';
  readonly StringValue: string;
}

export interface BodyOptions {
  /** Body plus attributes at most, in bytes. */
  readonly maxBytes: number;
  readonly stampOrigin: boolean;
}

// U+FFFE and U+FFFF in UTF-8: EF BF BE, EF BF BF.
const NONCHAR_LEAD = Buffer.from([0xef, 0xbf]);

function hasNonCharacter(body: Buffer): boolean {
  for (let at = body.indexOf(NONCHAR_LEAD); at >= 0 && at + 2 < body.length; at = body.indexOf(NONCHAR_LEAD, at + 2)) {
    const third = body[at + 2]!;
    if (third === 0xbe || third === 0xbf) return true;
  }
  return false;
}

/** JSON text with U+FFFE / U+FFFF written as \ufffe / \uffff escapes (same JSON value, SQS-valid). */
export function escapeNonCharacters(json: Buffer): Buffer {
  if (!hasNonCharacter(json)) return json;
  const text = json.toString('utf8').replace(/[\ufffe\uffff]/g, (c) => (c === '\ufffe' ? '\\ufffe' : '\\uffff'));
  return Buffer.from(text, 'utf8');
}

/** Where `body` breaks SQS's character rules, or undefined when it is valid (UTF-8, allowed code points). */
export function invalidCharacter(body: Buffer): string | undefined {
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return `control character U+${c.toString(16).padStart(4, '0').toUpperCase()} at byte ${i}`;
  }
  // Not UTF-8 includes encoded surrogates (ED A0–BF …), which UTF-8 forbids.
  if (!isUtf8(body)) return 'bytes that are not UTF-8';
  if (hasNonCharacter(body)) return 'the non-character U+FFFE or U+FFFF';
  return undefined;
}

/** kafka_topic, kafka_partition, kafka_offset: where the record came from. */
export function originAttributes(meta: RecordMeta): Record<string, MessageAttribute> {
  return {
    kafka_topic: { DataType: 'String', StringValue: meta.topic },
    kafka_partition: { DataType: 'Number', StringValue: String(meta.partition) },
    kafka_offset: { DataType: 'Number', StringValue: meta.offset },
  };
}

/** What message attributes add to a message's size, as SQS counts it: name, data type and value. */
export function attributesBytes(attrs: Record<string, MessageAttribute>): number {
  let n = 0;
  for (const [name, a] of Object.entries(attrs)) n += Buffer.byteLength(name) + Buffer.byteLength(a.DataType) + Buffer.byteLength(a.StringValue);
  return n;
}

/** The size SQS counts for a record's message: its body plus its attributes. */
export function messageBytes(body: Buffer, meta: RecordMeta, stampOrigin: boolean): number {
  return body.length + (stampOrigin ? attributesBytes(originAttributes(meta)) : 0);
}

/** The message body of a record. Throws a permanent DeliveryError (→ dead-letter topic) when it cannot be sent. */
export function encodeSqsBody(record: PipelineRecord, opts: BodyOptions): Buffer {
  const body = escapeNonCharacters(encodeJson(record));
  const bad = invalidCharacter(body);
  if (bad !== undefined) throw permanent('SQS_INVALID_CHARACTERS', `the message body holds ${bad}, which SQS does not accept`);
  const size = messageBytes(body, record.meta, opts.stampOrigin);
  if (size > opts.maxBytes) {
    const parts = size === body.length ? '' : ` (body ${body.length} + attributes ${size - body.length})`;
    throw permanent('SQS_MESSAGE_TOO_LARGE', `the message is ${size} bytes${parts}, over the queue's limit of ${opts.maxBytes} bytes`);
  }
  return body;
}

/** MessageGroupId and MessageDeduplicationId: 1–128 characters from ASCII 0x21–0x7E. */
const FIFO_ID = /^[!-~]{1,128}$/;

const sha256 = (text: string): string => hash('sha256', text);

/**
 * The FIFO message group: the configured field's value, else `<topic>-<partition>`. A value that is not a
 * valid group id (too long, spaces, non-ASCII) is replaced by its SHA-256, so equal values still share a group.
 */
export function messageGroupId(record: PipelineRecord, field: string | undefined): string {
  const value = field === undefined ? undefined : fieldText(recordField(record.fields, field));
  const group = value === undefined || value === '' ? `${record.meta.topic}-${record.meta.partition}` : value;
  return FIFO_ID.test(group) ? group : `sha256-${sha256(group)}`;
}

/** The same record always gets the same id, so a re-send within SQS's 5-minute window is dropped by SQS. */
export function deduplicationId(meta: RecordMeta): string {
  return sha256(`${meta.topic}/${meta.partition}/${meta.offset}`);
}
