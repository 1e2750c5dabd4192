// Helpers of the provable-archive tests (S3 and file sink): Ed25519 signing keys as PEM text and files,
// and `logstream verify … --json` run as the CLI it is.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Report } from '../../src/sinks/manifest/verify.ts';
import { committedTotal, waitForStableGroup, type GroupSetup } from './group.ts';
import { runCli, sleep, waitUntil, type CliResult, type Instance } from './instance.ts';
import { endOffsets, produceJson, uniqueName } from './kafka.ts';
import { ledgerRecords, type Tally } from './ledger.ts';

export interface Keys {
  privatePem: string;
  publicPem: string;
  /** Files holding them. */
  privateFile: string;
  publicFile: string;
}

/** A new Ed25519 key pair, written to `<dir>/<name>.key` and `<dir>/<name>.pub`. */
export function keys(dir: string, name = 'k'): Keys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const privateFile = join(dir, `${name}.key`);
  const publicFile = join(dir, `${name}.pub`);
  writeFileSync(privateFile, privatePem);
  writeFileSync(publicFile, publicPem);
  return { privatePem, publicPem, privateFile, publicFile };
}

/** `logstream verify <args> --key <file>… --json`, and its report. */
export async function verifyJson(args: string[], publicFiles: string[], env: Record<string, string> = {}): Promise<CliResult & { report: Report }> {
  const r = await runCli(['verify', ...args, ...publicFiles.flatMap((k) => ['--key', k]), '--json'], env, 180_000);
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`verify printed no JSON (exit ${r.code}): ${r.stderr}`);
  }
  return { ...r, report };
}

/** The failover workload of both archive tests: 6 000 ledger records over 3 partitions, every tenth
 *  filtered by the query, every 97th (of the rest) failing its cast and dead-lettered. */
export const FAILOVER_QUERY = '* | where id % 10 != 3 | extend amount = cast(amount as bigint)';

export interface FailoverRun {
  run: string;
  n: number;
  filtered: number;
  deadLettered: number;
  /** What the archive must hold once: n − filtered − dead-lettered. */
  kept: number;
}

/**
 * Produces the workload paced (100 records every 60 ms), SIGKILLs `killed` once a third is committed
 * (it commits rarely, so it dies with records delivered and not committed: duplicates), starts the
 * replacement, and waits until the group committed everything; then SIGTERMs the survivors.
 */
export async function failoverRun(s: GroupSetup, killed: Instance, survivor: Instance, replace: () => Instance): Promise<FailoverRun> {
  const run = uniqueName('arch');
  const n = 6000;
  const all = ledgerRecords(run, n, 3).map((r, i) => ({ ...r, value: { ...(r.value as object), amount: i % 97 === 5 ? 'lots' : String(i) } }));
  const filtered = all.filter((_, i) => i % 10 === 3).length;
  const deadLettered = all.filter((_, i) => i % 10 !== 3 && i % 97 === 5).length;
  const producing = (async () => {
    for (let i = 0; i < n; i += 100) {
      await produceJson(s.bootstrap, s.topic, all.slice(i, i + 100));
      await sleep(60); // paces the run so that the kill lands mid-stream
    }
  })();
  await waitUntil('a third committed', async () => (await committedTotal(s)) >= 2000n, 60_000, 100);
  killed.kill('SIGKILL');
  const replacement = replace();
  await producing;
  await waitForStableGroup([survivor, replacement], 3);
  await waitUntil('all committed', async () => (await committedTotal(s)) === BigInt(n), 120_000, 250);
  expect((await survivor.stop()).code).toBe(0);
  expect((await replacement.stop()).code).toBe(0);
  await killed.exited;
  return { run, n, filtered, deadLettered, kept: n - filtered - deadLettered };
}

/** verify's verdict after a failover run, against the tally of the rows the manifests name: complete
 *  over every offset of the topic, each kept record once, the duplicates exactly those rows. */
export async function expectCompleteArchive(r: Report, s: GroupSetup, w: FailoverRun, t: Tally): Promise<Record<'records' | 'duplicates' | 'forks' | 'chainStarts', number>> {
  expect(r.problems).toEqual([]);
  expect(r.ok).toBe(true);
  const ends = await endOffsets(s.bootstrap, s.topic);
  expect(r.partitions.map((p) => [p.partition, p.complete, p.checked])).toEqual([0, 1, 2].map((p) => [p, true, [0, Number(ends.get(p)) - 1]]));
  const sum = (f: (p: Report['partitions'][number]) => number): number => r.partitions.reduce((x, p) => x + f(p), 0);
  expect(sum((p) => p.distinctRecords)).toBe(w.kept);
  expect(t).toMatchObject({ lost: w.filtered + w.deadLettered, altered: 0, foreign: 0 });
  expect(t.delivered - t.dup).toBe(w.kept);
  expect(sum((p) => p.duplicates.records)).toBe(t.dup);
  expect(t.dup).toBeGreaterThan(0);
  expect(sum((p) => p.filtered)).toBeGreaterThanOrEqual(w.filtered);
  expect(sum((p) => p.deadLettered)).toBeGreaterThanOrEqual(w.deadLettered);
  return { records: sum((p) => p.distinctRecords), duplicates: sum((p) => p.duplicates.records), forks: sum((p) => p.forks), chainStarts: sum((p) => p.chainStarts) };
}
