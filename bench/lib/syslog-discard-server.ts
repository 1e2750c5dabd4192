// A syslog-over-TLS (RFC 5425) receiver for the benchmark that only counts and discards: a node:tls
// server on 127.0.0.1 with a throw-away CA and server certificate (made with /usr/bin/openssl in a
// temp dir), parsing the octet-counted frames (`MSG-LEN SP SYSLOG-MSG`) just enough to count the
// messages and their bytes. It stands in for rsyslog to separate logstream's own cost from the
// receiver's. Run as its own process (bench/lib/syslog-discard.ts starts it):
//
//   node bench/lib/syslog-discard-server.ts [--dir DIR] [--host 127.0.0.1]
//
// Prints one line `SYSLOG_DISCARD {"tlsPort":…,"statsPort":…,"caFile":…,"dir":…}` once listening.
// GET http://127.0.0.1:<statsPort>/stats returns the counters as JSON. On SIGTERM it prints
// `SYSLOG_DISCARD_STATS {…}`, closes everything, removes DIR when it made it, and exits 0.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';
import { makeTestPki } from '../../test/support/pki.ts';


export interface SyslogDiscardStats {
  /** TLS connections that completed the handshake. */
  connections: number;
  openConnections: number;
  /** Handshakes that failed (tlsClientError). */
  tlsErrors: number;
  /** Complete frames. */
  messages: number;
  /** Sum of MSG-LEN of the complete frames (the syslog messages, framing excluded). */
  messageBytes: number;
  /** Decrypted bytes read, framing included. */
  wireBytes: number;
  /** Frames whose message does not start with '<' (no PRI: not syslog). */
  notSyslog: number;
  /** Connections dropped because the framing was broken (not `NONZERO-DIGIT *DIGIT SP`). */
  framingErrors: number;
  /** Connections that closed in the middle of a frame. */
  truncatedFrames: number;
  /** Socket errors after the handshake (ECONNRESET, ...). */
  socketErrors: number;
  /** ms since the server started: first and last complete message. */
  firstMessageMs: number | undefined;
  lastMessageMs: number | undefined;
}



const SP = 0x20;
const ZERO = 0x30;
const NINE = 0x39;
const LT = 0x3c;
/** MSG-LEN of more than 9 digits is refused (rsyslog's default maximum is far below). */
const MAX_LEN_DIGITS = 9;

/** Counts the octet-counted frames of one connection across chunk boundaries. */
function frameCounter(stats: SyslogDiscardStats, t0: number, onBroken: () => void): { data(chunk: Buffer): void; end(): void } {
  let len = 0; // MSG-LEN being read
  let digits = 0;
  let frameLen = 0;
  let remaining = 0; // bytes of the current message still to skip
  let atMessageStart = false;
  let broken = false;
  return {
    data(chunk) {
      if (broken) return;
      stats.wireBytes += chunk.length;
      let i = 0;
      const n = chunk.length;
      while (i < n) {
        if (remaining > 0) {
          if (atMessageStart) {
            if (chunk[i] !== LT) stats.notSyslog++;
            atMessageStart = false;
          }
          const take = Math.min(remaining, n - i);
          i += take;
          remaining -= take;
          if (remaining === 0) {
            stats.messages++;
            stats.messageBytes += frameLen;
            const now = performance.now() - t0;
            stats.firstMessageMs ??= now;
            stats.lastMessageMs = now;
          }
          continue;
        }
        const b = chunk[i++]!;
        if (b >= ZERO && b <= NINE && !(digits === 0 && b === ZERO) && digits < MAX_LEN_DIGITS) {
          len = len * 10 + (b - ZERO);
          digits++;
        } else if (b === SP && digits > 0) {
          frameLen = remaining = len;
          atMessageStart = true;
          len = 0;
          digits = 0;
        } else {
          stats.framingErrors++;
          broken = true;
          onBroken();
          return;
        }
      }
    },
    end() {
      if (!broken && (remaining > 0 || digits > 0)) stats.truncatedFrames++;
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } });
  const ownDir = values.dir === undefined;
  const dir = resolve(values.dir ?? mkdtempSync(join(tmpdir(), 'syslog-discard-')));
  mkdirSync(dir, { recursive: true });
  const pki = await makeTestPki(dir, 'bench syslog discard');
  const t0 = performance.now();
  const stats: SyslogDiscardStats = {
    connections: 0,
    openConnections: 0,
    tlsErrors: 0,
    messages: 0,
    messageBytes: 0,
    wireBytes: 0,
    notSyslog: 0,
    framingErrors: 0,
    truncatedFrames: 0,
    socketErrors: 0,
    firstMessageMs: undefined,
    lastMessageMs: undefined,
  };
  const sockets = new Set<TLSSocket>();
  const tlsServer = createTlsServer({ cert: readFileSync(pki.serverCertFile), key: readFileSync(pki.serverKeyFile), minVersion: 'TLSv1.2' }, (socket) => {
    stats.connections++;
    stats.openConnections++;
    sockets.add(socket);
    const counter = frameCounter(stats, t0, () => socket.destroy());
    socket.on('data', (c: Buffer) => counter.data(c));
    socket.on('error', () => stats.socketErrors++);
    socket.once('close', () => {
      counter.end();
      stats.openConnections--;
      sockets.delete(socket);
    });
  });
  tlsServer.on('tlsClientError', (_err: Error, s: Socket) => {
    stats.tlsErrors++;
    s.destroy();
  });
  const httpServer = createHttpServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    } else res.writeHead(404).end();
  });
  const listen = (s: Server): Promise<number> =>
    new Promise((res, rej) => {
      s.once('error', rej);
      s.listen(0, values.host!, () => res((s.address() as AddressInfo).port));
    });
  const tlsPort = await listen(tlsServer);
  const statsPort = await listen(httpServer);
  process.stdout.write(`SYSLOG_DISCARD ${JSON.stringify({ tlsPort, statsPort, caFile: pki.caFile, dir })}\n`);

  process.once('SIGTERM', () => {
    process.stdout.write(`SYSLOG_DISCARD_STATS ${JSON.stringify(stats)}\n`, () => {
      for (const s of sockets) s.destroy();
      tlsServer.close();
      httpServer.close();
      httpServer.closeAllConnections();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`syslog-discard-server: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
