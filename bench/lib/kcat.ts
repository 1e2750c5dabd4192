// kcat (librdkafka's CLI) as the bulk producer and as the reference consumer.
import { execFileSync } from 'node:child_process';
import { runMeasured, type Measured } from './measured-exec.ts';

/** Throws a clear error when kcat is not installed. */
export function requireKcat(): void {
  try {
    execFileSync('kcat', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error('kcat is not installed: the benchmark needs it to produce and as the reference consumer. Install it with `apt-get install kcat`.');
  }
}

function check(what: string, m: Measured): Measured {
  if (m.exitCode !== 0) throw new Error(`kcat ${what} failed (exit ${m.exitCode}): ${m.stderr.slice(-2000)}`);
  return m;
}

/** Produces every line of `file` as one record (no key: spread over the partitions), uncompressed. */
export async function kcatProduceFile(bootstrap: string, topic: string, file: string): Promise<Measured> {
  const args = [
    '-P', '-b', bootstrap, '-t', topic, '-l', file,
    '-X', 'compression.codec=none',
    '-X', 'linger.ms=20',
    '-X', 'batch.num.messages=10000',
    '-X', 'batch.size=1000000',
    '-X', 'queue.buffering.max.kbytes=1048576',
  ];
  return check('produce', await runMeasured('kcat', args));
}

/** Reads the whole topic from the beginning to its end, values to /dev/null. */
export async function kcatConsumeAll(bootstrap: string, topic: string): Promise<Measured> {
  return check('consume', await runMeasured('kcat', ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q']));
}
