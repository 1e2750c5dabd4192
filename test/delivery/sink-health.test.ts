// Health and the failure log alone: one line per interval while failing, a halt once a minute.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { halt, retriable } from '../../src/core/errors.ts';
import { SinkHealth } from '../../src/delivery/sink-health.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';

function setup() {
  const lines: Array<{ level: string; msg: string; notLogged?: number; attempt?: number }> = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }) });
  const metrics = createMetrics();
  let now = 1_000_000;
  const health = new SinkHealth({ route: 'r', sink: 's' }, metrics, logger, () => now);
  const gauge = async () => (await metrics.sinkHealthy.get()).values.find((v) => v.labels.sink === 's')?.value;
  return { health, lines, gauge, advance: (ms: number) => (now += ms) };
}

describe('SinkHealth', () => {
  it('starts healthy, turns unhealthy with the reason, and back', async () => {
    const t = setup();
    expect([t.health.healthy, t.health.lastError, await t.gauge()]).toEqual([true, undefined, 1]);
    t.health.failing(retriable('HTTP_503', 'busy\nsecond line'));
    expect([t.health.healthy, t.health.lastError, await t.gauge()]).toEqual([false, 'HTTP_503: busy second line', 0]);
    t.health.delivering();
    t.health.delivering(); // said once
    expect([t.health.healthy, t.health.lastError, await t.gauge()]).toEqual([true, undefined, 1]);
    expect(t.lines.map((l) => l.msg)).toEqual(['sink delivers again']);
  });

  it('logs the first failure, then one line per 10 s with the count of those not logged', () => {
    const t = setup();
    const f = retriable('DOWN', 'connection refused');
    for (let attempt = 0; attempt < 5; attempt++) {
      t.health.logFailure(f, attempt, 100, 3);
      t.advance(3_000);
    }
    expect(t.lines.map((l) => [l.level, l.attempt, l.notLogged])).toEqual([['warn', 1, 0], ['warn', 5, 3]]);
    expect(t.lines[0]!.msg).toBe('send failed, will retry: connection refused');
  });

  it('a halt is logged at error level once a minute', () => {
    const t = setup();
    const f = halt('HEC_TOKEN', 'invalid token');
    for (let i = 0; i < 7; i++) {
      t.health.logFailure(f, i, 30_000, 1);
      t.advance(15_000);
    }
    expect(t.lines.map((l) => l.level)).toEqual(['error', 'error']);
    expect(t.lines[1]!.notLogged).toBe(3);
  });

  it('after recovering, the next outage is logged at once', () => {
    const t = setup();
    const f = retriable('DOWN', 'down');
    t.health.logFailure(f, 0, 100, 1);
    t.health.failing(f);
    t.health.delivering();
    t.advance(1);
    t.health.logFailure(f, 0, 100, 1);
    expect(t.lines.map((l) => l.msg)).toEqual(['send failed, will retry: down', 'sink delivers again', 'send failed, will retry: down']);
  });
});
