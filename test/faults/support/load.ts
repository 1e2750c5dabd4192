/**
 * The fault scenarios' load: ledger records (run id, partition, sequence number, body hash) produced at a
 * steady rate from the test process while the fault happens. A send that fails (the broker is down, a
 * network fault) is retried with the same records until it succeeds, so the load rides through broker
 * outages as a real producer would; such a retry can put a batch into Kafka twice, which is why the
 * expected counts come from reading the topic back (topicCounts), not from what was sent.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connectKafka } from '../../../src/source/kafka/connect.ts';
import type { KafkaProducer } from '../../../src/source/kafka/interface.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { ledgerRecords } from '../../support/ledger.ts';
import { sleep } from '../../support/instance.ts';

const execFileP = promisify(execFile);

export interface LoadOptions {
  bootstrap: string;
  topic: string;
  run: string;
  partitions: number;
  /** Records per second. */
  ratePerSec: number;
  /** Records per send (default: a tenth of a second's worth, at least 1). */
  batch?: number;
}

export class Load {
  readonly #o: LoadOptions;
  #producer: KafkaProducer | undefined;
  #next = 0;
  #rate: number;
  #connected = false;
  #running = false;
  #loop: Promise<void> | undefined;
  /** Sends that failed and were retried (each may have left a duplicate batch in Kafka). */
  failedSends = 0;
  lastError: string | undefined;

  constructor(o: LoadOptions) {
    this.#o = o;
    this.#rate = o.ratePerSec;
  }

  /** Records produced (acknowledged by the broker) so far; ids are 0…produced-1. */
  get produced(): number {
    return this.#next;
  }

  /** Starts the steady load (at `ratePerSec`, default the option's). */
  async start(ratePerSec = this.#o.ratePerSec): Promise<void> {
    await this.#connect();
    this.#rate = ratePerSec;
    this.#running = true;
    this.#loop = this.#run();
  }

  async #connect(): Promise<void> {
    if (this.#connected) return;
    // 3 retries inside the client, then the send fails and #send counts it and tries again. Idempotent
    // (one request in flight): the client's own retries do not duplicate; a failed send retried here may.
    if (!this.#producer) {
      const kafka = await connectKafka({ brokers: [this.#o.bootstrap], clientId: `fault-load-${this.#o.run}`, connectionTimeoutMs: 1000, retries: 3, logger: createLogger({ level: 'silent' }) });
      this.#producer = kafka.producer({ idempotent: true, retries: 3 });
    }
    await this.#producer.connect();
    this.#connected = true;
  }

  /** Produces `n` more records at once, in sends of at most 5 000 (outside the steady rate: the
   *  steady load does not slow down to make up for them). */
  async burst(n: number): Promise<void> {
    await this.#connect();
    for (let left = n; left > 0; left -= 5000) await this.#send(Math.min(5000, left));
  }

  async #send(n: number): Promise<void> {
    const records = ledgerRecords(this.#o.run, n, this.#o.partitions, this.#next);
    const messages = records.map((r) => ({ partition: r.partition!, value: JSON.stringify(r.value) }));
    for (;;) {
      try {
        await this.#producer!.send(this.#o.topic, messages, { acks: -1 });
        this.#next += n;
        return;
      } catch (err) {
        this.failedSends++;
        this.lastError = (err as Error).message;
        await sleep(500);
      }
    }
  }

  async #run(): Promise<void> {
    const batch = this.#o.batch ?? Math.max(1, Math.round(this.#rate / 10));
    const t0 = Date.now();
    let sent = 0;
    while (this.#running) {
      // Catch up to the rate (after a stall the backlog is produced at once, as a real source would).
      const due = Math.floor(((Date.now() - t0) / 1000) * this.#rate);
      if (due > sent) {
        const n = Math.min(batch * 10, Math.max(batch, due - sent));
        await this.#send(n);
        sent += n;
      } else await sleep(100);
    }
  }

  /** Stops producing; returns how many records were produced. */
  async stop(): Promise<number> {
    this.#running = false;
    await this.#loop;
    if (this.#connected) await this.#producer!.disconnect();
    this.#connected = false;
    return this.#next;
  }
}

/** The ids of `run`'s ledger records in `topic` (one partition's first `count` records, or all), read
 *  back with kcat, the reference consumer; other records are skipped. */
export async function ledgerIds(bootstrap: string, topic: string, run: string, part?: { partition: number; count: bigint }): Promise<number[]> {
  const range = part ? ['-p', String(part.partition), '-c', String(part.count)] : [];
  const { stdout } = await execFileP('kcat', ['-C', '-b', bootstrap, '-t', topic, ...range, '-o', 'beginning', '-e', '-q', '-f', '%s\n'], { maxBuffer: 1 << 30, encoding: 'utf8' });
  const ids: number[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let r: { run?: unknown; id?: unknown };
    try {
      r = JSON.parse(line) as { run?: unknown; id?: unknown };
    } catch {
      continue;
    }
    if (r.run === run && typeof r.id === 'number') ids.push(r.id);
  }
  return ids;
}

/** How often each id of `run` is in `topic`. */
export async function topicCounts(bootstrap: string, topic: string, run: string, n: number): Promise<Uint32Array> {
  const counts = new Uint32Array(n);
  for (const id of await ledgerIds(bootstrap, topic, run)) if (id >= 0 && id < n) counts[id]!++;
  return counts;
}
