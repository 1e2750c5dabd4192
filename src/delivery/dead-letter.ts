// The dead-letter topic: a record that cannot be parsed or delivered is written there with the
// original bytes and headers saying where it came from, which sink failed and why. Its offset is
// acknowledged (and so committed) only after the write succeeded.
import type { DeliveryError } from '../core/errors.ts';
import { oneLine } from '../core/errors.ts';
import type { PipelineRecord } from '../core/record.ts';

export interface DeadLetterMessage {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Publishes to the dead-letter topic; resolves only once the broker has the message (retries inside). */
export type DeadLetterPublisher = (messages: DeadLetterMessage[]) => Promise<void>;

export interface DeadLetterReason {
  /** The sink (or stage: decode, query) that gave up on the record. */
  readonly stage: string;
  readonly error: Pick<DeliveryError, 'code' | 'message'> & { deliveryClass?: string };
}

export const DLQ_HEADER_PREFIX = 'logstream.';
/** The route whose query or sink gave up on the record (what `logstream dead-letters replay` selects by). */
export const DLQ_ROUTE_HEADER = `${DLQ_HEADER_PREFIX}route`;
/** On a dead letter re-injected into its source topic by `logstream dead-letters replay`: the one route
 *  that takes it (the others acknowledge it unread), and the one sink of that route it goes to when
 *  a sink (not the decoder or the query) had refused it. The webhook skips such records. */
export const REPLAY_ROUTE_HEADER = `${DLQ_HEADER_PREFIX}replay-for`;
export const REPLAY_SINK_HEADER = `${DLQ_HEADER_PREFIX}replay-sink`;

/** The record's own headers without logstream's (a dead letter replayed and dead-lettered again). */
function ownHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in headers) if (!k.startsWith(DLQ_HEADER_PREFIX)) out[k] = headers[k]!;
  return out;
}

export function deadLetterMessage(record: PipelineRecord, reason: DeadLetterReason, route: string | undefined, now = Date.now()): DeadLetterMessage {
  const { meta } = record;
  return {
    key: meta.key,
    value: record.raw,
    headers: {
      ...ownHeaders(meta.headers),
      ...(route === undefined ? {} : { [DLQ_ROUTE_HEADER]: route }),
      [`${DLQ_HEADER_PREFIX}source.topic`]: meta.topic,
      [`${DLQ_HEADER_PREFIX}source.partition`]: String(meta.partition),
      [`${DLQ_HEADER_PREFIX}source.offset`]: meta.offset,
      [`${DLQ_HEADER_PREFIX}source.timestamp`]: String(meta.timestamp),
      [`${DLQ_HEADER_PREFIX}sink`]: reason.stage,
      [`${DLQ_HEADER_PREFIX}error.class`]: reason.error.deliveryClass ?? 'permanent',
      [`${DLQ_HEADER_PREFIX}error.code`]: reason.error.code,
      [`${DLQ_HEADER_PREFIX}error.message`]: oneLine(reason.error.message, 1000),
      [`${DLQ_HEADER_PREFIX}dead-lettered-at`]: new Date(now).toISOString(),
    },
  };
}

/**
 * Collects dead letters for a few milliseconds and publishes them in one request, so that a burst of
 * bad records does not become a burst of single-message produce calls.
 */
export class DeadLetterQueue {
  readonly #publish: DeadLetterPublisher;
  #pending: Array<{ message: DeadLetterMessage; resolve: () => void; reject: (e: unknown) => void }> = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #lingerMs: number;
  readonly #route: string | undefined;

  /** `route`: stamped on every letter (header logstream.route). */
  constructor(publish: DeadLetterPublisher, lingerMs = 20, route?: string) {
    this.#publish = publish;
    this.#lingerMs = lingerMs;
    this.#route = route;
  }

  write(record: PipelineRecord, reason: DeadLetterReason): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ message: deadLetterMessage(record, reason, this.#route), resolve, reject });
      if (this.#pending.length >= 500) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#lingerMs);
    });
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    this.#publish(batch.map((p) => p.message)).then(
      () => batch.forEach((p) => p.resolve()),
      (err) => batch.forEach((p) => p.reject(err)),
    );
  }
}
