// The explicit, typed list of sinks. Adding a sink = a folder under src/sinks/ and one line here.
import { fileSink } from './file/index.ts';
import { formPostSink } from './form-post/index.ts';
import { s3Sink } from './s3/index.ts';
import { splunkHecSink } from './splunk-hec/index.ts';
import { sqsSink } from './sqs/index.ts';
import { syslogSink } from './syslog/index.ts';
import { stderrSink, stdoutSink } from './stdout/index.ts';
import type { AnySinkDefinition } from '../delivery/sink.ts';

export const SINKS: readonly AnySinkDefinition[] = [stdoutSink, stderrSink, fileSink, splunkHecSink, syslogSink, sqsSink, formPostSink, s3Sink];

export function findSink(type: string): AnySinkDefinition | undefined {
  return SINKS.find((s) => s.type === type);
}
