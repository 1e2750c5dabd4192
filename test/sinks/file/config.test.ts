// FILE_MANIFEST_* variables: a bad key is a ConfigError naming the variable (never the key), the key
// may come from a file, and the anchor interval has a default and a floor.
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.ts';
import { parseFileConfig, parseFileSigningKey } from '../../../src/sinks/file/config.ts';
import { keyIdOf } from '../../../src/sinks/manifest/document.ts';
import { createPublicKey } from 'node:crypto';
import { keys, tmp } from './support.ts';

const base = { FILE_PATH: '/tmp/x.jsonl' };

function problems(env: Record<string, string>): string[] {
  try {
    parseFileConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('no ConfigError');
}

describe('file sink manifest configuration', () => {
  it('is off without a key', () => {
    expect(parseFileConfig(base).manifests).toBeUndefined();
  });

  it('reads the key from the variable or from its _FILE, with the anchor interval (default 60 s)', () => {
    const k = keys(tmp());
    const id = keyIdOf(createPublicKey(k.publicPem));
    const direct = parseFileConfig({ ...base, FILE_MANIFEST_SIGNING_KEY: k.privatePem });
    expect(direct.manifests).toMatchObject({ anchorIntervalMs: 60_000, key: { id } });
    const fromFile = parseFileConfig({ ...base, FILE_MANIFEST_SIGNING_KEY_FILE: k.privateFile, FILE_MANIFEST_ANCHOR_INTERVAL: '5s' });
    expect(fromFile.manifests).toMatchObject({ anchorIntervalMs: 5000, key: { id } });
    expect(parseFileSigningKey({ FILE_MANIFEST_SIGNING_KEY_FILE: k.privateFile })?.id).toBe(id);
    expect(parseFileSigningKey({})).toBeUndefined();
  });

  it('names the variable for a key that is not an Ed25519 private key, without printing it', () => {
    const junk = 'not-a-key-0123456789';
    const p = problems({ ...base, FILE_MANIFEST_SIGNING_KEY: junk });
    expect(p).toEqual(['FILE_MANIFEST_SIGNING_KEY: not a PEM private key (make one with: openssl genpkey -algorithm ed25519)']);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(problems({ ...base, FILE_MANIFEST_SIGNING_KEY: rsa })).toEqual(['FILE_MANIFEST_SIGNING_KEY: an rsa key, not Ed25519 (make one with: openssl genpkey -algorithm ed25519)']);
    expect(() => parseFileSigningKey({ FILE_MANIFEST_SIGNING_KEY: junk })).toThrow(ConfigError);
    try {
      parseFileSigningKey({ FILE_MANIFEST_SIGNING_KEY: junk });
    } catch (err) {
      expect((err as Error).message).not.toContain(junk);
    }
  });

  it('refuses both the key and its _FILE, an unreadable _FILE, and an anchor interval under 1 s', () => {
    const k = keys(tmp());
    expect(problems({ ...base, FILE_MANIFEST_SIGNING_KEY: k.privatePem, FILE_MANIFEST_SIGNING_KEY_FILE: k.privateFile })).toEqual(['FILE_MANIFEST_SIGNING_KEY and FILE_MANIFEST_SIGNING_KEY_FILE are both set: set only one']);
    const missing = join(tmp(), 'none.key');
    expect(problems({ ...base, FILE_MANIFEST_SIGNING_KEY_FILE: missing })).toEqual([`FILE_MANIFEST_SIGNING_KEY_FILE: cannot read "${missing}": ENOENT`]);
    expect(problems({ ...base, FILE_MANIFEST_SIGNING_KEY: k.privatePem, FILE_MANIFEST_ANCHOR_INTERVAL: '500ms' })[0]).toMatch(/^FILE_MANIFEST_ANCHOR_INTERVAL: /);
  });
});
