// The Kafka broker stopped (SIGTERM; with FAULTS_FULL=1 also killed with SIGKILL) for 30 s under load
// and started again on the same port and data,
// with 3 instances shipping to all five sinks: no instance gives up, nothing is lost, and what was
// delivered but not yet committed when the broker went away is the only repeat.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClean, FaultRun, FULL, killDupBound, underLoad } from './support/fault-run.ts';
import { ALL_SINKS, FaultPeers } from './support/peers.ts';
import { sleep, waitUntil } from '../support/instance.ts';
import { startBroker, type Broker } from '../../scripts/kafka-broker.ts';

let peers: FaultPeers;
let broker: Broker;
beforeAll(async () => {
  [peers, broker] = await Promise.all([FaultPeers.start(ALL_SINKS), startBroker({ heapMb: 768 })]);
}, 240_000);
afterAll(async () => {
  await Promise.all([peers?.close(), broker?.stop()]);
});

const BROKER_DOWN_S = Number(process.env['FAULTS_BROKER_DOWN_S'] ?? 30);

describe('broker faults, 3 instances, all sinks', () => {
  it(`broker stopped for ${BROKER_DOWN_S} s and restarted: instances ride it out, lost=0`, async () => {
    const outages = FULL ? 3 : 1;
    const run = await FaultRun.start({ scenario: `broker down ${BROKER_DOWN_S} s`, peers, sinks: ALL_SINKS, bootstrap: broker.bootstrap });
    try {
      for (let k = 0; k < outages; k++) {
        await underLoad(run, 8000);
        const members = run.alive().length;
        if (k % 2 === 0) await broker.stop();
        else await broker.kill();
        await sleep(BROKER_DOWN_S * 1000);
        expect(run.alive().length, 'no instance exited while the broker was down').toBe(members);
        broker = await startBroker({ dataDir: broker.dataDir, heapMb: 768 });
        await waitUntil('the group commits again', async () => (await run.committed()) > 0n, 120_000, 1000);
        await underLoad(run, 10_000);
      }
      // Deliveries acknowledged after the last commit before the stop are re-read from that commit.
      const r = await run.finish({ dupBound: outages * killDupBound(run), note: `${outages} outage(s)${outages > 1 ? ' (SIGTERM, SIGKILL, SIGTERM)' : ''}; the load producer retried ${run.load.failedSends} sends`, events: { count: outages, name: 'outage' } });
      expectClean(r);
      const exits = await Promise.all(run.started.map((i) => i.exited));
      for (const e of exits) expect(e.code).toBe(0);
    } finally {
      await Promise.all(run.alive().map((i) => i.stop(10_000)));
    }
  }, (FULL ? 15 : 6) * 60_000);
});
