// StreamTransport's confirmation (syslog has no acknowledgement): a written batch counts as delivered
// only if the connection is still up SYSLOG_CONFIRM_DELAY later. Against a local TCP server.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { PipelineRecord } from '../../../src/core/record.ts';
import type { Batch } from '../../../src/delivery/sink.ts';
import { parseSyslogConfig } from '../../../src/sinks/syslog/config.ts';
import { StreamTransport } from '../../../src/sinks/syslog/transport.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

const logger = createLogger({ level: 'silent' });
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A TCP server that keeps what it receives; `accepted` resolves with the connection. */
async function server(): Promise<{ port: number; accepted: Promise<Socket>; received: () => string }> {
  let chunks = '';
  let accept!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => (accept = r));
  const srv = createServer((s) => {
    s.on('data', (c) => (chunks += c.toString()));
    s.on('error', () => undefined);
    accept(s);
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as { port: number }).port, accepted, received: () => chunks };
}

function batch(text: string): Batch {
  const payload = Buffer.from(text);
  return { key: 't/0', items: [{ record: {} as PipelineRecord, payload }], bytes: payload.length };
}

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // the event loop is blocked, as in a process busy with other work
  }
}

describe('syslog StreamTransport confirmation', () => {
  it('confirms a batch when the connection stays up for the delay', async () => {
    const srv = await server();
    const t = new StreamTransport(parseSyslogConfig({ SYSLOG_URL: `tcp://127.0.0.1:${srv.port}`, SYSLOG_CONFIRM_DELAY: '50ms' }), logger);
    const res = await t.send(batch('<14>1 - - - - - - one\n'), new AbortController().signal);
    expect(await res!.confirm).toEqual({});
    expect(srv.received()).toContain('one');
  });

  it('a reset that arrived while the process was busy past the delay fails the batch instead of confirming it', async () => {
    const srv = await server();
    const t = new StreamTransport(parseSyslogConfig({ SYSLOG_URL: `tcp://127.0.0.1:${srv.port}`, SYSLOG_CONFIRM_DELAY: '50ms' }), logger);
    const res = await t.send(batch('<14>1 - - - - - - two\n'), new AbortController().signal);
    const peer = await srv.accepted;
    // The receiver's side resets the connection now; this process does not look at its sockets until
    // the confirmation timer is overdue (both are pending when the event loop runs again).
    peer.resetAndDestroy();
    busyWait(150);
    const outcome = (await res!.confirm)!;
    expect(outcome.failures?.length).toBe(1);
    expect(outcome.failures?.[0]?.error.message).toMatch(/ECONNRESET|closed|reset/i);
  });
});
