// Archive manifests and anchors: what they say, how they are signed, and how they are read back.
//
// A manifest describes the objects of one partition stored since the previous manifest (one, or several
// when they were stored while the previous manifest was being written): for each its key, size and
// SHA-256, the Kafka records it holds (offset ranges), the offsets before them the route read and did
// not ship (filtered, dead-lettered, empty); and the hash of the previous manifest of the same
// partition and sink (a hash chain). An anchor records the head of a chain from time to time, outside it, so
// that removing the newest objects is seen. Both are signed with Ed25519: verifying needs only the
// public key, so an auditor who can check the archive cannot forge it (an HMAC key could).
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { BatchItem } from '../../delivery/sink.ts';
import { REDACTED, type Secret } from '../../config/secret.ts';
import { merge, type Range } from './ranges.ts';

export const MANIFEST_FORMAT = 'logstream-manifest/1';
export const ANCHOR_FORMAT = 'logstream-anchor/1';
export const RETIRED_FORMAT = 'logstream-retired/1';

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly topic: string;
  readonly partition: number;
  /** The objects this link records, in the order they were stored. */
  readonly objects: ObjectEntry[];
  /** Position in the chain: 1 for a chain's first link. */
  readonly height: number;
  /** SHA-256 (hex) of the previous manifest of this partition and sink, and where it is; null at a chain's start. */
  readonly prev: string | null;
  readonly prevManifest: string | null;
  readonly writer: string;
  readonly written: string;
}

/** One stored object in a manifest: where it is, its bytes, and what it accounts for. */
export interface ObjectEntry extends BatchAccount {
  /** The object's key (in the same bucket), its size and the SHA-256 (hex) of its stored bytes. */
  readonly object: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface Anchor {
  readonly format: typeof ANCHOR_FORMAT;
  readonly topic: string;
  readonly partition: number;
  /** The chain's head when written: its manifest's hash, key and height. */
  readonly head: string;
  readonly headManifest: string;
  readonly height: number;
  /** One past the highest offset the chain accounts for. */
  readonly next: number;
  readonly writer: string;
  readonly written: string;
}

/**
 * A store deleted objects on purpose (the file sink's rotation past FILE_BACKUP_COUNT), written before
 * they go: every object whose key starts with `objectPrefix` is gone, and with it, per partition, the
 * links up to `maxHeight` and the offsets up to `maxOffset`. `verify` reports that history as retired,
 * not as missing.
 */
export interface Retired {
  readonly format: typeof RETIRED_FORMAT;
  readonly objectPrefix: string;
  /** What was deleted (a file name), for the report. */
  readonly what: string;
  readonly partitions: Array<{ topic: string; partition: number; maxHeight: number; maxOffset: number }>;
  readonly writer: string;
  readonly written: string;
}

/** What is stored: the document and its signature. */
export interface Sealed<T> {
  readonly document: T;
  readonly keyId: string;
  readonly signature: string;
}

/** JSON with keys sorted at every level and no spaces: the bytes that are hashed and signed. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

/** The chain hash of a manifest: hex SHA-256 of its canonical JSON without `writer` and `written`
 *  (which the signature covers). The same object linked after the same manifest is the same link,
 *  whoever wrote it when: an owner that stores the same batch again after a failover overwrites the
 *  manifest with an equal link, and the links after it stay valid. */
export function manifestHash(m: Manifest): string {
  const { writer: _w, written: _t, ...link } = m;
  return createHash('sha256').update(canonicalJson(link)).digest('hex');
}

/** The key that signs (private) with its id: the first 16 hex digits of the SHA-256 of the public key (SPKI DER). */
export interface SigningKey {
  readonly id: string;
  readonly privateKey: KeyObject;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** An Ed25519 private key from PEM (PKCS#8); throws an Error saying what is wrong (never the key). */
export function signingKey(pem: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new Error('not a PEM private key (make one with: openssl genpkey -algorithm ed25519)');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`an ${privateKey.asymmetricKeyType ?? 'unknown'} key, not Ed25519 (make one with: openssl genpkey -algorithm ed25519)`);
  const id = keyIdOf(createPublicKey(privateKey));
  // check-config prints the resolved configuration: the key shows as its id only.
  return { id, privateKey, toJSON: () => ({ id, privateKey: REDACTED }) } as SigningKey;
}

/**
 * The key of a *_MANIFEST_SIGNING_KEY secret, read at start (throws like signingKey). One from *_FILE
 * follows its file: a new Ed25519 key signs the manifests and anchors written after it is read; a content
 * that is no such key is refused (reported by the secret watcher) and the previous key goes on.
 */
export function followedSigningKey(secret: Secret): () => SigningKey {
  let key = signingKey(secret.reveal());
  secret.onRotate(
    (pem) => {
      try {
        signingKey(pem);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
    (pem) => {
      key = signingKey(pem);
    },
  );
  return () => key;
}

/** The manifest settings of a sink: `key` is the current signing key (check-config prints its id). */
export function manifestSettings(key: () => SigningKey, anchorIntervalMs: number): { readonly key: SigningKey; readonly anchorIntervalMs: number } {
  return {
    get key() {
      return key();
    },
    anchorIntervalMs,
  };
}

/** Public keys by id, from PEM public or private keys (a verifier is given public ones). */
export function verifyingKeys(pems: readonly string[]): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  for (const pem of pems) {
    const pub = /PRIVATE KEY/.test(pem) ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
    if (pub.asymmetricKeyType !== 'ed25519') throw new Error(`an ${pub.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
    out.set(keyIdOf(pub), pub);
  }
  return out;
}

export function seal<T>(document: T, key: SigningKey): Buffer {
  const signature = sign(null, Buffer.from(canonicalJson(document)), key.privateKey).toString('base64');
  const sealed: Sealed<T> = { document, keyId: key.id, signature };
  return Buffer.from(`${JSON.stringify(sealed, null, 1)}\n`);
}

export type Opened<T> =
  | { ok: true; document: T; keyId: string }
  | { ok: false; why: string; document?: T; keyId?: string };

/** Reads a sealed document and checks its signature with the key its id names. */
export function open<T extends { format: string }>(bytes: Buffer, format: T['format'], keys: ReadonlyMap<string, KeyObject>): Opened<T> {
  let sealed: Sealed<T>;
  try {
    sealed = JSON.parse(bytes.toString('utf8')) as Sealed<T>;
  } catch {
    return { ok: false, why: 'not JSON' };
  }
  const { document, keyId, signature } = sealed ?? ({} as Sealed<T>);
  if (typeof document !== 'object' || document === null || document.format !== format) return { ok: false, why: `not a ${format} document` };
  const key = keys.get(String(keyId));
  if (key === undefined) return { ok: false, why: `signed with key ${String(keyId)}, which is not among the keys given`, document, keyId };
  const good = typeof signature === 'string' && verify(null, Buffer.from(canonicalJson(document)), key, Buffer.from(signature, 'base64'));
  return good ? { ok: true, document, keyId } : { ok: false, why: `signature does not match (key ${keyId}): the document was changed`, document, keyId };
}

/** What a batch's records say about their offsets, for its manifest. */
export interface BatchAccount {
  /** Lines in the object: one per record, summaries included. */
  readonly records: number;
  /** Lines that are summaries of `suppress -summary` (their offsets are the first repeats', counted as filtered). */
  readonly summaries: number;
  /** Offsets of the records the object holds. */
  readonly offsets: Range[];
  /** Offsets accounted for: the records' and, before each, those read and not shipped. */
  readonly covers: Range[];
  readonly filtered: number;
  readonly deadLettered: number;
  /** Offsets in `covers` that held no record (transaction markers, aborted transactions, compaction). */
  readonly empty: number;
  /** Kafka timestamps of the first and last record (epoch ms). */
  readonly time: [number, number];
}

export function accountBatch(items: readonly BatchItem[]): BatchAccount {
  const offsets: Range[] = [];
  const covers: Range[] = [];
  let summaries = 0;
  let filtered = 0;
  let deadLettered = 0;
  let spans = 0;
  let tMin = Infinity;
  let tMax = -Infinity;
  for (const { record } of items) {
    const ts = record.meta.timestamp;
    if (ts < tMin) tMin = ts;
    if (ts > tMax) tMax = ts;
    if (record.summary) {
      summaries++;
      continue;
    }
    const o = Number(record.meta.offset);
    offsets.push([o, o]);
    const a = record.accounted;
    if (a !== undefined) {
      covers.push([a.from, o]);
      filtered += a.filtered;
      deadLettered += a.deadLettered;
      spans += o - a.from;
    } else covers.push([o, o]);
  }
  return {
    records: items.length,
    summaries,
    offsets: merge(offsets),
    covers: merge(covers),
    filtered,
    deadLettered,
    empty: spans - filtered - deadLettered,
    time: items.length ? [tMin, tMax] : [0, 0],
  };
}
