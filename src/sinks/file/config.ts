// The file sink's variables: where to append, when to rotate, and the archive manifests (FILE_MANIFEST_*).
import { ConfigError } from '../../core/errors.ts';
import { parseVars, v, type Env } from '../../config/vars.ts';
import type { Secret } from '../../config/secret.ts';
import { followedSigningKey, manifestSettings, type SigningKey } from '../manifest/document.ts';

export const fileVars = {
  FILE_PATH: v.string({ doc: 'File to append JSON lines to (its folder must exist).', required: true }),
  FILE_MAX_BYTES: v.bytes({ doc: 'Rotate when the file would grow past this size; 0 = never rotate.', default: 100 * 1024 * 1024, min: 0 }),
  FILE_BACKUP_COUNT: v.int({ doc: 'Rotated files kept (PATH.1 … PATH.N, the oldest deleted).', default: 5, min: 0, max: 1000 }),
  FILE_FSYNC: v.bool({ doc: 'fsync after every batch before acknowledging it (survives power loss; slower).', default: false }),
  FILE_MANIFEST_SIGNING_KEY: v.secret({ doc: 'Ed25519 private key (PEM; `openssl genpkey -algorithm ed25519`) that signs a manifest for every batch appended: which Kafka offsets it holds and which were read and not shipped, its byte range in its file and their SHA-256, and the hash of the previous manifest of its partition (a hash chain). Manifests go to a sidecar `<file>.manifests` beside each file (rotated and deleted with it; its first line gives the file an id that survives renames), chain anchors to `FILE_PATH.anchors`; the data files stay plain JSON lines. Set: manifests are written and `logstream verify file FILE_PATH` can prove the files complete and unchanged with the public key. Unset: no manifests.' }),
  FILE_MANIFEST_ANCHOR_INTERVAL: v.duration({ doc: 'How often the head of each partition\'s manifest chain is anchored (a line in `FILE_PATH.anchors`), and at shutdown: removing files or manifests written before the latest anchor is detected.', default: 60_000, min: 1000, max: 86_400_000 }),
};

export interface FileConfig {
  path: string;
  maxBytes: number;
  backupCount: number;
  fsync: boolean;
  /** Signed manifests (FILE_MANIFEST_*); undefined when off. */
  manifests?: { key: SigningKey; anchorIntervalMs: number } | undefined;
}

export function parseFileConfig(env: Env): FileConfig {
  const p = parseVars(fileVars, env);
  const key = manifestKeyOf(p.FILE_MANIFEST_SIGNING_KEY);
  return { path: p.FILE_PATH, maxBytes: p.FILE_MAX_BYTES, backupCount: p.FILE_BACKUP_COUNT, fsync: p.FILE_FSYNC, manifests: key === undefined ? undefined : manifestSettings(key, p.FILE_MANIFEST_ANCHOR_INTERVAL) };
}

/** FILE_MANIFEST_SIGNING_KEY (or its _FILE) alone, for `logstream verify file` (which needs no FILE_PATH). */
export function parseFileSigningKey(env: Env): SigningKey | undefined {
  const p = parseVars({ FILE_MANIFEST_SIGNING_KEY: fileVars.FILE_MANIFEST_SIGNING_KEY }, env);
  return manifestKeyOf(p.FILE_MANIFEST_SIGNING_KEY)?.();
}

function manifestKeyOf(secret: Secret | undefined): (() => SigningKey) | undefined {
  if (secret === undefined) return undefined;
  try {
    return followedSigningKey(secret);
  } catch (err) {
    throw new ConfigError([`FILE_MANIFEST_SIGNING_KEY: ${(err as Error).message}`]);
  }
}
