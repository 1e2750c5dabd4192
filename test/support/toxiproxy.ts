/**
 * A small typed client of toxiproxy's HTTP API (the server: scripts/toxiproxy.ts), with fetch.
 *
 *   const tp = await Toxiproxy.start();                       // a server of our own (stop() in afterAll)
 *   const p = await tp.createProxy('hec', 7777);              // listens on 127.0.0.1:<free port>
 *   await p.addToxic({ type: 'latency', attributes: { latency: 300, jitter: 100 } });
 *   await p.disable(); await p.enable();                      // connections refused + open ones cut; back
 *
 * Toxics (https://github.com/Shopify/toxiproxy#toxics): `stream` is the direction the data flows in —
 * 'downstream' = upstream server → client (the default), 'upstream' = client → server. `toxicity` is the
 * probability (0…1) that a new connection gets the toxic (default 1).
 */
import { startToxiproxy, type ToxiproxyOptions, type ToxiproxyServer } from '../../scripts/toxiproxy.ts';

/** Toxic attributes by type (times in ms, rate in KB/s). */
export interface ToxicAttributes {
  /** Delays the data by latency ± jitter. */
  latency: { latency: number; jitter?: number };
  /** Passes the data through at `rate` KB/s. */
  bandwidth: { rate: number };
  /** Resets the connection (TCP RST, unsent data dropped) `timeout` ms after data arrives (0: at once). */
  reset_peer: { timeout: number };
  /** Stops all data and closes the connection after `timeout` ms (0: never closes, a black hole). */
  timeout: { timeout: number };
  /** Closes the connection once `bytes` have passed. */
  limit_data: { bytes: number };
  /** Cuts the data into pieces of average_size ± size_variation bytes, `delay` µs apart. */
  slicer: { average_size: number; size_variation?: number; delay?: number };
  /** Delays the close of the connection by `delay` ms. */
  slow_close: { delay: number };
}
export type ToxicType = keyof ToxicAttributes;
export type ToxicStream = 'upstream' | 'downstream';

export type ToxicSpec = {
  [T in ToxicType]: { type: T; attributes: ToxicAttributes[T]; name?: string; stream?: ToxicStream; toxicity?: number };
}[ToxicType];

export interface Toxic {
  name: string;
  type: ToxicType;
  stream: ToxicStream;
  toxicity: number;
  attributes: Record<string, number>;
}

export interface ProxyState {
  name: string;
  /** "127.0.0.1:<port>" where the proxy listens. */
  listen: string;
  /** "host:port" it forwards to. */
  upstream: string;
  enabled: boolean;
  toxics: Toxic[];
}

export class ToxiproxyError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'ToxiproxyError';
    this.status = status;
  }
}

/** The API of one toxiproxy server. */
export class ToxiproxyClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  async request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) {
      let msg = text;
      try {
        msg = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        // not JSON
      }
      throw new ToxiproxyError(`toxiproxy ${method} ${path}: ${res.status} ${msg}`, res.status);
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** The server's version ("git" for a `go install` build). */
  async version(): Promise<string> {
    return (await this.request<{ version: string }>('GET', '/version')).version;
  }

  /** Creates a proxy `name` forwarding to `upstream` (a port on 127.0.0.1, or "host:port"), listening on
   *  `listen` (default 127.0.0.1:0, a free port: see .port of the result). */
  async createProxy(name: string, upstream: number | string, listen = '127.0.0.1:0'): Promise<ToxicProxy> {
    const state = await this.request<ProxyState>('POST', '/proxies', {
      name,
      listen,
      upstream: typeof upstream === 'number' ? `127.0.0.1:${upstream}` : upstream,
      enabled: true,
    });
    return new ToxicProxy(this, state);
  }

  async proxies(): Promise<Record<string, ProxyState>> {
    return this.request<Record<string, ProxyState>>('GET', '/proxies');
  }

  async proxy(name: string): Promise<ToxicProxy> {
    return new ToxicProxy(this, await this.request<ProxyState>('GET', `/proxies/${encodeURIComponent(name)}`));
  }

  /** Enables every proxy and removes every toxic. */
  async reset(): Promise<void> {
    await this.request<void>('POST', '/reset');
  }
}

/** One proxy of a toxiproxy server. */
export class ToxicProxy {
  readonly #client: ToxiproxyClient;
  readonly name: string;
  readonly upstream: string;
  /** "127.0.0.1:<port>": stays the same across disable()/enable(). */
  readonly listen: string;
  readonly port: number;

  constructor(client: ToxiproxyClient, state: ProxyState) {
    this.#client = client;
    this.name = state.name;
    this.upstream = state.upstream;
    this.listen = state.listen;
    this.port = Number(state.listen.slice(state.listen.lastIndexOf(':') + 1));
  }

  get #path(): string {
    return `/proxies/${encodeURIComponent(this.name)}`;
  }

  async state(): Promise<ProxyState> {
    return this.#client.request<ProxyState>('GET', this.#path);
  }

  /** Closes the listener and cuts every open connection (clients get refused until enable()). */
  async disable(): Promise<void> {
    await this.#client.request<ProxyState>('PATCH', this.#path, { enabled: false });
  }

  /** Listens again on the same address. */
  async enable(): Promise<void> {
    await this.#client.request<ProxyState>('PATCH', this.#path, { enabled: true });
  }

  /** Adds a toxic; its name defaults to `<type>_<stream>` (toxiproxy's own default). */
  async addToxic(spec: ToxicSpec): Promise<Toxic> {
    const stream = spec.stream ?? 'downstream';
    return this.#client.request<Toxic>('POST', `${this.#path}/toxics`, {
      name: spec.name ?? `${spec.type}_${stream}`,
      type: spec.type,
      stream,
      toxicity: spec.toxicity ?? 1,
      attributes: spec.attributes,
    });
  }

  /** Changes a toxic's attributes (and toxicity). */
  async updateToxic(name: string, attributes: Record<string, number>, toxicity?: number): Promise<Toxic> {
    return this.#client.request<Toxic>('PATCH', `${this.#path}/toxics/${encodeURIComponent(name)}`, { attributes, ...(toxicity === undefined ? {} : { toxicity }) });
  }

  async toxics(): Promise<Toxic[]> {
    return this.#client.request<Toxic[]>('GET', `${this.#path}/toxics`);
  }

  async removeToxic(name: string): Promise<void> {
    await this.#client.request<void>('DELETE', `${this.#path}/toxics/${encodeURIComponent(name)}`);
  }

  async removeAllToxics(): Promise<void> {
    for (const t of await this.toxics()) await this.removeToxic(t.name);
  }

  /** Adds the toxics, runs `fn`, removes them again (also when `fn` throws). */
  async withToxics<T>(specs: readonly ToxicSpec[], fn: () => Promise<T>): Promise<T> {
    const added: string[] = [];
    try {
      for (const s of specs) added.push((await this.addToxic(s)).name);
      return await fn();
    } finally {
      for (const name of added) await this.removeToxic(name).catch(() => undefined);
    }
  }

  async delete(): Promise<void> {
    await this.#client.request<void>('DELETE', this.#path);
  }
}

/** A toxiproxy server of this test process and its client. */
export class Toxiproxy extends ToxiproxyClient {
  readonly server: ToxiproxyServer;

  private constructor(server: ToxiproxyServer) {
    super(server.url);
    this.server = server;
  }

  static async start(opts: ToxiproxyOptions = {}): Promise<Toxiproxy> {
    return new Toxiproxy(await startToxiproxy(opts));
  }

  get logFile(): string {
    return this.server.logFile;
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }
}
