// Faults of logstream's own processes, under load, with all five real sinks at once (HEC receiver, form POST receiver,
// rsyslog over TLS, ElasticMQ, MinIO): kill -9 of a random instance (restarted each time), a rolling
// SIGTERM restart and a rolling upgrade from the kafkajs client (no duplicates allowed in either), and a
// rebalance storm (instances added and removed every 10 s).
import { describe, expect, it } from 'vitest';
import { expectClean, FaultRun, FULL, killDupBound, underLoad, usePeers } from './support/fault-run.ts';
import { ALL_SINKS } from './support/peers.ts';
import { sleep } from '../support/instance.ts';
import { waitForStableGroup } from '../support/group.ts';
import { prng } from '../support/prng.ts';

const fault = usePeers(ALL_SINKS);

describe('process faults, 3 instances, all sinks', () => {
  it('kill -9 of a random instance, restarted each time: lost=0, dup within the killed instances\' in-flight window', async () => {
    const rounds = FULL ? 10 : 3;
    const rand = prng(Number(process.env['FAULTS_SEED'] ?? 10));
    const run = await FaultRun.start({ scenario: 'kill -9', peers: fault(), sinks: ALL_SINKS });
    try {
      await underLoad(run, 5000);
      for (let round = 0; round < rounds; round++) {
        const alive = run.alive();
        const victim = alive[Math.floor(rand() * alive.length)]!;
        victim.kill('SIGKILL');
        await victim.exited;
        run.startInstance();
        await waitForStableGroup(run.alive(), run.o.partitions, 120_000);
        await underLoad(run, 3000 + Math.floor(rand() * 4000));
      }
      const r = await run.finish({ dupBound: rounds * killDupBound(run), note: `${rounds} rounds`, events: { count: rounds, name: 'kill' } });
      expectClean(r);
    } finally {
      await Promise.all(run.alive().map((i) => i.stop(10_000)));
    }
  }, (FULL ? 30 : 10) * 60_000);

  it('SIGTERM of every instance in turn (rolling restart): lost=0, dup=0', async () => {
    const run = await FaultRun.start({ scenario: 'rolling SIGTERM', peers: fault(), sinks: ALL_SINKS });
    try {
      await underLoad(run, 5000);
      for (const old of run.alive()) {
        const exit = await old.stop(60_000);
        expect(exit.code, `${old.name} exit after SIGTERM`).toBe(0);
        run.startInstance();
        await waitForStableGroup(run.alive(), run.o.partitions, 120_000);
        await underLoad(run, 3000);
      }
      const r = await run.finish({ dupBound: 0 });
      expectClean(r); // dup bound 0
    } finally {
      await Promise.all(run.alive().map((i) => i.stop(10_000)));
    }
  }, 10 * 60_000);

  it('rolling upgrade from kafkajs to the default client (@platformatic/kafka), one instance at a time: lost=0, dup=0', async () => {
    // The group runs kafkajs' eager round robin while any kafkajs member is left (the new members offer
    // it as their second protocol), and cooperative-sticky once the last one has gone.
    const run = await FaultRun.start({ scenario: 'rolling upgrade kafkajs → platformatic', peers: fault(), sinks: ALL_SINKS, env: { KAFKA_CLIENT: 'kafkajs', KAFKA_GROUP_PROTOCOL: 'classic' } });
    try {
      await underLoad(run, 5000);
      for (const old of run.alive()) {
        const exit = await old.stop(60_000);
        expect(exit.code, `${old.name} exit after SIGTERM`).toBe(0);
        // (the group protocol of FAULTS_KAFKA_GROUP_PROTOCOL, classic by default)
        run.startInstance({ KAFKA_CLIENT: 'platformatic', KAFKA_GROUP_PROTOCOL: process.env['FAULTS_KAFKA_GROUP_PROTOCOL'] ?? 'classic' });
        await waitForStableGroup(run.alive(), run.o.partitions, 120_000);
        await underLoad(run, 3000);
      }
      const clients = run.started.map((i) => i.logs.find((l) => l.msg === 'logstream started')?.kafkaClient);
      expect(clients).toEqual(['kafkajs', 'kafkajs', 'kafkajs', 'platformatic', 'platformatic', 'platformatic']);
      const r = await run.finish({ dupBound: 0, note: '3 kafkajs members replaced by platformatic members one by one' });
      expectClean(r); // dup bound 0
    } finally {
      await Promise.all(run.alive().map((i) => i.stop(10_000)));
    }
  }, 10 * 60_000);

  it('rebalance storm: an instance added or removed (SIGTERM) every 10 s under load: lost=0, dup within the revoked in-flight windows', async () => {
    const changes = FULL ? 18 : 4;
    const run = await FaultRun.start({ scenario: 'rebalance storm', peers: fault(), sinks: ALL_SINKS });
    try {
      for (let k = 0; k < changes; k++) {
        await sleep(10_000);
        // Between 2 and 4 members: add when at 2, remove when at 4, else alternate.
        const n = run.alive().length;
        if (n <= 2 || (n < 4 && k % 2 === 0)) run.startInstance();
        else void run.alive()[0]!.stop(60_000);
      }
      await sleep(10_000);
      await run.snapshotMetrics();
      // A revoke commits what was acknowledged; what was in flight at that moment may be sent again
      // by the new owner (kafkajs has no cooperative rebalancing), so each change may repeat a window.
      const r = await run.finish({ dupBound: changes * killDupBound(run), note: `${changes} membership changes, 10 s apart` });
      expectClean(r);
    } finally {
      await Promise.all(run.alive().map((i) => i.stop(10_000)));
    }
  }, (FULL ? 20 : 8) * 60_000);
});
