// Reading a schema-registry payload: the primitive encodings Avro uses (zig-zag varints, little-endian
// floats, length-prefixed bytes and strings). A read past the end, or a malformed value, is a
// PayloadError: the record does not match its schema and is dead-lettered with that reason.

import { isUtf8 } from 'node:buffer';

/** The payload does not match its schema (truncated, malformed, or written with another schema). */
export class PayloadError extends Error {}

export class AvroCursor {
  readonly buf: Buffer;
  pos: number;
  constructor(buf: Buffer, pos: number) {
    this.buf = buf;
    this.pos = pos;
  }

  remaining(): number {
    return this.buf.length - this.pos;
  }

  #byte(): number {
    if (this.pos >= this.buf.length) throw new PayloadError(`the payload ends at byte ${this.pos} inside a value`);
    return this.buf[this.pos++]!;
  }

  boolean(): boolean {
    const b = this.#byte();
    if (b > 1) throw new PayloadError(`byte ${this.pos - 1} is ${b}, not a boolean`);
    return b === 1;
  }

  /** A zig-zag varint of at most 32 bits. */
  int(): number {
    let n = 0;
    let shift = 0;
    for (;;) {
      const b = this.#byte();
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
      if (shift > 28) throw new PayloadError(`the int at byte ${this.pos} is longer than 5 bytes`);
    }
    if (n > 0xffffffff) throw new PayloadError(`the int before byte ${this.pos} is out of range`);
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  /** A zig-zag varint of at most 64 bits: a number when exact, else decimal text. */
  long(): number | string {
    let lo = 0;
    let shift = 0;
    let b: number;
    // Up to 7 bytes (49 bits) in a double, exactly.
    do {
      b = this.#byte();
      lo += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b >= 0x80 && shift < 49);
    if (b < 0x80) return lo % 2 === 0 ? lo / 2 : -(lo + 1) / 2;
    let big = BigInt(lo);
    let bigShift = 49n;
    do {
      b = this.#byte();
      big |= BigInt(b & 0x7f) << bigShift;
      bigShift += 7n;
      if (bigShift > 70n) throw new PayloadError(`the long at byte ${this.pos} is longer than 10 bytes`);
    } while (b >= 0x80);
    big = BigInt.asUintN(64, big);
    const value = (big >> 1n) ^ -(big & 1n);
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }

  float(): number {
    if (this.pos + 4 > this.buf.length) throw new PayloadError(`the payload ends at byte ${this.buf.length} inside a float`);
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.buf.length) throw new PayloadError(`the payload ends at byte ${this.buf.length} inside a double`);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  take(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new PayloadError(`a value of ${n} bytes at byte ${this.pos} is longer than the payload`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  bytes(): Buffer {
    const n = this.long();
    if (typeof n !== 'number' || n < 0) throw new PayloadError(`a length before byte ${this.pos} is negative or out of range`);
    return this.take(n);
  }

  string(): string {
    const n = this.long();
    if (typeof n !== 'number' || n < 0) throw new PayloadError(`a length before byte ${this.pos} is negative or out of range`);
    const start = this.pos;
    const end = start + n;
    if (end > this.buf.length) throw new PayloadError(`a value of ${n} bytes at byte ${start} is longer than the payload`);
    this.pos = end;
    const b = this.buf;
    // ASCII (most of a log record) needs no further check; anything else must be valid UTF-8.
    for (let i = start; i < end; i++) {
      if (b[i]! >= 0x80) {
        if (!isUtf8(b.subarray(start, end))) throw new PayloadError(`the string ending at byte ${end} is not valid UTF-8`);
        return b.toString('utf8', start, end);
      }
    }
    return b.toString('latin1', start, end);
  }
}

