// The openssl-free PKI of the unit tests (test/support/node-pki.ts): what node:crypto reads in its
// certificates, and a real mutual-TLS handshake over node:tls with them (Node's OpenSSL verifies the
// chain, the names, the key usages and the signatures).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeNodeTestPki } from '../support/node-pki.ts';
import type { TestPki } from '../support/pki.ts';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

let dir: string;
let pki: TestPki;
let other: TestPki;
const read = (f: string): Buffer => readFileSync(f);
const cert = (f: string): X509Certificate => new X509Certificate(read(f));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'logstream-node-pki-'));
  pki = await makeNodeTestPki(join(dir, 'a'), 'unit');
  other = await makeNodeTestPki(join(dir, 'b'), 'other');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('makeNodeTestPki (no openssl)', () => {
  it('makes a CA and a server and a client certificate it signed, with makeTestPki\'s names and usages', () => {
    const ca = cert(pki.caFile);
    const server = cert(pki.serverCertFile);
    const client = cert(pki.clientCertFile);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=logstream unit test CA');
    expect(ca.checkIssued(ca)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    for (const leaf of [server, client]) {
      expect(leaf.ca).toBe(false);
      expect(leaf.issuer).toBe(ca.subject);
      expect(leaf.checkIssued(ca)).toBe(true);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.verify(cert(other.caFile).publicKey)).toBe(false);
      expect(leaf.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
      expect(leaf.validFromDate.getTime()).toBeLessThan(Date.now());
      expect(leaf.validToDate.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
      expect(leaf.serialNumber).toMatch(/^[0-9A-F]{16}$/);
    }
    expect(server.serialNumber).not.toBe(client.serialNumber);
    expect(server.subject).toBe('CN=localhost');
    expect(server.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.keyUsage).toEqual([SERVER_AUTH]);
    expect(client.subject).toBe('CN=logstream-test-client');
    expect(client.checkHost('localhost')).toBeUndefined();
    expect(client.keyUsage).toEqual([CLIENT_AUTH]);
  });

  it('writes unencrypted PKCS#8 keys that belong to their certificates', () => {
    for (const [c, k] of [[pki.serverCertFile, pki.serverKeyFile], [pki.clientCertFile, pki.clientKeyFile]] as const) {
      const text = readFileSync(k, 'utf8');
      expect(text).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(cert(c).checkPrivateKey(createPrivateKey(text))).toBe(true);
      expect(cert(c).checkPrivateKey(createPrivateKey(readFileSync(other.serverKeyFile)))).toBe(false);
    }
  });

  it('works for mutual TLS over node:tls: both sides verified; an unknown CA or a missing client certificate is refused', async () => {
    let served = 0;
    const server = tls.createServer({ key: read(pki.serverKeyFile), cert: read(pki.serverCertFile), ca: read(pki.caFile), requestCert: true, rejectUnauthorized: true }, (s) => {
      served++;
      s.end(`hello ${s.getPeerCertificate().subject.CN}`);
    });
    const refused: string[] = [];
    server.on('tlsClientError', (e: NodeJS.ErrnoException) => refused.push(e.code ?? e.message));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    /** What the client reads until the end, or its error. */
    const connect = (opts: tls.ConnectionOptions): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, ...opts });
        let out = '';
        s.on('data', (d: Buffer) => (out += d.toString()));
        s.on('end', () => resolve(out));
        s.on('error', reject);
      });
    try {
      const mtls = { ca: read(pki.caFile), cert: read(pki.clientCertFile), key: read(pki.clientKeyFile) };
      expect(await connect(mtls)).toBe('hello logstream-test-client'); // checks IP 127.0.0.1 against the SAN
      expect(await connect({ ...mtls, servername: 'localhost' })).toBe('hello logstream-test-client');
      expect(refused).toEqual([]);
      await expect(connect({ ...mtls, ca: read(other.caFile) })).rejects.toMatchObject({ code: expect.stringMatching(/^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/) });
      await expect(connect({ ...mtls, servername: 'example.com' })).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      // The server refuses a client certificate of another CA, and none at all. (With TLS 1.3 the
      // client learns it after its side of the handshake: it reads nothing, or a reset.)
      const heard = (p: Promise<string>): Promise<string> => p.catch((e: Error) => `error ${e.message}`);
      const before = served;
      expect(await heard(connect({ ...mtls, cert: read(other.clientCertFile), key: read(other.clientKeyFile) }))).not.toContain('hello');
      expect(await heard(connect({ ca: read(pki.caFile) }))).not.toContain('hello');
      await vi.waitFor(() => expect(refused).toContain('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'));
      expect(served).toBe(before);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
