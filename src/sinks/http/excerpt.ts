// Bounded, printable excerpts of a peer's response body, for error messages and dead-letter reasons.
// A reply body is untrusted input: it is cut, control characters are removed (no forged log lines,
// no terminal escapes), and any configured secret it echoes is masked.
import { REDACTED } from '../../config/secret.ts';

/** At most `maxBytes` of a response body (the rest is not read; the connection may be closed). */
export async function readBodyExcerpt(body: AsyncIterable<Buffer | Uint8Array>, maxBytes = 4096): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
    chunks.push(b);
    n += b.length;
    if (n >= maxBytes) break;
  }
  return Buffer.concat(chunks).subarray(0, maxBytes);
}

// C0 controls (tab, CR and LF included), DEL and C1 controls; the Unicode line/paragraph separators and
// bidi overrides, which can also disguise a log line.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

/** One line of at most `maxChars` characters; `secrets` (non-empty strings) are replaced by a mask. */
export function cleanExcerpt(body: Buffer | string, maxChars = 300, secrets: readonly string[] = []): string {
  let text = typeof body === 'string' ? body : body.toString('utf8');
  for (const s of secrets) {
    if (s.length < 4) continue;
    text = text.split(s).join(REDACTED);
    // The excerpt may end inside an echoed secret: mask a trailing prefix of it too.
    for (let k = Math.min(s.length - 1, text.length); k >= 4; k--) {
      if (text.endsWith(s.slice(0, k))) {
        text = `${text.slice(0, text.length - k)}${REDACTED}`;
        break;
      }
    }
  }
  text = text.replace(CONTROL, ' ').replace(/\s{2,}/g, ' ').trim();
  // A cut in the middle of a UTF-8 sequence decodes to U+FFFD at the end: drop it.
  text = text.replace(/\uFFFD+$/, '');
  if (text.length <= maxChars) return text;
  // Do not cut a surrogate pair in half.
  let end = maxChars;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
