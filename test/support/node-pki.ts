/**
 * A throw-away PKI made in the test process with node:crypto alone — no openssl — for the unit tests,
 * which must run with nothing but `npm ci`: the same shape and the same certificates as makeTestPki
 * (test/support/pki.ts, openssl, which the integration and fault tests keep for their peers): a CA, a
 * server certificate (CN localhost, SAN DNS:localhost and IP:127.0.0.1) and a client certificate for
 * mutual TLS, all EC P-256, ecdsa-with-SHA256, signed by the CA, valid from an hour ago for 30 days,
 * with the extensions of OPENSSL_CNF_COMMON (basicConstraints, keyUsage, extendedKeyUsage,
 * subjectAltName, subject and authority key identifiers). Keys are unencrypted PKCS#8 PEM, as
 * `openssl req -nodes` writes them.
 *
 * Node can make keys and sign, but not build certificates, so the X.509 DER (RFC 5280) is written
 * here; test/pki/node-pki.test.ts checks the result with node:crypto's X509Certificate and a mutual
 * TLS handshake.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestPki } from './pki.ts';

// ----- DER (X.690), only what a certificate needs ----------------------------------------------------

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const seq = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts));
/** A non-negative INTEGER from big-endian bytes (a leading 0 keeps it positive). */
function uint(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && b[1]! < 0x80) b = b.subarray(1);
  return tlv(0x02, b[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let x = Math.floor(n / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift(0x80 | (x & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const TRUE = tlv(0x01, Buffer.from([0xff]));
/** BIT STRING of whole bytes. */
const bits = (b: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}
/** [n] EXPLICIT */
const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 + n, content);

// ----- X.509 -----------------------------------------------------------------------------------------

const ECDSA_WITH_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const name = (cn: string): Buffer => seq(set(seq(oid('2.5.4.3'), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer): Buffer => seq(oid(id), ...(critical ? [TRUE] : []), octets(value));
/** keyUsage as a DER named-bit BIT STRING: `first` is the byte of bits 0–7, `unused` its trailing zero bits. */
const keyUsage = (first: number, unused: number): Buffer => tlv(0x03, Buffer.from([unused, first]));
const KU_CA = keyUsage(0b0000_0110, 1); // keyCertSign(5), cRLSign(6)
const KU_LEAF = keyUsage(0b1010_0000, 5); // digitalSignature(0), keyEncipherment(2)
const EKU_SERVER = seq(oid('1.3.6.1.5.5.7.3.1'));
const EKU_CLIENT = seq(oid('1.3.6.1.5.5.7.3.2'));

/** The subject key identifier: SHA-1 of the public key's bits (RFC 5280 4.2.1.2, method 1). */
function keyId(pub: KeyObject): Buffer {
  const jwk = pub.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return createHash('sha1').update(point).digest();
}

/** A SAN entry: `IP:a.b.c.d` or a DNS name. */
function altName(entry: string): Buffer {
  if (entry.startsWith('IP:')) return tlv(0x87, Buffer.from(entry.slice(3).split('.').map(Number)));
  return tlv(0x82, Buffer.from(entry, 'ascii'));
}

interface Issuer {
  readonly cn: string;
  readonly key: KeyObject;
  readonly keyId: Buffer;
}

interface CertSpec {
  readonly cn: string;
  readonly publicKey: KeyObject;
  /** undefined: self-signed. */
  readonly issuer: Issuer | undefined;
  readonly signingKey: KeyObject;
  readonly ca: boolean;
  readonly eku?: Buffer;
  readonly san?: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function certificate(s: CertSpec): Buffer {
  const ski = keyId(s.publicKey);
  const aki = s.issuer?.keyId ?? ski;
  const exts = [
    extension('2.5.29.19', true, s.ca ? seq(TRUE) : seq()),
    extension('2.5.29.15', true, s.ca ? KU_CA : KU_LEAF),
    ...(s.eku ? [extension('2.5.29.37', false, s.eku)] : []),
    ...(s.san ? [extension('2.5.29.17', false, seq(...s.san.map(altName)))] : []),
    extension('2.5.29.14', false, octets(ski)),
    extension('2.5.29.35', false, seq(tlv(0x80, aki))),
  ];
  const serial = randomBytes(8);
  serial[0] = (serial[0]! & 0x7f) | 0x10; // positive, 8 bytes
  const tbs = seq(
    explicit(0, uint(Buffer.from([2]))), // v3
    uint(serial),
    ECDSA_WITH_SHA256,
    name(s.issuer?.cn ?? s.cn),
    seq(time(s.notBefore), time(s.notAfter)),
    name(s.cn),
    s.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...exts)),
  );
  return seq(tbs, ECDSA_WITH_SHA256, bits(sign('sha256', tbs, s.signingKey)));
}

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

const ecKeyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keyPem = (k: KeyObject): string => k.export({ type: 'pkcs8', format: 'pem' }).toString();

/** makeTestPki's CA, server and client certificates, made without openssl; the files are written to `dir`. */
export async function makeNodeTestPki(dir: string, label: string): Promise<TestPki> {
  mkdirSync(dir, { recursive: true });
  const now = Date.now();
  const notBefore = new Date(now - 3_600_000);
  const notAfter = new Date(now + 30 * 86_400_000);
  const ca = ecKeyPair();
  const caCn = `logstream ${label} test CA`;
  const issuer: Issuer = { cn: caCn, key: ca.privateKey, keyId: keyId(ca.publicKey) };
  const p = (f: string): string => join(dir, f);
  writeFileSync(p('ca.key'), keyPem(ca.privateKey));
  writeFileSync(p('ca.pem'), pem('CERTIFICATE', certificate({ cn: caCn, publicKey: ca.publicKey, issuer: undefined, signingKey: ca.privateKey, ca: true, notBefore, notAfter })));
  const leaf = (file: string, cn: string, eku: Buffer, san: string[]): void => {
    const k = ecKeyPair();
    writeFileSync(p(`${file}.key`), keyPem(k.privateKey));
    writeFileSync(p(`${file}.pem`), pem('CERTIFICATE', certificate({ cn, publicKey: k.publicKey, issuer, signingKey: ca.privateKey, ca: false, eku, san, notBefore, notAfter })));
  };
  leaf('server', 'localhost', EKU_SERVER, ['localhost', 'IP:127.0.0.1']);
  leaf('client', 'logstream-test-client', EKU_CLIENT, ['logstream-test-client']);
  return { caFile: p('ca.pem'), serverCertFile: p('server.pem'), serverKeyFile: p('server.key'), clientCertFile: p('client.pem'), clientKeyFile: p('client.key') };
}
