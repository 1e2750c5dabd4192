// The CA, certificate and key files of a TLS client (Kafka, syslog, the HTTP sinks), read at load (a
// wrong path fails at start, naming its variable) and then followed while running
// (src/config/watched-file.ts): a renewed CA or client certificate is used for the next connection, open
// ones go on. `ca`, `cert` and `key` give the newest content that makes a valid TLS context together, so
// a certificate written before its key keeps the previous pair in use until the key follows.
import { createSecureContext } from 'node:tls';
import { readConfiguredFile } from './files.ts';
import { watchedFiles, type WatchedFile } from './watched-file.ts';

const PARTS = ['ca', 'cert', 'key'] as const;
type Part = (typeof PARTS)[number];
const PEM: Record<Part, RegExp> = { ca: /-----BEGIN CERTIFICATE-----/, cert: /-----BEGIN CERTIFICATE-----/, key: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ };

export interface TlsFiles {
  /** The current content of each configured file (enumerable: check-config prints their sizes). */
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** The files behind them (not enumerable). */
  readonly watched: readonly WatchedFile[];
  /** `fn` runs when a new set is in use; the returned function stops that (not enumerable). */
  onChange(fn: () => void): () => void;
}

/**
 * Reads the configured files; problems (each naming its variable) are appended to `problems`.
 * `names`: the variable of each part; `passphrase`: read when a new key is checked (an encrypted key).
 */
export function readTlsFiles(names: Readonly<Record<Part, string>>, paths: Readonly<Partial<Record<Part, string | undefined>>>, problems: string[], passphrase?: () => string | undefined): TlsFiles {
  const files: Partial<Record<Part, WatchedFile>> = {};
  for (const part of PARTS) {
    const path = paths[part];
    const bytes = readConfiguredFile(names[part], path, problems);
    if (bytes === undefined || path === undefined) continue;
    const f = watchedFiles.register(names[part], path, bytes.toString('utf8'));
    // A renewal that is not PEM of the right kind is refused and reported (the file's own check).
    f.check((text) => (PEM[part].test(text) ? undefined : `holds no PEM ${part === 'key' ? 'private key' : 'certificate'}`));
    files[part] = f;
  }
  const read = (): Partial<Record<Part, Buffer>> => {
    const out: Partial<Record<Part, Buffer>> = {};
    for (const part of PARTS) if (files[part]) out[part] = Buffer.from(files[part].value);
    return out;
  };
  let current = read();
  const listeners: Array<() => void> = [];
  const watched = PARTS.map((p) => files[p]).filter((f): f is WatchedFile => f !== undefined);
  for (const f of watched) {
    f.onChange(() => {
      const next = read();
      try {
        const pass = passphrase?.();
        createSecureContext({ ...next, ...(pass !== undefined ? { passphrase: pass } : {}) });
      } catch {
        return; // not (yet) a valid set: the previous one stays in use
      }
      current = next;
      for (const l of listeners) l();
    });
  }
  const t = {} as TlsFiles;
  for (const part of PARTS) if (files[part]) Object.defineProperty(t, part, { get: () => current[part], enumerable: true });
  Object.defineProperty(t, 'watched', { value: watched, enumerable: false });
  const onChange = (fn: () => void): (() => void) => {
    listeners.push(fn);
    return () => {
      const i = listeners.indexOf(fn);
      if (i >= 0) listeners.splice(i, 1);
    };
  };
  Object.defineProperty(t, 'onChange', { value: onChange, enumerable: false });
  return t;
}
