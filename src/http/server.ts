// The instance's HTTP server: /metrics (Prometheus), /healthz (alive), /readyz (joined and sinks healthy),
// and the webhook's /v1/logstream/{product} when it is on.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  reasons: string[];
}

export type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export class HttpServer {
  readonly #server: Server;
  readonly #routes = new Map<string, Route>();
  /** Path prefix → handler that takes every method and checks it itself (the webhook). */
  readonly #prefixes: Array<[string, Route]> = [];

  constructor(deps: { registry: Registry; alive: () => boolean; readiness: () => Readiness }) {
    this.#routes.set('/metrics', async (_req, res) => {
      const body = await deps.registry.metrics();
      res.writeHead(200, { 'content-type': deps.registry.contentType }).end(body);
    });
    this.#routes.set('/healthz', (_req, res) => {
      const ok = deps.alive();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ alive: ok }));
    });
    this.#routes.set('/readyz', (_req, res) => {
      const r = deps.readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r));
    });
    this.#server = createServer((req, res) => {
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
    });
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
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
