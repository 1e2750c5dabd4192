/** s3: MinIO (Go module proxy), one bucket per test file and one prefix (the scenario's key) per scenario. */
import { randomBytes } from 'node:crypto';
import { MinioPeer } from '../../../support/minio.ts';
import { thrice, withoutSinks, type SinkPeer, type StartedSinkPeer } from './define.ts';

export const s3Peer = {
  name: 's3',
  kind: 's3',
  settings: 'S3',
  async start(): Promise<StartedSinkPeer<MinioPeer> & { readonly bucket: string }> {
    const bucket = `faults-${randomBytes(4).toString('hex')}`;
    const s3 = await MinioPeer.start();
    try {
      await s3.createBucket(bucket);
    } catch (err) {
      await s3.close().catch(() => undefined);
      throw err;
    }
    /** Every object under scenario `key`'s prefix, read back, one line per record. */
    const lines = async (key: string): Promise<string[]> => {
      const listed = await thrice(() => s3.list(bucket, `${key}/`));
      const objs = await thrice(() => s3.readAll(bucket, listed.map((o) => o.key)));
      return objs.flatMap((o) => o.text.split('\n').filter((l) => l !== ''));
    };
    return {
      peer: s3,
      port: Number(new URL(s3.endpoint).port),
      bucket,
      // With SQS in the same instance, its AWS keys are these (see sqs.ts).
      env: ({ key, gatePort }) => ({ ...withoutSinks(s3.env(bucket, key)), S3_ENDPOINT: `http://127.0.0.1:${gatePort}` }),
      secrets: () => [s3.secretAccessKey],
      texts: (key) => lines(key),
      close: () => s3.close(),
    };
  },
} as const satisfies SinkPeer<MinioPeer>;
