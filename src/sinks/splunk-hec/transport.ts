// Sends HEC batches over undici keep-alive pools, one per URL, spreading batches over the healthy URLs.
// A data error (bad event) is narrowed down to the bad event(s) — by invalid-event-number when the
// reply has it, otherwise by bisection — so only those are dead-lettered and the rest is delivered.
import { randomUUID } from 'node:crypto';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { Pool } from 'undici';
import { DeliveryError, oneLine, retriable, toDeliveryError } from '../../core/errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { HttpTlsConnector } from '../../config/http-tls.ts';
import type { Batch, BatchItem, SendResult } from '../../delivery/sink.ts';
import type { HecConfig } from './config.ts';
import { classifyHecReply, parseHecReply, type HecReply } from './status.ts';
import { IndexerAcks, type AckTarget } from './indexer-ack.ts';

const gzipAsync = promisify(gzip);
const UNHEALTHY_COOLDOWN_MS = 5000;
const NEWLINE = Buffer.from('\n');

interface Target extends AckTarget {
  readonly url: URL;
  unhealthyUntil: number;
}

type Failures = Array<{ index: number; error: DeliveryError }>;

/** Parts of a batch accepted under an ackId, waiting for the indexer's acknowledgement. */
type AckWaits = Array<{ base: number; count: number; indexed: Promise<boolean> }>;

export class HecTransport {
  readonly #cfg: HecConfig;
  readonly #log: Logger;
  readonly #targets: Target[];
  readonly #tls: HttpTlsConnector;
  /** One channel per instance (required by /raw and by indexer acknowledgement). */
  readonly channel = randomUUID();
  #next = 0;
  readonly #acks: IndexerAcks | undefined;
  #warnedNoAckId = false;

  constructor(cfg: HecConfig, logger: Logger) {
    this.#cfg = cfg;
    this.#log = logger;
    this.#tls = new HttpTlsConnector(cfg.tls);
    this.#targets = cfg.urls.map((url) => ({
      url,
      unhealthyUntil: 0,
      cookie: undefined,
      ackPath: '',
      pool: new Pool(url.origin, {
        connections: cfg.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connect: this.#tls.connect,
      }),
    }));
    for (const t of this.#targets) t.ackPath = this.#path(t, 'ack');
    this.#acks = cfg.ack.enabled
      ? new IndexerAcks({
          channel: this.channel,
          authorization: () => `Splunk ${cfg.token.reveal()}`,
          pollIntervalMs: cfg.ack.pollIntervalMs,
          timeoutMs: cfg.ack.timeoutMs,
          maxPending: cfg.ack.maxPending,
          logger,
        })
      : undefined;
  }

  /** GET /services/collector/health on every URL; returns the problems found. */
  async checkHealth(signal?: AbortSignal): Promise<string[]> {
    const problems: string[] = [];
    await Promise.all(
      this.#targets.map(async (t) => {
        try {
          const res = await t.pool.request({ method: 'GET', path: this.#path(t, 'health'), signal: signal ?? AbortSignal.timeout(5000) });
          const body = await res.body.text();
          if (res.statusCode !== 200) problems.push(`${t.url.origin}: ${oneLine(body || `HTTP ${res.statusCode}`, 200)}`);
        } catch (err) {
          problems.push(`${t.url.origin}: ${oneLine(String((this.#tls.explain(err) as Error).message), 200)}`);
        }
      }),
    );
    return problems;
  }

  async send(batch: Batch, signal: AbortSignal): Promise<SendResult | void> {
    const waits: AckWaits = [];
    if (this.#acks) await this.#acks.room(signal);
    const failures = await this.#deliver(batch.items, 0, batch.key, signal, true, waits);
    if (waits.length === 0) return failures.length > 0 ? { failures } : undefined;
    const confirm = Promise.all(waits.map(async (w) => ({ w, indexed: await w.indexed }))).then((results) => {
      const lost: Failures = [];
      const error = retriable('HEC_ACK_TIMEOUT', `no indexer acknowledgement within ${this.#cfg.ack.timeoutMs} ms; sending again`);
      for (const { w, indexed } of results) if (!indexed) for (let i = 0; i < w.count; i++) lost.push({ index: w.base + i, error });
      return { failures: lost };
    });
    return { failures, confirm };
  }

  async close(): Promise<void> {
    this.#acks?.close();
    this.#tls.close();
    await Promise.all(this.#targets.map((t) => t.pool.close()));
  }

  /**
   * Delivers items[...] (whose index in the whole batch starts at `base`) and returns the failures.
   * The first request of a batch throws on a batch-wide error so the delivery layer retries it whole;
   * the requests of a split report such errors per item, so delivered halves are not sent again.
   */
  async #deliver(items: readonly BatchItem[], base: number, key: string, signal: AbortSignal, top: boolean, waits: AckWaits): Promise<Failures> {
    let reply: HecReply;
    let target: Target;
    try {
      [reply, target] = await this.#post(items, key, signal);
    } catch (err) {
      if (top) throw err;
      return items.map((_, i) => ({ index: base + i, error: toDeliveryError(err) }));
    }
    const classified = classifyHecReply(reply);
    // Name the URL that answered (with several HEC_URLS, which one refused).
    const outcome = 'error' in classified ? { ...classified, error: withOrigin(classified.error, target.url.origin) } : classified;
    switch (outcome.kind) {
      case 'ok':
        if (this.#acks) {
          if (outcome.ackId !== undefined) waits.push({ base, count: items.length, indexed: this.#acks.wait(target, outcome.ackId) });
          else if (!this.#warnedNoAckId) {
            this.#warnedNoAckId = true;
            this.#log.warn('HEC_ACK=true but HEC answered without an ackId: indexer acknowledgement is off for this token; treating accepted events as delivered');
          }
        }
        return [];
      case 'failed':
        if (top) throw outcome.error;
        return items.map((_, i) => ({ index: base + i, error: outcome.error }));
      case 'data': {
        const n = outcome.invalidEventNumber;
        if (n !== undefined && n >= 0 && n < items.length) {
          // Events before the invalid one were indexed; it is rejected along with everything after it.
          const bad = { index: base + n, error: outcome.error };
          const rest = items.slice(n + 1);
          return rest.length === 0 ? [bad] : [bad, ...(await this.#deliver(rest, base + n + 1, key, signal, false, waits))];
        }
        return this.#bisect(items, base, key, signal, outcome.error, waits);
      }
      case 'too-large':
        return this.#bisect(items, base, key, signal, outcome.error, waits);
    }
  }

  async #bisect(items: readonly BatchItem[], base: number, key: string, signal: AbortSignal, error: DeliveryError, waits: AckWaits): Promise<Failures> {
    if (items.length === 1) return [{ index: base, error }];
    const mid = Math.ceil(items.length / 2);
    const left = await this.#deliver(items.slice(0, mid), base, key, signal, false, waits);
    const right = await this.#deliver(items.slice(mid), base + mid, key, signal, false, waits);
    return [...left, ...right];
  }

  #pick(): Target {
    const now = Date.now();
    for (let i = 0; i < this.#targets.length; i++) {
      const t = this.#targets[(this.#next + i) % this.#targets.length]!;
      if (t.unhealthyUntil <= now) {
        this.#next = (this.#next + i + 1) % this.#targets.length;
        return t;
      }
    }
    // Every URL failed recently: try the one whose cooldown ends first.
    return this.#targets.reduce((a, b) => (a.unhealthyUntil <= b.unhealthyUntil ? a : b));
  }

  #path(t: { url: URL }, what: 'event' | 'raw' | 'health' | 'ack', query = ''): string {
    const base = t.url.pathname.replace(/\/+$/, '');
    const prefix = base.endsWith('/services/collector') ? base : `${base}/services/collector`;
    return `${prefix}/${what}${query ? `?${query}` : ''}`;
  }

  async #post(items: readonly BatchItem[], key: string, signal: AbortSignal): Promise<[HecReply, Target]> {
    const raw = this.#cfg.endpoint === 'raw';
    const parts: Buffer[] = [];
    for (const it of items) {
      parts.push(it.payload);
      if (raw) parts.push(NEWLINE);
    }
    const plain = Buffer.concat(parts);
    const body = this.#cfg.gzip ? await gzipAsync(plain, { level: this.#cfg.gzipLevel }) : plain;
    const headers: Record<string, string> = {
      authorization: `Splunk ${this.#cfg.token.reveal()}`,
      'content-type': raw ? 'text/plain; charset=utf-8' : 'application/json',
      'x-splunk-request-channel': this.channel,
      'user-agent': 'logstream',
    };
    if (this.#cfg.gzip) headers['content-encoding'] = 'gzip';
    const t = this.#pick();
    if (t.cookie) headers.cookie = t.cookie;
    const query = raw ? key.slice(key.indexOf('|') + 1) : '';
    try {
      const res = await t.pool.request({ method: 'POST', path: this.#path(t, raw ? 'raw' : 'event', query), headers, body, signal });
      const text = await res.body.text();
      if (res.statusCode >= 500) t.unhealthyUntil = Date.now() + UNHEALTHY_COOLDOWN_MS;
      keepCookie(t, res.headers['set-cookie']);
      return [parseHecReply(res.statusCode, text, res.headers['retry-after']), t];
    } catch (err) {
      t.unhealthyUntil = Date.now() + UNHEALTHY_COOLDOWN_MS;
      const e = toDeliveryError(this.#tls.explain(err));
      throw new DeliveryError(e.deliveryClass, e.code, `${t.url.origin}: ${e.message}`, { cause: err, retryAfterMs: e.retryAfterMs });
    }
  }
}

/** Keeps a load balancer's cookies (name=value pairs) so acks are polled on the indexer that has them. */
function keepCookie(t: Target, setCookie: string | string[] | undefined): void {
  if (setCookie === undefined) return;
  const pairs = (Array.isArray(setCookie) ? setCookie : [setCookie]).map((c) => c.split(';')[0]!.trim()).filter((c) => c.includes('='));
  if (pairs.length > 0) t.cookie = pairs.join('; ');
}

function withOrigin(e: DeliveryError, origin: string): DeliveryError {
  if (e.message.startsWith(origin)) return e;
  return new DeliveryError(e.deliveryClass, e.code, `${origin}: ${e.message}`, { cause: e, retryAfterMs: e.retryAfterMs });
}
