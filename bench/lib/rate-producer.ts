// A producer that writes at a steady rate for as long as it runs (logstream's own Kafka client, in the
// bench process): every `tickMs` it sends what is due since its start (rate × elapsed − sent so far),
// at most `maxBatch` records a send, round-robin over the partitions, acks=-1. When a send takes longer
// than a tick the next one carries the backlog, so the average rate holds while the broker keeps up;
// the achieved rate is reported (`stop()`), never assumed. Used by the rolling-restart and outage benches.
import type { KafkaProducer } from '../../src/source/kafka/interface.ts';

export interface RateProducerOptions {
  producer: KafkaProducer;
  topic: string;
  partitions: number;
  ratePerSec: number;
  /** Value of record number `i` (0-based, in production order). */
  value: (i: number) => string;
  /** How long to wait when nothing is due (default 20 ms). */
  tickMs?: number;
  /** Records per send at most (default 1000). */
  maxBatch?: number;
}

export interface RateProducerResult {
  produced: number;
  /** First send → stop(). */
  elapsedS: number;
  /** produced / elapsedS. */
  achievedPerSec: number;
  /** Longest single send (a stalled broker shows here). */
  maxSendMs: number;
  /** The error that ended the loop early, if one did. */
  error: string | undefined;
}

export interface RateProducer {
  /** Records acknowledged by the broker so far. */
  readonly produced: number;
  /** Stops after the send in progress; resolves when the loop has ended. */
  stop(): Promise<RateProducerResult>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts producing at once (the producer must be connected); call stop() to end. */
export function startRateProducer(o: RateProducerOptions): RateProducer {
  const tickMs = o.tickMs ?? 20;
  const maxBatch = o.maxBatch ?? 1000;
  let produced = 0;
  let producing = true;
  let maxSendMs = 0;
  let error: string | undefined;
  const t0 = performance.now();
  const loop = (async () => {
    while (producing) {
      const due = Math.floor(((performance.now() - t0) / 1000) * o.ratePerSec);
      if (due > produced) {
        const n = Math.min(due - produced, maxBatch);
        const messages = Array.from({ length: n }, (_, k) => ({ partition: (produced + k) % o.partitions, value: o.value(produced + k) }));
        const s = performance.now();
        try {
          await o.producer.send(o.topic, messages, { acks: -1 });
        } catch (err) {
          error = (err as Error)?.message ?? String(err);
          return;
        }
        maxSendMs = Math.max(maxSendMs, performance.now() - s);
        produced += n;
      } else await sleep(tickMs);
    }
  })();
  return {
    get produced() {
      return produced;
    },
    async stop() {
      producing = false;
      await loop;
      const elapsedS = (performance.now() - t0) / 1000;
      return { produced, elapsedS, achievedPerSec: produced / elapsedS, maxSendMs, error };
    },
  };
}
