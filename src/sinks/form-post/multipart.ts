// multipart/form-data bodies (RFC 7578 on RFC 2046 §5.1): a random boundary that occurs in no part,
// parts that each carry `Content-Disposition: form-data; name="…"` (and `filename="…"` for a file),
// an optional Content-Type, and nothing else (RFC 7578 §4.7: no Content-Transfer-Encoding).
import { randomBytes } from 'node:crypto';

export interface FormPart {
  readonly name: string;
  /** Present for a file part. */
  readonly filename?: string;
  /** Omitted for a text field (RFC 7578 §4.4: text/plain is the default). */
  readonly contentType?: string;
  readonly data: Buffer;
}

export interface MultipartBody {
  readonly boundary: string;
  /** The request's Content-Type header value. */
  readonly contentType: string;
  readonly body: Buffer;
}

/** RFC 2046 bchars: digits, letters and '()+_,-./:=? and space (not as the last character). */
const BOUNDARY_RE = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
/** Tries before giving up on finding a boundary absent from every part (2^-144 odds each). */
const BOUNDARY_TRIES = 8;

/** `logstream-` + 24 base64url characters (letters, digits, '-', '_': all bchars): 34 characters. */
export function randomBoundary(): string {
  return `logstream-${randomBytes(18).toString('base64url')}`;
}

export function isValidBoundary(b: string): boolean {
  return BOUNDARY_RE.test(b);
}

/**
 * A parameter value inside the quotes of Content-Disposition. RFC 7578 §2 and the HTML standard's
 * form encoding escape `"`, CR and LF as %22, %0D, %0A; no `filename*` (RFC 7578 §4.2).
 */
export function quoteParam(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function headerBlock(p: FormPart): string {
  let h = `Content-Disposition: form-data; name="${quoteParam(p.name)}"`;
  if (p.filename !== undefined) h += `; filename="${quoteParam(p.filename)}"`;
  h += '\r\n';
  if (p.contentType !== undefined) h += `Content-Type: ${p.contentType}\r\n`;
  return `${h}\r\n`;
}

/**
 * The body of `parts`:
 *   --B CRLF headers CRLF data CRLF --B CRLF … data CRLF --B-- CRLF
 * `newBoundary` is called until it returns a valid boundary found in no header and no data.
 */
export function encodeMultipart(parts: readonly FormPart[], newBoundary: () => string = randomBoundary): MultipartBody {
  if (parts.length === 0) throw new Error('multipart/form-data needs at least one part');
  const headers = parts.map((p) => Buffer.from(headerBlock(p), 'utf8'));
  for (let attempt = 0; attempt < BOUNDARY_TRIES; attempt++) {
    const boundary = newBoundary();
    if (!isValidBoundary(boundary)) throw new Error(`invalid multipart boundary ${JSON.stringify(boundary)} (1–70 bchars, not ending in a space)`);
    const b = Buffer.from(boundary, 'latin1');
    if (headers.some((h) => h.includes(b)) || parts.some((p) => p.data.includes(b))) continue;
    const open = Buffer.from(`--${boundary}\r\n`, 'latin1');
    const between = Buffer.from(`\r\n--${boundary}\r\n`, 'latin1');
    const close = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
    const chunks: Buffer[] = [open];
    parts.forEach((p, i) => {
      if (i > 0) chunks.push(between);
      chunks.push(headers[i]!, p.data);
    });
    chunks.push(close);
    return { boundary, contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
  }
  throw new Error(`no multipart boundary absent from the parts after ${BOUNDARY_TRIES} tries`);
}
