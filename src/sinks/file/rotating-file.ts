// An append-only file that rotates at a size limit, keeping N backups (PATH.1 newest … PATH.N oldest),
// like the FILE output of seeds/003 (max bytes + backup count). Writes are serialised.
//
// With `segments` (archive manifests on), every data file has a sidecar `<file>.manifests` whose first
// line holds a random segment id (segment.ts); the sidecar is renamed and deleted with its data file, so
// the id follows the bytes. appendToSidecar() writes a line to the current segment's sidecar in the same
// queue as the data, so no line is lost to a rename. The data file itself holds only JSON lines.
import { open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { headerLine, newSegmentHeader, parseHeader, segmentPath, sidecarPath } from './segment.ts';

export interface RotatingFileOptions {
  maxBytes: number;
  backupCount: number;
  fsync: boolean;
  /** Keep a sidecar with a segment id beside each data file. */
  segments?: boolean;
  /** Called, and awaited, before a rotation deletes a segment that has a sidecar (its manifests go with
   *  it): the archive records the deletion first. A rejection stops the rotation (the append fails). */
  retire?: (path: string, segmentId: string, sidecar: string) => Promise<void>;
}

/** Where an append landed: its segment (undefined without segments) and byte range, end exclusive. */
export interface Landed {
  readonly segmentId: string | undefined;
  readonly start: number;
  readonly end: number;
}

const LF = 0x0a;
const HEADER_READ = 1024;

export class RotatingFile {
  readonly path: string;
  readonly #o: RotatingFileOptions;
  #fh: FileHandle | undefined;
  #size = 0;
  #sidecar: FileHandle | undefined;
  #segmentId: string | undefined;
  #repaired = false;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(path: string, opts: RotatingFileOptions) {
    this.path = path;
    this.#o = opts;
  }

  /** The current segment's id (undefined before open, or without segments). */
  get segmentId(): string | undefined {
    return this.#segmentId;
  }

  async open(): Promise<void> {
    if (this.#o.segments && !this.#repaired) {
      await this.#repairInterruptedRotation();
      this.#repaired = true;
    }
    const fh = await open(this.path, 'a+');
    try {
      const size = (await fh.stat()).size;
      // With segments, a batch cut short (a full disk, a crash mid-write) is closed so that the next
      // batch's first line stands alone (its bytes are then unaccounted).
      this.#size = size + (this.#o.segments ? await endLine(fh, size, this.#o.fsync) : 0);
      if (this.#o.segments) await this.#openSidecar();
    } catch (err) {
      await fh.close();
      throw err;
    }
    this.#fh = fh;
  }

  /** Appends `data` whole to one file (a batch never straddles a rotation). */
  append(data: Buffer): Promise<Landed> {
    const run = this.#chain.then(() => this.#append(data));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Appends a line to the current segment's sidecar (after any rotation queued before it). */
  appendToSidecar(line: Buffer): Promise<void> {
    const run = this.#chain.then(async () => {
      if (!this.#o.segments) throw new Error(`${this.path} keeps no sidecar (segments are off)`);
      if (!this.#fh) await this.open();
      await writeAll(this.#sidecar!, line);
      if (this.#o.fsync) await this.#sidecar!.datasync();
    });
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #append(data: Buffer): Promise<Landed> {
    if (!this.#fh) await this.open();
    if (this.#o.maxBytes > 0 && this.#size > 0 && this.#size + data.length > this.#o.maxBytes) await this.#rotate();
    const fh = this.#fh!;
    const start = this.#size;
    await writeAll(fh, data);
    this.#size += data.length;
    if (this.#o.fsync) await fh.datasync();
    return { segmentId: this.#segmentId, start, end: start + data.length };
  }

  async #rotate(): Promise<void> {
    await this.#closeHandles();
    const n = this.#o.backupCount;
    if (n === 0) {
      await this.#drop(this.path);
    } else {
      await this.#drop(segmentPath(this.path, n));
      // One listing, then only the renames needed (the data file first, then its sidecar).
      const names = await listNames(this.path);
      for (let i = n - 1; i >= 0; i--) {
        const from = segmentPath(this.path, i);
        const to = segmentPath(this.path, i + 1);
        if (names.has(basename(from))) await rename(from, to);
        if (names.has(basename(sidecarPath(from)))) await rename(sidecarPath(from), sidecarPath(to));
      }
    }
    await this.open();
  }

  /** Deletes a segment: its sidecar first, so that an interruption never leaves a sidecar without its data. */
  async #drop(path: string): Promise<void> {
    const side = sidecarPath(path);
    const text = await readFile(side, 'utf8').catch(() => undefined);
    const nl = text?.indexOf('\n') ?? -1;
    const id = text === undefined ? undefined : parseHeader(nl < 0 ? text : text.slice(0, nl))?.segment;
    if (text !== undefined && id !== undefined) await this.#o.retire?.(path, id, text);
    await rm(side, { force: true });
    await rm(path, { force: true });
  }

  async #openSidecar(): Promise<void> {
    const side = sidecarPath(this.path);
    if (!(await exists(side))) {
      // Written whole under another name, then renamed: a sidecar never lacks its header.
      const tmp = `${side}.tmp`;
      const t = await open(tmp, 'w');
      try {
        await t.writeFile(headerLine(newSegmentHeader()));
        if (this.#o.fsync) await t.sync();
      } finally {
        await t.close();
      }
      await rename(tmp, side);
    }
    const fh = await open(side, 'a+');
    try {
      const id = await readHeader(fh);
      if (id === undefined) throw new Error(`${side}: its first line is not a segment header ({"segment":"<uuid>","created":"<time>"}); move it away, with ${this.path}, to start a new segment`);
      const size = (await fh.stat()).size;
      await endLine(fh, size, this.#o.fsync);
      this.#sidecar = fh;
      this.#segmentId = id;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** A rotation stopped between renaming a data file and its sidecar leaves PATH.i.manifests without
   *  PATH.i, and PATH.(i+1) without a sidecar: the sidecar is moved to its data. */
  async #repairInterruptedRotation(): Promise<void> {
    const names = await listNames(this.path);
    const has = (p: string): boolean => names.has(basename(p));
    for (let i = this.#o.backupCount - 1; i >= 0; i--) {
      const from = segmentPath(this.path, i);
      const to = segmentPath(this.path, i + 1);
      if (has(sidecarPath(from)) && !has(from) && has(to) && !has(sidecarPath(to))) {
        await rename(sidecarPath(from), sidecarPath(to));
        names.delete(basename(sidecarPath(from)));
        names.add(basename(sidecarPath(to)));
      }
    }
  }

  async #closeHandles(): Promise<void> {
    const fh = this.#fh;
    const side = this.#sidecar;
    this.#fh = undefined;
    this.#sidecar = undefined;
    this.#segmentId = undefined;
    await fh?.close();
    await side?.close();
  }

  async close(): Promise<void> {
    await this.#chain;
    await this.#closeHandles();
  }
}

/** The names in the folder of `path`. */
async function listNames(path: string): Promise<Set<string>> {
  return new Set(await readdir(dirname(path)));
}

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    off += bytesWritten;
  }
}

/** Adds a line feed when a non-empty file does not end with one; returns the bytes added. */
async function endLine(fh: FileHandle, size: number, fsync: boolean): Promise<number> {
  if (size === 0) return 0;
  const last = Buffer.alloc(1);
  await fh.read(last, 0, 1, size - 1);
  if (last[0] === LF) return 0;
  await writeAll(fh, Buffer.from('\n'));
  if (fsync) await fh.datasync();
  return 1;
}

async function readHeader(fh: FileHandle): Promise<string | undefined> {
  const buf = Buffer.alloc(HEADER_READ);
  const { bytesRead } = await fh.read(buf, 0, HEADER_READ, 0);
  const text = buf.subarray(0, bytesRead).toString('utf8');
  const nl = text.indexOf('\n');
  return nl < 0 ? undefined : parseHeader(text.slice(0, nl))?.segment;
}


async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
