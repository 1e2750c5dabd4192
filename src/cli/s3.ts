// `logstream s3 test`: the Log Stream "Test" button. Writes the test record to <S3_PREFIX>/test in
// S3_BUCKET with the S3 sink's settings and says exactly what is wrong when it cannot (region, bucket,
// credentials, permission, endpoint). Exit 0 written, 1 not written, 2 bad configuration or usage.
import { parseS3Config } from '../sinks/s3/config.ts';
import type { S3Config } from '../sinks/s3/config.ts';
import { objectLockMissing, S3Transport, type BucketObjectLock } from '../sinks/s3/transport.ts';
import { createLogger } from '../telemetry/logger.ts';

const USAGE = 'usage: logstream s3 test   (configured by the S3_* variables and the AWS credential chain)\n';
const TEST_TIMEOUT_MS = 20_000;

export async function s3Command(args: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  if (args.length !== 1 || args[0] !== 'test') {
    err.write(USAGE);
    return 2;
  }
  const cfg = parseS3Config(env); // ConfigError → exit 2 with the variable named
  const transport = new S3Transport(cfg, createLogger({ level: 'warn', name: 'logstream-s3-test' }));
  const where = `region ${cfg.region}${cfg.endpoint ? `, endpoint ${cfg.endpoint}` : ''}`;
  try {
    // Object Lock first: a bucket without it would refuse every log object S3_OBJECT_LOCK_* asks for.
    const lock = await transport.bucketObjectLock(TEST_TIMEOUT_MS);
    const wanted = cfg.objectLock;
    if (wanted !== undefined && lock.enabled === false) {
      err.write(`logstream: S3 test failed: ${objectLockMissing(cfg.bucket)}\n`);
      return 1;
    }
    const written = await transport.writeTestObject(TEST_TIMEOUT_MS);
    out.write(`Log Stream test successful: wrote s3://${written.bucket}/${written.key} (${written.bytes} bytes; ${where})\n`);
    out.write(`Object Lock: ${objectLockText(cfg.bucket, lock, wanted)}\n`);
    return 0;
  } catch (e) {
    err.write(`logstream: S3 test failed: ${(e as Error).message}\n`);
    return 1;
  } finally {
    transport.close();
  }
}

/** The bucket's Object Lock state, and what S3_OBJECT_LOCK_* gives the log objects. */
function objectLockText(bucket: string, lock: BucketObjectLock, wanted: S3Config['objectLock']): string {
  const parts = wanted === undefined ? [] : [wanted.retention ? `${wanted.retention.mode} retention for ${days(wanted.retention.days)}` : '', wanted.legalHold ? 'a legal hold' : ''].filter(Boolean);
  const objects = parts.length ? `; log objects get ${parts.join(' and ')}` : '';
  if (lock.enabled === true) {
    const d = lock.defaultRetention;
    return `enabled on ${bucket} (${d ? `default retention ${d.mode} for ${d.days !== undefined ? days(d.days) : `${d.years} year${d.years === 1 ? '' : 's'}`}` : 'no default retention'})${objects}`;
  }
  if (lock.enabled === false) return `not enabled on ${bucket}: its objects can be deleted and overwritten (a bucket created with Object Lock, and S3_OBJECT_LOCK_*, make them write-once)`;
  return `cannot read the bucket's configuration (${lock.why})${objects}`;
}

const days = (n: number): string => `${n} day${n === 1 ? '' : 's'}`;
