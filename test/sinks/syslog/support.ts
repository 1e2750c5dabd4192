// Records and a base encoder configuration shared by the syslog sink's tests.
import type { PipelineRecord } from '../../../src/core/record.ts';
import type { SyslogEncodeConfig } from '../../../src/sinks/syslog/encoder.ts';

/** 2023-11-14T22:13:20.123Z */
export const KAFKA_TS = 1_700_000_000_123;

export function rec(fields: Record<string, unknown>, timestamp = KAFKA_TS): PipelineRecord {
  return { meta: { topic: 'logs', partition: 0, offset: '7', timestamp, key: null, headers: {} }, raw: null, fields, size: 0, unchanged: false };
}

const none = { constant: undefined, field: undefined };

/** What parseSyslogConfig gives with only SYSLOG_URL set (checked in config.test.ts). */
export const base: SyslogEncodeConfig = {
  format: 'rfc5424',
  facility: 16,
  severityField: 'severity',
  severityDefault: 6,
  hostname: none,
  appName: { constant: 'logstream', field: undefined },
  procId: none,
  msgId: none,
  timeField: undefined,
  sd: undefined,
  template: undefined,
  bom: false,
  cef: {
    vendor: 'logstream',
    product: 'logstream',
    version: '0.1.0',
    signature: { constant: 'logstream', field: undefined },
    name: { constant: 'logstream event', field: undefined },
    severityField: undefined,
    extension: [],
  },
};
