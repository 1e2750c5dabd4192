// Syslog transports on node:tls / node:net / node:dgram. TCP and TLS keep one connection; a batch is
// one write of framed messages. Syslog has no acknowledgement, so a written batch is confirmed only if
// the connection is still up `confirmDelayMs` later; if it breaks sooner the batch is sent again
// (a duplicate is possible, silent loss of what the receiver had not yet taken is less likely).
// What stays possible: a receiver that accepted a message and then lost it (crash before writing,
// a full queue that drops) — syslog cannot tell; use HEC with indexer acknowledgement where that matters.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { retriable, toDeliveryError, DeliveryError } from '../../core/errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { Batch, SendResult } from '../../delivery/sink.ts';
import type { SyslogConfig } from './config.ts';

const CONNECT_TIMEOUT_MS = 10_000;
/** TLS 1.3: how long to wait for the receiver's verdict on our client certificate (see #open). */
const TLS13_VERDICT_MS = 200;

interface Connection {
  readonly socket: Socket;
  /** Set when the socket errors or closes; pending confirmations fail. */
  broken: DeliveryError | undefined;
  readonly onBreak: Set<() => void>;
}

export class StreamTransport {
  readonly #t: SyslogConfig['transport'];
  readonly #log: Logger;
  #conn: Connection | undefined;
  #connecting: Promise<Connection> | undefined;

  constructor(cfg: SyslogConfig, logger: Logger) {
    this.#t = cfg.transport;
    this.#log = logger;
  }

  get endpoint(): string {
    return `${this.#t.protocol}://${this.#t.host}:${this.#t.port}`;
  }

  async send(batch: Batch, signal: AbortSignal): Promise<SendResult | void> {
    const conn = await this.#connection(signal);
    const data = batch.items.length === 1 ? batch.items[0]!.payload : Buffer.concat(batch.items.map((i) => i.payload));
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(retriable('TIMEOUT', `${this.endpoint}: write timed out`));
      signal.addEventListener('abort', onAbort, { once: true });
      conn.socket.write(data, (err) => {
        signal.removeEventListener('abort', onAbort);
        if (err) reject(this.#broken(conn, err));
        else resolve();
      });
    });
    if (this.#t.confirmDelayMs === 0) return undefined;
    return { confirm: this.#confirm(conn, batch.items.length) };
  }

  #confirm(conn: Connection, count: number): Promise<Omit<SendResult, 'confirm'>> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const fail = (): void => {
        clearTimeout(timer);
        const error = conn.broken ?? retriable('CONNECTION_CLOSED', `${this.endpoint}: connection closed`);
        resolve({ failures: Array.from({ length: count }, (_, index) => ({ index, error: new DeliveryError(error.deliveryClass === 'halt' ? 'halt' : 'retriable', error.code, `${error.message}; sending the batch again`) })) });
      };
      if (conn.broken) return fail();
      timer = setTimeout(() => {
        // Timers run before the event loop reads sockets: a reset that arrived while this process was
        // busy would only be seen after the batch counted as delivered. setImmediate runs after the
        // poll phase, so an error or close already received breaks the connection first.
        setImmediate(() => {
          if (conn.broken) return; // fail() resolved it already
          conn.onBreak.delete(fail);
          resolve({});
        });
      }, this.#t.confirmDelayMs);
      conn.onBreak.add(fail);
    });
  }

  #broken(conn: Connection, err: unknown): DeliveryError {
    if (!conn.broken) {
      const e = toDeliveryError(err);
      conn.broken = new DeliveryError(e.deliveryClass, e.code, `${this.endpoint}: ${e.message}`, { cause: err });
      if (this.#conn === conn) this.#conn = undefined;
      conn.socket.destroy();
      for (const f of conn.onBreak) f();
      conn.onBreak.clear();
    }
    return conn.broken;
  }

  async #connection(signal: AbortSignal): Promise<Connection> {
    if (this.#conn && !this.#conn.broken) return this.#conn;
    this.#connecting ??= this.#open(signal).finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #open(signal: AbortSignal): Promise<Connection> {
    const t = this.#t;
    return new Promise((resolve, reject) => {
      const socket: Socket =
        t.protocol === 'tls'
          ? tlsConnect({
              host: t.host,
              port: t.port,
              servername: t.tls.servername ?? (isIp(t.host) ? undefined : t.host),
              ca: t.tls.ca,
              cert: t.tls.cert,
              key: t.tls.key,
              minVersion: 'TLSv1.2',
              rejectUnauthorized: true,
            })
          : netConnect({ host: t.host, port: t.port });
      const ready = t.protocol === 'tls' ? 'secureConnect' : 'connect';
      const timer = setTimeout(() => fail(retriable('CONNECT_TIMEOUT', `connection not established within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      const onAbort = (): void => fail(retriable('TIMEOUT', 'connect aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      const fail = (err: unknown): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        // A failing TLS socket can emit more than one error (an alert, then a reset): keep listening
        // so the later ones are not unhandled.
        socket.on('error', () => undefined);
        socket.destroy();
        const e = toDeliveryError(err);
        reject(new DeliveryError(e.deliveryClass, e.code, `${this.endpoint}: ${e.message}`, { cause: err }));
      };
      socket.once('error', fail);
      const established = (): void => {
        if (socket.destroyed) return fail(retriable('CONNECTION_CLOSED', 'the receiver closed the connection right after the TLS handshake'));
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('error', fail);
        socket.setKeepAlive(true, 30_000);
        socket.setNoDelay(true);
        const conn: Connection = { socket, broken: undefined, onBreak: new Set() };
        socket.on('error', (err) => this.#broken(conn, err));
        socket.on('close', () => this.#broken(conn, retriable('CONNECTION_CLOSED', 'the receiver closed the connection')));
        // Syslog receivers never talk back; data from them is ignored (but read, so the socket drains).
        socket.on('data', () => undefined);
        this.#conn = conn;
        this.#log.info({ endpoint: this.endpoint }, 'syslog connection established');
        resolve(conn);
      };
      socket.once(ready, () => {
        // With TLS 1.3 the client's handshake ends before the receiver has checked our certificate (or
        // its absence): a refusal is an alert just after, which a first write racing the receiver's
        // reset would hide (the error would be a bare ECONNRESET). So wait for the receiver's session
        // ticket, sent once it accepted us, or a short while for receivers that send none; a refusal
        // meanwhile fails the connect with its real cause (through `fail`).
        if (t.protocol !== 'tls' || (socket as TLSSocket).getProtocol() !== 'TLSv1.3') return established();
        let decided = false;
        const accepted = (): void => {
          if (decided) return;
          decided = true;
          clearTimeout(verdict);
          socket.off('session', onSession);
          socket.off('close', refused);
          established();
        };
        const refused = (): void => {
          if (decided) return;
          decided = true;
          clearTimeout(verdict);
          fail(retriable('CONNECTION_CLOSED', 'the receiver closed the connection right after the TLS handshake'));
        };
        const verdict = setTimeout(accepted, TLS13_VERDICT_MS);
        // Not from within the 'session' event: it is emitted while OpenSSL reads the ticket, and a
        // write from there would be re-entrant (the receiver sees a bad record MAC).
        const onSession = (): void => void setImmediate(accepted);
        socket.once('session', onSession);
        socket.once('close', refused);
      });
    });
  }

  /** Ends the connection cleanly (TLS close_notify, then FIN). */
  async close(): Promise<void> {
    const conn = this.#conn;
    this.#conn = undefined;
    if (!conn || conn.broken) return;
    conn.broken = retriable('CLOSED', 'closed by logstream');
    await new Promise<void>((resolve) => {
      conn.socket.end(() => resolve());
      setTimeout(resolve, 2000).unref();
    });
    conn.socket.destroy();
  }
}

/** UDP: one message per datagram (RFC 5426). Nothing confirms a datagram: a sent one counts as delivered. */
export class DatagramTransport {
  readonly #t: SyslogConfig['transport'];
  readonly #socket: UdpSocket;

  constructor(cfg: SyslogConfig) {
    this.#t = cfg.transport;
    this.#socket = createSocket(isIp(this.#t.host) && this.#t.host.includes(':') ? 'udp6' : 'udp4');
    this.#socket.unref();
    // Send errors reach each send's callback; this keeps a stray socket error from being unhandled.
    this.#socket.on('error', () => undefined);
  }

  async send(batch: Batch): Promise<void> {
    await Promise.all(
      batch.items.map(
        (item) =>
          new Promise<void>((resolve, reject) => {
            this.#socket.send(item.payload, this.#t.port, this.#t.host, (err) => (err ? reject(retriable((err as NodeJS.ErrnoException).code ?? 'UDP_SEND', `udp://${this.#t.host}:${this.#t.port}: ${err.message}`, err)) : resolve()));
          }),
      ),
    );
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

