// Where the file sink's manifest chain (src/sinks/manifest/chain.ts) keeps its documents: each manifest
// as one line of the current segment's sidecar, each anchor as one line of FILE_PATH.anchors. The chain's
// "latest anchor" of a partition is the last anchor line of that partition: read once at start, then
// kept in memory. Keys are not stored: `verify file` derives them from the documents.
import { open, type FileHandle } from 'node:fs/promises';
import { latestAnchorKey, type ManifestStore } from '../manifest/chain.ts';
import { ANCHOR_FORMAT, type Anchor, type Sealed } from '../manifest/document.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { RotatingFile } from './rotating-file.ts';

const LATEST = /\/anchors\/latest\.json$/;
const ANCHOR = /\/anchors\/[^/]+\.json$/;

/** A sealed document as one line: compact JSON (the signature is over the document's canonical JSON, not these bytes). */
export function documentLine(body: Buffer): Buffer {
  return Buffer.from(`${JSON.stringify(JSON.parse(body.toString('utf8')))}\n`);
}

export class FileManifestStore implements ManifestStore {
  readonly #file: RotatingFile;
  readonly #anchorsPath: string;
  readonly #fsync: boolean;
  readonly #logger: Logger;
  /** The last anchor line of each partition, by its latestAnchorKey. */
  readonly #latest = new Map<string, Buffer>();
  #anchors: FileHandle | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(file: RotatingFile, anchorsPath: string, o: { fsync: boolean; logger: Logger }) {
    this.#file = file;
    this.#anchorsPath = anchorsPath;
    this.#fsync = o.fsync;
    this.#logger = o.logger;
  }

  /** Opens FILE_PATH.anchors and reads the latest anchor of each partition in it. */
  async open(): Promise<void> {
    const fh = await open(this.#anchorsPath, 'a+');
    try {
      const text = (await fh.readFile()).toString('utf8');
      let unreadable = 0;
      for (const line of text.split('\n')) {
        if (line === '') continue;
        const a = anchorOf(line);
        if (a === undefined) unreadable++;
        else this.#latest.set(latestAnchorKey('', a.topic, a.partition), Buffer.from(line));
      }
      if (unreadable > 0) this.#logger.warn({ file: this.#anchorsPath, lines: unreadable }, 'archive anchors file has unreadable lines; they are skipped (verify reports them)');
      if (text.length > 0 && !text.endsWith('\n')) await fh.write('\n');
    } catch (err) {
      await fh.close();
      throw err;
    }
    this.#anchors = fh;
  }

  async put(key: string, body: Buffer): Promise<void> {
    if (LATEST.test(key)) {
      this.#latest.set(key, documentLine(body));
      return;
    }
    if (!ANCHOR.test(key)) return this.#file.appendToSidecar(documentLine(body));
    const line = await this.appendAnchorsLine(body);
    this.#latest.set(key.replace(ANCHOR, '/anchors/latest.json'), line);
  }

  /** Appends a sealed document (an anchor, a retirement) to FILE_PATH.anchors as one line. */
  async appendAnchorsLine(body: Buffer): Promise<Buffer> {
    const line = documentLine(body);
    const run = this.#queue.then(async () => {
      if (this.#anchors === undefined) throw new Error(`${this.#anchorsPath} is not open`);
      await this.#anchors.write(line);
      if (this.#fsync) await this.#anchors.datasync();
    });
    this.#queue = run.catch(() => undefined);
    await run;
    return line;
  }

  async get(key: string): Promise<Buffer | undefined> {
    return LATEST.test(key) ? this.#latest.get(key) : undefined;
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#anchors?.close();
    this.#anchors = undefined;
  }
}

function anchorOf(line: string): Anchor | undefined {
  try {
    const a = (JSON.parse(line) as Sealed<Anchor>).document;
    return a?.format === ANCHOR_FORMAT && typeof a.topic === 'string' && Number.isSafeInteger(a.partition) ? a : undefined;
  } catch {
    return undefined;
  }
}
