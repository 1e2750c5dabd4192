// Webhook secret keys. A key is 32 random bytes (base64url, prefixed `lsk_`); the configuration holds
// only its SHA-256 (`sha256:<hex>`). A presented key is hashed and compared with every configured hash
// in constant time, whatever the product asked for, so the answer for an unknown product and for a
// wrong key is the same 401 after the same work.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_PREFIX = 'lsk_';
export const HASH_PREFIX = 'sha256:';
const HASH_RE = /^sha256:[0-9a-f]{64}$/;

export function newKey(): { key: string; hash: string } {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashKey(key) };
}

export function hashKey(key: string): string {
  return `${HASH_PREFIX}${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

export function isKeyHash(s: string): boolean {
  return HASH_RE.test(s);
}

export interface ConfiguredKey {
  readonly product: string;
  readonly hash: string;
}

export interface KeyMatch {
  readonly product: string;
  /** Names the key in logs, metrics and the cursor topic: the first 12 hex digits of its hash. */
  readonly keyId: string;
  /** The cursor identity: product and full hash (never the key). */
  readonly cursorKey: string;
}

export class KeyRing {
  readonly #keys: ReadonlyArray<{ product: string; digest: Buffer; hex: string }>;

  constructor(keys: readonly ConfiguredKey[]) {
    this.#keys = keys.map((k) => {
      const hex = k.hash.slice(HASH_PREFIX.length);
      return { product: k.product, digest: Buffer.from(hex, 'hex'), hex };
    });
  }

  /** The key's match for `product`, or undefined. Runs in time independent of which key, if any, matches. */
  verify(product: string, presented: string): KeyMatch | undefined {
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let found: { product: string; hex: string } | undefined;
    for (const k of this.#keys) {
      const same = timingSafeEqual(digest, k.digest);
      const here = same && k.product === product;
      if (here && found === undefined) found = k;
    }
    return found && { product: found.product, keyId: found.hex.slice(0, 12), cursorKey: `${found.product}/${found.hex}` };
  }
}
