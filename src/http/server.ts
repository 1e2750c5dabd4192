// The instance's HTTP server: /metrics (Prometheus), /healthz (alive), /readyz (joined and sinks healthy),
// and the webhook's /v1/logstream/{product} when it is on. With HTTP_TLS_* it speaks HTTPS only (TLS 1.2
// at least, optionally client certificates), and takes a renewed certificate without a restart. With
// METRICS_PORT a second, plain listener serves /metrics and the probes, and this one only the webhook
// and /healthz (so that it can be exposed through an Ingress while metrics stay inside the cluster).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { serverTlsOptions, serverTlsProblem, type ServerTls } from './server-tls.ts';

export interface Readiness {
  ready: boolean;
  reasons: string[];
}

export type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** What the TLS listener reports: a handshake it refused (and why), a certificate reload. */
export type TlsEvent = { kind: 'refused'; reason: TlsRefusal } | { kind: 'reloaded' } | { kind: 'reload_failed'; why: string };
export type TlsRefusal = 'plain_http' | 'protocol_version' | 'client_certificate' | 'handshake';

/** Why a TLS handshake failed, from the OpenSSL error Node reports. */
export function tlsRefusal(code: string | undefined): TlsRefusal {
  if (code === 'ERR_SSL_HTTP_REQUEST') return 'plain_http';
  if (code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE' || code === 'ERR_SSL_VERSION_TOO_LOW') return 'protocol_version';
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' || code === 'ERR_SSL_NO_CERTIFICATE_RETURNED' || code === 'ERR_SSL_CERTIFICATE_VERIFY_FAILED' || code?.startsWith('ERR_SSL_SSLV3_ALERT_') || code?.startsWith('ERR_SSL_TLSV1_ALERT_')) return 'client_certificate';
  return 'handshake';
}

const RELOAD_SETTLE_MS = 500;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 20_000;

export interface HttpServerOptions {
  registry: Registry;
  alive: () => boolean;
  readiness: () => Readiness;
  /** Serve /metrics and /readyz here (false: another listener does; /healthz is always served). */
  metrics?: boolean;
  tls?: ServerTls;
  onTls?: (e: TlsEvent) => void;
}

export class HttpServer {
  readonly #server: Server;
  readonly #routes = new Map<string, Route>();
  /** Path prefix → handler that takes every method and checks it itself (the webhook). */
  readonly #prefixes: Array<[string, Route]> = [];
  /** Stops following the certificate files (at close). */
  readonly #unwatch: Array<() => void> = [];

  constructor(deps: HttpServerOptions) {
    if (deps.metrics !== false) {
      this.#routes.set('/metrics', async (_req, res) => {
        const body = await deps.registry.metrics();
        res.writeHead(200, { 'content-type': deps.registry.contentType }).end(body);
      });
      this.#routes.set('/readyz', (_req, res) => {
        const r = deps.readiness();
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r));
      });
    }
    this.#routes.set('/healthz', (_req, res) => {
      const ok = deps.alive();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ alive: ok }));
    });
    const handle = (req: IncomingMessage, res: ServerResponse): void => {
      // On every answer: no content sniffing; over HTTPS, clients that keep HSTS stay on HTTPS.
      res.setHeader('x-content-type-options', 'nosniff');
      if (deps.tls) res.setHeader('strict-transport-security', 'max-age=31536000');
      const path = (req.url ?? '/').split('?')[0]!;
      const prefixed = this.#prefixes.find(([prefix]) => path.startsWith(prefix) && path.length > prefix.length);
      if (prefixed) {
        Promise.resolve(prefixed[1](req, res)).catch(() => {
          if (!res.headersSent) res.writeHead(500).end();
        });
        return;
      }
      const route = this.#routes.get(path);
      if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      Promise.resolve(route(req, res)).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    };
    const tls = deps.tls;
    // Slow or idle clients cannot hold sockets for long (the probes and the webhook stay responsive):
    // the TLS handshake, then the request head, then the whole request each have a deadline.
    const limits = { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 2000 };
    if (tls === undefined) this.#server = createServer(limits, handle);
    else {
      const server = createTlsServer({ ...serverTlsOptions(tls), ...limits, handshakeTimeout: HANDSHAKE_TIMEOUT_MS }, handle);
      server.on('tlsClientError', (err: NodeJS.ErrnoException) => deps.onTls?.({ kind: 'refused', reason: tlsRefusal(err.code) }));
      // A renewal: new handshakes use the new files once they make a valid context; open connections go
      // on. Changes within RELOAD_SETTLE_MS are taken together (cert-manager writes the pair at once).
      let pending: NodeJS.Timeout | undefined;
      const reload = (): void => {
        pending = undefined;
        const why = serverTlsProblem(tls);
        if (why !== undefined) return deps.onTls?.({ kind: 'reload_failed', why });
        server.setSecureContext(serverTlsOptions(tls));
        deps.onTls?.({ kind: 'reloaded' });
      };
      for (const f of [tls.cert, tls.key, tls.clientCa]) {
        const stop = f?.onChange(() => (pending ??= setTimeout(reload, RELOAD_SETTLE_MS)));
        if (stop) this.#unwatch.push(stop);
      }
      server.once('close', () => clearTimeout(pending));
      this.#server = server;
    }
    this.#server.keepAliveTimeout = 65_000;
  }

  /** Every path under `prefix` goes to `handler`, whatever the method. */
  routePrefix(prefix: string, handler: Route): void {
    this.#prefixes.push([prefix, handler]);
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve((this.#server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    for (const stop of this.#unwatch.splice(0)) stop();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
