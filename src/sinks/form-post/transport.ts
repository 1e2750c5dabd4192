// POSTs form batches over an undici keep-alive pool. Redirects are never followed. A 413 splits the
// POST in two (each half still a valid form with its own rows count) until it fits, so only a row
// that alone is too large is dead-lettered.
import { Pool } from 'undici';
import { DeliveryError, toDeliveryError } from '../../core/errors.ts';
import { cleanExcerpt, readBodyExcerpt } from '../http/excerpt.ts';
import { parseRetryAfter } from '../http/retry-after.ts';
import { HttpTlsConnector } from '../../config/http-tls.ts';
import type { Batch, BatchItem, SendResult } from '../../delivery/sink.ts';
import type { FormPostConfig } from './config.ts';
import { encodeForm, productOf } from './encoder.ts';
import { classifyFormReply, type FormOutcome } from './status.ts';

type Failures = Array<{ index: number; error: DeliveryError }>;

/** Bytes of an error reply read for the excerpt; characters of it kept in the reason. */
const EXCERPT_BYTES = 4096;
const EXCERPT_CHARS = 300;

export class FormPostTransport {
  readonly #cfg: FormPostConfig;
  readonly #pool: Pool;
  readonly #tls: HttpTlsConnector;
  /** Path and query of the URL (the part a Sumo-style URL keeps its token in), and the parts of it an
   *  error body could echo back; worked out again when a rotated FORMPOST_URL_FILE changes the URL. */
  #target: { url: string; path: string; secrets: string[] } = { url: '', path: '/', secrets: [] };
  readonly #now: () => number;

  /** What an error body could echo back and must not reach a log line or a dead-letter header: read
   *  at each use, so that a rotated FORMPOST_AUTH_VALUE_FILE / FORMPOST_HEADERS_FILE is masked too. */
  get #secrets(): string[] {
    const cfg = this.#cfg;
    return [
      ...(cfg.auth ? [cfg.auth.value.reveal(), cfg.auth.value.reveal().replace(/^\S+\s+/, '')] : []),
      ...cfg.headers.map(([, value]) => value.reveal()),
      ...this.#urlTarget().secrets,
    ].filter((s) => s.length >= 4);
  }

  constructor(cfg: FormPostConfig, opts: { now?: () => number } = {}) {
    this.#cfg = cfg;
    this.#now = opts.now ?? Date.now;
    this.#tls = new HttpTlsConnector(cfg.tls);
    this.#pool = new Pool(cfg.origin, {
      connections: cfg.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: this.#tls.connect,
    });
  }

  async send(batch: Batch, signal: AbortSignal): Promise<SendResult | void> {
    // Every record of a batch has the same product (the batch key says so when it comes from a field).
    const product = productOf(batch.items[0]!.record, this.#cfg);
    const failures = await this.#deliver(batch.items, 0, product, signal, true);
    return failures.length > 0 ? { failures } : undefined;
  }

  async close(): Promise<void> {
    this.#tls.close();
    await this.#pool.close();
  }

  /**
   * Delivers items[...] (whose index in the whole batch starts at `base`) and returns the failures.
   * The first POST of a batch throws on a batch-wide error so the delivery layer retries it whole;
   * the POSTs of a split report such errors per item, so delivered halves are not sent again.
   */
  async #deliver(items: readonly BatchItem[], base: number, product: string, signal: AbortSignal, top: boolean): Promise<Failures> {
    let outcome: FormOutcome;
    try {
      outcome = await this.#post(items, product, signal);
    } catch (err) {
      if (top) throw err;
      return items.map((_, i) => ({ index: base + i, error: toDeliveryError(err) }));
    }
    switch (outcome.kind) {
      case 'ok':
        return [];
      case 'failed':
        if (top) throw outcome.error;
        return items.map((_, i) => ({ index: base + i, error: outcome.error }));
      case 'too-large': {
        if (items.length === 1) return [{ index: base, error: outcome.error }];
        const mid = Math.ceil(items.length / 2);
        const left = await this.#deliver(items.slice(0, mid), base, product, signal, false);
        const right = await this.#deliver(items.slice(mid), base + mid, product, signal, false);
        return [...left, ...right];
      }
    }
  }

  #urlTarget(): { path: string; secrets: string[] } {
    const text = this.#cfg.url.reveal().trim();
    if (text !== this.#target.url) {
      const url = new URL(text);
      const path = `${url.pathname}${url.search}`;
      this.#target = { url: text, path, secrets: [...(path.length > 1 ? [path, url.pathname] : []), ...(url.search.length > 1 ? [url.search.slice(1)] : [])] };
    }
    return this.#target;
  }

  #headers(contentType: string): Record<string, string> {
    const h: Record<string, string> = { 'content-type': contentType, 'user-agent': 'logstream' };
    for (const [name, value] of this.#cfg.headers) h[name.toLowerCase()] = value.reveal();
    if (this.#cfg.auth) h[this.#cfg.auth.header.toLowerCase()] = this.#cfg.auth.value.reveal();
    return h;
  }

  async #post(items: readonly BatchItem[], product: string, signal: AbortSignal): Promise<FormOutcome> {
    const form = encodeForm(items, product, this.#cfg, this.#now());
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await this.#pool.request({ method: 'POST', path: this.#urlTarget().path, headers: this.#headers(form.contentType), body: form.body, signal });
    } catch (err) {
      const e = toDeliveryError(this.#tls.explain(err));
      throw new DeliveryError(e.deliveryClass, e.code, `${this.#cfg.origin}: ${cleanExcerpt(e.message, 500, this.#secrets)}`, { cause: err, retryAfterMs: e.retryAfterMs });
    }
    const status = res.statusCode;
    let excerpt = '';
    try {
      if (status >= 200 && status < 300) await res.body.dump();
      else excerpt = cleanExcerpt(await readBodyExcerpt(res.body, EXCERPT_BYTES), EXCERPT_CHARS, this.#secrets);
    } catch {
      // The reply's status is what counts; a body cut short changes nothing about it.
    }
    return classifyFormReply({ status, retryAfterMs: parseRetryAfter(res.headers['retry-after']), excerpt, origin: this.#cfg.origin }, this.#cfg.haltStatuses);
  }
}
