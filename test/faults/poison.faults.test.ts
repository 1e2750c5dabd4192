// Poison input among good records, 3 instances, every sink: text that is not JSON, a 10 MiB record,
// invalid UTF-8, JSON nested 100 000 deep, an empty value and a null value (tombstone). Each must be either
// shipped by a sink or dead-lettered for it (the dead-letter record naming its source partition and offset),
// never lost, never a crash; the good records around them arrive exactly once.
import { describe, expect, it } from 'vitest';
import { connectKafka } from '../../src/source/kafka/connect.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { expectClean, FaultRun, underLoad, usePeers } from './support/fault-run.ts';
import { ALL_SINKS, SINK_KIND as SINK_STAGE, type SinkName } from './support/peers.ts';
import { readTopic } from '../support/kafka.ts';

const fault = usePeers(ALL_SINKS);

const MiB = 1024 * 1024;

interface Poison {
  name: string;
  value: Buffer | null;
  /** Text that identifies it in a sink's output (none for the empty ones). */
  marker?: string;
  partition?: number;
  offset?: string;
}

function poisons(run: string): Poison[] {
  const depth = 100_000;
  return [
    { name: 'not JSON', value: Buffer.from(`poison ${run} not-json <<< {unbalanced`), marker: `poison ${run} not-json` },
    { name: '10 MiB record', value: Buffer.from(JSON.stringify({ poison: `${run}-big`, pad: 'x'.repeat(10 * MiB) })), marker: `${run}-big` },
    { name: 'invalid UTF-8', value: Buffer.concat([Buffer.from(`{"poison":"${run}-utf8","v":"`), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}')]), marker: `${run}-utf8` },
    { name: 'nested 100 000 deep', value: Buffer.from(`${'{"a":'.repeat(depth)}"${run}-deep"${'}'.repeat(depth)}`), marker: `${run}-deep` },
    { name: 'empty value', value: Buffer.alloc(0) },
    { name: 'null value (tombstone)', value: null },
  ];
}

describe('poison input, 3 instances, all sinks', () => {
  it('each poison record is shipped or dead-lettered for every sink, none lost, no crash; good records exactly once', async () => {
    const run = await FaultRun.start({ scenario: 'poison input', peers: fault(), sinks: ALL_SINKS, topicConfig: { 'max.message.bytes': String(16 * MiB) } });
    const kafka = await connectKafka({ brokers: [run.o.bootstrap], clientId: 'poison', connectionTimeoutMs: 1000, retries: 5, logger: createLogger({ level: 'silent' }) });
    const producer = kafka.producer();
    const bad = poisons(run.run);
    try {
      await producer.connect();
      await underLoad(run, 3000);
      for (const [k, p] of bad.entries()) {
        p.partition = k % run.o.partitions;
        const [meta] = await producer.send(run.topic, [{ partition: p.partition, value: p.value }], { acks: -1 });
        p.offset = String(meta!.baseOffset);
        await underLoad(run, 1500);
      }
      await underLoad(run, 5000);
      const fate: string[] = [];
      const r = await run.finish({
        dupBound: 0,
        note: bad.map((p) => p.name).join(', '),
        extra: async () => {
          // Where did each poison record go, per sink?
          const dlq = await readTopic(run.o.bootstrap, run.dlqTopic, { expected: bad.length * ALL_SINKS.length, timeoutMs: 20_000 });
          const texts = new Map<SinkName, string[]>();
          for (const s of ALL_SINKS) texts.set(s, await fault().texts(s, run.key, 0));
          let lost = 0;
          let dead = 0;
          for (const p of bad) {
            const letters = dlq.filter((m) => String(m.headers['logstream.source.partition']) === String(p.partition) && String(m.headers['logstream.source.offset']) === p.offset);
            for (const s of ALL_SINKS) {
              const m = letters.find((d) => {
                const st = String(d.headers['logstream.sink']);
                return st === SINK_STAGE[s] || !Object.values(SINK_STAGE).includes(st); // its sink, or a stage before the sinks
              });
              const shipped = p.marker !== undefined && texts.get(s)!.some((t) => t.includes(p.marker!));
              if (m) {
                dead++;
                fate.push(`${p.name} → ${s}: dead-lettered (${String(m.headers['logstream.sink'])}: ${String(m.headers['logstream.error.code'])})`);
                expect(p.value === null ? m.value === null || m.value.length === 0 : m.value?.equals(p.value), `${p.name}: the dead letter keeps the original bytes`).toBe(true);
              } else if (shipped) fate.push(`${p.name} → ${s}: shipped`);
              else {
                lost++;
                fate.push(`${p.name} → ${s}: LOST`);
              }
            }
          }
          return { lost, note: `poison: ${bad.length * ALL_SINKS.length - lost - dead} shipped, ${dead} dead-lettered, ${lost} lost (per sink)` };
        },
      });
      process.stdout.write(`poison fates:\n  ${fate.join('\n  ')}\n`);
      expect(fate.filter((f) => f.endsWith('LOST'))).toEqual([]);
      expectClean(r); // dup bound 0
      const exits = await Promise.all(run.started.map((i) => i.exited));
      expect(exits.map((e) => e.code), 'no instance crashed').toEqual(run.started.map(() => 0));
    } finally {
      await producer.disconnect();
      await Promise.all(run.alive().map((i) => i.stop(10_000)));
    }
  }, 10 * 60_000);
});
