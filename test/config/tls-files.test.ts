// TLS files of the clients (Kafka, syslog, HTTP sinks) are followed while running: after a rotation
// the next connection uses the new CA and client certificate, a half-written pair keeps the old one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTlsFiles } from '../../src/config/tls-files.ts';
import { parseKafkaConfig } from '../../src/source/kafka/config.ts';
import { nodeTlsOptions } from '../../src/source/kafka/security.ts';
import { parseSyslogConfig } from '../../src/sinks/syslog/config.ts';
import { tmpDir } from '../support/instance.ts';
import { makeTestPki, type TestPki } from '../support/pki.ts';
import { replaceFile } from '../support/mounted-file.ts';

/** As the kubelet updates a mounted Secret: `from`'s content renamed over `path`. */
const replace = (path: string, from: string): void => replaceFile(path, readFileSync(from));

async function pollAll(files: { watched: ReadonlyArray<{ poll(): Promise<unknown> }> }): Promise<void> {
  for (const f of files.watched) await f.poll();
}

let dir: string;
let a: TestPki;
let b: TestPki;
let server: Server;
let port: number;
/** The CA that signed the client certificate each accepted connection presented. */
const clients: string[] = [];

beforeAll(async () => {
  dir = tmpDir('tls-files');
  [a, b] = await Promise.all([makeTestPki(join(dir, 'a'), 'a'), makeTestPki(join(dir, 'b'), 'b')]);
  // A server with PKI b's certificate that asks for a client certificate of either CA.
  server = createServer({ cert: readFileSync(b.serverCertFile), key: readFileSync(b.serverKeyFile), ca: [readFileSync(a.caFile), readFileSync(b.caFile)], requestCert: true, rejectUnauthorized: true }, (s: TLSSocket) => {
    clients.push(String(s.getPeerCertificate().issuer.CN));
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

afterAll(() => {
  server?.close();
});

/** Opens one connection with `opts` copied as both Kafka clients and the syslog sink do. */
function handshake(opts: object): Promise<'ok' | string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts }, () => {
      s.on('close', () => resolve('ok'));
      s.resume();
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('TLS files followed while running', () => {
  it('Kafka: the next connection trusts a rotated CA and presents a rotated client certificate', async () => {
    const ca = join(dir, 'kafka-ca.pem');
    const cert = join(dir, 'kafka-client.pem');
    const key = join(dir, 'kafka-client.key');
    replace(ca, a.caFile);
    replace(cert, a.clientCertFile);
    replace(key, a.clientKeyFile);
    const cfg = parseKafkaConfig({ KAFKA_BROKERS: '127.0.0.1:9093', KAFKA_TOPICS: 't', KAFKA_TLS_CA_FILE: ca, KAFKA_TLS_CERT_FILE: cert, KAFKA_TLS_KEY_FILE: key });
    const files = cfg.security.tls!.files!;
    // Both adapters pass these options on (kafkajs adds the server name); each copies them into
    // node:tls for every connection it opens, as handshake() does.
    const opts = nodeTlsOptions(cfg.security.tls)!;
    await pollAll(files);
    // CA a did not sign the server's certificate.
    expect(await handshake(opts)).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY/);

    replace(ca, b.caFile);
    await pollAll(files);
    clients.length = 0;
    expect(await handshake(opts)).toBe('ok');
    expect(await handshake(opts)).toBe('ok');
    expect(clients).toEqual(['logstream a test CA', 'logstream a test CA']);

    // The certificate first, its key a poll later: the old pair stays in use until both are there.
    replace(cert, b.clientCertFile);
    await pollAll(files);
    expect(await handshake(opts)).toBe('ok');
    expect(clients.at(-1)).toBe('logstream a test CA');
    replace(key, b.clientKeyFile);
    await pollAll(files);
    expect(await handshake(opts)).toBe('ok');
    expect(clients.at(-1)).toBe('logstream b test CA');
  });

  it('syslog: the next connection uses a rotated CA', async () => {
    const ca = join(dir, 'syslog-ca.pem');
    replace(ca, a.caFile);
    const cfg = parseSyslogConfig({ SYSLOG_URL: `tls://localhost:${port}`, SYSLOG_TLS_CA_FILE: ca, SYSLOG_TLS_CERT_FILE: a.clientCertFile, SYSLOG_TLS_KEY_FILE: a.clientKeyFile });
    const tls = cfg.transport.tls;
    await pollAll(tls);
    expect(await handshake({ ca: tls.ca, cert: tls.cert, key: tls.key })).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY/);
    replace(ca, b.caFile);
    await pollAll(tls);
    expect(await handshake({ ca: tls.ca, cert: tls.cert, key: tls.key })).toBe('ok');
  });

  it('readTlsFiles names the variable of a file it cannot read; a set that makes no TLS context is not taken', async () => {
    const problems: string[] = [];
    readTlsFiles({ ca: 'X_CA_FILE', cert: 'X_CERT_FILE', key: 'X_KEY_FILE' }, { ca: join(dir, 'missing.pem') }, problems);
    expect(problems).toEqual([`X_CA_FILE: cannot read "${join(dir, 'missing.pem')}": ENOENT`]);
    const ca = join(dir, 'x-ca.pem');
    replace(ca, a.caFile);
    const t = readTlsFiles({ ca: 'X_CA_FILE', cert: 'X_CERT_FILE', key: 'X_KEY_FILE' }, { ca }, problems);
    await pollAll(t);
    let changes = 0;
    t.onChange(() => changes++);
    replace(ca, a.clientKeyFile); // a key is no CA certificate
    expect(await t.watched[0]!.poll()).toEqual({ result: 'invalid', why: 'holds no PEM certificate' });
    expect(t.ca?.toString()).toBe(readFileSync(a.caFile, 'utf8').replace(/\n$/, ''));
    replace(ca, b.caFile);
    await pollAll(t);
    expect(t.ca?.toString()).toBe(readFileSync(b.caFile, 'utf8').replace(/\n$/, ''));
    expect(changes).toBe(1);
    expect(JSON.stringify(Object.keys(t))).toBe('["ca"]');
  });
});
