// stdout / stderr sinks: JSON lines on a standard stream (the STREAM output of seeds/003).
import { retriable } from '../../core/errors.ts';
import { parseVars } from '../../config/vars.ts';
import { encodeJson, joinLines } from '../json-lines.ts';
import type { Batch, Sink, SinkDefinition } from '../../delivery/sink.ts';

/** Writes and resolves when the stream has taken the bytes (honours backpressure). */
export function writeStream(stream: NodeJS.WritableStream, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(data, (err) => (err ? reject(retriable('STREAM_WRITE', err.message, err)) : resolve()));
  });
}

function streamSink(stream: NodeJS.WritableStream): Sink {
  return {
    encode: encodeJson,
    shipsBytes: true,
    send: (batch: Batch) => writeStream(stream, joinLines(batch.items)),
  };
}

const noVars = {};

export const stdoutSink: SinkDefinition<Record<string, never>> = {
  type: 'stdout',
  envPrefix: 'STDOUT',
  summary: 'JSON lines on standard output.',
  vars: noVars,
  parseConfig: (env) => parseVars(noVars, env) as Record<string, never>,
  deliveryDefaults: { concurrency: 1, batchMaxWaitMs: 50 },
  create: () => streamSink(process.stdout),
};

export const stderrSink: SinkDefinition<Record<string, never>> = {
  type: 'stderr',
  envPrefix: 'STDERR',
  summary: 'JSON lines on standard error (shared with the logs).',
  vars: noVars,
  parseConfig: (env) => parseVars(noVars, env) as Record<string, never>,
  deliveryDefaults: { concurrency: 1, batchMaxWaitMs: 50 },
  create: () => streamSink(process.stderr),
};
