// The contract between a sink and the shared delivery layer. A sink encodes (pure) and sends a
// batch; batching, in-flight limits, retries, timeouts, metrics and dead-lettering are src/delivery's.
// It lives here, not under sinks/, so that delivery depends on nothing above it: sinks import it.
import type { DeliveryError } from '../core/errors.ts';
import type { PipelineRecord } from '../core/record.ts';
import type { Env, VarSpecs } from '../config/vars.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { DeliveryConfig } from './config.ts';

export interface BatchItem {
  readonly record: PipelineRecord;
  /** The encoded bytes of this record on the wire (before any batch-level compression). */
  readonly payload: Buffer;
}

export interface Batch {
  /** The batching key: source partition, plus the sink's own key (see Sink.batchKey). */
  readonly key: string;
  readonly items: readonly BatchItem[];
  /** Sum of payload sizes. */
  readonly bytes: number;
}

/** Per-record outcome of a send that reached the peer. Unlisted items were delivered. */
export interface SendResult {
  readonly failures?: ReadonlyArray<{ readonly index: number; readonly error: DeliveryError }>;
  /**
   * Set when the peer accepted the items but confirms them later (Splunk indexer acknowledgement).
   * The items not listed in `failures` count as delivered only when this resolves, minus the failures
   * it lists (indexes into the same batch); a retriable failure there sends the item again. The
   * partition's next batch does not wait for it, so a re-sent item can arrive after later ones.
   */
  readonly confirm?: Promise<Omit<SendResult, 'confirm'>>;
}

export interface Sink {
  /** Pure: the bytes of one record on the wire. Throw a permanent DeliveryError to dead-letter it. */
  encode(record: PipelineRecord): Buffer;
  /** Optional extra batching key (e.g. an S3 log type): records with different keys never share a batch. */
  batchKey?(record: PipelineRecord): string;
  /**
   * True: a partial batch whose wait is over is not sealed while the previous batch of its key is
   * still being sent; it keeps accumulating (up to the batch caps) and goes as soon as that send ends
   * (the S3 seed: "written immediately unless a write is in progress, then up to 1000 entries or
   * ~100 MiB are accumulated for the next write"). False (default): sealed on time, queued behind.
   */
  readonly accumulateWhileBusy?: boolean;
  /**
   * True when encode(), batchKey() and send() never read the fields of an unchanged record (they ship
   * its bytes). A route whose sinks all do so validates its JSON records without parsing them, when its
   * query only filters; a sink that reads fields would make every record parsed twice.
   */
  readonly shipsBytes?: boolean;
  /**
   * Optional: where encode() copied the record's original bytes into `payload` verbatim (HEC's envelope
   * around an unchanged record), a view of them there, else undefined. The record then waits for
   * delivery holding that view instead of its own bytes, which are usually a view into a whole fetched
   * response: that response is freed sooner, and the bytes are not held twice.
   */
  rawIn?(record: PipelineRecord, payload: Buffer): Buffer | undefined;
  /** Sends one batch. Throw a DeliveryError (or any error: treated as retriable) when nothing was delivered. */
  send(batch: Batch, signal: AbortSignal): Promise<SendResult | void>;
  /** I/O that must succeed before consuming starts (open files, connect, test writes). */
  start?(): Promise<void>;
  /** Called after delivery drained: flush and close. */
  stop?(): Promise<void>;
  /** A problem the peer reports about itself (e.g. HEC's health endpoint), for /readyz; undefined when fine. */
  problem?(): string | undefined;
}

export interface SinkContext {
  /** Instance name of the sink (its type, unless configured otherwise). */
  readonly name: string;
  readonly logger: Logger;
  /** Counts records the sink had to cut to fit its transport. */
  readonly countTruncated: (n?: number) => void;
}

export interface SinkDefinition<C> {
  /** The value listed in SINKS. */
  readonly type: string;
  /** Prefix of its variables, e.g. FILE for FILE_PATH; also used for the shared delivery variables. */
  readonly envPrefix: string;
  readonly summary: string;
  /** The sink's own variables (docs/configuration.md and docs/sinks/<type>.md are generated from these specs). */
  readonly vars: VarSpecs;
  /** Validates and converts the variables (pure; throws ConfigError naming the variable). */
  parseConfig(env: Env): C;
  /** Defaults of the shared delivery settings for this sink. */
  readonly deliveryDefaults: Partial<DeliveryConfig>;
  create(config: C, ctx: SinkContext): Sink;
}

/** The type-erased form used by the registry. */
export type AnySinkDefinition = SinkDefinition<any>;
