// An append-only file that rotates at a size limit, keeping N backups (PATH.1 newest … PATH.N oldest),
// like the FILE output of seeds/003 (max bytes + backup count). Writes are serialised.
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';

export class RotatingFile {
  readonly path: string;
  readonly #maxBytes: number;
  readonly #backups: number;
  readonly #fsync: boolean;
  #fh: FileHandle | undefined;
  #size = 0;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(path: string, opts: { maxBytes: number; backupCount: number; fsync: boolean }) {
    this.path = path;
    this.#maxBytes = opts.maxBytes;
    this.#backups = opts.backupCount;
    this.#fsync = opts.fsync;
  }

  async open(): Promise<void> {
    this.#fh = await open(this.path, 'a');
    this.#size = (await this.#fh.stat()).size;
  }

  /** Appends `data` whole to one file (a batch never straddles a rotation). */
  append(data: Buffer): Promise<void> {
    const run = this.#chain.then(() => this.#append(data));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #append(data: Buffer): Promise<void> {
    if (!this.#fh) await this.open();
    if (this.#maxBytes > 0 && this.#size > 0 && this.#size + data.length > this.#maxBytes) await this.#rotate();
    const fh = this.#fh!;
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await fh.write(data, off, data.length - off);
      off += bytesWritten;
    }
    this.#size += data.length;
    if (this.#fsync) await fh.datasync();
  }

  async #rotate(): Promise<void> {
    await this.#fh?.close();
    this.#fh = undefined;
    if (this.#backups === 0) {
      await rm(this.path, { force: true });
    } else {
      await rm(`${this.path}.${this.#backups}`, { force: true });
      for (let i = this.#backups - 1; i >= 1; i--) {
        const from = `${this.path}.${i}`;
        if (await exists(from)) await rename(from, `${this.path}.${i + 1}`);
      }
      await rename(this.path, `${this.path}.1`);
    }
    await this.open();
  }

  async close(): Promise<void> {
    await this.#chain;
    await this.#fh?.close();
    this.#fh = undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
