/**
 * C-style escapes in delimiter options (`-delim='\t'`, `'\x09'`, `'\011'`).
 * SPL strings use SQL quoting, where a backslash is an ordinary character, so
 * without this a tab delimiter could not be written. Only delimiter/quote
 * options are decoded; string literals in expressions are never touched.
 */
const SIMPLE: Record<string, string> = { t: '\t', n: '\n', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"' };

export function decodeCharEscapes(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/gs, (whole, esc: string) => {
    if (esc[0] === 'x' && esc.length === 3) return String.fromCharCode(parseInt(esc.slice(1), 16));
    if (/^[0-7]+$/.test(esc) && esc !== '0') return String.fromCharCode(parseInt(esc, 8));
    if (Object.hasOwn(SIMPLE, esc)) return SIMPLE[esc] as string;
    // Any other escaped character stands for itself (`\|` is `|`).
    return whole.length === 2 ? esc : whole;
  });
}
