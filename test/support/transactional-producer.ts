/**
 * Transactional records for the integration tests: committed and aborted transactions written by Kafka's
 * own Java producer (kafka-clients, from the broker's jars in <repo>/.cache/kafka/<version>/libs, see
 * scripts/kafka-broker.ts), run as the single-file program test/support/TxProducer.java. The tests import
 * no Kafka client library outside the adapters, and this producer is independent of both of them.
 * Needs Java 17+ on PATH (as the broker does).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureKafkaJars } from '../../scripts/kafka-broker.ts';

const PROGRAM = join(import.meta.dirname, 'TxProducer.java');
const JVM_FLAGS = ['-Xmx128m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto'];

export interface Transaction {
  /** true: committed; false: aborted (written, then aborted). */
  commit: boolean;
  /** The record values, each sent as its JSON text (JSON.stringify), without a key. */
  values: unknown[];
}

export interface TransactionalRecord {
  offset: number;
  committed: boolean;
}

/**
 * Writes `plan`'s transactions to `partition` of `topic`, one after the other, from one transactional
 * producer (a fresh transactional.id per call; acks=all, idempotent). Returns each record's offset, in
 * plan order. Each transaction's end is a control record (the commit or abort marker) that takes an
 * offset of its own, so the offsets have a gap after every transaction.
 */
export async function produceTransactions(bootstrap: string, topic: string, partition: number, plan: Transaction[]): Promise<TransactionalRecord[]> {
  // The client jars of the broker's version (env LOGSTREAM_KAFKA_VERSION, else the script's default).
  const libs = await ensureKafkaJars();
  const lines: string[] = [];
  for (const tx of plan) {
    for (const v of tx.values) {
      const json = JSON.stringify(v) as string | undefined;
      if (json === undefined) throw new Error(`produceTransactions: value ${String(v)} has no JSON text`);
      lines.push(json);
    }
  }
  const planArg = plan.map((tx) => `${tx.commit ? 'c' : 'a'}:${tx.values.length}`).join(',');
  const args = [...JVM_FLAGS, '-cp', `${libs}/*`, PROGRAM, bootstrap, topic, String(partition), planArg];

  const run = promisify(execFile)('java', args, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  // Java may exit (bad arguments, no broker) before it read all of stdin: the error is in its exit status.
  run.child.stdin?.on('error', () => {});
  run.child.stdin?.end(lines.map((l) => `${l}\n`).join(''));
  let stdout: string;
  try {
    ({ stdout } = await run);
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: number | string; signal?: string };
    const tail = (e.stderr ?? '').trim().split('\n').slice(-30).join('\n');
    throw new Error(`TxProducer.java (${topic}[${partition}], plan ${planArg}) failed (exit ${e.code ?? e.signal}):\n${tail}`);
  }

  const out: TransactionalRecord[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const m = /^(\d+) (committed|aborted)$/.exec(line);
    if (!m) throw new Error(`TxProducer.java: unexpected output line ${JSON.stringify(line)}`);
    out.push({ offset: Number(m[1]), committed: m[2] === 'committed' });
  }
  const expected = plan.flatMap((tx) => tx.values.map(() => tx.commit));
  if (out.length !== expected.length || out.some((r, i) => r.committed !== expected[i])) {
    throw new Error(`TxProducer.java: output does not match plan ${planArg}:\n${stdout}`);
  }
  return out;
}
