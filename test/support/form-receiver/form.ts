/**
 * Strict checking of one logstream form POST body, in two independent ways:
 *  1. busboy (the standard Node multipart parser) parses the body: fields and files as any
 *     multipart/form-data receiver would see them;
 *  2. a structural reading of the raw bytes against RFC 7578 / RFC 2046 §5.1, for what busboy
 *     tolerates silently: a boundary of 1–70 bchars (not ending in a space), no preamble, every part
 *     opened by `--B CRLF` and the body closed by `CRLF --B-- CRLF`, only Content-Disposition
 *     (form-data, a quoted name, an optional quoted filename, no filename*) and Content-Type
 *     headers in a part (no Content-Transfer-Encoding), and the boundary in no part at all (what
 *     logstream promises; RFC 2046 only forbids the delimiter line).
 * Then the form itself: exactly one file part (the JSON lines) and exactly the product and rows
 * fields; rows = the number of lines ≤ maxRows; every line one JSON object; UTF-8; LF line ends.
 */
import busboy from 'busboy';
import { Readable } from 'node:stream';

export interface FormRules {
  /** Rows per POST at most. */
  readonly maxRows: number;
  readonly fileField: string;
  readonly productField: string;
  readonly rowsField: string;
  /** Accepted Content-Types of the file part. */
  readonly fileContentTypes: readonly string[];
}

export const DEFAULT_FORM_RULES: FormRules = {
  maxRows: 20,
  fileField: 'file',
  productField: 'product',
  rowsField: 'rows',
  fileContentTypes: ['application/x-ndjson'],
};

export interface ParsedForm {
  readonly boundary: string;
  readonly product: string;
  readonly rows: number;
  readonly filename: string;
  readonly fileContentType: string;
  /** The file's lines, without their LF. */
  readonly lines: string[];
  /** The lines parsed. */
  readonly records: Array<Record<string, unknown>>;
}

export type FormCheck = { ok: true; form: ParsedForm } | { ok: false; reason: string };

const BCHARS = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const DISPOSITION = /^form-data; name="([^"\r\n]*)"(?:; filename="([^"\r\n]*)")?$/;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary of a `multipart/form-data; boundary=…` Content-Type, or why there is none. */
export function boundaryOf(contentType: string | undefined): string | { reason: string } {
  if (!contentType) return { reason: 'no Content-Type' };
  const m = /^multipart\/form-data\s*;\s*boundary=(?:"([^"]*)"|([^;\s]+))\s*$/i.exec(contentType);
  if (!m) return { reason: `Content-Type is not multipart/form-data with a boundary: ${contentType}` };
  const b = m[1] ?? m[2]!;
  if (!BCHARS.test(b)) return { reason: `boundary ${JSON.stringify(b)} is not 1–70 bchars (or ends in a space)` };
  return b;
}

interface RawPart {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
  data: Buffer;
}

/** The structural reading (2. above). */
export function readRawParts(body: Buffer, boundary: string): RawPart[] | { reason: string } {
  const b = Buffer.from(boundary, 'latin1');
  const first = Buffer.from(`--${boundary}\r\n`, 'latin1');
  if (!body.subarray(0, first.length).equals(first)) return { reason: 'body does not start with --boundary CRLF (preamble or wrong boundary)' };
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const parts: RawPart[] = [];
  let at = first.length;
  for (;;) {
    const end = body.indexOf(delimiter, at);
    if (end < 0) return { reason: 'no closing delimiter (body cut short?)' };
    const part = body.subarray(at, end);
    const headerEnd = part.indexOf(HEADER_END);
    if (headerEnd < 0) return { reason: `part ${parts.length + 1} has no header block ending in CRLF CRLF` };
    const headerText = part.subarray(0, headerEnd).toString('latin1');
    const data = part.subarray(headerEnd + HEADER_END.length);
    if (data.includes(b)) return { reason: `part ${parts.length + 1} contains the boundary` };
    let disposition: string | undefined;
    let contentType: string | undefined;
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) return { reason: `part ${parts.length + 1}: malformed header line ${JSON.stringify(line)}` };
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-disposition' && disposition === undefined) disposition = value;
      else if (name === 'content-type' && contentType === undefined) contentType = value;
      else return { reason: `part ${parts.length + 1}: header ${JSON.stringify(line.slice(0, colon))} is not allowed (RFC 7578: Content-Disposition and Content-Type only)` };
    }
    if (disposition === undefined) return { reason: `part ${parts.length + 1} has no Content-Disposition` };
    const d = DISPOSITION.exec(disposition);
    if (!d) return { reason: `part ${parts.length + 1}: Content-Disposition ${JSON.stringify(disposition)} is not form-data; name="…"[; filename="…"]` };
    parts.push({ name: d[1]!, filename: d[2], contentType, data });
    at = end + delimiter.length;
    const next = body.subarray(at, at + 2).toString('latin1');
    if (next === '\r\n') {
      at += 2;
      continue;
    }
    if (next === '--') {
      if (!body.subarray(at + 2).equals(CRLF)) return { reason: 'the close delimiter --boundary-- must end the body with CRLF (no epilogue)' };
      return parts;
    }
    if (next.length < 2) return { reason: 'body cut short: no close delimiter --boundary--' };
    return { reason: `delimiter followed by ${JSON.stringify(next)}, not CRLF or --` };
  }
}

interface BusboyPart {
  name: string;
  kind: 'field' | 'file';
  filename: string | undefined;
  mimeType: string;
  encoding: string;
  data: Buffer;
}

/** The parse by busboy (1. above). */
export function parseWithBusboy(body: Buffer, contentType: string): Promise<BusboyPart[]> {
  return new Promise((resolve, reject) => {
    const parts: BusboyPart[] = [];
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: { 'content-type': contentType }, limits: { fieldSize: 1024 * 1024, fileSize: 256 * 1024 * 1024 } });
    } catch (err) {
      reject(err as Error);
      return;
    }
    bb.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) reject(new Error(`field ${name} truncated by busboy's limits`));
      parts.push({ name, kind: 'field', filename: undefined, mimeType: info.mimeType, encoding: info.encoding, data: Buffer.from(value, 'utf8') });
    });
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => reject(new Error(`file ${name} truncated by busboy's limits`)));
      stream.on('end', () => parts.push({ name, kind: 'file', filename: info.filename, mimeType: info.mimeType, encoding: info.encoding, data: Buffer.concat(chunks) }));
    });
    bb.on('error', (err) => reject(err as Error));
    bb.on('close', () => resolve(parts));
    Readable.from([body]).pipe(bb);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Checks a logstream form POST body with `contentType` (the request header) against `rules`. */
export async function checkForm(body: Buffer, contentType: string | undefined, rules: FormRules = DEFAULT_FORM_RULES): Promise<FormCheck> {
  const fail = (reason: string): FormCheck => ({ ok: false, reason });
  const boundary = boundaryOf(contentType);
  if (typeof boundary !== 'string') return fail(boundary.reason);
  const raw = readRawParts(body, boundary);
  if (!Array.isArray(raw)) return fail(raw.reason);
  let parts: BusboyPart[];
  try {
    parts = await parseWithBusboy(body, contentType!);
  } catch (err) {
    return fail(`busboy: ${(err as Error).message}`);
  }
  if (parts.length !== raw.length) return fail(`busboy saw ${parts.length} parts, the raw body has ${raw.length}`);
  for (const [i, p] of parts.entries()) {
    const r = raw[i]!;
    if (p.name !== r.name || !p.data.equals(r.data) || p.filename !== r.filename) return fail(`part ${i + 1} reads differently in busboy and in the raw body`);
    if (p.encoding !== '7bit') return fail(`part ${i + 1} has a Content-Transfer-Encoding (${p.encoding})`);
  }
  const files = parts.filter((p) => p.kind === 'file');
  const fields = parts.filter((p) => p.kind === 'field');
  if (files.length !== 1) return fail(`${files.length} file parts, expected exactly 1`);
  const file = files[0]!;
  if (file.name !== rules.fileField) return fail(`the file part is named ${JSON.stringify(file.name)}, expected ${JSON.stringify(rules.fileField)}`);
  if (!file.filename || !/^[A-Za-z0-9._-]+\.json$/.test(file.filename)) return fail(`file name ${JSON.stringify(file.filename)} is not <letters, digits, ._->.json`);
  if (!rules.fileContentTypes.includes(file.mimeType)) return fail(`file Content-Type ${file.mimeType}, expected one of ${rules.fileContentTypes.join(', ')}`);
  const names = fields.map((f) => f.name).sort();
  const expected = [rules.productField, rules.rowsField].sort();
  if (names.join('\n') !== expected.join('\n')) return fail(`fields ${JSON.stringify(names)}, expected exactly ${JSON.stringify(expected)}`);
  const product = fields.find((f) => f.name === rules.productField)!.data.toString('utf8');
  const rowsText = fields.find((f) => f.name === rules.rowsField)!.data.toString('utf8');
  if (product === '') return fail('empty product field');
  if (!/^[1-9]\d*$/.test(rowsText)) return fail(`rows field ${JSON.stringify(rowsText)} is not a positive whole number`);
  const rows = Number(rowsText);
  if (rows > rules.maxRows) return fail(`rows ${rows} is over the limit of ${rules.maxRows} per POST`);
  let text: string;
  try {
    text = utf8.decode(file.data);
  } catch {
    return fail('the file is not valid UTF-8');
  }
  if (!text.endsWith('\n')) return fail('the file does not end with a line feed');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length !== rows) return fail(`rows field says ${rows}, the file has ${lines.length} lines`);
  const records: Array<Record<string, unknown>> = [];
  for (const [i, line] of lines.entries()) {
    if (line.includes('\r')) return fail(`line ${i + 1} holds a CR`);
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return fail(`line ${i + 1} is not JSON: ${line.slice(0, 100)}`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(`line ${i + 1} is not a JSON object`);
    records.push(v as Record<string, unknown>);
  }
  return { ok: true, form: { boundary, product, rows, filename: file.filename, fileContentType: file.mimeType, lines, records } };
}
