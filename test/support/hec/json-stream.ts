/**
 * Finds the top-level JSON objects of a HEC /event body: objects one after another, optionally
 * separated by JSON whitespace, no enclosing array and no commas ("Format events for HTTP Event
 * Collector", event data: batches are events one after another in one request).
 *
 * It only finds boundaries (brace depth outside strings, honouring backslash escapes); each slice is
 * then checked by JSON.parse, so a slice with mismatched brackets or bad tokens is still caught, at
 * the right object number. Slices are produced lazily: a caller that stops at the first invalid
 * object never scans the rest of the body.
 */

export type ObjectSlice =
  | { readonly ok: true; readonly start: number; readonly end: number }
  /** Not an object where one must start, or an object that never closes. */
  | { readonly ok: false; readonly start: number; readonly reason: string };

const SP = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

export function skipJsonWhitespace(text: string, from: number): number {
  let p = from;
  const n = text.length;
  while (p < n) {
    const ch = text.charCodeAt(p);
    if (ch !== SP && ch !== TAB && ch !== LF && ch !== CR) break;
    p++;
  }
  return p;
}

/**
 * Given `text[start]` is `{` (or `[`), the index just past its matching close, or -1 when the input
 * ends first. Brackets inside strings are ignored; a quote preceded by an odd number of backslashes
 * does not end a string.
 */
export function scanCompositeEnd(text: string, start: number): number {
  const n = text.length;
  let depth = 0;
  for (let p = start; p < n; p++) {
    const ch = text.charCodeAt(p);
    if (ch === QUOTE) {
      // Jump from quote to quote; the opening quote at p stops the backslash count.
      let q = p + 1;
      for (;;) {
        const close = text.indexOf('"', q);
        if (close < 0) return -1;
        let b = close - 1;
        let slashes = 0;
        while (text.charCodeAt(b) === BACKSLASH) {
          slashes++;
          b--;
        }
        if (slashes % 2 === 0) {
          p = close;
          break;
        }
        q = close + 1;
      }
    } else if (ch === LBRACE || ch === LBRACKET) {
      depth++;
    } else if (ch === RBRACE || ch === RBRACKET) {
      depth--;
      if (depth === 0) return p + 1;
    }
  }
  return -1;
}

/** The top-level objects of `text`, in order. Stops after the first failure. */
export function* splitConcatenatedObjects(text: string): Generator<ObjectSlice, void, undefined> {
  let p = 0;
  for (;;) {
    p = skipJsonWhitespace(text, p);
    if (p >= text.length) return;
    if (text.charCodeAt(p) !== LBRACE) {
      yield { ok: false, start: p, reason: `expected '{' at offset ${p}` };
      return;
    }
    const end = scanCompositeEnd(text, p);
    if (end < 0) {
      yield { ok: false, start: p, reason: `object at offset ${p} is not closed` };
      return;
    }
    yield { ok: true, start: p, end };
    p = end;
  }
}
