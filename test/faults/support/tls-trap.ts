/**
 * A TLS server with a bad side to it (an expired or misnamed certificate, an unknown CA, a client
 * certificate it requires, only TLS 1.0/1.1 on offer) that records what a client did with it:
 *
 *   connections           TCP connections accepted
 *   plaintextConnections  connections whose first byte was not 0x16 (a TLS handshake record): a client
 *                         that fell back to plaintext; `plaintextSample` keeps the start of what it sent
 *   handshakes            handshakes the server completed
 *   appBytes              application bytes received over completed handshakes
 *   clientErrors          why handshakes failed, as the server saw it (tlsClientError)
 *
 * A plain TCP listener peeks at the first chunk of each connection and then hands the socket to a
 * node:tls server. With `forwardPort`, what arrives over a completed handshake is relayed to
 * 127.0.0.1:forwardPort (and the answers back): a real endpoint behind this certificate, so a client
 * that wrongly accepted it would deliver for real.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface TlsTrapOptions {
  cert: Buffer;
  key: Buffer;
  /** Require a client certificate signed by this CA (requestCert + rejectUnauthorized). */
  clientCa?: Buffer;
  /** Offer only TLS 1.0 and 1.1 (OpenSSL 3 needs security level 0 for them). */
  legacyOnly?: boolean;
  forwardPort?: number;
}

export class TlsTrap {
  readonly port: number;
  connections = 0;
  plaintextConnections = 0;
  plaintextSample = '';
  handshakes = 0;
  appBytes = 0;
  readonly clientErrors: string[] = [];
  /** The negotiated protocol of each completed handshake. */
  readonly protocols: string[] = [];
  readonly #front: net.Server;
  readonly #tls: tls.Server;
  readonly #sockets = new Set<net.Socket>();

  private constructor(front: net.Server, tlsServer: tls.Server, port: number) {
    this.#front = front;
    this.#tls = tlsServer;
    this.port = port;
  }

  static async start(o: TlsTrapOptions): Promise<TlsTrap> {
    const tlsServer = tls.createServer({
      cert: o.cert,
      key: o.key,
      ...(o.clientCa ? { ca: o.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
      ...(o.legacyOnly ? { minVersion: 'TLSv1' as const, maxVersion: 'TLSv1.1' as const, ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
    });
    const front = net.createServer();
    await new Promise<void>((res, rej) => {
      front.once('error', rej);
      front.listen(0, '127.0.0.1', () => res());
    });
    const trap = new TlsTrap(front, tlsServer, (front.address() as net.AddressInfo).port);
    front.on('connection', (socket) => {
      trap.connections++;
      trap.#sockets.add(socket);
      socket.on('close', () => trap.#sockets.delete(socket));
      socket.on('error', () => undefined);
      socket.once('data', (chunk: Buffer) => {
        if (chunk[0] !== 0x16) {
          trap.plaintextConnections++;
          if (trap.plaintextSample === '') trap.plaintextSample = chunk.subarray(0, 200).toString('latin1');
          socket.destroy();
          return;
        }
        socket.pause();
        socket.unshift(chunk);
        tlsServer.emit('connection', socket);
      });
    });
    tlsServer.on('tlsClientError', (err) => trap.clientErrors.push(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim()));
    tlsServer.on('secureConnection', (s) => {
      trap.handshakes++;
      trap.protocols.push(s.getProtocol() ?? '?');
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => {
        trap.appBytes += d.length;
      });
      if (o.forwardPort !== undefined) {
        const up = net.connect(o.forwardPort, '127.0.0.1');
        up.on('error', () => s.destroy());
        s.on('close', () => up.destroy());
        up.on('close', () => s.destroy());
        s.pipe(up);
        up.pipe(s);
      }
    });
    return trap;
  }

  /** Everything recorded, for assertion messages. */
  summary(): string {
    return `connections=${this.connections} plaintext=${this.plaintextConnections} handshakes=${this.handshakes} appBytes=${this.appBytes} protocols=[${[...new Set(this.protocols)].join(',')}] serverSaw=[${[...new Set(this.clientErrors)].slice(0, 3).join(' | ')}]`;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#front.close(() => r()));
    this.#tls.close();
  }
}
