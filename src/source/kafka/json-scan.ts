// A validating scan of a JSON object in its bytes, without building it: it says whether the value is one
// JSON object exactly as JSON.parse would accept it (after UTF-8 decoding), and where the members with
// the wanted top-level names are. A query that only filters needs no more than that: the record is
// shipped as its original bytes, and only the fields the filter reads are parsed.
//
// The scan is sound, not complete: when it answers, JSON.parse would accept the value and give those
// members; it gives up (null) on anything it does not handle — a byte-order mark, nesting deeper than
// MAX_DEPTH, invalid UTF-8 or JSON — and the caller decodes the value the full way, which decides.
import { isUtf8 } from 'node:buffer';

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
  readonly #bytes: Buffer[];
  constructor(names: readonly string[]) {
    this.names = [...new Set(names)];
    this.#bytes = this.names.map((n) => Buffer.from(n, 'utf8'));
  }

  /** Whether the key in b[start, end) (between its quotes) is wanted; `escaped` when it holds a backslash. */
  matches(b: Buffer, start: number, end: number, escaped: boolean): boolean {
    if (this.names.length === 0) return false;
    if (escaped) return this.names.includes(JSON.parse(b.toString('utf8', start - 1, end + 1)) as string);
    const len = end - start;
    for (const w of this.#bytes) if (w.length === len && b.compare(w, 0, len, start, end) === 0) return true;
    return false;
  }
}

/** Half-open byte ranges [start, end) of the wanted members, each `"key": value`, in document order. */
export type MemberSpans = number[];

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

class Scan {
  readonly b: Buffer;
  readonly n: number;
  i = 0;
  /** Set by string(): whether the last string held a backslash. */
  escaped = false;
  constructor(b: Buffer) {
    this.b = b;
    this.n = b.length;
  }

  ws(): void {
    const b = this.b;
    let i = this.i;
    for (; i < this.n; i++) {
      const c = b[i];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    }
    this.i = i;
  }

  /** At a quote: past the closing quote, or false. */
  string(): boolean {
    const b = this.b;
    let i = this.i + 1;
    this.escaped = false;
    while (i < this.n) {
      const c = b[i]!;
      if (c === QUOTE) {
        this.i = i + 1;
        return true;
      }
      if (c === BACKSLASH) {
        this.escaped = true;
        const e = b[i + 1];
        if (e === 0x75 /* u */) {
          for (let k = 2; k < 6; k++) {
            const h = b[i + k];
            if (h === undefined || !((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66))) return false;
          }
          i += 6;
          continue;
        }
        // \" \\ \/ \b \f \n \r \t
        if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          i += 2;
          continue;
        }
        return false;
      }
      if (c < 0x20) return false; // control characters must be escaped
      i++;
    }
    return false;
  }

  number(): boolean {
    const b = this.b;
    let i = this.i;
    if (b[i] === MINUS) i++;
    if (b[i] === ZERO) i++;
    else if (isDigit(b[i])) while (isDigit(b[i])) i++;
    else return false;
    if (b[i] === DOT) {
      i++;
      if (!isDigit(b[i])) return false;
      while (isDigit(b[i])) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === PLUS || b[i] === MINUS) i++;
      if (!isDigit(b[i])) return false;
      while (isDigit(b[i])) i++;
    }
    this.i = i;
    return true;
  }

  literal(word: number[]): boolean {
    for (let k = 0; k < word.length; k++) if (this.b[this.i + k] !== word[k]) return false;
    this.i += word.length;
    return true;
  }

  value(depth: number): boolean {
    switch (this.b[this.i]) {
      case QUOTE:
        return this.string();
      case OPEN_BRACE:
        return this.object(depth + 1, undefined, undefined);
      case OPEN_BRACKET:
        return this.array(depth + 1);
      case 0x74:
        return this.literal(TRUE);
      case 0x66:
        return this.literal(FALSE);
      case 0x6e:
        return this.literal(NULL);
      default:
        return this.number();
    }
  }

  array(depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    this.i++;
    this.ws();
    if (this.b[this.i] === CLOSE_BRACKET) {
      this.i++;
      return true;
    }
    for (;;) {
      if (!this.value(depth)) return false;
      this.ws();
      const c = this.b[this.i];
      if (c === CLOSE_BRACKET) {
        this.i++;
        return true;
      }
      if (c !== COMMA) return false;
      this.i++;
      this.ws();
    }
  }

  /** At an opening brace; records the spans of wanted members when `wanted` is given (top level). */
  object(depth: number, wanted: WantedNames | undefined, spans: MemberSpans | undefined): boolean {
    if (depth > MAX_DEPTH) return false;
    this.i++;
    this.ws();
    if (this.b[this.i] === CLOSE_BRACE) {
      this.i++;
      return true;
    }
    for (;;) {
      if (this.b[this.i] !== QUOTE) return false;
      const keyStart = this.i;
      if (!this.string()) return false;
      const keyEnd = this.i;
      const escaped = this.escaped;
      this.ws();
      if (this.b[this.i] !== COLON) return false;
      this.i++;
      this.ws();
      if (!this.value(depth)) return false;
      if (spans !== undefined && wanted!.matches(this.b, keyStart + 1, keyEnd - 1, escaped)) spans.push(keyStart, this.i);
      this.ws();
      const c = this.b[this.i];
      if (c === CLOSE_BRACE) {
        this.i++;
        return true;
      }
      if (c !== COMMA) return false;
      this.i++;
      this.ws();
    }
  }
}

/**
 * The spans of the wanted top-level members when `value` is exactly one JSON object (surrounding JSON
 * whitespace allowed) in valid UTF-8; null when the scan cannot vouch for it (decode it the full way).
 */
export function scanJsonObject(value: Buffer, wanted: WantedNames): MemberSpans | null {
  const s = new Scan(value);
  s.ws();
  if (value[s.i] !== OPEN_BRACE) return null;
  const spans: MemberSpans = [];
  if (!s.object(1, wanted, spans)) return null;
  s.ws();
  if (s.i !== s.n) return null;
  // Last: structure first, so a value that is not JSON at all costs no UTF-8 pass.
  return isUtf8(value) ? spans : null;
}

/** The wanted members as an object, parsed by JSON.parse itself (duplicates: the last one wins, as there). */
export function parseMembers(value: Buffer, spans: MemberSpans): Record<string, unknown> {
  if (spans.length === 0) return {};
  let text = '{';
  for (let k = 0; k < spans.length; k += 2) {
    if (k > 0) text += ',';
    text += value.toString('utf8', spans[k], spans[k + 1]);
  }
  return JSON.parse(`${text}}`) as Record<string, unknown>;
}
