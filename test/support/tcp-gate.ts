import net from 'node:net';

/**
 * A TCP forwarder on 127.0.0.1 that can be shut (new connections refused, open ones cut) and opened again
 * on the same port: the client's view of a server that is down, while the server behind it can still be
 * read directly. (ElasticMQ's own persistence cannot stand in: it acknowledges messages before it writes
 * them, and loses them when stopped — test/integration/sqs.integration.test.ts says more.)
 */
export class TcpGate {
  readonly #target: number;
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | undefined;
  port = 0;

  private constructor(target: number) {
    this.#target = target;
  }

  static async open(targetPort: number): Promise<TcpGate> {
    const g = new TcpGate(targetPort);
    await g.reopen();
    return g;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens again (on the same port after the first time). */
  async reopen(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.#target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** Refuses new connections and cuts the open ones. */
  async shut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
