// `logstream verify s3`'s view of a bucket as an ArchiveReader for the store-agnostic verify core
// (src/sinks/manifest/verify.ts): manifests and anchors under the manifest prefix, the log objects under
// S3_PREFIX (not the test object), and — Object Lock keeps every version — the version of a changed or
// deleted object that still holds what its manifest says.
import { createHash } from 'node:crypto';
import type { ArchiveReader } from '../manifest/verify.ts';
import type { S3Config } from './config.ts';
import { testObjectKey } from './object-key.ts';
import type { S3Transport } from './transport.ts';

const TIMEOUT_MS = 60_000;

export function s3ArchiveReader(cfg: S3Config, s3: S3Transport): ArchiveReader {
  const manifestPrefix = cfg.manifestPrefix;
  const dataPrefix = cfg.prefix === '' ? '' : `${cfg.prefix}/`;
  const testKey = testObjectKey(cfg.prefix);
  return {
    location: `s3://${cfg.bucket}/${cfg.prefix}`,
    manifestLocation: `s3://${cfg.bucket}/${manifestPrefix}`,
    manifestPrefix,
    manifestKeys: () => s3.listKeys(`${manifestPrefix}/`),
    objectKeys: async function* () {
      for await (const k of s3.listKeys(dataPrefix)) if (k !== testKey && !k.startsWith(`${manifestPrefix}/`)) yield k;
    },
    get: (key) => s3.getObject(key, AbortSignal.timeout(TIMEOUT_MS)),
    retainedVersion: async (key, sha256) => {
      for (const id of await s3.versionsOf(key, AbortSignal.timeout(TIMEOUT_MS))) {
        const bytes = await s3.getObject(key, AbortSignal.timeout(TIMEOUT_MS), id);
        if (bytes !== undefined && createHash('sha256').update(bytes).digest('hex') === sha256) return id;
      }
      return undefined;
    },
  };
}
