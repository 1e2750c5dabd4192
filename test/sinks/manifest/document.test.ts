import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PipelineRecord } from '../../../src/core/record.ts';
import { accountBatch, canonicalJson, manifestHash, open, seal, signingKey, verifyingKeys, MANIFEST_FORMAT, type Manifest, type ObjectEntry } from '../../../src/sinks/manifest/document.ts';

const pem = (): { priv: string; pub: string } => {
  const k = generateKeyPairSync('ed25519');
  return { priv: k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), pub: k.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
};

const entry = (sha256 = 'ab'): ObjectEntry => ({ object: 'logs/a.json', bytes: 10, sha256, records: 2, summaries: 0, offsets: [[3, 4]], covers: [[0, 4]], filtered: 2, deadLettered: 1, empty: 0, time: [1, 2] });
const manifest = (over: Partial<Manifest> = {}): Manifest => ({
  format: MANIFEST_FORMAT, topic: 't', partition: 0, objects: [entry()], height: 1, prev: null, prevManifest: null, writer: 'w', written: '2026-12-04T00:00:00.000Z', ...over,
});

function record(offset: number, over: Partial<PipelineRecord> = {}): { record: PipelineRecord; payload: Buffer } {
  return { record: { meta: { topic: 't', partition: 0, offset: String(offset), timestamp: 1000 + offset, key: null, headers: {} }, raw: null, fields: {}, size: 0, unchanged: false, ...over }, payload: Buffer.alloc(0) };
}

describe('manifest documents', () => {
  it('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: [{ y: 2, x: 'q' }], c: undefined, d: null })).toBe('{"a":[{"x":"q","y":2}],"b":1,"d":null}');
  });

  it('sealed with Ed25519: the public key opens it, a changed field or another key does not', () => {
    const k = pem();
    const key = signingKey(k.priv);
    const keys = verifyingKeys([k.pub]);
    expect([...keys.keys()]).toEqual([key.id]);
    expect(key.id).toMatch(/^[0-9a-f]{16}$/);
    const bytes = seal(manifest(), key);
    const opened = open<Manifest>(bytes, MANIFEST_FORMAT, keys);
    expect(opened).toEqual({ ok: true, document: manifest(), keyId: key.id });
    // One record fewer in the manifest: the signature no longer matches.
    const edited = Buffer.from(bytes.toString().replace('"records": 2', '"records": 1'));
    expect(bytes.toString()).toContain('"records": 2');
    expect(edited.equals(bytes)).toBe(false);
    expect(open<Manifest>(edited, MANIFEST_FORMAT, keys)).toMatchObject({ ok: false, why: `signature does not match (key ${key.id}): the document was changed` });
    expect(open<Manifest>(bytes, MANIFEST_FORMAT, verifyingKeys([pem().pub]))).toMatchObject({ ok: false, why: `signed with key ${key.id}, which is not among the keys given` });
    expect(open<Manifest>(Buffer.from('{"x":'), MANIFEST_FORMAT, keys)).toEqual({ ok: false, why: 'not JSON' });
    // A private key given to the verifier stands for its public half.
    expect(verifyingKeys([k.priv]).has(key.id)).toBe(true);
  });

  it('only Ed25519 PEM keys sign, with a message that never shows the key', () => {
    expect(() => signingKey('not a key')).toThrow('not a PEM private key (make one with: openssl genpkey -algorithm ed25519)');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => signingKey(rsa)).toThrow('an rsa key, not Ed25519');
  });

  it('the chain hash leaves out who wrote a link and when: the same object after the same link is the same link', () => {
    expect(manifestHash(manifest({ writer: 'pod-a', written: '2026-01-01T00:00:00.000Z' }))).toBe(manifestHash(manifest({ writer: 'pod-b' })));
    expect(manifestHash(manifest({ prev: 'x' }))).not.toBe(manifestHash(manifest()));
    expect(manifestHash(manifest({ objects: [entry('cd')] }))).not.toBe(manifestHash(manifest()));
  });

  it('accountBatch: record offsets, what each accounted for before it, summaries apart', () => {
    const a = accountBatch([
      record(5, { accounted: { from: 2, filtered: 1, deadLettered: 1 } }),
      record(6),
      record(3, { summary: true }),
      record(9, { accounted: { from: 8, filtered: 0, deadLettered: 0 } }),
    ]);
    expect(a).toEqual({ records: 4, summaries: 1, offsets: [[5, 6], [9, 9]], covers: [[2, 6], [8, 9]], filtered: 1, deadLettered: 1, empty: 2, time: [1003, 1009] });
  });
});
