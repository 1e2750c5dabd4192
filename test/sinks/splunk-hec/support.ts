// Helpers of the HEC transport and indexer-ack tests: the spec receiver (test/support/hec/receiver.ts)
// in the test process, a transport built from HEC_* variables as the sink builds it, batches encoded
// by the sink's own encoder, and a logger whose lines the test can read.
import { afterEach } from 'vitest';
import { DeliveryError } from '../../../src/core/errors.ts';
import type { PipelineRecord } from '../../../src/core/record.ts';
import { parseHecConfig, type HecConfig } from '../../../src/sinks/splunk-hec/config.ts';
import { encodeHecEvent, rawBatchKey } from '../../../src/sinks/splunk-hec/encoder.ts';
import { HecTransport } from '../../../src/sinks/splunk-hec/transport.ts';
import { createLogger, type Logger } from '../../../src/telemetry/logger.ts';
import { HecReceiver, type HecReceiverOptions, type HecRecordedEvent } from '../../support/hec/receiver.ts';

export const TOKEN = 'hec-unit-token';
export type Batch = Parameters<HecTransport['send']>[0];

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});
/** Runs `f` after the current test (in reverse order of registration). */
export const onCleanup = (f: () => Promise<void> | void): void => void closers.push(f);

export async function receiver(opts: HecReceiverOptions = {}): Promise<HecReceiver> {
  const r = new HecReceiver({ tokens: [TOKEN], ...opts });
  await r.start();
  onCleanup(() => r.close());
  return r;
}

export interface LogLine {
  level: string;
  msg: string;
}

/** A pino logger (the project's) whose lines land in `lines`. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } });
  return { logger, lines };
}

export interface TestTransport {
  readonly t: HecTransport;
  readonly cfg: HecConfig;
  readonly lines: LogLine[];
  /** One batch of the records with these ids, encoded for this transport's endpoint. */
  batch(ids: readonly number[], extra?: (id: number) => Record<string, unknown>): Batch;
}

/** A HecTransport for HEC_URLS=urls (and HEC_TOKEN=TOKEN unless `env` says otherwise), closed after the test. */
export function transport(urls: string | string[], env: Record<string, string> = {}): TestTransport {
  const cfg = parseHecConfig({ HEC_URLS: [urls].flat().join(','), HEC_TOKEN: TOKEN, ...env });
  const { logger, lines } = captureLogger();
  const t = new HecTransport(cfg, logger);
  onCleanup(() => t.close());
  return {
    t,
    cfg,
    lines,
    batch(ids, extra = () => ({})) {
      const items = ids.map((id) => {
        const record = rec(id, extra(id));
        return { record, payload: encodeHecEvent(record, cfg) };
      });
      const first = items[0]!.record;
      const key = cfg.endpoint === 'raw' ? `logs/0|${rawBatchKey(first, cfg)}` : 'logs/0';
      return { key, items, bytes: items.reduce((n, i) => n + i.payload.length, 0) };
    },
  };
}

export function rec(id: number, extra: Record<string, unknown> = {}): PipelineRecord {
  return { meta: { topic: 'logs', partition: 0, offset: String(id), timestamp: 1_700_000_000_000 + id, key: null, headers: {} }, raw: null, fields: { id, ...extra }, size: 0, unchanged: false };
}

/** The ids of the events a receiver indexed, in arrival order. */
export const ids = (r: HecReceiver): unknown[] => r.events.map((e: HecRecordedEvent) => (e.event as { id?: unknown }).id);

export const signal = (): AbortSignal => AbortSignal.timeout(10_000);

/** The DeliveryError a send throws (fails the test when it does not throw one). */
export async function thrown(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DeliveryError) return err;
    throw new Error(`expected a DeliveryError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected the send to fail');
}

/** The origin of a receiver's URL as the transport names it in errors (no trailing slash). */
export const origin = (r: HecReceiver): string => new URL(r.url).origin;
