// A signing key from *_MANIFEST_SIGNING_KEY_FILE follows its file: manifests and anchors written after a
// rotation are signed with the new key, the chain goes on unbroken, and verify proves the whole archive
// with the public keys of both (with only the new one, the older manifests are reported, not passed).
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../../src/config/secret.ts';
import { watchedFiles } from '../../../src/config/watched-file.ts';
import { followedSigningKey, verifyingKeys } from '../../../src/sinks/manifest/document.ts';
import { ManifestChain } from '../../../src/sinks/manifest/chain.ts';
import { verifyArchive } from '../../../src/sinks/manifest/verify.ts';
import { tmpDir } from '../../support/instance.ts';
import { logger, MemoryArchive, PREFIX, store } from './memory-archive.ts';
import { replaceFile } from '../../support/mounted-file.ts';

const newPem = (): string => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('manifest signing key rotation', () => {
  it('signs with the new key from the next manifest; verify needs both public keys; a file that is no Ed25519 key is refused', async () => {
    const path = join(tmpDir('manifest-key'), 'signing.pem');
    const [first, second] = [newPem(), newPem()];
    writeFileSync(path, first);
    const file = watchedFiles.register('S3_MANIFEST_SIGNING_KEY_FILE', path, first);
    const key = followedSigningKey(new Secret(first, file));
    const firstId = key().id;
    await file.poll();

    const a = new MemoryArchive();
    const chain = new ManifestChain(a, { prefix: PREFIX, key, anchorIntervalMs: 3_600_000, logger, writer: 'w1' });
    await store(a, chain, 0, 0, 9);
    replaceFile(path, second);
    expect(await file.poll()).toEqual({ result: 'changed' });
    expect(key().id).not.toBe(firstId);
    await store(a, chain, 0, 10, 19);
    replaceFile(path, 'not a key\n');
    expect(await file.poll()).toMatchObject({ result: 'invalid', why: expect.stringMatching(/^not a PEM private key/) });
    await store(a, chain, 0, 20, 29);
    await chain.stop();

    const both = await verifyArchive(a, { keys: verifyingKeys([first, second]) });
    expect(both.problems).toEqual([]);
    expect(both.partitions[0]).toMatchObject({ checked: [0, 29], complete: true, links: 3, chainStarts: 1 });
    expect(both.keyIds.sort()).toEqual([firstId, key().id].sort());
    const onlyNew = await verifyArchive(a, { keys: verifyingKeys([second]) });
    expect(onlyNew.ok).toBe(false);
    expect(onlyNew.problems.map((p) => p.kind)).toContain('bad-manifest');
    expect(JSON.stringify(onlyNew.problems)).toContain(`signed with key ${firstId}, which is not among the keys given`);
  });
});
