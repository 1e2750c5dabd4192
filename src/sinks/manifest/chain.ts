// The hash chain of an archive sink: per topic-partition, stored objects are recorded in signed
// manifests, each naming the previous one, written after the objects and one at a time: the objects
// stored while a manifest is being written go together into the next one (one manifest PUT per object
// when uploads are slow, far fewer under load). The chain is the order in which objects were stored;
// their offsets are checked by coverage, not by chain order, so concurrent uploads need no ordering.
// The chain's head is anchored from time to time and at stop.
//
// A new owner of a partition (after a failover or rebalance) continues from the latest anchor. Links the
// previous owner wrote after that anchor then form a side branch: they hold records the new owner reads
// again (the commit never passed them), which `verify` reports as duplicates, never as gaps.
import { hostname } from 'node:os';
import type { Logger } from '../../telemetry/logger.ts';
import { oneLine } from '../../core/errors.ts';
import { ANCHOR_FORMAT, MANIFEST_FORMAT, manifestHash, seal, type Anchor, type Manifest, type ObjectEntry, type Sealed, type SigningKey } from './document.ts';

/** Where manifests and anchors are stored (an S3 bucket, a folder). */
export interface ManifestStore {
  put(key: string, body: Buffer): Promise<void>;
  /** The stored bytes, or undefined when there is no such key. */
  get(key: string): Promise<Buffer | undefined>;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** `<prefix>/<topic>/<partition>/`: every manifest and anchor of a partition. */
export function partitionFolder(prefix: string, topic: string, partition: number): string {
  return `${prefix === '' ? '' : `${prefix}/`}${topic}/${partition}/`;
}

/** The object id a key ends with: its file name without `.json` / `.json.gz`. */
export function objectIdOf(objectKey: string): string {
  return objectKey.slice(objectKey.lastIndexOf('/') + 1).replace(/\.json(\.gz)?$/, '');
}

/** A manifest's key: ordered by the first offset it accounts for, named after its first object and the
 *  link before it (an object linked again after another manifest, by a new owner, is another link). */
export function manifestKey(prefix: string, m: Pick<Manifest, 'topic' | 'partition' | 'objects' | 'prev'>): string {
  const first = m.objects[0];
  const firstOffset = Math.min(...m.objects.map((o) => o.covers[0]?.[0] ?? 0));
  return `${partitionFolder(prefix, m.topic, m.partition)}${pad(firstOffset, 20)}-${first === undefined ? 'none' : objectIdOf(first.object)}-${m.prev === null ? 'start' : m.prev.slice(0, 16)}.json`;
}

export function anchorKey(prefix: string, topic: string, partition: number, height: number, at: number): string {
  return `${partitionFolder(prefix, topic, partition)}anchors/${pad(height, 12)}-${pad(at, 13)}.json`;
}

export function latestAnchorKey(prefix: string, topic: string, partition: number): string {
  return `${partitionFolder(prefix, topic, partition)}anchors/latest.json`;
}

/** A stored object to record (its key must end with an id unique to its content, e.g. `<uuid>.json`). */
export type StoredPart = ObjectEntry;

/** Objects in one manifest at most. */
const MAX_GROUP = 256;

interface Waiting {
  readonly part: StoredPart;
  resolve(m: Manifest): void;
  reject(err: unknown): void;
}

interface Tip {
  hash: string | null;
  key: string | null;
  height: number;
  /** One past the highest offset accounted for on this chain. */
  next: number;
}

interface PartitionChain {
  readonly topic: string;
  readonly partition: number;
  /** Objects waiting for the next manifest, and whether one is being written. */
  waiting: Waiting[];
  writing: Promise<void> | undefined;
  tip: Tip | undefined;
  anchoredHeight: number;
  /** Objects linked lately (a batch sent again after a timeout is not linked twice). */
  readonly linked: Map<string, Manifest>;
}

const RECENT_LINKS = 1024;

export interface ChainOptions {
  readonly prefix: string;
  /** The key to sign with now (it may be rotated while running: see followedSigningKey). */
  readonly key: () => SigningKey;
  readonly anchorIntervalMs: number;
  readonly logger: Logger;
  readonly writer?: string;
  readonly now?: () => number;
}

export class ManifestChain {
  readonly #store: ManifestStore;
  readonly #o: ChainOptions;
  readonly #writer: string;
  readonly #now: () => number;
  readonly #chains = new Map<string, PartitionChain>();
  #timer: NodeJS.Timeout | undefined;
  #anchoring: Promise<void> = Promise.resolve();
  #keyId: string | undefined;

  constructor(store: ManifestStore, o: ChainOptions) {
    this.#store = store;
    this.#o = o;
    this.#writer = o.writer ?? hostname();
    this.#now = o.now ?? Date.now;
  }

  /** The current key; a rotated one is logged once, as verify then needs both public keys. */
  #signingKey(): SigningKey {
    const key = this.#o.key();
    if (this.#keyId !== undefined && key.id !== this.#keyId) {
      this.#o.logger.info({ keyId: key.id, previousKeyId: this.#keyId }, `manifests are signed with key ${key.id} from now on (was ${this.#keyId}): logstream verify needs the public keys of both`);
    }
    this.#keyId = key.id;
    return key;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.anchor(), this.#o.anchorIntervalMs).unref();
  }

  /** Records a stored object in the next link of its partition's chain; resolves with that manifest
   *  once it is stored (rejects if it could not be: the object is then sent and recorded again). */
  link(topic: string, partition: number, part: StoredPart): Promise<Manifest> {
    const c = this.#chain(topic, partition);
    const known = c.linked.get(part.object);
    if (known !== undefined && known.objects.some((o) => o.object === part.object && o.sha256 === part.sha256)) return Promise.resolve(known);
    return new Promise<Manifest>((resolve, reject) => {
      c.waiting.push({ part, resolve, reject });
      c.writing ??= this.#write(c).finally(() => (c.writing = undefined));
    });
  }

  /** Writes manifests while objects wait, each with all that waited (up to MAX_GROUP). */
  async #write(c: PartitionChain): Promise<void> {
    while (c.waiting.length > 0) {
      const group = c.waiting.splice(0, MAX_GROUP);
      try {
        c.tip ??= await this.#resume(c.topic, c.partition);
        const tip = c.tip;
        const m: Manifest = {
          format: MANIFEST_FORMAT,
          topic: c.topic,
          partition: c.partition,
          objects: group.map((w) => w.part),
          height: tip.height + 1,
          prev: tip.hash,
          prevManifest: tip.key,
          writer: this.#writer,
          written: new Date(this.#now()).toISOString(),
        };
        const key = manifestKey(this.#o.prefix, m);
        await this.#store.put(key, seal(m, this.#signingKey()));
        const last = Math.max(...m.objects.map((o) => o.covers[o.covers.length - 1]?.[1] ?? -1));
        c.tip = { hash: manifestHash(m), key, height: m.height, next: Math.max(tip.next, last + 1) };
        for (const w of group) {
          c.linked.set(w.part.object, m);
          if (c.linked.size > RECENT_LINKS) c.linked.delete(c.linked.keys().next().value!);
          w.resolve(m);
        }
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
  }

  /** Anchors every chain whose head moved since its last anchor (on a timer, and at stop). */
  anchor(): Promise<void> {
    const run = this.#anchoring.then(async () => {
      for (const c of this.#chains.values()) {
        const tip = c.tip;
        if (tip === undefined || tip.hash === null || tip.key === null || tip.height <= c.anchoredHeight) continue;
        const at = this.#now();
        const a: Anchor = { format: ANCHOR_FORMAT, topic: c.topic, partition: c.partition, head: tip.hash, headManifest: tip.key, height: tip.height, next: tip.next, writer: this.#writer, written: new Date(at).toISOString() };
        const body = seal(a, this.#signingKey());
        try {
          await this.#store.put(anchorKey(this.#o.prefix, c.topic, c.partition, a.height, at), body);
          await this.#store.put(latestAnchorKey(this.#o.prefix, c.topic, c.partition), body);
          c.anchoredHeight = a.height;
        } catch (err) {
          this.#o.logger.warn({ topic: c.topic, partition: c.partition, err: oneLine(String((err as Error)?.message ?? err)) }, 'cannot write the archive chain anchor; tried again at the next interval');
        }
      }
    });
    this.#anchoring = run.catch(() => undefined);
    return run;
  }

  /** Waits for the links being written, anchors every chain and stops the timer. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all([...this.#chains.values()].map((c) => c.writing));
    await this.anchor();
  }

  #chain(topic: string, partition: number): PartitionChain {
    const id = `${topic}\u0000${partition}`;
    let c = this.#chains.get(id);
    if (c === undefined) {
      c = { topic, partition, waiting: [], writing: undefined, tip: undefined, anchoredHeight: 0, linked: new Map() };
      this.#chains.set(id, c);
    }
    return c;
  }

  /** Where this instance's chain of a partition continues: the latest anchor, else a new chain. Its
   *  signature is not checked here (the key may have been rotated since): `verify` checks every link. */
  async #resume(topic: string, partition: number): Promise<Tip> {
    const bytes = await this.#store.get(latestAnchorKey(this.#o.prefix, topic, partition));
    const fresh: Tip = { hash: null, key: null, height: 0, next: 0 };
    if (bytes === undefined) return fresh;
    let a: Anchor | undefined;
    try {
      a = (JSON.parse(bytes.toString('utf8')) as Sealed<Anchor>).document;
    } catch {
      a = undefined;
    }
    if (a?.format !== ANCHOR_FORMAT || typeof a.head !== 'string' || typeof a.headManifest !== 'string' || !Number.isSafeInteger(a.height) || !Number.isSafeInteger(a.next)) {
      // Delivery goes on; `verify` will report the second chain start and the damaged anchor.
      this.#o.logger.error({ topic, partition, key: latestAnchorKey(this.#o.prefix, topic, partition) }, 'the latest archive chain anchor is unreadable; a new chain starts for this partition');
      return fresh;
    }
    const c = this.#chain(topic, partition);
    c.anchoredHeight = a.height;
    return { hash: a.head, key: a.headManifest, height: a.height, next: a.next };
  }
}
