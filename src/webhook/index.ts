// The pull output of seeds/000: GET /v1/logstream/{product} with a secret key returns the product's
// records since the key's cursor as JSON lines. Kafka is the buffer: a call reads the product's topic
// by offset (group-less), applies the query, and the cursor moves only after the response went out.
// Cursors live in a compacted topic (cursor-store.ts), so any replica answers any call.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { oneLine } from '../core/errors.ts';
import type { DeadLetterQueue } from '../delivery/dead-letter.ts';
import type { CompiledQuery } from '../query/index.ts';
import { jsonDecoder } from '../source/kafka/decode.ts';
import type { KafkaClient, PartitionReader, RecordDecoder } from '../source/kafka/interface.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { parseWebhookKeys, type WebhookConfig } from './config.ts';
import { clientAddress } from '../http/client-address.ts';
import type { BlockList } from 'node:net';
import { CursorStore } from './cursor-store.ts';
import { KeyRing, type KeyMatch } from './keys.ts';
import { KeyRateLimit } from './rate-limit.ts';
import { planStart, processMessage, readWindow, resolveStart } from './window.ts';

const gzip = promisify(gzipCb);

export const WEBHOOK_PATH_PREFIX = '/v1/logstream/';
/** Longest request target accepted (the key may be in it). */
const MAX_URL_LENGTH = 2048;
const FETCH_BYTES = 1024 * 1024;
/** How long a call waits for another call with the same key to finish before answering 409. */
export const CONFLICT_WAIT_MS = 5000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export interface WebhookDeps {
  kafka: KafkaClient;
  query: CompiledQuery;
  /** Bytes → fields as KAFKA_VALUE_FORMAT says (default: JSON, else `_raw` text). */
  decoder?: RecordDecoder;
  dlq: DeadLetterQueue;
  metrics: Metrics;
  logger: Logger;
  /** HTTP_TRUSTED_PROXIES: whose X-Forwarded-For names the client. */
  trustedProxies?: BlockList | undefined;
}

interface CallLog {
  product: string;
  keyId?: string;
  status: number;
  records?: number;
  bytes?: number;
  more?: boolean;
  reset?: boolean;
  skipped?: number;
  error?: string;
}

export class Webhook {
  readonly #cfg: WebhookConfig;
  readonly #d: WebhookDeps;
  readonly #log: Logger;
  readonly #reader: PartitionReader;
  readonly #cursors: CursorStore;
  #keys: KeyRing;
  readonly #rate: KeyRateLimit;
  /** Failed authentications per client address. */
  readonly #failures: KeyRateLimit;
  /** Keys served by this instance right now (the cursor lease covers the other replicas). */
  readonly #busy = new Map<string, Promise<void>>();
  #started = false;

  constructor(cfg: WebhookConfig, deps: WebhookDeps) {
    this.#cfg = cfg;
    this.#d = deps;
    this.#log = deps.logger.child({ component: 'webhook' });
    this.#reader = deps.kafka.reader();
    this.#cursors = new CursorStore({ kafka: deps.kafka, reader: this.#reader, topic: cfg.cursorTopic, leaseTimeoutMs: cfg.leaseTimeoutMs, logger: deps.logger });
    this.#keys = new KeyRing(cfg.keys);
    // WEBHOOK_KEYS_FILE rewritten (a key added for an overlap, an old one removed): the next call sees it.
    cfg.keysSecret?.onRotate(
      (raw) => parseWebhookKeys(raw, cfg.products).problems[0],
      (raw) => {
        const { keys } = parseWebhookKeys(raw, cfg.products);
        this.#keys = new KeyRing(keys);
        this.#log.info({ keys: keys.length }, 'webhook keys re-read from WEBHOOK_KEYS_FILE');
      },
    );
    this.#rate = new KeyRateLimit(cfg.ratePerMinute);
    this.#failures = new KeyRateLimit(cfg.authFailuresPerMinute);
  }

  /** Connects, checks every product topic exists, and replays the cursor topic. */
  async start(): Promise<void> {
    await this.#reader.connect();
    for (const [product, topic] of this.#cfg.products) {
      try {
        await this.#reader.partitions(topic);
      } catch (err) {
        throw new Error(`webhook product ${product}: topic ${topic} cannot be read: ${oneLine(String((err as Error).message))}`, { cause: err });
      }
    }
    await this.#cursors.start();
    this.#started = true;
    this.#log.info({ products: [...this.#cfg.products.keys()], keys: this.#cfg.keys.length }, 'webhook ready');
  }

  async stop(): Promise<void> {
    this.#started = false;
    await this.#cursors.stop().catch(() => undefined);
    await this.#reader.disconnect().catch(() => undefined);
  }

  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    // Read now: once the response has finished the socket may be closed and its address gone.
    const remote = clientAddress(req, this.#d.trustedProxies);
    const url = req.url ?? '';
    const path = url.split('?')[0]!;
    const product = safeDecode(path.slice(WEBHOOK_PATH_PREFIX.length)).slice(0, 64);
    const log: CallLog = { product, status: 0 };
    try {
      await this.#serve(req, res, url, product, log, remote);
    } catch (err) {
      log.status = 503;
      log.error = oneLine(String((err as Error)?.message ?? err), 300);
      if (!res.headersSent) send(res, 503, { error: 'temporarily unavailable, call again later' }, { 'retry-after': '5' });
    } finally {
      const durationS = (performance.now() - started) / 1000;
      const labelProduct = this.#cfg.products.has(product) ? product : 'unknown';
      this.#d.metrics.webhookRequests.inc({ product: labelProduct, status: String(log.status) });
      this.#d.metrics.webhookDuration.observe({ product: labelProduct }, durationS);
      // Never the URL: it may carry ?key=.
      const line = { ...log, product: labelProduct, durationMs: Math.round(durationS * 1000), remote };
      if (log.status >= 500) this.#log.warn(line, 'webhook call failed');
      else this.#log.info(line, 'webhook call');
    }
  };

  async #serve(req: IncomingMessage, res: ServerResponse, url: string, product: string, log: CallLog, remote: string): Promise<void> {
    if (req.method !== 'GET') {
      log.status = 405;
      return send(res, 405, { error: 'method not allowed: use GET' }, { allow: 'GET' });
    }
    if (url.length > MAX_URL_LENGTH) {
      log.status = 414;
      return send(res, 414, { error: 'request target too long' });
    }
    if (req.headers['content-length'] && req.headers['content-length'] !== '0') {
      log.status = 413;
      return send(res, 413, { error: 'a webhook call has no body' });
    }
    if (req.headers['transfer-encoding']) {
      log.status = 413;
      return send(res, 413, { error: 'a webhook call has no body' });
    }
    // An address that keeps presenting wrong keys is slowed down before any key is checked.
    const blocked = this.#failures.waitFor(remote);
    if (blocked > 0) {
      log.status = 429;
      return send(res, 429, { error: 'too many calls with a wrong key from this address' }, { 'retry-after': String(Math.ceil(blocked / 1000)) });
    }
    const match = this.#authenticate(req, url, product);
    if (!match) {
      this.#failures.take(remote);
      log.status = 401;
      return send(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer realm="logstream"' });
    }
    log.keyId = match.keyId;
    if (!this.#started) {
      log.status = 503;
      return send(res, 503, { error: 'starting, call again later' }, { 'retry-after': '5' });
    }
    const wait = this.#rate.take(match.cursorKey);
    if (wait > 0) {
      log.status = 429;
      return send(res, 429, { error: 'rate limit: too many calls with this key' }, { 'retry-after': String(Math.ceil(wait / 1000)) });
    }
    // A client told "more" calls again at once, often before the previous call has stored its
    // cursor: such a call waits a little for the other one rather than failing.
    const running = this.#busy.get(match.cursorKey);
    if (running) await Promise.race([running, sleep(CONFLICT_WAIT_MS)]);
    if (this.#busy.has(match.cursorKey)) {
      log.status = 409;
      return send(res, 409, { error: 'another call with this key is in progress' }, { 'retry-after': '1' });
    }
    const call = this.#stream(req, res, match, log);
    const settled = call.then(() => undefined, () => undefined);
    this.#busy.set(match.cursorKey, settled);
    try {
      await call;
    } finally {
      this.#busy.delete(match.cursorKey);
    }
  }

  #authenticate(req: IncomingMessage, url: string, product: string): KeyMatch | undefined {
    let presented = '';
    const auth = req.headers.authorization;
    if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) presented = auth.replace(/^bearer\s+/i, '').trim();
    else {
      const q = url.indexOf('?');
      if (q >= 0) presented = new URLSearchParams(url.slice(q + 1)).get('key') ?? '';
    }
    // Always the same work: unknown product, missing key and wrong key all hash and compare.
    return this.#keys.verify(product, presented);
  }

  async #stream(req: IncomingMessage, res: ServerResponse, match: KeyMatch, log: CallLog): Promise<void> {
    const topic = this.#cfg.products.get(match.product)!;
    const callAt = Date.now();
    const leased = await this.#cursors.lease(match.cursorKey, CONFLICT_WAIT_MS);
    if (!leased.ok) {
      log.status = 409;
      const retry = Math.max(1, Math.ceil((leased.heldUntil - Date.now()) / 1000));
      return send(res, 409, { error: 'another call with this key is in progress' }, { 'retry-after': String(Math.min(retry, 60)) });
    }
    let committed = false;
    try {
      const [earliest, end] = await Promise.all([this.#reader.earliest(topic), this.#reader.latest(topic)]);
      const plan = planStart(leased.cursor, topic, callAt, this.#cfg);
      const { start, skipped, rewound } = await resolveStart(this.#reader, topic, plan, earliest, end);
      if (plan.kind === 'reset') {
        log.reset = true;
        this.#d.metrics.webhookCursorResets.inc({ product: match.product });
      }
      if (skipped > 0) {
        log.skipped = skipped;
        this.#d.metrics.webhookSkipped.inc({ product: match.product }, skipped);
        this.#log.warn({ product: match.product, keyId: match.keyId, skipped, reason: plan.kind === 'reset' ? 'cursor expired' : 'retention deleted them' }, 'webhook cursor skipped records');
      }
      if (rewound.length > 0) this.#log.warn({ product: match.product, keyId: match.keyId, partitions: rewound }, 'webhook cursor was beyond the end of the log (topic re-created?): those partitions are read from their start');
      const win = await readWindow(this.#reader, topic, start, end, {
        maxRecords: this.#cfg.maxRecords,
        maxBytes: this.#cfg.maxBytes,
        deadline: callAt + this.#cfg.leaseTimeoutMs / 2,
        fetchBytes: FETCH_BYTES,
      }, (p, m) => processMessage(this.#d.query, this.#d.decoder ?? jsonDecoder, topic, p, m));
      // Records that cannot be returned go to the dead-letter topic before the cursor passes them.
      if (win.deadLetters.length > 0) {
        await Promise.all(win.deadLetters.map((d) => this.#d.dlq.write(d.record, { stage: d.stage, error: { code: d.code, message: d.message } })));
        for (const d of win.deadLetters) this.#d.metrics.deadLettered.inc({ sink: 'webhook', code: d.code });
      }
      const body = Buffer.concat(win.lines.flatMap((l) => [l, NEWLINE]));
      const gz = acceptsGzip(req.headers['accept-encoding']);
      const payload = gz ? await gzip(body) : body;
      const headers: Record<string, string> = {
        'content-type': 'application/x-ndjson',
        'cache-control': 'no-store',
        'logstream-more': String(win.more),
        'logstream-records': String(win.lines.length),
        'content-length': String(payload.length),
      };
      if (gz) headers['content-encoding'] = 'gzip';
      if (plan.kind === 'reset') headers['logstream-cursor-reset'] = 'true';
      if (skipped > 0) headers['logstream-skipped-records'] = String(skipped);
      const delivered = await write(res, 200, headers, payload);
      log.status = 200;
      log.records = win.lines.length;
      log.bytes = body.length;
      log.more = win.more;
      if (!delivered) {
        log.error = 'client went away before the response was written; cursor not moved';
        return;
      }
      this.#d.metrics.webhookRecords.inc({ product: match.product }, win.lines.length);
      this.#d.metrics.webhookBytes.inc({ product: match.product }, body.length);
      const next: Record<string, number> = {};
      for (const [p, o] of win.next) next[String(p)] = o;
      committed = await this.#cursors.commit(match.cursorKey, leased.lease, leased.seq, { topic, offsets: next, lastCallAt: callAt });
      if (!committed) {
        log.error = 'cursor not moved: another call moved it first (this call outlived WEBHOOK_LEASE_TIMEOUT)';
        this.#log.warn({ product: match.product, keyId: match.keyId }, log.error);
      }
    } finally {
      if (!committed) await this.#cursors.release(match.cursorKey, leased.lease).catch((err) => this.#log.warn(`webhook lease release failed: ${oneLine(String(err?.message ?? err))}`));
    }
  }
}

const NEWLINE = Buffer.from('\n');

/** A malformed %-escape names no product (401 like any unknown one), it does not fail the call. */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '';
  }
}

function acceptsGzip(header: string | string[] | undefined): boolean {
  const v = Array.isArray(header) ? header.join(',') : (header ?? '');
  return v.split(',').some((part) => {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (name !== 'gzip' && name !== 'x-gzip') return false;
    const q = params.map((s) => s.trim()).find((s) => s.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function send(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
}

/** Resolves true once the whole response was handed to the connection, false if it closed first. */
function write(res: ServerResponse, status: number, headers: Record<string, string>, payload: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    res.once('finish', () => {
      if (!done) resolve((done = true));
    });
    res.once('close', () => {
      if (!done) {
        done = true;
        resolve(res.writableFinished);
      }
    });
    res.writeHead(status, headers).end(payload);
  });
}
