// Publishes dead letters to Kafka with acks from all in-sync replicas, retrying until it succeeds
// or until shutdown gives up (then the records stay uncommitted and are read again).
//
// Size: a dead letter carries the record's original bytes, so the dead-letter topic is created with a
// max.message.bytes at least the largest of the source topics' (plus room for the headers); a record
// that still does not fit (a dead-letter topic made smaller by hand) is written with its value cut to
// what fits and the header logstream.value.truncated-from=<original bytes> — its source topic, partition
// and offset are in the headers, so the whole record can still be fetched — instead of blocking its
// partition forever on a write that can never succeed.
import { backoffDelay, sleep } from '../../delivery/backoff.ts';
import type { DeadLetterMessage } from '../../delivery/dead-letter.ts';
import { oneLine } from '../../core/errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { KafkaAdmin, KafkaClient, KafkaProducer } from './interface.ts';

export class KafkaDeadLetterPublisher {
  readonly #kafka: KafkaClient;
  readonly #topic: string;
  readonly #log: Logger;
  #producer: KafkaProducer | undefined;
  readonly #abort = new AbortController();
  /** The dead-letter topic's max.message.bytes, once known. */
  #maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;

  constructor(kafka: KafkaClient, topic: string, logger: Logger) {
    this.#kafka = kafka;
    this.#topic = topic;
    this.#log = logger.child({ component: 'dead-letter' });
  }

  /** Creates the topic when missing (sized for the largest record `sourceTopics` can hold) and
   *  connects the producer. */
  async start(partitions: number, sourceTopics: readonly string[] = []): Promise<void> {
    const admin = this.#kafka.admin();
    try {
      const topics = await admin.listTopics();
      const sources = sourceTopics.filter((t) => topics.includes(t));
      const sourceMax = Math.max(DEFAULT_MAX_MESSAGE_BYTES, ...(await maxMessageBytes(admin, sources)).values());
      const wanted = sourceMax + HEADER_ROOM;
      // Replicas starting together race to create it; one wins, the others see it exists (false).
      if (!topics.includes(this.#topic) && (await admin.createTopic({ topic: this.#topic, partitions, config: { 'max.message.bytes': String(wanted) } }))) {
        this.#log.info({ topic: this.#topic, maxMessageBytes: wanted }, 'created the dead-letter topic');
      }
      this.#maxMessageBytes = (await maxMessageBytes(admin, [this.#topic])).get(this.#topic) ?? this.#maxMessageBytes;
      if (this.#maxMessageBytes < wanted) {
        this.#log.warn(
          { topic: this.#topic, maxMessageBytes: this.#maxMessageBytes, sourceMaxMessageBytes: sourceMax },
          'the dead-letter topic takes smaller messages than the source topics: larger records are dead-lettered cut short (header logstream.value.truncated-from); raise its max.message.bytes',
        );
      }
    } finally {
      await admin.close();
    }
    this.#producer = this.#kafka.producer();
    await this.#producer.connect();
  }

  readonly publish = async (messages: DeadLetterMessage[]): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      if (this.#abort.signal.aborted) throw new Error('dead-letter publisher stopped');
      try {
        await this.#producer!.send(
          this.#topic,
          messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
        );
        return;
      } catch (err) {
        if (isTooLarge(err)) {
          // Never retry as it is: one at a time, and a single one that cannot fit is cut to fit.
          if (messages.length > 1) {
            for (const m of messages) await this.publish([m]);
            return;
          }
          messages = [this.#truncated(messages[0]!)];
          continue;
        }
        const delay = backoffDelay(attempt, 200, 30_000);
        this.#log.warn({ attempt: attempt + 1, retryInMs: delay }, `dead-letter write failed, will retry: ${oneLine(String((err as Error).message))}`);
        await sleep(delay, this.#abort.signal);
      }
    }
  };

  #truncated(m: DeadLetterMessage): DeadLetterMessage {
    const original = m.value?.length ?? 0;
    if (m.headers[TRUNCATED_HEADER] !== undefined) {
      // Already cut and still refused: the broker's own limit is lower than the topic's; halve it.
      this.#maxMessageBytes = Math.max(1024, Math.floor(this.#maxMessageBytes / 2));
    }
    const headerBytes = Object.entries(m.headers).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v) + 16, 0) + (m.key?.length ?? 0);
    const room = Math.max(0, this.#maxMessageBytes - headerBytes - HEADER_ROOM / 2);
    const from = m.headers[TRUNCATED_HEADER] ?? String(original);
    this.#log.error(
      { topic: this.#topic, bytes: Number(from), keptBytes: Math.min(room, original), source: `${m.headers['logstream.source.topic']}/${m.headers['logstream.source.partition']}@${m.headers['logstream.source.offset']}` },
      'dead letter larger than the dead-letter topic takes: written cut short (the source record keeps the whole value)',
    );
    return { ...m, value: m.value ? m.value.subarray(0, room) : m.value, headers: { ...m.headers, [TRUNCATED_HEADER]: from } };
  }

  /** Gives up retries (shutdown deadline). */
  abort(): void {
    this.#abort.abort();
  }

  async stop(): Promise<void> {
    await this.#producer?.disconnect();
  }
}

/** Kafka's default max.message.bytes (message.max.bytes) on a broker that was not told otherwise. */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/** Room for the dead-letter headers and the record batch overhead above the record's own bytes. */
const HEADER_ROOM = 64 * 1024;
export const TRUNCATED_HEADER = 'logstream.value.truncated-from';

function isTooLarge(err: unknown): boolean {
  const e = err as { type?: string; name?: string; message?: string; originalError?: unknown; errors?: unknown[] } | undefined;
  if (!e) return false;
  if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  if (/larger than the max message size/i.test(String(e.message))) return true;
  return isTooLarge(e.originalError) || (Array.isArray(e.errors) && e.errors.some(isTooLarge));
}

/** max.message.bytes of each topic (that the describe returned). */
async function maxMessageBytes(admin: KafkaAdmin, topics: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [topic, values] of await admin.topicConfig(topics, ['max.message.bytes'])) {
    const v = Number(values.get('max.message.bytes'));
    if (Number.isFinite(v) && v > 0) out.set(topic, v);
  }
  return out;
}
