// Form POST sink settings (FORMPOST_*): where to POST, the product named in each POST, the form's
// part names, authentication and extra headers, TLS, and which statuses mean "configuration is wrong".
import { ConfigError } from '../../core/errors.ts';
import { Secret } from '../../config/secret.ts';
import { parseVars, v, type Env } from '../../config/vars.ts';
import { httpTlsVars, parseHttpTls, type HttpTls } from '../../config/http-tls.ts';
import { httpUrlProblem } from '../http/url.ts';

/** Part names and the product constant: letters, digits and `._-[]` (nothing a receiver must unescape). */
const PART_NAME = /^[A-Za-z0-9._\-[\]]{1,64}$/;
const PRODUCT = /^[A-Za-z0-9._-]{1,64}$/;
/** An HTTP field name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MEDIA_TYPE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\/[!#$%&'*+\-.^_`|~0-9A-Za-z]+(\s*;\s*[!#$%&'*+\-.^_`|~0-9A-Za-z]+=("[^"\r\n]*"|[!#$%&'*+\-.^_`|~0-9A-Za-z]+))*$/;
/** Headers logstream sets itself (or that framing depends on): they cannot be configured. */
const RESERVED_HEADERS = new Set(['host', 'content-type', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect']);
/** Never dead-letter on these: delivery waits instead (they are not about the records). */
const NOT_HALTABLE = new Set([408, 413, 429]);

const haltStatus = (s: string): string | undefined => {
  if (s.toLowerCase() === 'none') return undefined;
  if (!/^\d{3}$/.test(s) || Number(s) < 400 || Number(s) > 499) return `${JSON.stringify(s)} is not a 4xx status`;
  if (NOT_HALTABLE.has(Number(s))) return `${s} is always retried (408, 429) or split (413)`;
  return undefined;
};

export const formPostVars = {
  FORMPOST_URL: v.secret({ doc: 'Receiver URL (http or https), e.g. `https://collector.example.com/upload`. A secret because collectors such as Sumo Logic\'s HTTP source carry their token in the path: only the origin (scheme, host, port) is ever logged.', required: true }),
  FORMPOST_PRODUCT: v.string({ doc: 'Product named in the product field and the file name, as the SaaS\'s `web`, `email`, `app`, `casb` or `mfa` (letters, digits, `._-`; the default when FORMPOST_PRODUCT_FIELD is missing in a record).', required: true, pattern: PRODUCT, patternText: '1–64 letters, digits, `.`, `_` or `-`' }),
  FORMPOST_PRODUCT_FIELD: v.optionalString({ doc: 'Record field holding the product (e.g. `product`): records of different products never share a POST.' }),
  FORMPOST_AUTH_HEADER: v.string({ doc: 'Header carrying FORMPOST_AUTH_VALUE.', default: 'Authorization', pattern: TOKEN, patternText: 'an HTTP header name' }),
  FORMPOST_AUTH_VALUE: v.secret({ doc: 'Value of FORMPOST_AUTH_HEADER, e.g. `Bearer <token>` or `Basic <base64>`. Unset: no authentication header.' }),
  FORMPOST_HEADERS: v.secret({ doc: 'More request headers as a JSON object, e.g. `{"X-Tenant":"acme"}` (kept secret: it may hold API keys).' }),
  FORMPOST_FILE_PART: v.string({ doc: 'Name of the file part that holds the JSON lines.', default: 'file', pattern: PART_NAME, patternText: '1–64 letters, digits or `._-[]`' }),
  FORMPOST_PRODUCT_PART: v.string({ doc: 'Name of the text field holding the product.', default: 'product', pattern: PART_NAME, patternText: '1–64 letters, digits or `._-[]`' }),
  FORMPOST_ROWS_PART: v.string({ doc: 'Name of the text field holding the number of rows (lines) in the file.', default: 'rows', pattern: PART_NAME, patternText: '1–64 letters, digits or `._-[]`' }),
  FORMPOST_FILE_CONTENT_TYPE: v.string({ doc: 'Content-Type of the file part (`application/json` for receivers that want it).', default: 'application/x-ndjson', pattern: MEDIA_TYPE, patternText: 'a media type such as application/x-ndjson' }),
  FORMPOST_HALT_STATUSES: v.list({ doc: '4xx statuses that mean the URL or the credentials are wrong: delivery stops and retries (nothing dead-lettered or committed, /readyz false) until fixed. Any other 4xx but 408/429 dead-letters the POST\'s records. `none`: dead-letter on every such 4xx.', default: ['401', '403', '404', '405', '407'], item: haltStatus }),
  FORMPOST_CONNECTIONS: v.int({ doc: 'Keep-alive connections to the receiver.', default: 8, min: 1, max: 256 }),
  ...httpTlsVars('FORMPOST'),
};

export interface FormPostConfig {
  /** The URL as configured (a secret: see FORMPOST_URL). */
  url: Secret;
  /** scheme://host:port of the URL: what logs and errors name. */
  origin: string;
  product: string;
  productField: string | undefined;
  auth: { header: string; value: Secret } | undefined;
  /** Extra headers: names, and values kept secret. */
  headers: ReadonlyArray<readonly [string, Secret]>;
  parts: { file: string; product: string; rows: string };
  fileContentType: string;
  haltStatuses: readonly number[];
  connections: number;
  tls: HttpTls;
}

/** FORMPOST_HEADERS as [name, value] pairs; problems never quote a value (they may be secrets). */
export function parseExtraHeaders(json: string, authHeader: string, problems: string[]): Array<[string, string]> {
  let obj: unknown;
  try {
    obj = JSON.parse(json);
  } catch {
    problems.push('FORMPOST_HEADERS: must be a JSON object such as {"X-Tenant":"acme"} (not valid JSON)');
    return [];
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    problems.push('FORMPOST_HEADERS: must be a JSON object such as {"X-Tenant":"acme"}');
    return [];
  }
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(obj)) {
    const lower = name.toLowerCase();
    const shown = JSON.stringify(name.slice(0, 64));
    if (!TOKEN.test(name)) problems.push(`FORMPOST_HEADERS: ${shown} is not an HTTP header name`);
    else if (RESERVED_HEADERS.has(lower)) problems.push(`FORMPOST_HEADERS: ${shown} is set by logstream and cannot be configured`);
    else if (lower === authHeader.toLowerCase()) problems.push(`FORMPOST_HEADERS: ${shown} is FORMPOST_AUTH_HEADER; set its value with FORMPOST_AUTH_VALUE`);
    else if (seen.has(lower)) problems.push(`FORMPOST_HEADERS: ${shown} is given twice`);
    else if (typeof value !== 'string') problems.push(`FORMPOST_HEADERS: the value of ${shown} must be a string`);
    // Visible ASCII, space and tab, and obs-text; no CR, LF or NUL (header injection).
    else if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(value)) problems.push(`FORMPOST_HEADERS: the value of ${shown} holds a control character or a character above U+00FF`);
    else {
      seen.add(lower);
      out.push([name, value.trim()]);
    }
  }
  return out;
}

export function parseFormPostConfig(env: Env): FormPostConfig {
  const p = parseVars(formPostVars, env);
  const problems: string[] = [];
  const urlText = p.FORMPOST_URL!.reveal().trim();
  const urlProblem = httpUrlProblem(urlText, 'FORMPOST_AUTH_VALUE', { quote: false });
  if (urlProblem) problems.push(`FORMPOST_URL: ${urlProblem}`);
  const parts = { file: p.FORMPOST_FILE_PART, product: p.FORMPOST_PRODUCT_PART, rows: p.FORMPOST_ROWS_PART };
  if (new Set(Object.values(parts)).size !== 3) problems.push('FORMPOST_FILE_PART: FORMPOST_FILE_PART, FORMPOST_PRODUCT_PART and FORMPOST_ROWS_PART must differ');
  const asSecrets = (pairs: Array<[string, string]>): Array<readonly [string, Secret]> => pairs.map(([name, value]) => [name, new Secret(value)] as const);
  let headers = asSecrets(p.FORMPOST_HEADERS === undefined ? [] : parseExtraHeaders(p.FORMPOST_HEADERS.reveal(), p.FORMPOST_AUTH_HEADER, problems));
  const authValue = p.FORMPOST_AUTH_VALUE;
  if (authValue !== undefined && /[\r\n\0]/.test(authValue.reveal())) problems.push('FORMPOST_AUTH_VALUE: holds a line break or NUL');
  const halts = p.FORMPOST_HALT_STATUSES.map((s) => s.toLowerCase());
  if (halts.includes('none') && halts.length > 1) problems.push('FORMPOST_HALT_STATUSES: `none` cannot be combined with statuses');
  const tls = parseHttpTls('FORMPOST', p, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const origin = new URL(urlText).origin;
  // From files, both follow their file: a new path or query (a rotated token in a Sumo-style URL) and
  // new header values are used from the next request. A value that does not parse, or a URL on
  // another origin (the connections and their TLS are the origin's), is refused and reported.
  p.FORMPOST_URL!.onRotate(
    (text) => httpUrlProblem(text.trim(), 'FORMPOST_AUTH_VALUE', { quote: false }) ?? (new URL(text.trim()).origin === origin ? undefined : `the origin must stay ${origin} (another host needs a restart)`),
    () => undefined,
  );
  p.FORMPOST_HEADERS?.onRotate(
    (text) => {
      const found: string[] = [];
      parseExtraHeaders(text, p.FORMPOST_AUTH_HEADER, found);
      return found.length > 0 ? found.join('; ') : undefined;
    },
    (text) => {
      headers = asSecrets(parseExtraHeaders(text, p.FORMPOST_AUTH_HEADER, []));
    },
  );
  const cfg: FormPostConfig = {
    url: p.FORMPOST_URL!,
    origin,
    product: p.FORMPOST_PRODUCT,
    productField: p.FORMPOST_PRODUCT_FIELD,
    auth: authValue === undefined ? undefined : { header: p.FORMPOST_AUTH_HEADER, value: authValue },
    headers: [],
    parts,
    fileContentType: p.FORMPOST_FILE_CONTENT_TYPE,
    haltStatuses: halts.filter((s) => s !== 'none').map(Number),
    connections: p.FORMPOST_CONNECTIONS,
    tls,
  };
  Object.defineProperty(cfg, 'headers', { get: () => headers, enumerable: true });
  return cfg;
}
