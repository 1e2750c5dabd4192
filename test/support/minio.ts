/**
 * A real S3 peer for the S3 sink's tests and benchmark: MinIO (scripts/minio.ts, built from the Go module
 * proxy) as a child process on free 127.0.0.1 ports, plus an SDK client to create buckets and read back
 * what the sink wrote. stop() + restart() bring the same server back on the same port and data dir
 * (buckets and objects survive); close() stops it and removes the dir.
 */
import { rm } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { startMinio, type MinioOptions, type MinioServer } from '../../scripts/minio.ts';
import { mapLimit } from '../../src/core/map-limit.ts';

export const MINIO_REGION = 'us-east-1';

export interface StoredObject {
  key: string;
  size: number;
}

export interface ReadObject {
  key: string;
  /** The stored bytes (gzip when the object was written compressed). */
  raw: Buffer;
  /** The JSON lines, gunzipped when Content-Encoding says gzip. */
  text: string;
  head: HeadObjectCommandOutput;
}

export class MinioPeer {
  #server: MinioServer;
  readonly #opts: MinioOptions;
  readonly client: S3Client;

  private constructor(server: MinioServer, opts: MinioOptions) {
    this.#server = server;
    this.#opts = opts;
    this.client = new S3Client({
      region: opts.region ?? MINIO_REGION,
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      maxAttempts: 3,
    });
  }

  static async start(opts: MinioOptions = {}): Promise<MinioPeer> {
    return new MinioPeer(await startMinio(opts), opts);
  }

  get endpoint(): string {
    return this.#server.endpoint;
  }
  get logFile(): string {
    return this.#server.logFile;
  }
  get pid(): number {
    return this.#server.pid;
  }
  get region(): string {
    return this.#opts.region ?? MINIO_REGION;
  }
  get secretAccessKey(): string {
    return this.#server.secretAccessKey;
  }

  /** What a logstream instance needs to write to `bucket` here (credentials from the AWS env chain). */
  env(bucket: string, prefix: string): Record<string, string> {
    return {
      SINKS: 's3',
      S3_BUCKET: bucket,
      S3_PREFIX: prefix,
      S3_REGION: this.region,
      S3_ENDPOINT: this.endpoint,
      AWS_ACCESS_KEY_ID: this.#server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.#server.secretAccessKey,
      // No shared config files or instance metadata lookups from the test machine.
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  }

  /** A bucket; with `objectLock`, created with Object Lock enabled (which turns versioning on). */
  async createBucket(name: string, opts: { objectLock?: boolean } = {}): Promise<void> {
    await this.client.send(new CreateBucketCommand({ Bucket: name, ...(opts.objectLock ? { ObjectLockEnabledForBucket: true } : {}) }));
  }

  /** Every object under `prefix`, in key order. */
  async list(bucket: string, prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async read(bucket: string, key: string): Promise<ReadObject> {
    const head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const got = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const raw = Buffer.from(await got.Body!.transformToByteArray());
    const text = head.ContentEncoding === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
    return { key, raw, text, head };
  }

  /** Reads many objects, `parallel` at a time. */
  async readAll(bucket: string, keys: readonly string[], parallel = 16): Promise<ReadObject[]> {
    return mapLimit(keys, parallel, (key) => this.read(bucket, key));
  }

  /** SIGTERM; the ports and the data dir are kept for restart(). */
  async stop(): Promise<void> {
    await this.#server.stop();
  }

  /** Starts the server again on the same ports and data dir. */
  async restart(): Promise<void> {
    this.#server = await startMinio({ ...this.#opts, port: this.#server.port, consolePort: this.#server.consolePort, dataDir: this.#server.dataDir });
  }

  /** Stops the server and removes its data dir. */
  async close(): Promise<void> {
    this.client.destroy();
    await this.#server.stop();
    await rm(this.#server.dataDir, { recursive: true, force: true });
  }
}
