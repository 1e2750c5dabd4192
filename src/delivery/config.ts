// Shared delivery settings, the same variables for every sink under its prefix (FILE_BATCH_MAX_RECORDS…).
import { parseVars, v, type Env, type VarSpecs } from '../config/vars.ts';

export interface DeliveryConfig {
  batchMaxRecords: number;
  batchMaxBytes: number;
  batchMaxWaitMs: number;
  /** Batches sent at once by this sink (at most one per source partition, which keeps order). */
  concurrency: number;
  requestTimeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** An encoded record larger than this is dead-lettered (RECORD_TOO_LARGE); 0 = no limit. */
  maxRecordBytes: number;
}

export const DELIVERY_DEFAULTS: DeliveryConfig = {
  batchMaxRecords: 500,
  batchMaxBytes: 1024 * 1024,
  batchMaxWaitMs: 200,
  concurrency: 8,
  requestTimeoutMs: 30_000,
  retryInitialMs: 100,
  retryMaxMs: 30_000,
  maxRecordBytes: 0,
};

export function deliveryVars(prefix: string, d: DeliveryConfig): VarSpecs {
  return {
    [`${prefix}_BATCH_MAX_RECORDS`]: v.int({ doc: 'Records per batch at most.', default: d.batchMaxRecords, min: 1 }),
    [`${prefix}_BATCH_MAX_BYTES`]: v.bytes({ doc: 'Bytes per batch at most, before compression.', default: d.batchMaxBytes, min: 1 }),
    [`${prefix}_BATCH_MAX_WAIT`]: v.duration({ doc: 'How long a partial batch may wait for more records.', default: d.batchMaxWaitMs, min: 0 }),
    [`${prefix}_CONCURRENCY`]: v.int({ doc: 'Batches in flight at once (one per partition at most, so order is kept).', default: d.concurrency, min: 1, max: 1024 }),
    [`${prefix}_TIMEOUT`]: v.duration({ doc: 'Time limit of one send attempt.', default: d.requestTimeoutMs, min: 1 }),
    [`${prefix}_RETRY_INITIAL`]: v.duration({ doc: 'First retry delay; doubles per attempt, with jitter.', default: d.retryInitialMs, min: 1 }),
    [`${prefix}_RETRY_MAX`]: v.duration({ doc: 'Retry delay cap. Transient errors are retried forever.', default: d.retryMaxMs, min: 1 }),
    [`${prefix}_MAX_RECORD_BYTES`]: v.bytes({ doc: 'A record larger than this once encoded goes to the dead-letter topic; 0 = no limit.', default: d.maxRecordBytes, min: 0 }),
  };
}

export function parseDeliveryConfig(prefix: string, env: Env, overrides: Partial<DeliveryConfig>): DeliveryConfig {
  const d = { ...DELIVERY_DEFAULTS, ...overrides };
  const p = parseVars(deliveryVars(prefix, d), env) as Record<string, number>;
  return {
    batchMaxRecords: p[`${prefix}_BATCH_MAX_RECORDS`]!,
    batchMaxBytes: p[`${prefix}_BATCH_MAX_BYTES`]!,
    batchMaxWaitMs: p[`${prefix}_BATCH_MAX_WAIT`]!,
    concurrency: p[`${prefix}_CONCURRENCY`]!,
    requestTimeoutMs: p[`${prefix}_TIMEOUT`]!,
    retryInitialMs: p[`${prefix}_RETRY_INITIAL`]!,
    retryMaxMs: p[`${prefix}_RETRY_MAX`]!,
    maxRecordBytes: p[`${prefix}_MAX_RECORD_BYTES`]!,
  };
}
