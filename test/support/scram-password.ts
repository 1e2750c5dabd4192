/**
 * Changes a SCRAM user's password on a running broker with Kafka's own AdminClient (kafka-clients from
 * the broker's jars, test/support/ScramPassword.java), as an operator rotating a credential does; the
 * tests import no Kafka client library outside the adapters. Needs Java 17+ on PATH (as the broker does).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureKafkaJars } from '../../scripts/kafka-broker.ts';

const PROGRAM = join(import.meta.dirname, 'ScramPassword.java');
const JVM_FLAGS = ['-Xmx128m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto'];

/** `bootstrap`: a listener that needs no authentication (the test broker's PLAINTEXT one). */
export async function setScramPassword(bootstrap: string, mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512', user: string, password: string): Promise<void> {
  const libs = await ensureKafkaJars();
  const run = promisify(execFile)('java', [...JVM_FLAGS, '-cp', `${libs}/*`, PROGRAM, bootstrap, mechanism, user], { timeout: 120_000 });
  run.child.stdin?.on('error', () => {});
  run.child.stdin?.end(`${password}\n`);
  try {
    await run;
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: number | string; signal?: string };
    throw new Error(`ScramPassword.java (${user}) failed (exit ${e.code ?? e.signal}):\n${(e.stderr ?? '').trim().split('\n').slice(-20).join('\n')}`);
  }
}
