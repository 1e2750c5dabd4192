/**
 * A form POST receiver for tests and benchmarks: takes `POST <path>` with a multipart/form-data body,
 * checks it strictly (form.ts: busboy plus a structural reading of the bytes), and answers 200 when
 * it stored it. In-process (`new FormReceiver(opts).start()`) or as a child process (main.ts, driven
 * through /_form/control and /_form/stats).
 *
 * A body that fails the checks gets 400 with the reason and is counted in `invalid`: logstream must
 * never produce one, so tests assert `invalid === 0`. Fault switches answer valid POSTs with a
 * chosen status (503 for a while, 429 with Retry-After, 400 with a body) without storing them.
 * With `storeFile`, every accepted POST is appended to that file (one JSON line, written
 * synchronously before the 200), so a receiver killed with SIGKILL and started again on the same
 * port keeps what it acknowledged (readFormStore reads it back).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { DEFAULT_FORM_RULES, checkForm, type FormRules } from './form.ts';
import { closeHttp, listenHttp } from '../http-listen.ts';

export interface FormReceiverOptions {
  readonly host?: string;
  /** 0 (default) picks a free port; restart() keeps the port it got. */
  readonly port?: number;
  /** The upload path. Default /upload. */
  readonly path?: string;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Required request header (401 without it). */
  readonly auth?: { readonly header: string; readonly value: string };
  readonly rules?: Partial<FormRules>;
  /** Body size limit (413 beyond it). Default 64 MiB. */
  readonly maxBodyBytes?: number;
  /** 'all' keeps every accepted POST with its lines; 'count' keeps counters only (benchmarks). */
  readonly record?: 'all' | 'count';
  readonly storeFile?: string;
  /** Serve /_form/control, /_form/stats, /_form/posts (for the child-process mode). */
  readonly controlEndpoints?: boolean;
}

/** An accepted POST. */
export interface FormPost {
  readonly id: number;
  readonly at: number;
  readonly product: string;
  readonly rows: number;
  readonly filename: string;
  readonly fileContentType: string;
  readonly boundary: string;
  /** Request headers (lower case), the auth header included. */
  readonly headers: Readonly<Record<string, string>>;
  readonly lines: string[];
}

export interface FaultOptions {
  /** The status to answer valid POSTs with. */
  readonly status: number;
  /** Apply to this many POSTs, then stop. Default: until cleared. */
  readonly times?: number;
  readonly retryAfter?: string;
  readonly body?: string;
}

/** Answer POSTs holding a row whose `field` equals one of `values` with `status` (not stored). */
export interface RejectRows {
  readonly field: string;
  readonly values: ReadonlyArray<string | number | boolean>;
  readonly status: number;
  readonly body?: string;
}

export interface FormStats {
  requests: number;
  byStatus: Record<string, number>;
  accepted: number;
  rowsAccepted: number;
  /** Rows per accepted POST: the largest seen, and a histogram. */
  maxRows: number;
  rowsHistogram: Record<string, number>;
  rowsByProduct: Record<string, number>;
  invalid: number;
  invalidReasons: string[];
  unauthorized: number;
  faulted: number;
  rejected: number;
  /** Rows in the POSTs answered by rejectRows. */
  rowsRejected: number;
  bytesReceived: number;
  /** The last 10 000 upload requests: arrival time (epoch ms) and the status answered. */
  log: Array<{ at: number; status: number }>;
}

export type FormControlCommand =
  | ({ op: 'fault' } & FaultOptions)
  | { op: 'clearFault' }
  | ({ op: 'rejectRows' } & RejectRows)
  | { op: 'clearRejectRows' }
  /** Required auth header from now on (null: none). */
  | { op: 'setAuth'; auth: { header: string; value: string } | null }
  /** Replies first, then stops listening, waits `downMs`, and listens again on the same port. */
  | { op: 'restart'; downMs?: number };

function emptyStats(): FormStats {
  return { requests: 0, byStatus: {}, accepted: 0, rowsAccepted: 0, maxRows: 0, rowsHistogram: {}, rowsByProduct: {}, invalid: 0, invalidReasons: [], unauthorized: 0, faulted: 0, rejected: 0, rowsRejected: 0, bytesReceived: 0, log: [] };
}

const bump = (m: Record<string, number>, k: string, n = 1): void => {
  m[k] = (m[k] ?? 0) + n;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class FormReceiver {
  readonly #host: string;
  #port: number;
  readonly #path: string;
  readonly #tls: FormReceiverOptions['tls'];
  #auth: FormReceiverOptions['auth'];
  readonly #rules: FormRules;
  readonly #maxBodyBytes: number;
  readonly #recordAll: boolean;
  readonly #storeFile: string | undefined;
  readonly #control: boolean;
  #server: Server | undefined;
  #fault: (FaultOptions & { left: number | undefined }) | undefined;
  #reject: RejectRows | undefined;
  #stats = emptyStats();
  #posts: FormPost[] = [];
  #nextId = 1;
  #waiters: Array<{ rows: number; resolve: () => void }> = [];
  readonly #arrived = new WeakMap<ServerResponse, number>();

  constructor(opts: FormReceiverOptions = {}) {
    this.#host = opts.host ?? '127.0.0.1';
    this.#port = opts.port ?? 0;
    this.#path = opts.path ?? '/upload';
    this.#tls = opts.tls;
    this.#auth = opts.auth;
    this.#rules = { ...DEFAULT_FORM_RULES, ...opts.rules };
    this.#maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024 * 1024;
    this.#recordAll = (opts.record ?? 'all') === 'all';
    this.#storeFile = opts.storeFile;
    this.#control = opts.controlEndpoints ?? false;
  }

  get port(): number {
    return this.#port;
  }

  /** The upload URL. */
  get url(): string {
    return `${this.#tls ? 'https' : 'http'}://${this.#host}:${this.#port}${this.#path}`;
  }

  get posts(): readonly FormPost[] {
    return this.#posts;
  }

  /** Every accepted row, parsed. */
  rows(): Array<Record<string, unknown>> {
    return this.#posts.flatMap((p) => p.lines.map((l) => JSON.parse(l) as Record<string, unknown>));
  }

  stats(): FormStats {
    return structuredClone(this.#stats);
  }

  fault(f: FaultOptions | undefined): void {
    this.#fault = f === undefined ? undefined : { ...f, left: f.times };
  }

  rejectRows(r: RejectRows | undefined): void {
    this.#reject = r;
  }

  setAuth(auth: FormReceiverOptions['auth']): void {
    this.#auth = auth;
  }

  /** Resolves once at least `rows` rows were accepted. */
  waitForRows(rows: number, timeoutMs = 60_000): Promise<void> {
    if (this.#stats.rowsAccepted >= rows) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`form receiver: ${this.#stats.rowsAccepted} of ${rows} rows after ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({ rows, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async start(): Promise<string> {
    if (this.#server) return this.url;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.#onRequest(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`receiver error: ${(err as Error)?.message ?? String(err)}`);
      });
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

  /** stop(), `downMs` without listening, start() on the same port. */
  async restart(downMs = 0): Promise<string> {
    await this.stop();
    if (downMs > 0) await sleep(downMs);
    return this.start();
  }

  #reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    bump(this.#stats.byStatus, String(status));
    this.#stats.log.push({ at: this.#arrived.get(res) ?? Date.now(), status });
    if (this.#stats.log.length > 10_000) this.#stats.log.shift();
    const payload = Buffer.from(body, 'utf8');
    res.writeHead(status, { 'content-type': status === 200 ? 'application/json' : 'text/plain; charset=utf-8', 'content-length': String(payload.length), ...headers });
    res.end(payload);
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (this.#control && url.pathname.startsWith('/_form/')) return this.#onControl(req, res, url);
    this.#stats.requests++;
    this.#arrived.set(res, Date.now());
    if (url.pathname + url.search !== this.#path) {
      req.resume();
      return this.#reply(res, 404, `no upload endpoint at ${url.pathname}`);
    }
    if (req.method !== 'POST') {
      req.resume();
      return this.#reply(res, 405, 'POST only', { allow: 'POST' });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    // Past the limit the rest is read and discarded before the 413, so the sender sees the reply
    // rather than a reset connection.
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      this.#stats.bytesReceived += c.length;
      if (size <= this.#maxBodyBytes) chunks.push(c);
    }
    if (size > this.#maxBodyBytes) return this.#reply(res, 413, `request body over ${this.#maxBodyBytes} bytes`);
    if (this.#auth && req.headers[this.#auth.header.toLowerCase()] !== this.#auth.value) {
      this.#stats.unauthorized++;
      return this.#reply(res, 401, 'missing or wrong credentials');
    }
    const check = await checkForm(Buffer.concat(chunks), req.headers['content-type'], this.#rules);
    if (!check.ok) {
      this.#stats.invalid++;
      if (this.#stats.invalidReasons.length < 20) this.#stats.invalidReasons.push(check.reason);
      return this.#reply(res, 400, `invalid form: ${check.reason}`);
    }
    const form = check.form;
    if (this.#fault) {
      const f = this.#fault;
      if (f.left !== undefined && --f.left <= 0) this.#fault = undefined;
      this.#stats.faulted++;
      return this.#reply(res, f.status, f.body ?? `fault ${f.status}`, f.retryAfter !== undefined ? { 'retry-after': f.retryAfter } : {});
    }
    const r = this.#reject;
    if (r && form.records.some((rec) => r.values.includes(rec[r.field] as string | number | boolean))) {
      this.#stats.rejected++;
      this.#stats.rowsRejected += form.rows;
      return this.#reply(res, r.status, r.body ?? `rejected ${r.status}`);
    }
    const post: FormPost = {
      id: this.#nextId++,
      at: Date.now(),
      product: form.product,
      rows: form.rows,
      filename: form.filename,
      fileContentType: form.fileContentType,
      boundary: form.boundary,
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)])),
      lines: form.lines,
    };
    if (this.#storeFile) appendFileSync(this.#storeFile, `${JSON.stringify(post)}\n`);
    if (this.#recordAll) this.#posts.push(post);
    const s = this.#stats;
    s.accepted++;
    s.rowsAccepted += form.rows;
    s.maxRows = Math.max(s.maxRows, form.rows);
    bump(s.rowsHistogram, String(form.rows));
    bump(s.rowsByProduct, form.product, form.rows);
    this.#reply(res, 200, JSON.stringify({ ok: true, rows: form.rows }));
    this.#waiters = this.#waiters.filter((w) => (s.rowsAccepted >= w.rows ? (w.resolve(), false) : true));
  }

  async #onControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const json = (status: number, body: unknown): void => {
      const payload = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    };
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    if (req.method === 'GET' && url.pathname === '/_form/stats') return json(200, this.#stats);
    if (req.method === 'GET' && url.pathname === '/_form/posts') {
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 1000);
      return json(200, { total: this.#posts.length, posts: this.#posts.slice(offset, offset + limit) });
    }
    if (req.method !== 'POST' || url.pathname !== '/_form/control') return json(404, { error: 'unknown control path' });
    let cmd: FormControlCommand;
    try {
      cmd = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FormControlCommand;
    } catch {
      return json(400, { error: 'body must be JSON' });
    }
    switch (cmd.op) {
      case 'fault':
        this.fault(cmd);
        break;
      case 'clearFault':
        this.fault(undefined);
        break;
      case 'rejectRows':
        this.rejectRows(cmd);
        break;
      case 'clearRejectRows':
        this.rejectRows(undefined);
        break;
      case 'setAuth':
        this.setAuth(cmd.auth ?? undefined);
        break;
      case 'restart':
        res.once('finish', () => void this.restart(cmd.downMs ?? 0));
        break;
      default:
        return json(400, { error: `unknown op ${JSON.stringify((cmd as { op?: unknown }).op)}` });
    }
    json(200, { ok: true });
  }
}

/** The POSTs in a store file (a last line cut short by a kill is left out). */
export function readFormStore(file: string): FormPost[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const lines = text.split('\n');
  lines.pop(); // '' after the last LF, or an unfinished line
  return lines.map((l) => JSON.parse(l) as FormPost);
}

/** Every row of `posts`, parsed. */
export function formRows(posts: readonly FormPost[]): Array<Record<string, unknown>> {
  return posts.flatMap((p) => p.lines.map((l) => JSON.parse(l) as Record<string, unknown>));
}
