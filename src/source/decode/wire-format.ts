// The schema-registry wire format (Confluent; Apicurio, Karapace and Redpanda write the same):
//   0x00 magic byte, 4-byte big-endian schema id, then for Protobuf the message-index path (a zig-zag
//   varint count, then that many zig-zag varint indexes; the common [0] is the single byte 0x00),
//   then the payload (Avro binary, Protobuf, or JSON for JSON Schema).
import { AvroCursor, PayloadError } from './cursor.ts';

export const MAGIC_BYTE = 0;

/** True when the value starts like a framed record (a JSON text never starts with a 0 byte). */
export function isFramed(value: Buffer | null): value is Buffer {
  return value !== null && value.length >= 5 && value[0] === MAGIC_BYTE;
}

/** The schema id of a framed value. */
export function schemaIdOf(value: Buffer): number {
  return value.readUInt32BE(1);
}

/** Reads the message-index path of a Protobuf record after the schema id: the indexes and where the payload starts. */
export function messageIndexes(value: Buffer, at = 5): { indexes: number[]; payloadStart: number } {
  // Zig-zag varints, the encoding of an Avro int.
  const c = new AvroCursor(value, at);
  const varint = (): number => {
    try {
      return c.int();
    } catch {
      throw new PayloadError('the message indexes run past the end of the record, or are malformed');
    }
  };
  const count = varint();
  if (count === 0) return { indexes: [0], payloadStart: c.pos };
  if (count < 0 || count > 100) throw new PayloadError(`the record claims ${count} message indexes`);
  const indexes: number[] = [];
  for (let i = 0; i < count; i++) {
    const x = varint();
    if (x < 0) throw new PayloadError(`message index ${x} is negative`);
    indexes.push(x);
  }
  return { indexes, payloadStart: c.pos };
}
