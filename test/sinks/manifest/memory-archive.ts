// An archive in memory for the manifest unit tests: the ManifestStore the chain writes to and the
// ArchiveReader verify reads, over one Map of keys to bytes (what an S3 bucket is to both).
import { createHash, generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import type { PipelineRecord, Accounted } from '../../../src/core/record.ts';
import { accountBatch, signingKey, verifyingKeys, type SigningKey } from '../../../src/sinks/manifest/document.ts';
import { ManifestChain, type ManifestStore } from '../../../src/sinks/manifest/chain.ts';
import type { ArchiveReader } from '../../../src/sinks/manifest/verify.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

export const PREFIX = 'm';

export class MemoryArchive implements ManifestStore, ArchiveReader {
  readonly keys = new Map<string, Buffer>();
  readonly location = 'memory://logs';
  readonly manifestLocation = 'memory://m';
  readonly manifestPrefix = PREFIX;
  /** Makes the next put fail (once). */
  failNextPut = false;
  /** Delay of each put, ms (puts then finish out of order). */
  putDelay: () => number = () => 0;

  async put(key: string, body: Buffer): Promise<void> {
    await new Promise((r) => setTimeout(r, this.putDelay()));
    if (this.failNextPut) {
      this.failNextPut = false;
      throw new Error('store unavailable');
    }
    this.keys.set(key, body);
  }
  async get(key: string): Promise<Buffer | undefined> {
    return this.keys.get(key);
  }
  async *manifestKeys(): AsyncIterable<string> {
    for (const k of [...this.keys.keys()].sort()) if (k.startsWith(`${PREFIX}/`)) yield k;
  }
  async *objectKeys(): AsyncIterable<string> {
    for (const k of [...this.keys.keys()].sort()) if (k.startsWith('logs/')) yield k;
  }
}

export interface TestKey {
  signing: SigningKey;
  verifying: ReturnType<typeof verifyingKeys>;
}

export function testKey(): TestKey {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { signing: signingKey(pem), verifying: verifyingKeys([pem]) };
}

export const errorLines: string[] = [];
export const logger = createLogger({ level: 'warn', destination: new Writable({ write: (c, _e, cb) => (errorLines.push(String(c)), cb()) }) });

export function chainOn(store: MemoryArchive, key: TestKey, writer = 'w1', now = () => Date.parse('2026-12-04T10:00:00Z')): ManifestChain {
  return new ManifestChain(store, { prefix: PREFIX, key: () => key.signing, anchorIntervalMs: 3_600_000, logger, writer, now });
}

function record(partition: number, offset: number, accounted?: Accounted): { record: PipelineRecord; payload: Buffer } {
  return { record: { meta: { topic: 't', partition, offset: String(offset), timestamp: 1_000 * offset, key: null, headers: {} }, raw: null, fields: {}, size: 0, unchanged: false, accounted }, payload: Buffer.alloc(0) };
}

/** Stores an object holding offsets [first, last] of a partition (one line each) and links it; the
 *  first record accounts for offsets from `from` (read and not shipped). */
export async function store(archive: MemoryArchive, chain: ManifestChain, partition: number, first: number, last: number, from = first): Promise<string> {
  const items = [];
  for (let o = first; o <= last; o++) items.push(record(partition, o, o === first && from < first ? { from, filtered: first - from, deadLettered: 0 } : undefined));
  const body = Buffer.from(items.map((i) => `{"o":${i.record.meta.offset}}\n`).join(''));
  const id = `p${partition}-${first}-${last}`;
  const object = `logs/${id}.json`;
  archive.keys.set(object, body);
  await chain.link('t', partition, { object, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex'), ...accountBatch(items) });
  return object;
}
