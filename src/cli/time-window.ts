// --since / --until of the CLI commands that select by Kafka time (verify, dead-letters replay): an
// ISO 8601 time or epoch seconds/ms, as KAFKA_START_FROM takes them.
import { parseStartPosition } from '../source/kafka/config.ts';

export interface TimeWindow {
  since?: number;
  until?: number;
}

/** The window in epoch ms (bounds not given are absent), or undefined after telling `stderr` why not. */
export function parseTimeWindow(values: { since?: string | undefined; until?: string | undefined }, stderr: NodeJS.WritableStream): TimeWindow | undefined {
  const window: TimeWindow = {};
  for (const flag of ['since', 'until'] as const) {
    const raw = values[flag];
    if (raw === undefined) continue;
    const p = parseStartPosition(raw);
    if (p?.kind !== 'timestamp') {
      stderr.write('logstream: --since and --until take an ISO 8601 time or epoch seconds/ms\n');
      return undefined;
    }
    window[flag] = p.ms;
  }
  return window;
}
