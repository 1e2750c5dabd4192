/**
 * A Splunk HTTP Event Collector (HEC) receiver for tests: the HEC protocol as Splunk documents it,
 * plus fault switches and a record of what arrived. In-process (`new HecReceiver(opts).start()`) or as
 * a child process (main.ts, driven through /_control and /_stats).
 *
 * Where it comes from (facts checked against Splunk's pages; where those are silent the choice is
 * marked READING):
 * - "HTTP Event Collector REST API endpoints": /services/collector, /services/collector/event,
 *   /services/collector/event/1.0, /services/collector/raw(/1.0), /services/collector/ack,
 *   /services/collector/health(/1.0).
 * - "Format events for HTTP Event Collector": `Authorization: Splunk <token>` (also basic auth with
 *   the token as the password, and `?token=` only where query-string auth is allowed); batches are
 *   events one after another in one request, not an array; envelope keys time (epoch seconds,
 *   decimals allowed, number or string), host, source, sourcetype, index, fields (indexed fields, a
 *   flat object, /event only), event (string, number, object...); the channel identifier is a GUID in
 *   `X-Splunk-Request-Channel` or `?channel=`.
 * - "About HTTP Event Collector Indexer Acknowledgment": per-token useACK; each data request on an
 *   ack token answers an ackId; POST /services/collector/ack {"acks":[...]} answers {"acks":{"id":bool}};
 *   status is kept until a client has retrieved it as true, then forgotten; a channel is required.
 * - "Troubleshoot HTTP Event Collector": the status-code table (codes.ts).
 * - limits.conf [http_input] max_content_length: 838860800 (800 MiB) since Splunk 6.5, 1000000 before;
 *   over it the request is refused whole with HTTP 413.
 *
 * Partial batches (not in Splunk's docs; observed against Splunk Enterprise in a public
 * interoperability record, and what the lead expected): HEC parses a batch in order and indexes
 * every event before the first invalid one; the reply names that one in `invalid-event-number`
 * (0-based) and nothing from it on is indexed. The reply carries no ackId, so a sender cannot learn
 * whether the leading events were acknowledged. This receiver does exactly that.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { gunzip } from 'node:zlib';
import { GUID_RE, HEC, NOT_FOUND_BODY, UNHEALTHY_BY_CODE, tooLargeBody, type HecReplyCode } from './codes.ts';
import { skipJsonWhitespace, splitConcatenatedObjects } from './json-stream.ts';
import { closeHttp, listenHttp } from '../http-listen.ts';

// ---------------------------------------------------------------------------------------------------
// Public types

export interface HecTokenConfig {
  readonly token: string;
  /** Indexer acknowledgement (useACK). */
  readonly ack?: boolean;
  /** A disabled token answers 403 code 1. */
  readonly disabled?: boolean;
  /** Allowed indexes (the token's `indexes`); undefined allows any. */
  readonly indexes?: readonly string[];
  /** Accept the token as `?token=` (allowQueryStringAuth); otherwise such a request gets code 16. */
  readonly allowQueryStringAuth?: boolean;
}

export type HecMode = 'ok' | 'busy503' | 'tooMany429' | 'slow' | 'drop' | 'unhealthy' | 'internal500';

export interface HecModeOptions {
  /** Apply the mode to this many requests it affects, then return to 'ok'. Default: until changed. */
  readonly times?: number;
  /** tooMany429 (and busy503 if given): the Retry-After header, in seconds. */
  readonly retryAfterSeconds?: number;
  /** slow: delay before each reply (a request's events are indexed before the delay, as a slow
   *  Splunk still indexes what it answers late). */
  readonly slowMs?: number;
  /** unhealthy: the health code (18 queues full, 19 ack service unavailable, 20 both). Default 18. */
  readonly healthCode?: 18 | 19 | 20;
  /** drop: index the request's events first, then close the connection without a reply (a lost
   *  response: the sender cannot know, and re-sends). Default false: drop before reading anything. */
  readonly afterIndexing?: boolean;
}

export interface HecReceiverOptions {
  readonly host?: string;
  /** 0 (default) picks a free port; restart() keeps the port it got. */
  readonly port?: number;
  /** Tokens; a plain string is a token with `ack` as below. */
  readonly tokens?: ReadonlyArray<string | HecTokenConfig>;
  /** useACK for tokens given as plain strings. Default false. */
  readonly ack?: boolean;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Limit on the request body as sent (compressed bytes when gzip). Default 838860800. */
  readonly maxContentLength?: number;
  /** Optional limit on the body after gunzip (413 past it). Default: none. */
  readonly maxDecodedLength?: number;
  /** Time from a request's success reply until its ackId reports true. Default 0 (at once). */
  readonly ackDelayMs?: number;
  /** Default Retry-After for tooMany429. Default 1. */
  readonly retryAfterSeconds?: number;
  /** Default delay for 'slow'. Default 1000. */
  readonly slowMs?: number;
  /** 'all' keeps every event and request; 'count' keeps counters only (for 100k+ event benchmarks). */
  readonly record?: 'all' | 'count';
  /** Request headers copied onto each recorded event (lower case). */
  readonly recordHeaders?: readonly string[];
  /** /raw without a channel on a token without ack: 400 code 10 (true, the default, as the
   *  "Format events" page describes the raw channel header) or accepted (false; what current
   *  Splunk versions were observed to do). */
  readonly rawRequiresChannel?: boolean;
  /** Load-balancer-style stickiness cookie set on every collector reply. */
  readonly lbCookieName?: string;
  readonly lbCookieValue?: string;
  /** Serve POST /_control, GET /_stats and GET /_events (not Splunk; for the child-process mode). */
  readonly controlEndpoints?: boolean;
}

export type HecFieldValue = string | number | boolean | ReadonlyArray<string | number | boolean>;

/** An event object as the sender wrote it (only JSON-parsed), as given to rejectEvents(). */
export interface HecIncomingEvent {
  // `any` so that a predicate can say `e => e.event?.id === 42`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly event?: any;
  readonly time?: unknown;
  readonly host?: unknown;
  readonly source?: unknown;
  readonly sourcetype?: unknown;
  readonly index?: unknown;
  readonly fields?: unknown;
  readonly [key: string]: unknown;
}

export type HecEventPredicate = (e: HecIncomingEvent, index: number) => boolean;

export interface HecRecordedEvent {
  /** Arrival order over the receiver's life (gaps where events were discarded with a lost ack). */
  readonly seq: number;
  readonly requestId: number;
  readonly endpoint: 'event' | 'raw';
  readonly token: string;
  readonly channel: string | undefined;
  readonly ackId: number | undefined;
  /** The request's headers named in `recordHeaders` (one object shared by a request's events). */
  readonly headers: Readonly<Record<string, string>>;
  readonly receivedAt: number;
  /** Envelope as sent; for /raw and for /event defaults, from the query string. */
  readonly time: number | undefined;
  readonly host: string | undefined;
  readonly source: string | undefined;
  readonly sourcetype: string | undefined;
  readonly index: string | undefined;
  readonly fields: Readonly<Record<string, HecFieldValue>> | undefined;
  /** The `event` value (for /raw, the line). */
  readonly event: unknown;
}

export type HecRoute = 'event' | 'raw' | 'ack' | 'health';

export interface HecRequestRecord {
  readonly id: number;
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly route: HecRoute | undefined;
  /** HTTP status, or 0 when the connection was dropped without a reply. */
  status: number;
  /** HEC code of the reply, when it had one. */
  code: number | undefined;
  token: string | undefined;
  channel: string | undefined;
  /** Events indexed by this request. */
  events: number;
  invalidEventNumber: number | undefined;
  ackId: number | undefined;
  bytes: number;
  decodedBytes: number;
  /** Whether the request carried our stickiness cookie. */
  lbCookie: 'match' | 'other' | 'none';
}

export interface HecChannelStats {
  requests: number;
  withLbCookie: number;
  withoutLbCookie: number;
  /** Carried the cookie with another receiver's value. */
  foreignLbCookie: number;
  acksIssued: number;
}

export interface HecStats {
  requests: number;
  byStatus: Record<string, number>;
  byCode: Record<string, number>;
  byRoute: Record<string, number>;
  eventsIndexed: number;
  eventsDiscarded: number;
  bytesReceived: number;
  bytesDecoded: number;
  droppedConnections: number;
  acks: { issued: number; queries: number; reportedTrue: number; lost: number; pending: number };
  channels: Record<string, HecChannelStats>;
}

// ---------------------------------------------------------------------------------------------------
// Internals

const DEFAULT_MAX_CONTENT_LENGTH = 838_860_800;
const DEFAULT_RECORD_HEADERS = ['content-type', 'content-encoding', 'user-agent', 'x-splunk-request-channel', 'cookie'];

const ROUTES: ReadonlyMap<string, HecRoute> = new Map([
  ['/services/collector', 'event'],
  ['/services/collector/event', 'event'],
  ['/services/collector/event/1.0', 'event'],
  ['/services/collector/raw', 'raw'],
  ['/services/collector/raw/1.0', 'raw'],
  ['/services/collector/ack', 'ack'],
  ['/services/collector/ack/1.0', 'ack'],
  ['/services/collector/health', 'health'],
  ['/services/collector/health/1.0', 'health'],
]);

/** Which routes each fault mode acts on. */
const MODE_ROUTES: Readonly<Record<HecMode, ReadonlySet<HecRoute>>> = {
  ok: new Set(),
  drop: new Set(['event', 'raw', 'ack', 'health']),
  slow: new Set(['event', 'raw', 'ack', 'health']),
  busy503: new Set(['event', 'raw', 'ack']),
  tooMany429: new Set(['event', 'raw', 'ack']),
  internal500: new Set(['event', 'raw', 'ack']),
  // READING: queues full means data is refused as busy too; health reports the configured code.
  unhealthy: new Set(['event', 'raw', 'health']),
};

interface TokenState {
  token: string;
  ack: boolean;
  disabled: boolean;
  indexes: ReadonlySet<string> | undefined;
  allowQueryStringAuth: boolean;
}

interface AckEntry {
  state: 'pending' | 'indexed' | 'lost';
  timer: NodeJS.Timeout | undefined;
  /** The recorded events of the request (record 'all'), so a lost ack can take them back. */
  events: HecRecordedEvent[] | undefined;
  count: number;
}

interface ChannelState {
  stats: HecChannelStats;
  nextAckId: number;
  acks: Map<number, AckEntry>;
}

interface ActiveMode {
  mode: HecMode;
  opts: HecModeOptions;
  remaining: number | undefined;
}

interface RequestCtx {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly route: HecRoute;
  readonly rec: HecRequestRecord;
  mode: HecMode;
  modeOpts: HecModeOptions;
}

type BodyResult = { kind: 'ok'; body: Buffer } | { kind: 'tooLarge'; length: number } | { kind: 'aborted' };

type Envelope = Omit<HecRecordedEvent, 'seq' | 'requestId' | 'endpoint' | 'token' | 'channel' | 'ackId' | 'headers' | 'receivedAt'>;

type Check = { ok: true; envelope: Envelope | undefined } | { ok: false; reply: HecReplyCode };

interface QueryMeta {
  host: string | undefined;
  source: string | undefined;
  sourcetype: string | undefined;
  index: string | undefined;
}

function toTokenState(t: string | HecTokenConfig, defaultAck: boolean): TokenState {
  const c: HecTokenConfig = typeof t === 'string' ? { token: t, ack: defaultAck } : t;
  return {
    token: c.token,
    ack: c.ack ?? defaultAck,
    disabled: c.disabled ?? false,
    indexes: c.indexes === undefined ? undefined : new Set(c.indexes),
    allowQueryStringAuth: c.allowQueryStringAuth ?? false,
  };
}

function gunzipAsync(buf: Buffer, maxOutputLength: number | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | null, out: Buffer): void => (err ? reject(err) : resolve(out));
    if (maxOutputLength === undefined) gunzip(buf, cb);
    else gunzip(buf, { maxOutputLength }, cb);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function emptyStats(): HecStats {
  return {
    requests: 0,
    byStatus: {},
    byCode: {},
    byRoute: {},
    eventsIndexed: 0,
    eventsDiscarded: 0,
    bytesReceived: 0,
    bytesDecoded: 0,
    droppedConnections: 0,
    acks: { issued: 0, queries: 0, reportedTrue: 0, lost: 0, pending: 0 },
    channels: {},
  };
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function isNumericTime(v: unknown): v is number | string {
  if (typeof v === 'number') return Number.isFinite(v);
  return typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v);
}

function isScalarField(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Dot-path lookup for control-endpoint match specs: "event.id" → e.event.id. */
function atPath(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

// ---------------------------------------------------------------------------------------------------

export class HecReceiver {
  readonly #host: string;
  #port: number;
  readonly #tls: HecReceiverOptions['tls'];
  readonly #maxContentLength: number;
  readonly #maxDecodedLength: number | undefined;
  readonly #recordAll: boolean;
  readonly #recordHeaders: readonly string[];
  readonly #rawRequiresChannel: boolean;
  readonly #lbCookieName: string;
  readonly #lbCookieValue: string;
  readonly #controlEndpoints: boolean;
  readonly #defaultAck: boolean;
  #defaultRetryAfter: number;
  #defaultSlowMs: number;
  #ackDelayMs: number;

  #server: Server | undefined;
  #tokens = new Map<string, TokenState>();
  #mode: ActiveMode = { mode: 'ok', opts: {}, remaining: undefined };
  #rejectPredicate: HecEventPredicate | undefined;
  #dropAcks = 0;
  #dropAcksDiscard = true;

  #events: HecRecordedEvent[] = [];
  #requests: HecRequestRecord[] = [];
  #stats: HecStats = emptyStats();
  #channels = new Map<string, ChannelState>();
  #requestSeq = 0;
  #eventSeq = 0;
  #waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(opts: HecReceiverOptions = {}) {
    this.#host = opts.host ?? '127.0.0.1';
    this.#port = opts.port ?? 0;
    this.#tls = opts.tls;
    this.#maxContentLength = opts.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH;
    this.#maxDecodedLength = opts.maxDecodedLength;
    this.#recordAll = (opts.record ?? 'all') === 'all';
    this.#recordHeaders = (opts.recordHeaders ?? DEFAULT_RECORD_HEADERS).map((h) => h.toLowerCase());
    this.#rawRequiresChannel = opts.rawRequiresChannel ?? true;
    this.#lbCookieName = opts.lbCookieName ?? 'hec_lb';
    this.#lbCookieValue = opts.lbCookieValue ?? randomBytes(6).toString('hex');
    this.#controlEndpoints = opts.controlEndpoints ?? false;
    this.#defaultAck = opts.ack ?? false;
    this.#defaultRetryAfter = opts.retryAfterSeconds ?? 1;
    this.#defaultSlowMs = opts.slowMs ?? 1000;
    this.#ackDelayMs = opts.ackDelayMs ?? 0;
    this.setTokens(opts.tokens ?? []);
  }

  // ----- lifecycle ---------------------------------------------------------------------------------

  /** Starts listening (on the port it had before, after a stop). Resolves to the base URL. */
  async start(): Promise<string> {
    if (this.#server) return this.url;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.#onRequest(req, res).catch((err: unknown) => this.#internalError(res, err));
    };
    const { server, port } = await listenHttp({ port: this.#port, host: this.#host, ...(this.#tls ? { tls: this.#tls } : {}) }, handler);
    this.#port = port;
    this.#server = server;
    return this.url;
  }

  /** Stops listening and closes every connection (in-flight requests get no reply). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await closeHttp(server);
  }

  /** stop() and start() on the same port; `keepState: false` also forgets events, stats and acks. */
  async restart(opts: { keepState?: boolean; downMs?: number } = {}): Promise<string> {
    await this.stop();
    if (opts.keepState === false) this.reset();
    if (opts.downMs) await sleep(opts.downMs);
    return this.start();
  }

  /** stop(), and cancels pending ack timers. */
  async close(): Promise<void> {
    await this.stop();
    for (const ch of this.#channels.values()) for (const a of ch.acks.values()) if (a.timer) clearTimeout(a.timer);
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `${this.#tls ? 'https' : 'http'}://${this.#host}:${this.#port}`;
  }

  get maxContentLength(): number {
    return this.#maxContentLength;
  }

  get listening(): boolean {
    return this.#server !== undefined;
  }

  get lbCookie(): { name: string; value: string } {
    return { name: this.#lbCookieName, value: this.#lbCookieValue };
  }

  // ----- recording ---------------------------------------------------------------------------------

  /** Every indexed event, in arrival order (empty with `record: 'count'`). Live array. */
  get events(): readonly HecRecordedEvent[] {
    return this.#events;
  }

  /** Every request to a collector path (empty with `record: 'count'`). */
  get requests(): readonly HecRequestRecord[] {
    return this.#requests;
  }

  /** A snapshot of the counters. */
  stats(): HecStats {
    const s = structuredClone(this.#stats);
    let pending = 0;
    for (const ch of this.#channels.values()) for (const a of ch.acks.values()) if (a.state !== 'lost') pending++;
    s.acks.pending = pending;
    return s;
  }

  channelStats(channel: string): HecChannelStats | undefined {
    const ch = this.#channels.get(channel);
    return ch ? { ...ch.stats } : undefined;
  }

  /** Forgets events, requests, counters, channels and acks (tokens and mode stay). */
  reset(): void {
    for (const ch of this.#channels.values()) for (const a of ch.acks.values()) if (a.timer) clearTimeout(a.timer);
    this.#events = [];
    this.#requests = [];
    this.#stats = emptyStats();
    this.#channels = new Map();
    this.#eventSeq = 0;
  }

  /** Resolves once at least `n` events are indexed (counting with `record: 'count'` too). */
  waitForEvents(n: number, timeoutMs = 10_000): Promise<void> {
    if (this.#stats.eventsIndexed >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { n, resolve: () => {
        clearTimeout(t);
        resolve();
      } };
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        reject(new Error(`HEC receiver: ${this.#stats.eventsIndexed} events indexed after ${timeoutMs} ms, waiting for ${n}`));
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  // ----- fault switches ----------------------------------------------------------------------------

  setMode(mode: HecMode, opts: HecModeOptions = {}): void {
    this.#mode = { mode, opts, remaining: opts.times };
    if (opts.times !== undefined && opts.times <= 0) this.#mode = { mode: 'ok', opts: {}, remaining: undefined };
  }

  get mode(): HecMode {
    return this.#mode.mode;
  }

  /** Events for which `predicate` is true are refused as invalid data (code 6, invalid-event-number). */
  rejectEvents(predicate: HecEventPredicate | undefined): void {
    this.#rejectPredicate = predicate;
  }

  setTokens(tokens: ReadonlyArray<string | HecTokenConfig>): void {
    this.#tokens = new Map(tokens.map((t) => {
      const s = toTokenState(t, this.#defaultAck);
      return [s.token, s];
    }));
  }

  addToken(token: string | HecTokenConfig): void {
    const s = toTokenState(token, this.#defaultAck);
    this.#tokens.set(s.token, s);
  }

  removeToken(token: string): void {
    this.#tokens.delete(token);
  }

  disableToken(token: string): void {
    const t = this.#tokens.get(token);
    if (t) t.disabled = true;
  }

  enableToken(token: string): void {
    const t = this.#tokens.get(token);
    if (t) t.disabled = false;
  }

  setAckDelay(ms: number): void {
    this.#ackDelayMs = ms;
  }

  /**
   * The next `n` ackIds issued (any channel) never report true. With `discardEvents` (default) their
   * events are not recorded either: the indexer lost the data. Without it, the events stay recorded
   * (data indexed, ack lost), so a re-send shows up as a duplicate.
   */
  dropAcks(n: number, opts: { discardEvents?: boolean } = {}): void {
    this.#dropAcks = n;
    this.#dropAcksDiscard = opts.discardEvents ?? true;
  }

  /**
   * Loses an ackId already issued and not yet reported true (on `channel`, or on every channel): it
   * reports false from now on. With `discardEvents` (default) its events leave the record. Returns
   * how many acks were lost.
   */
  loseAck(ackId: number, opts: { channel?: string; discardEvents?: boolean } = {}): number {
    let lost = 0;
    for (const [name, ch] of this.#channels) {
      if (opts.channel !== undefined && name !== opts.channel) continue;
      const a = ch.acks.get(ackId);
      if (!a || a.state === 'lost') continue;
      if (a.timer) clearTimeout(a.timer);
      a.timer = undefined;
      a.state = 'lost';
      this.#stats.acks.lost++;
      lost++;
      if (opts.discardEvents ?? true) this.#discard(a);
    }
    return lost;
  }

  /** State of an issued ackId: 'pending', 'indexed' (true on the next query), 'lost', or undefined
   *  (never issued, or already reported true and forgotten). */
  ackState(channel: string, ackId: number): 'pending' | 'indexed' | 'lost' | undefined {
    return this.#channels.get(channel)?.acks.get(ackId)?.state;
  }

  // ----- request handling --------------------------------------------------------------------------

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hec.invalid');
    const method = req.method ?? 'GET';
    if (this.#controlEndpoints && url.pathname.startsWith('/_')) return this.#onControl(req, res, url);

    const route = ROUTES.get(url.pathname);
    this.#stats.requests++;
    bump(this.#stats.byRoute, route ?? 'other');
    const rec: HecRequestRecord = {
      id: ++this.#requestSeq,
      at: Date.now(),
      method,
      path: url.pathname,
      route,
      status: 0,
      code: undefined,
      token: undefined,
      channel: undefined,
      events: 0,
      invalidEventNumber: undefined,
      ackId: undefined,
      bytes: 0,
      decodedBytes: 0,
      lbCookie: 'none',
    };
    if (this.#recordAll) this.#requests.push(rec);

    if (route === undefined) {
      const body = await this.#readBody(req);
      if (body.kind === 'aborted') return;
      return this.#sendRaw(res, rec, 404, JSON.stringify(NOT_FOUND_BODY), 'application/json; charset=UTF-8', NOT_FOUND_BODY.code);
    }

    const mode = this.#takeMode(route);
    const ctx: RequestCtx = { req, res, url, route, rec, mode: mode.mode, modeOpts: mode.opts };
    if (ctx.mode === 'drop' && !ctx.modeOpts.afterIndexing) return this.#drop(ctx);

    const allowed = route === 'health' ? ['GET', 'HEAD', 'POST', 'OPTIONS'] : ['POST', 'OPTIONS'];
    if (method === 'OPTIONS') {
      // Observed on Splunk: 200, empty body, no token needed.
      await this.#readBody(req);
      return this.#sendRaw(res, rec, 200, '', undefined, undefined, { allow: allowed.filter((m) => m !== 'OPTIONS').concat('OPTIONS').join(',') });
    }
    if (!allowed.includes(method)) {
      const body = await this.#readBody(req);
      if (body.kind === 'aborted') return;
      return this.#send(ctx, 405, NOT_FOUND_BODY);
    }

    const body = await this.#readBody(req);
    if (body.kind === 'aborted') return;
    if (body.kind === 'tooLarge') {
      rec.bytes = body.length;
      return this.#sendRaw(res, rec, 413, tooLargeBody(body.length, this.#maxContentLength), 'text/html; charset=UTF-8', undefined, { connection: 'close' });
    }
    rec.bytes = body.body.length;

    if (route === 'health') return this.#health(ctx);

    switch (ctx.mode) {
      case 'busy503':
        return this.#reply(ctx, HEC.serverBusy, {}, ctx.modeOpts.retryAfterSeconds !== undefined ? { 'retry-after': String(ctx.modeOpts.retryAfterSeconds) } : {});
      case 'unhealthy':
        return this.#reply(ctx, HEC.serverBusy);
      case 'internal500':
        return this.#reply(ctx, HEC.internalError);
      case 'tooMany429':
        // READING: HEC's table has no 429; a load balancer or Splunk Cloud's throttling sends it. The
        // body reuses code 9 so a HEC-aware sender reads it as "busy".
        return this.#send(ctx, 429, { text: HEC.serverBusy.text, code: HEC.serverBusy.code }, {
          'retry-after': String(ctx.modeOpts.retryAfterSeconds ?? this.#defaultRetryAfter),
        });
      default:
        break;
    }

    const auth = this.#authenticate(req, url);
    if (!auth.ok) return this.#reply(ctx, auth.reply);
    const token = auth.token;
    rec.token = token.token;

    if (route === 'ack' && !token.ack) return this.#reply(ctx, HEC.ackDisabled);

    const rawChannel = req.headers['x-splunk-request-channel'];
    const channel = (Array.isArray(rawChannel) ? rawChannel[0] : rawChannel) ?? url.searchParams.get('channel') ?? undefined;
    const needsChannel = token.ack || route === 'ack' || (route === 'raw' && this.#rawRequiresChannel);
    if (channel === undefined || channel === '') {
      if (needsChannel) return this.#reply(ctx, HEC.channelMissing);
    } else if (!GUID_RE.test(channel)) {
      // READING: a channel that is given is checked even where none is required.
      return this.#reply(ctx, HEC.invalidChannel);
    }
    const chState = channel ? this.#channel(channel) : undefined;
    if (chState && channel) {
      rec.channel = channel;
      const seen = cookieValue(req.headers.cookie, this.#lbCookieName);
      rec.lbCookie = seen === undefined ? 'none' : seen === this.#lbCookieValue ? 'match' : 'other';
      chState.stats.requests++;
      if (rec.lbCookie === 'match') chState.stats.withLbCookie++;
      else if (rec.lbCookie === 'other') chState.stats.foreignLbCookie++;
      else chState.stats.withoutLbCookie++;
    }

    const decoded = await this.#decode(ctx, body.body);
    if (decoded === undefined) return;
    rec.decodedBytes = decoded.length;
    this.#stats.bytesDecoded += decoded.length;

    if (route === 'ack') return this.#ackQuery(ctx, chState as ChannelState, decoded);
    return this.#ingest(ctx, token, channel, chState, decoded);
  }

  #takeMode(route: HecRoute): { mode: HecMode; opts: HecModeOptions } {
    const m = this.#mode;
    if (m.mode === 'ok' || !MODE_ROUTES[m.mode].has(route)) return { mode: 'ok', opts: {} };
    if (m.remaining !== undefined) {
      m.remaining--;
      if (m.remaining <= 0) this.#mode = { mode: 'ok', opts: {}, remaining: undefined };
    }
    return { mode: m.mode, opts: m.opts };
  }

  /** Reads the whole body, or drains it past the limit (so the client still reads our 413). */
  async #readBody(req: IncomingMessage): Promise<BodyResult> {
    const declared = Number(req.headers['content-length']);
    const limit = this.#maxContentLength;
    let over = Number.isFinite(declared) && declared > limit;
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (!over && total > limit) {
          over = true;
          chunks.length = 0;
        }
        if (!over) chunks.push(chunk);
      }
    } catch {
      this.#stats.bytesReceived += total;
      return { kind: 'aborted' };
    }
    this.#stats.bytesReceived += total;
    if (!req.complete) return { kind: 'aborted' };
    if (over) return { kind: 'tooLarge', length: Number.isFinite(declared) && declared > total ? declared : total };
    return { kind: 'ok', body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total) };
  }

  async #decode(ctx: RequestCtx, body: Buffer): Promise<Buffer | undefined> {
    const enc = String(ctx.req.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (enc === '' || enc === 'identity') return body;
    if (enc !== 'gzip' && enc !== 'x-gzip') {
      // Observed on Splunk: `deflate` is answered 415 with an HTML body.
      this.#sendRaw(ctx.res, ctx.rec, 415, '<!doctype html><html><head><title>415 Unsupported Media Type</title></head><body><h1>Unsupported Media Type</h1></body></html>', 'text/html; charset=UTF-8');
      return undefined;
    }
    try {
      return await gunzipAsync(body, this.#maxDecodedLength);
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' && this.#maxDecodedLength !== undefined) {
        this.#sendRaw(ctx.res, ctx.rec, 413, tooLargeBody(this.#maxDecodedLength + 1, this.#maxDecodedLength), 'text/html; charset=UTF-8', undefined, { connection: 'close' });
        return undefined;
      }
      // A body that is not valid gzip is invalid data (code 6); there is no event number to name.
      await this.#reply(ctx, HEC.invalidDataFormat);
      return undefined;
    }
  }

  #authenticate(req: IncomingMessage, url: URL): { ok: true; token: TokenState } | { ok: false; reply: HecReplyCode } {
    const header = req.headers.authorization;
    let token: string;
    let viaQuery = false;
    if (header === undefined || header.trim() === '') {
      const q = url.searchParams.get('token');
      if (q === null) return { ok: false, reply: HEC.tokenRequired };
      token = q;
      viaQuery = true;
    } else {
      // READING: the scheme is matched case-insensitively, as HTTP auth schemes are.
      const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
      if (!m) return { ok: false, reply: HEC.invalidAuthorization };
      const scheme = (m[1] as string).toLowerCase();
      const cred = m[2] as string;
      if (scheme === 'splunk') {
        token = cred;
      } else if (scheme === 'basic') {
        // "Format events": basic auth with any user name and the token as the password.
        const decoded = Buffer.from(cred, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) return { ok: false, reply: HEC.invalidAuthorization };
        token = decoded.slice(colon + 1);
      } else {
        return { ok: false, reply: HEC.invalidAuthorization };
      }
    }
    const t = this.#tokens.get(token);
    if (!t) return { ok: false, reply: HEC.invalidToken };
    if (t.disabled) return { ok: false, reply: HEC.tokenDisabled };
    if (viaQuery && !t.allowQueryStringAuth) return { ok: false, reply: HEC.queryStringAuthDisabled };
    return { ok: true, token: t };
  }

  #channel(name: string): ChannelState {
    let ch = this.#channels.get(name);
    if (!ch) {
      ch = { stats: { requests: 0, withLbCookie: 0, withoutLbCookie: 0, foreignLbCookie: 0, acksIssued: 0 }, nextAckId: 0, acks: new Map() };
      this.#channels.set(name, ch);
      this.#stats.channels[name] = ch.stats;
    }
    return ch;
  }

  async #health(ctx: RequestCtx): Promise<void> {
    // Observed on Splunk: /health does not look at the token.
    if (ctx.mode === 'unhealthy') return this.#reply(ctx, UNHEALTHY_BY_CODE[ctx.modeOpts.healthCode ?? 18]);
    return this.#reply(ctx, HEC.healthy);
  }

  async #ackQuery(ctx: RequestCtx, ch: ChannelState, body: Buffer): Promise<void> {
    const text = body.toString('utf8');
    if (skipJsonWhitespace(text, 0) === text.length) return this.#reply(ctx, HEC.noData);
    let ids: number[];
    try {
      const parsed = JSON.parse(text) as unknown;
      const acks = parsed !== null && typeof parsed === 'object' ? (parsed as { acks?: unknown }).acks : undefined;
      if (!Array.isArray(acks) || !acks.every((a) => Number.isInteger(a) && (a as number) >= 0)) throw new Error('acks');
      ids = acks as number[];
    } catch {
      return this.#reply(ctx, HEC.invalidDataFormat);
    }
    this.#stats.acks.queries++;
    const out: Record<string, boolean> = {};
    for (const id of ids) {
      const a = ch.acks.get(id);
      const done = a !== undefined && a.state === 'indexed';
      out[String(id)] = done;
      if (done) {
        // Reported true once, then forgotten ("About ... Indexer Acknowledgment").
        ch.acks.delete(id);
        this.#stats.acks.reportedTrue++;
      }
    }
    return this.#send(ctx, 200, { acks: out });
  }

  async #ingest(ctx: RequestCtx, token: TokenState, channel: string | undefined, ch: ChannelState | undefined, body: Buffer): Promise<void> {
    const text = body.toString('utf8');
    if (skipJsonWhitespace(text, 0) === text.length) return this.#reply(ctx, HEC.noData);
    const q = ctx.url.searchParams;
    const meta: QueryMeta = {
      host: q.get('host') ?? undefined,
      source: q.get('source') ?? undefined,
      sourcetype: q.get('sourcetype') ?? undefined,
      index: q.get('index') ?? undefined,
    };

    const accepted: Envelope[] = [];
    let failure: { reply: HecReplyCode; index: number | undefined } | undefined;
    if (ctx.route === 'raw') {
      const timeParam = q.get('time');
      if (timeParam !== null && !isNumericTime(timeParam)) failure = { reply: HEC.invalidDataFormat, index: undefined };
      else if (!this.#indexAllowed(token, meta.index)) failure = { reply: HEC.incorrectIndex, index: undefined };
      else {
        // READING: the brief's simplification of Splunk's line breaking: one event per non-blank
        // line (LF or CRLF). Real Splunk breaks by the sourcetype's props and may merge lines.
        const time = timeParam === null ? undefined : Number(timeParam);
        let i = 0;
        for (const line of text.split('\n')) {
          const l = line.endsWith('\r') ? line.slice(0, -1) : line;
          if (l.trim() === '') continue;
          const env: Envelope = { time, host: meta.host, source: meta.source, sourcetype: meta.sourcetype, index: meta.index, fields: undefined, event: l };
          if (this.#rejectPredicate?.(env, i)) {
            failure = { reply: HEC.invalidDataFormat, index: i };
            break;
          }
          accepted.push(env);
          i++;
        }
      }
    } else {
      let i = 0;
      for (const slice of splitConcatenatedObjects(text)) {
        if (!slice.ok) {
          failure = { reply: HEC.invalidDataFormat, index: i };
          break;
        }
        let obj: unknown;
        try {
          obj = JSON.parse(text.slice(slice.start, slice.end));
        } catch {
          failure = { reply: HEC.invalidDataFormat, index: i };
          break;
        }
        const check = this.#checkEnvelope(obj as Record<string, unknown>, token, meta);
        if (!check.ok) {
          failure = { reply: check.reply, index: i };
          break;
        }
        if (this.#rejectPredicate?.(obj as HecIncomingEvent, i)) {
          failure = { reply: HEC.invalidDataFormat, index: i };
          break;
        }
        if (check.envelope) accepted.push(check.envelope);
        i++;
      }
    }

    let ackId: number | undefined;
    let discard = false;
    if (!failure && token.ack && ch) {
      const issued = this.#issueAck(ch, accepted.length);
      ackId = issued.ackId;
      discard = issued.discard;
      ctx.rec.ackId = ackId;
    }
    const recorded = discard ? undefined : this.#record(ctx, token, channel, ackId, accepted);
    if (discard) this.#stats.eventsDiscarded += accepted.length;
    if (ackId !== undefined && ch) {
      const entry = ch.acks.get(ackId);
      if (entry) entry.events = recorded;
    }

    if (failure) {
      ctx.rec.invalidEventNumber = failure.index;
      return this.#reply(ctx, failure.reply, failure.index === undefined ? {} : { 'invalid-event-number': failure.index });
    }
    return this.#reply(ctx, HEC.success, ackId === undefined ? {} : { ackId });
  }

  #indexAllowed(token: TokenState, index: string | undefined): boolean {
    return index === undefined || index === '' || token.indexes === undefined || token.indexes.has(index);
  }

  /**
   * One event object. Order of checks (READING, Splunk documents none): event (12, 13, 6), fields
   * (15), time and metadata types (6), index (7).
   */
  #checkEnvelope(o: Record<string, unknown>, token: TokenState, meta: QueryMeta): Check {
    const hasFields = Object.hasOwn(o, 'fields');
    if (!Object.hasOwn(o, 'event')) {
      // Observed on Splunk: an object with `fields` and no `event` is accepted and not indexed as an
      // event (it is the metrics form); with neither, code 12.
      if (!hasFields) return { ok: false, reply: HEC.eventRequired };
    } else {
      const ev = o.event;
      // Observed on Splunk: "" and " " are blank (13); null and false are invalid data (6); {} [] 0 index.
      if (typeof ev === 'string' && ev.trim() === '') return { ok: false, reply: HEC.eventBlank };
      if (ev === null || ev === false) return { ok: false, reply: HEC.invalidDataFormat };
    }

    let fields: Record<string, HecFieldValue> | undefined;
    if (hasFields) {
      const f = o.fields;
      if (f === null || typeof f !== 'object' || Array.isArray(f)) return { ok: false, reply: HEC.indexedFieldsError };
      for (const v of Object.values(f)) {
        // Flat: scalar values or arrays of scalars (numbers too: metrics send them). A nested object
        // is code 15 (observed). READING: null and nested arrays are code 15 as well.
        const ok = isScalarField(v) || (Array.isArray(v) && v.every(isScalarField));
        if (!ok) return { ok: false, reply: HEC.indexedFieldsError };
      }
      fields = f as Record<string, HecFieldValue>;
    }

    // READING: a time that is not a number or numeric string, or metadata that is not a string, is
    // invalid data (6).
    if (Object.hasOwn(o, 'time') && !isNumericTime(o.time)) return { ok: false, reply: HEC.invalidDataFormat };
    for (const k of ['host', 'source', 'sourcetype', 'index'] as const) {
      if (Object.hasOwn(o, k) && typeof o[k] !== 'string') return { ok: false, reply: HEC.invalidDataFormat };
    }
    const index = (o.index as string | undefined) ?? meta.index;
    if (!this.#indexAllowed(token, index)) return { ok: false, reply: HEC.incorrectIndex };

    if (!Object.hasOwn(o, 'event')) return { ok: true, envelope: undefined };
    return {
      ok: true,
      envelope: {
        time: o.time === undefined ? undefined : Number(o.time),
        host: (o.host as string | undefined) ?? meta.host,
        source: (o.source as string | undefined) ?? meta.source,
        sourcetype: (o.sourcetype as string | undefined) ?? meta.sourcetype,
        index,
        fields,
        event: o.event,
      },
    };
  }

  #issueAck(ch: ChannelState, count: number): { ackId: number; discard: boolean } {
    const ackId = ch.nextAckId++;
    ch.stats.acksIssued++;
    this.#stats.acks.issued++;
    const entry: AckEntry = { state: 'pending', timer: undefined, events: undefined, count };
    let discard = false;
    if (this.#dropAcks > 0) {
      this.#dropAcks--;
      entry.state = 'lost';
      this.#stats.acks.lost++;
      discard = this.#dropAcksDiscard;
    } else if (this.#ackDelayMs <= 0) {
      entry.state = 'indexed';
    } else {
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        if (entry.state === 'pending') entry.state = 'indexed';
      }, this.#ackDelayMs);
      entry.timer.unref();
    }
    ch.acks.set(ackId, entry);
    return { ackId, discard };
  }

  #record(ctx: RequestCtx, token: TokenState, channel: string | undefined, ackId: number | undefined, envs: Envelope[]): HecRecordedEvent[] | undefined {
    if (envs.length === 0) return undefined;
    ctx.rec.events = envs.length;
    this.#stats.eventsIndexed += envs.length;
    let out: HecRecordedEvent[] | undefined;
    if (this.#recordAll) {
      const headers: Record<string, string> = {};
      for (const h of this.#recordHeaders) {
        const v = ctx.req.headers[h];
        if (v !== undefined) headers[h] = Array.isArray(v) ? v.join(', ') : v;
      }
      const receivedAt = Date.now();
      const endpoint = ctx.route === 'raw' ? 'raw' : 'event';
      out = [];
      for (const env of envs) {
        const e: HecRecordedEvent = { seq: this.#eventSeq++, requestId: ctx.rec.id, endpoint, token: token.token, channel, ackId, headers, receivedAt, ...env };
        this.#events.push(e);
        out.push(e);
      }
    } else {
      this.#eventSeq += envs.length;
    }
    if (this.#waiters.length > 0) {
      const ready = this.#waiters.filter((w) => this.#stats.eventsIndexed >= w.n);
      this.#waiters = this.#waiters.filter((w) => this.#stats.eventsIndexed < w.n);
      for (const w of ready) w.resolve();
    }
    return out;
  }

  #discard(a: AckEntry): void {
    this.#stats.eventsIndexed -= a.count;
    this.#stats.eventsDiscarded += a.count;
    if (a.events && a.events.length > 0) {
      const gone = new Set(a.events);
      this.#events = this.#events.filter((e) => !gone.has(e));
    }
    a.events = undefined;
  }

  // ----- replies -----------------------------------------------------------------------------------

  #reply(ctx: RequestCtx, r: HecReplyCode, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<void> {
    return this.#send(ctx, r.status, { text: r.text, code: r.code, ...extra }, headers);
  }

  async #send(ctx: RequestCtx, status: number, body: { code?: number } & Record<string, unknown>, headers: Record<string, string> = {}): Promise<void> {
    if (ctx.mode === 'slow') await sleep(ctx.modeOpts.slowMs ?? this.#defaultSlowMs);
    // drop with afterIndexing: everything was done, only the reply is lost.
    if (ctx.mode === 'drop') return this.#drop(ctx);
    this.#sendRaw(ctx.res, ctx.rec, status, JSON.stringify(body), 'application/json; charset=UTF-8', body.code, headers);
  }

  #sendRaw(res: ServerResponse, rec: HecRequestRecord, status: number, payload: string, contentType: string | undefined, code?: number, headers: Record<string, string> = {}): void {
    rec.status = status;
    rec.code = code;
    bump(this.#stats.byStatus, String(status));
    if (code !== undefined) bump(this.#stats.byCode, String(code));
    if (res.destroyed || res.writableEnded) return;
    const h: Record<string, string | number> = {
      ...headers,
      'content-length': Buffer.byteLength(payload),
      'set-cookie': `${this.#lbCookieName}=${this.#lbCookieValue}; Path=/`,
    };
    if (contentType) h['content-type'] = contentType;
    res.writeHead(status, h);
    res.end(payload);
  }

  #drop(ctx: RequestCtx): void {
    ctx.rec.status = 0;
    this.#stats.droppedConnections++;
    bump(this.#stats.byStatus, 'dropped');
    ctx.req.socket.destroy();
  }

  #internalError(res: ServerResponse, err: unknown): void {
    bump(this.#stats.byStatus, '500');
    bump(this.#stats.byCode, String(HEC.internalError.code));
    if (res.destroyed || res.headersSent) return;
    const payload = JSON.stringify({ text: HEC.internalError.text, code: HEC.internalError.code });
    res.writeHead(500, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(payload), 'x-hec-receiver-error': String((err as Error)?.message ?? err).slice(0, 200) });
    res.end(payload);
  }

  // ----- control endpoints (child-process mode) ----------------------------------------------------

  async #onControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const json = (status: number, body: unknown): void => {
      const payload = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    };
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    if (req.method === 'GET' && url.pathname === '/_stats') return json(200, this.stats());
    if (req.method === 'GET' && url.pathname === '/_events') {
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 1000);
      return json(200, { total: this.#events.length, events: this.#events.slice(offset, offset + limit) });
    }
    if (req.method === 'GET' && url.pathname === '/_requests') return json(200, this.#requests);
    if (req.method !== 'POST' || url.pathname !== '/_control') return json(404, { error: 'unknown control path' });
    let cmd: HecControlCommand;
    try {
      cmd = JSON.parse(Buffer.concat(chunks).toString('utf8')) as HecControlCommand;
    } catch {
      return json(400, { error: 'body must be JSON' });
    }
    try {
      const result = this.#applyControl(cmd);
      json(200, { ok: true, ...result });
      if (cmd.op === 'restart') {
        res.once('finish', () => {
          void this.restart({ keepState: cmd.keepState ?? true, downMs: cmd.downMs ?? 0 });
        });
      }
    } catch (err) {
      json(400, { error: (err as Error).message });
    }
  }

  #applyControl(cmd: HecControlCommand): Record<string, unknown> {
    switch (cmd.op) {
      case 'setMode':
        this.setMode(cmd.mode, cmd);
        return {};
      case 'rejectEvents': {
        const match = cmd.match;
        if (match === null || match === undefined) this.rejectEvents(undefined);
        else this.rejectEvents((e) => Object.entries(match).every(([path, v]) => atPath(e, path) === v));
        return {};
      }
      case 'setTokens':
        this.setTokens(cmd.tokens);
        return {};
      case 'addToken':
        this.addToken(cmd.token);
        return {};
      case 'disableToken':
        this.disableToken(cmd.token);
        return {};
      case 'enableToken':
        this.enableToken(cmd.token);
        return {};
      case 'setAckDelay':
        this.setAckDelay(cmd.ms);
        return {};
      case 'dropAcks':
        this.dropAcks(cmd.n, { discardEvents: cmd.discardEvents ?? true });
        return {};
      case 'loseAck':
        return { lost: this.loseAck(cmd.ackId, { ...(cmd.channel !== undefined ? { channel: cmd.channel } : {}), discardEvents: cmd.discardEvents ?? true }) };
      case 'reset':
        this.reset();
        return {};
      case 'restart':
        return {};
      default:
        throw new Error(`unknown op ${JSON.stringify((cmd as { op?: unknown }).op)}`);
    }
  }
}

/** Commands for POST /_control (child-process mode). */
export type HecControlCommand =
  | ({ op: 'setMode'; mode: HecMode } & HecModeOptions)
  /** `match`: dot paths into the event object and the value each must equal, e.g. {"event.id": 42}; null clears. */
  | { op: 'rejectEvents'; match: Record<string, string | number | boolean | null> | null }
  | { op: 'setTokens'; tokens: Array<string | HecTokenConfig> }
  | { op: 'addToken'; token: string | HecTokenConfig }
  | { op: 'disableToken'; token: string }
  | { op: 'enableToken'; token: string }
  | { op: 'setAckDelay'; ms: number }
  | { op: 'dropAcks'; n: number; discardEvents?: boolean }
  | { op: 'loseAck'; ackId: number; channel?: string; discardEvents?: boolean }
  | { op: 'reset' }
  /** Replies first, then stops listening, waits `downMs`, and listens again on the same port. */
  | { op: 'restart'; keepState?: boolean; downMs?: number };
