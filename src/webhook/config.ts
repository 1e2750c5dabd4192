// WEBHOOK_* variables: the pull endpoint GET /v1/logstream/{product} (seeds/000's webhook output).
import { ConfigError } from '../core/errors.ts';
import { parseVars, v, type Env } from '../config/vars.ts';
import type { Secret } from '../config/secret.ts';
import { isKeyHash, type ConfiguredKey } from './keys.ts';

const PRODUCT_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const webhookVars = {
  WEBHOOK_PRODUCTS: v.list({
    doc: 'Turns the webhook on: products it serves and the topic each reads, `product=topic` comma-separated (e.g. `web=logs-web,email=logs-email`). Served at GET /v1/logstream/{product}.',
    required: false,
  }),
  WEBHOOK_KEYS: v.secret({
    doc: 'The accepted keys as `product=sha256:<hex>` (comma- or newline-separated, several per product allowed); only hashes: `logstream webhook new-key` prints a key and its hash.',
  }),
  WEBHOOK_FIRST_WINDOW: v.duration({ doc: 'First call with a key: how far back it starts.', default: 10 * 60_000, min: 0 }),
  WEBHOOK_CURSOR_EXPIRY: v.duration({ doc: 'A key not called for longer than this has its cursor reset (records in between are skipped and counted); 0 = never reset.', default: 24 * 3_600_000, min: 0 }),
  WEBHOOK_RESET_WINDOW: v.duration({ doc: 'After a reset: how far back the call starts.', default: 5 * 60_000, min: 0 }),
  WEBHOOK_MAX_RECORDS: v.int({ doc: 'Records per response at most; when more wait, the response says so (header Logstream-More: true).', default: 10_000, min: 1 }),
  WEBHOOK_MAX_BYTES: v.bytes({ doc: 'Bytes per response at most, before compression.', default: 8 * 1024 * 1024, min: 1024 }),
  WEBHOOK_RATE_LIMIT: v.int({ doc: 'Calls per minute per key, per instance (429 with Retry-After beyond it); 0 = no limit.', default: 60, min: 0 }),
  WEBHOOK_AUTH_FAILURE_LIMIT: v.int({ doc: 'Calls with a wrong or missing key per minute per client address, per instance: beyond it the address gets 429 before any key is checked (guessing keys is slowed; a proxy\'s X-Forwarded-For counts only from HTTP_TRUSTED_PROXIES); 0 = no limit.', default: 30, min: 0 }),
  WEBHOOK_LEASE_TIMEOUT: v.duration({ doc: 'Time limit of one call (it reads for at most half of it). While a call runs, another with the same key waits up to 5 s, then gets 409, on any replica; a replica that dies mid-call blocks its key this long.', default: 30_000, min: 1000 }),
  WEBHOOK_CURSOR_TOPIC: v.string({ doc: 'Compacted topic holding the cursors (created at start if missing).', default: 'logstream-webhook-cursors' }),
};

export interface WebhookConfig {
  /** Product → topic. */
  products: Map<string, string>;
  keys: ConfiguredKey[];
  /** WEBHOOK_KEYS itself: from WEBHOOK_KEYS_FILE it rotates (the webhook re-reads the hashes). */
  keysSecret?: Secret | undefined;
  firstWindowMs: number;
  cursorExpiryMs: number;
  resetWindowMs: number;
  maxRecords: number;
  maxBytes: number;
  ratePerMinute: number;
  authFailuresPerMinute: number;
  leaseTimeoutMs: number;
  cursorTopic: string;
}

/** The key hashes of WEBHOOK_KEYS, and what is wrong with it (each problem names the variable, never an entry's text). */
export function parseWebhookKeys(rawKeys: string, products: ReadonlyMap<string, string>): { keys: ConfiguredKey[]; problems: string[] } {
  const keys: ConfiguredKey[] = [];
  const problems: string[] = [];
  for (const item of rawKeys.split(/[,\n]/).map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = item.indexOf('=');
    const product = eq < 0 ? '' : item.slice(0, eq).trim();
    const hash = eq < 0 ? '' : item.slice(eq + 1).trim().toLowerCase();
    // Never echo the item: it might be a key pasted by mistake.
    if (!isKeyHash(hash)) problems.push(`WEBHOOK_KEYS: entry ${keys.length + 1} is not product=sha256:<64 hex digits> (configure the hash that \`logstream webhook new-key\` prints, not the key)`);
    else if (!products.has(product)) problems.push(`WEBHOOK_KEYS: entry ${keys.length + 1} names product ${JSON.stringify(product)}, which WEBHOOK_PRODUCTS does not list`);
    else keys.push({ product, hash });
  }
  if (keys.length === 0 && rawKeys.trim() === '') problems.push('WEBHOOK_KEYS: is required when WEBHOOK_PRODUCTS is set (at least one product=sha256:<hex>)');
  return { keys, problems };
}

/** undefined when the webhook is off (WEBHOOK_PRODUCTS not set). */
export function parseWebhookConfig(env: Env): WebhookConfig | undefined {
  const p = parseVars(webhookVars, env);
  if (p.WEBHOOK_PRODUCTS === undefined) return undefined;
  const problems: string[] = [];
  const products = new Map<string, string>();
  for (const item of p.WEBHOOK_PRODUCTS) {
    const eq = item.indexOf('=');
    const product = eq < 0 ? '' : item.slice(0, eq).trim();
    const topic = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (!PRODUCT_RE.test(product) || topic === '') problems.push(`WEBHOOK_PRODUCTS: ${JSON.stringify(item)} must be product=topic with a product of lower-case letters, digits, - or _`);
    else if (products.has(product)) problems.push(`WEBHOOK_PRODUCTS: product ${product} is listed twice`);
    else products.set(product, topic);
  }
  const { keys, problems: keyProblems } = parseWebhookKeys(p.WEBHOOK_KEYS?.reveal() ?? '', products);
  problems.push(...keyProblems);
  if (problems.length) throw new ConfigError(problems);
  return {
    products,
    keys,
    keysSecret: p.WEBHOOK_KEYS,
    firstWindowMs: p.WEBHOOK_FIRST_WINDOW,
    cursorExpiryMs: p.WEBHOOK_CURSOR_EXPIRY,
    resetWindowMs: p.WEBHOOK_RESET_WINDOW,
    maxRecords: p.WEBHOOK_MAX_RECORDS,
    maxBytes: p.WEBHOOK_MAX_BYTES,
    ratePerMinute: p.WEBHOOK_RATE_LIMIT,
    authFailuresPerMinute: p.WEBHOOK_AUTH_FAILURE_LIMIT,
    leaseTimeoutMs: p.WEBHOOK_LEASE_TIMEOUT,
    cursorTopic: p.WEBHOOK_CURSOR_TOPIC,
  };
}
