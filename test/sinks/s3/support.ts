// Records and configuration for the S3 sink's unit tests.
import type { PipelineRecord } from '../../../src/core/record.ts';
import { parseS3Config, type S3Config } from '../../../src/sinks/s3/config.ts';

/** 2024-02-01T18:50:04.000Z, the Kafka timestamp of records that carry no time of their own. */
export const KAFKA_TS = Date.UTC(2024, 1, 1, 18, 50, 4);

export function rec(fields: Record<string, unknown>, meta: Partial<PipelineRecord['meta']> = {}, raw: Buffer | null = null): PipelineRecord {
  return {
    meta: { topic: 'audit', partition: 3, offset: '100', timestamp: KAFKA_TS, key: null, headers: {}, ...meta },
    raw,
    fields,
    size: raw?.length ?? 0,
    unchanged: raw !== null,
  };
}

export function cfg(env: Record<string, string> = {}): S3Config {
  return parseS3Config({ S3_BUCKET: 'unique-bucket-name', S3_PREFIX: 'sdm/logs', ...env });
}
