// Start-up failures end the process with one clear line and a non-zero code (so the orchestrator
// restarts it); a healthy instance serves /healthz, /readyz and /metrics.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newGroupSetup, instanceEnv } from '../support/group.ts';
import { Instance } from '../support/instance.ts';

const running: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
});

function start(env: Record<string, string>): Instance {
  const i = new Instance('life', env);
  running.push(i);
  return i;
}

describe('lifecycle (real broker)', () => {
  it('a topic that does not exist stops the start with exit 1 and names it', async () => {
    const s = await newGroupSetup('life', 1);
    const i = start({ ...instanceEnv(s, 'x'), KAFKA_TOPICS: 'no-such-topic-here' });
    const exit = await i.exited;
    expect(exit.code).toBe(1);
    const fatal = i.logs.find((l) => l.level === 'fatal');
    expect(fatal?.msg).toMatch(/start failed: KAFKA_TOPICS: topic\(s\) no-such-topic-here do not exist/);
  });

  it('a sink that cannot start (file in a missing folder) stops the start with exit 1 and names the sink', async () => {
    const s = await newGroupSetup('life', 1);
    const i = start({ ...instanceEnv(s, 'x'), FILE_PATH: join(s.dir, 'missing', 'out.jsonl') });
    expect((await i.exited).code).toBe(1);
    expect(i.logs.find((l) => l.level === 'fatal')?.msg).toMatch(/sink file failed to start: .*ENOENT/);
  });

  it('an unreachable broker fails the start with exit 1', async () => {
    const s = await newGroupSetup('life', 1);
    const i = start({ ...instanceEnv(s, 'x'), KAFKA_BROKERS: '127.0.0.1:1', KAFKA_CONNECTION_TIMEOUT: '200ms' });
    expect((await i.exited).code).toBe(1);
    expect(i.logs.find((l) => l.level === 'fatal')?.msg).toMatch(/start failed: .*(ECONNREFUSED|Connection error|connect)/i);
  });

  it('a non-retriable consumer error (session timeout above the broker maximum) exits 1 with one clear line', async () => {
    const s = await newGroupSetup('life', 1);
    // The broker refuses JoinGroup with INVALID_SESSION_TIMEOUT (group.max.session.timeout.ms is 30 min).
    const i = start({ ...instanceEnv(s, 'x'), KAFKA_SESSION_TIMEOUT: '40m', KAFKA_REBALANCE_TIMEOUT: '40m' });
    const exit = await i.exited;
    expect(exit.code).toBe(1);
    const fatal = i.logs.filter((l) => l.level === 'fatal');
    expect(fatal.length).toBe(1);
    // platformatic joins during the start, kafkajs after it: either way one line that names the variable.
    expect(fatal[0]!.msg).toMatch(/^(start failed|consumer stopped for good): KAFKA_SESSION_TIMEOUT: outside what the broker allows .*session timeout/i);
  });

  it('serves /healthz, /readyz and /metrics, and answers 404 elsewhere', async () => {
    const s = await newGroupSetup('life', 1);
    const i = start(instanceEnv(s, 'ok'));
    const port = await i.httpPort();
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    let ready = await fetch(`${base}/readyz`);
    for (let n = 0; n < 40 && ready.status !== 200; n++) {
      await new Promise((r) => setTimeout(r, 250));
      ready = await fetch(`${base}/readyz`);
    }
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, reasons: [] });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of ['logstream_assigned_partitions', 'logstream_inflight_records', 'logstream_sink_healthy', 'logstream_process_cpu_seconds_total']) {
      expect(metrics).toContain(name);
    }
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await i.stop()).code).toBe(0);
    expect(i.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });
});
