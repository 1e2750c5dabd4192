// Record batches compressed by another client: kcat (librdkafka) produces batches with each of gzip,
// snappy, lz4 and zstd; logstream ships every record of every batch intact.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { committedTotal, newGroupSetup, outputs, startMember } from '../support/group.ts';
import { waitUntil, type Instance } from '../support/instance.ts';
import { ledgerRecords, tally } from '../support/ledger.ts';

const running: Instance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
});

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
const PER_CODEC = 2000;

describe('compressed record batches (kcat as the producer)', () => {
  it('ships gzip, snappy, lz4 and zstd batches intact', async () => {
    const s = await newGroupSetup('codecs', 2);
    const run = `codecs-${Date.now()}`;
    CODECS.forEach((codec, k) => {
      const file = join(s.dir, `${codec}.jsonl`);
      writeFileSync(file, ledgerRecords(run, PER_CODEC, 2, k * PER_CODEC).map((r) => `${JSON.stringify(r.value)}\n`).join(''));
      const res = spawnSync('kcat', ['-P', '-b', s.bootstrap, '-t', s.topic, '-l', file, '-z', codec, '-X', 'linger.ms=50', '-X', 'batch.num.messages=500'], { encoding: 'utf8', timeout: 60_000 });
      expect(res.status, `kcat -z ${codec}: ${res.stderr}`).toBe(0);
    });
    const inst = startMember(s, 'codecs');
    running.push(inst);
    const total = CODECS.length * PER_CODEC;
    await waitUntil('every record committed', async () => (await committedTotal(s)) === BigInt(total), 90_000, 500);
    expect(tally(run, total, outputs(s, ['codecs']))).toMatchObject({ delivered: total, lost: 0, dup: 0, altered: 0, foreign: 0 });
    expect(await inst.metricSum('logstream_dead_letter_events_total')).toBe(0);
    expect((await inst.stop()).code).toBe(0);
  });
});
