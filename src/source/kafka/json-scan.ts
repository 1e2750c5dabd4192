// A validating scan of a JSON object in its bytes, without building it: it says whether the value is one
// JSON object exactly as JSON.parse would accept it (after UTF-8 decoding), and where the members with
// the wanted top-level names are. A query that only filters needs no more than that: the record is
// shipped as its original bytes, and only the fields the filter reads are parsed.
//
// The scan is sound, not complete: when it answers, JSON.parse would accept the value and give those
// members; it gives up (null) on anything it does not handle — a byte-order mark, nesting deeper than
// MAX_DEPTH, invalid UTF-8 or JSON — and the caller decodes the value the full way, which decides.
//
// Two implementations of one grammar: json-scan.wat (WebAssembly, 16 bytes at a time inside strings)
// for values up to WASM_MAX_BYTES, the functions below for longer ones. A byte-at-a-time loop costs
// about a nanosecond a byte here, in JavaScript or in scalar WebAssembly, and strings are most of a log
// record's bytes: a 1 KiB record of the benchmark takes 1 410 ns below and 595 ns in WebAssembly, the
// copy into its memory included. test/source/json-scan.test.ts holds both to JSON.parse on the same
// documents.
import { isUtf8 } from 'node:buffer';
import { JSON_SCAN_WASM } from './json-scan.wasm.ts';

const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** The top-level names a scan looks for, prepared once. */
export class WantedNames {
  readonly names: readonly string[];
  /** 1 at each byte length a wanted name has (up to 255; longer names are all at 255): most keys of a
   *  record are not wanted, and this tells so without a call. */
  readonly lengths = new Uint8Array(256);
  readonly #bytes: Buffer[];
  constructor(names: readonly string[]) {
    this.names = [...new Set(names)];
    this.#bytes = this.names.map((n) => Buffer.from(n, 'utf8'));
    for (const b of this.#bytes) this.lengths[Math.min(b.length, 255)] = 1;
  }

  /** Whether the key in b[start, end) (between its quotes) may be wanted: an escaped key may be longer
   *  in its bytes than the name it decodes to. */
  mayWant(start: number, end: number, escaped: boolean): boolean {
    return escaped || this.lengths[Math.min(end - start, 255)] === 1;
  }

  /** The index in `names` of the key in b[start, end) (between its quotes), or -1; `escaped` when the
   *  key holds a backslash (then it is decoded to compare). */
  indexOf(b: Buffer, start: number, end: number, escaped: boolean): number {
    if (this.names.length === 0) return -1;
    if (escaped) return this.names.indexOf(JSON.parse(b.toString('utf8', start - 1, end + 1)) as string);
    const len = end - start;
    next: for (let k = 0; k < this.#bytes.length; k++) {
      const w = this.#bytes[k]!;
      if (w.length !== len) continue;
      for (let j = 0; j < len; j++) if (w[j] !== b[start + j]) continue next;
      return k;
    }
    return -1;
  }
}

/** Per wanted member found, in document order: [name index, value start, value end, value kind]. */
export type MemberSpans = number[];

/** Value kinds in MemberSpans: a string without escapes can be sliced, anything else is parsed. */
const PLAIN_STRING = 0;
const OTHER = 1;

/** Byte classes inside a string: 0 plain, 1 quote, 2 backslash, 3 control character (not allowed). */
const IN_STRING = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) IN_STRING[c] = 3;
IN_STRING[QUOTE] = 1;
IN_STRING[BACKSLASH] = 2;

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

function isHex(h: number | undefined): boolean {
  return h !== undefined && ((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66));
}

// The scanning functions take the position of a token's first byte and return the position after it,
// or -1 when the bytes are not JSON. Plain functions over the buffer and an index: measured 30 % faster
// than the same scan as methods keeping the position in an object.

/** Set by scanString(): whether the string it last scanned held a backslash. */
let lastEscaped = false;

function skipWs(b: Buffer, i: number): number {
  const n = b.length;
  for (; i < n; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
  }
  return i;
}

function scanString(b: Buffer, i: number): number {
  const n = b.length;
  i++;
  lastEscaped = false;
  for (;;) {
    while (i < n && IN_STRING[b[i]!] === 0) i++;
    if (i >= n) return -1;
    const k = IN_STRING[b[i]!];
    if (k === 1) return i + 1;
    if (k === 3) return -1; // control characters must be escaped
    lastEscaped = true;
    const e = b[i + 1];
    if (e === 0x75 /* u */) {
      if (!isHex(b[i + 2]) || !isHex(b[i + 3]) || !isHex(b[i + 4]) || !isHex(b[i + 5])) return -1;
      i += 6;
    } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      i += 2; // \" \\ \/ \b \f \n \r \t
    } else return -1;
  }
}

function scanNumber(b: Buffer, i: number): number {
  if (b[i] === MINUS) i++;
  if (b[i] === ZERO) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === DOT) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === PLUS || b[i] === MINUS) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}

function scanLiteral(b: Buffer, i: number, word: readonly number[]): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

function scanValue(b: Buffer, i: number, depth: number): number {
  switch (b[i]) {
    case QUOTE:
      return scanString(b, i);
    case OPEN_BRACE:
      return scanObject(b, i, depth + 1, undefined, undefined);
    case OPEN_BRACKET:
      return scanArray(b, i, depth + 1);
    case 0x74:
      return scanLiteral(b, i, TRUE);
    case 0x66:
      return scanLiteral(b, i, FALSE);
    case 0x6e:
      return scanLiteral(b, i, NULL);
    default:
      return scanNumber(b, i);
  }
}

function scanArray(b: Buffer, i: number, depth: number): number {
  if (depth > MAX_DEPTH) return -1;
  i = skipWs(b, i + 1);
  if (b[i] === CLOSE_BRACKET) return i + 1;
  for (;;) {
    i = scanValue(b, i, depth);
    if (i < 0) return -1;
    i = skipWs(b, i);
    const c = b[i];
    if (c === CLOSE_BRACKET) return i + 1;
    if (c !== COMMA) return -1;
    i = skipWs(b, i + 1);
  }
}

/** At an opening brace; records the wanted members when `wanted` is given (the top level). */
function scanObject(b: Buffer, i: number, depth: number, wanted: WantedNames | undefined, spans: MemberSpans | undefined): number {
  if (depth > MAX_DEPTH) return -1;
  i = skipWs(b, i + 1);
  if (b[i] === CLOSE_BRACE) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    const keyStart = i;
    i = scanString(b, i);
    if (i < 0) return -1;
    const keyEnd = i;
    const keyEscaped = lastEscaped;
    i = skipWs(b, i);
    if (b[i] !== COLON) return -1;
    i = skipWs(b, i + 1);
    const valueStart = i;
    i = scanValue(b, i, depth);
    if (i < 0) return -1;
    if (spans !== undefined && wanted!.mayWant(keyStart + 1, keyEnd - 1, keyEscaped)) {
      const k = wanted!.indexOf(b, keyStart + 1, keyEnd - 1, keyEscaped);
      if (k >= 0) spans.push(k, valueStart, i, b[valueStart] === QUOTE && !lastEscaped ? PLAIN_STRING : OTHER);
    }
    i = skipWs(b, i);
    const c = b[i];
    if (c === CLOSE_BRACE) return i + 1;
    if (c !== COMMA) return -1;
    i = skipWs(b, i + 1);
  }
}

/**
 * The wanted top-level members when `value` is exactly one JSON object (surrounding JSON whitespace
 * allowed) in valid UTF-8; null when the scan cannot vouch for it (decode it the full way).
 */
export function scanJsonObject(value: Buffer, wanted: WantedNames): MemberSpans | null {
  const start = skipWs(value, 0);
  if (value[start] !== OPEN_BRACE) return null;
  const spans: MemberSpans = [];
  if (value.length <= WASM_MAX_BYTES) {
    if (!scanInWasm(value, start, wanted, spans)) return null;
  } else {
    const end = scanObject(value, start, 1, wanted, spans);
    if (end < 0 || skipWs(value, end) !== value.length) return null;
  }
  // Last: structure first, so a value that is not JSON at all costs no UTF-8 pass.
  return isUtf8(value) ? spans : null;
}

// json-scan.wat's memory (its header says what lies where): the text is copied to 0, the outermost
// object's members come back at MEMBERS_AT, five i32 each, their count at COUNT_AT.
const WASM_MAX_BYTES = 65_536;
const WASM_COUNT_AT = 65_788;
const WASM_MEMBERS_AT = 65_792;
/** What is used here of the WebAssembly JavaScript API (the project's lib, es2024 without the DOM, does
 *  not declare it; Node has it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const { Module, Instance } = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
const wasm = new Instance(new Module(Buffer.from(JSON_SCAN_WASM, 'base64'))).exports as {
  memory: { buffer: ArrayBuffer };
  scan(start: number, len: number): number;
};
const wasmBytes = new Uint8Array(wasm.memory.buffer, 0, WASM_MAX_BYTES);
const wasmInts = new Int32Array(wasm.memory.buffer);
/** Member flags from json-scan.wat. */
const KEY_ESCAPED = 1;
const VALUE_ESCAPED = 2;

/** scanObject() in WebAssembly, for a value of at most WASM_MAX_BYTES: false when it is not JSON. */
function scanInWasm(value: Buffer, start: number, wanted: WantedNames, spans: MemberSpans): boolean {
  value.copy(wasmBytes, 0);
  if (wasm.scan(start, value.length) !== value.length) return false;
  const count = wasmInts[WASM_COUNT_AT >>> 2]!;
  for (let m = 0, at = WASM_MEMBERS_AT >>> 2; m < count; m++, at += 5) {
    const keyStart = wasmInts[at]!;
    const keyEnd = wasmInts[at + 1]!;
    const flags = wasmInts[at + 4]!;
    const keyEscaped = (flags & KEY_ESCAPED) !== 0;
    if (!wanted.mayWant(keyStart + 1, keyEnd - 1, keyEscaped)) continue;
    const k = wanted.indexOf(value, keyStart + 1, keyEnd - 1, keyEscaped);
    if (k < 0) continue;
    const valueStart = wasmInts[at + 2]!;
    spans.push(k, valueStart, wasmInts[at + 3]!, value[valueStart] === QUOTE && (flags & VALUE_ESCAPED) === 0 ? PLAIN_STRING : OTHER);
  }
  return true;
}

/** The wanted members as an object, as JSON.parse would give them (duplicates: the last one wins). */
export function parseMembers(value: Buffer, spans: MemberSpans, wanted: WantedNames): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let k = 0; k < spans.length; k += 4) {
    const start = spans[k + 1]!;
    const end = spans[k + 2]!;
    const v = spans[k + 3] === PLAIN_STRING ? value.toString('utf8', start + 1, end - 1) : JSON.parse(value.toString('utf8', start, end));
    const name = wanted.names[spans[k]!]!;
    // An own property even for "__proto__", as JSON.parse makes it (an assignment would set the prototype).
    if (name === '__proto__') Object.defineProperty(out, name, { value: v, writable: true, enumerable: true, configurable: true });
    else out[name] = v;
  }
  return out;
}
