import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';

/** Replaces a file the way the kubelet updates a mounted Secret: a new file renamed over the old. */
export function replaceFile(path: string, content: string | Buffer): void {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}
