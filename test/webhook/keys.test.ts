import { describe, expect, it } from 'vitest';
import { hashKey, isKeyHash, KeyRing, newKey } from '../../src/webhook/keys.ts';

describe('webhook keys', () => {
  it('new keys are random, prefixed, and hash to sha256:<hex>', () => {
    const a = newKey();
    const b = newKey();
    expect(a.key).toMatch(/^lsk_[A-Za-z0-9_-]{43}$/);
    expect(a.key).not.toBe(b.key);
    expect(a.hash).toBe(hashKey(a.key));
    expect(isKeyHash(a.hash)).toBe(true);
    expect(isKeyHash(a.key)).toBe(false);
    expect(hashKey('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('accepts a key only for its own product', () => {
    const web = newKey();
    const web2 = newKey();
    const email = newKey();
    const ring = new KeyRing([
      { product: 'web', hash: web.hash },
      { product: 'web', hash: web2.hash },
      { product: 'email', hash: email.hash },
    ]);
    const m = ring.verify('web', web.key);
    expect(m).toEqual({ product: 'web', keyId: web.hash.slice(7, 19), cursorKey: `web/${web.hash.slice(7)}` });
    expect(ring.verify('web', web2.key)?.cursorKey).toBe(`web/${web2.hash.slice(7)}`);
    expect(ring.verify('email', web.key)).toBeUndefined();
    expect(ring.verify('casb', web.key)).toBeUndefined();
    expect(ring.verify('web', `${web.key}x`)).toBeUndefined();
    expect(ring.verify('web', '')).toBeUndefined();
    expect(ring.verify('web', web.hash)).toBeUndefined();
  });
});

describe('logstream webhook new-key', () => {
  it('prints a key and the matching hash line to configure', async () => {
    const { webhookCommand } = await import('../../src/cli/webhook.ts');
    let out = '';
    let err = '';
    const w = (f: (s: string) => void) => ({ write: (s: string) => (f(s), true) }) as unknown as NodeJS.WritableStream;
    expect(webhookCommand(['new-key', 'web'], w((s) => (out += s)), w((s) => (err += s)))).toBe(0);
    const key = /^key: {2}(lsk_\S+)$/m.exec(out)?.[1];
    const hash = /^hash: (sha256:[0-9a-f]{64})$/m.exec(out)?.[1];
    expect(key && hash && hashKey(key) === hash).toBe(true);
    expect(out).toContain(`WEBHOOK_KEYS=web=${hash}`);
    expect(webhookCommand(['rotate'], w((s) => (out += s)), w((s) => (err += s)))).toBe(2);
    expect(err).toMatch(/usage: logstream webhook new-key/);
  });
});
