// The control topic: a compacted, one-partition topic that every instance follows, holding the wanted
// state of each route (key `route/<name>`, value {"state":"paused"|"running",…}). `logstream routes
// pause NAME` writes one record and every instance of every replica pauses that route — drains,
// commits, leaves its group — which is what moving a running route's offsets needs (Kafka refuses to
// reset a group that has members). A route with no record runs.
import { hostname } from 'node:os';
import { oneLine } from '../../core/errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { KafkaClient, KafkaProducer, PartitionReader } from './interface.ts';
import { ensureLogTopic } from './log-topic.ts';

const PARTITION = 0;
const FETCH_BYTES = 256 * 1024;

export const CONTROL_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'message.timestamp.type': 'LogAppendTime',
};

export interface RouteControl {
  readonly state: 'paused' | 'running';
  /** When it was asked for (ISO 8601) and by whom (host and command). */
  readonly at: string;
  readonly by: string;
  readonly reason?: string;
}

export type ControlListener = (route: string, control: RouteControl) => void;

export class ControlTopic {
  readonly #kafka: KafkaClient;
  readonly #topic: string;
  readonly #log: Logger;
  readonly #reader: PartitionReader;
  readonly #states = new Map<string, RouteControl>();
  /** Other records by key (e.g. `replayed/<route>/<topic>`: how far dead letters were replayed). */
  readonly #notes = new Map<string, unknown>();
  #producer: KafkaProducer | undefined;
  #next = 0;
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(kafka: KafkaClient, topic: string, logger: Logger) {
    this.#kafka = kafka;
    this.#topic = topic;
    this.#log = logger.child({ component: 'control' });
    this.#reader = kafka.reader();
  }

  get topic(): string {
    return this.#topic;
  }

  /** Creates the topic when missing and reads it to the end. */
  async start(): Promise<void> {
    this.#next = await ensureLogTopic(this.#kafka, this.#reader, { topic: this.#topic, config: CONTROL_TOPIC_CONFIG, variable: 'KAFKA_CONTROL_TOPIC', what: 'control', logger: this.#log });
    await this.sync();
  }

  /** The wanted state of every route that has one. */
  get states(): ReadonlyMap<string, RouteControl> {
    return this.#states;
  }

  /** Reads new records every `intervalMs` and tells `listener` about each route whose state changed. */
  follow(intervalMs: number, listener: ControlListener): void {
    const tick = (): void => {
      this.sync(listener).then(
        () => undefined,
        (err) => this.#log.warn(`reading the control topic failed, will retry: ${oneLine(String((err as Error)?.message ?? err))}`),
      ).finally(() => {
        if (this.#timer) this.#timer = setTimeout(tick, intervalMs).unref();
      });
    };
    this.#timer = setTimeout(tick, intervalMs).unref();
  }

  /** Catches up to the end of the topic as it is now. */
  sync(listener?: ControlListener): Promise<void> {
    const run = this.#chain.then(() => this.#catchUp(listener));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #catchUp(listener: ControlListener | undefined): Promise<void> {
    const end = (await this.#reader.latest(this.#topic)).get(PARTITION) ?? 0;
    while (this.#next < end) {
      const { messages, nextOffset } = await this.#reader.fetch(this.#topic, PARTITION, this.#next, FETCH_BYTES);
      for (const m of messages) {
        const key = m.key?.toString('utf8') ?? '';
        if (!key.startsWith('route/')) {
          const note = parseJson(m.value);
          if (note === undefined) this.#notes.delete(key);
          else this.#notes.set(key, note);
          continue;
        }
        const route = key.slice('route/'.length);
        const control = parseControl(m.value);
        const before = this.#states.get(route)?.state ?? 'running';
        if (control) this.#states.set(route, control);
        else this.#states.delete(route);
        const after = control?.state ?? 'running';
        if (after !== before) listener?.(route, control ?? { state: 'running', at: new Date(Number(m.timestamp)).toISOString(), by: 'tombstone' });
      }
      if (nextOffset <= this.#next) break;
      this.#next = nextOffset;
    }
  }

  /** Asks every instance to pause or resume `route`; resolves once the record is written and read back. */
  async set(route: string, state: RouteControl['state'], by: string, reason?: string): Promise<RouteControl> {
    const control: RouteControl = { state, at: new Date().toISOString(), by: `${by}@${hostname()}`, ...(reason ? { reason } : {}) };
    await this.#send(`route/${route}`, JSON.stringify(control));
    return control;
  }

  /** A note another command left (undefined when none). */
  note(key: string): unknown {
    return this.#notes.get(key);
  }

  async setNote(key: string, value: unknown): Promise<void> {
    if (key.startsWith('route/')) throw new Error('route/ keys hold route states');
    await this.#send(key, JSON.stringify(value));
  }

  async #send(key: string, value: string): Promise<void> {
    this.#producer ??= this.#kafka.producer();
    await this.#producer.connect();
    await this.#producer.send(this.#topic, [{ key, value, partition: PARTITION }]);
    await this.sync();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#chain.catch(() => undefined);
    await this.#producer?.disconnect().catch(() => undefined);
    await this.#reader.disconnect().catch(() => undefined);
  }
}

function parseJson(value: Buffer | null): unknown {
  if (value === null || value.length === 0) return undefined;
  try {
    return JSON.parse(value.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function parseControl(value: Buffer | null): RouteControl | undefined {
  const v = parseJson(value) as Record<string, unknown> | undefined;
  if (v === undefined || v === null || (v['state'] !== 'paused' && v['state'] !== 'running')) return undefined;
  return { state: v['state'], at: String(v['at'] ?? ''), by: String(v['by'] ?? ''), ...(typeof v['reason'] === 'string' ? { reason: v['reason'] } : {}) };
}
