// The S3 part of the throughput benchmark: a real MinIO (test/support/minio.ts, one per run, on the same
// cores), every object read back after the run and checked (each record exactly once, in the Log Stream
// key layout, no object over the batch limits), and the report table. The bench records carry `type`
// (query / activity / session) and a `timestamp` 37 ms apart, so a topic of N records spans N·37 ms of
// minute folders: the run writes one object per partition, type and minute at least.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MinioPeer } from '../../test/support/minio.ts';
import type { LogstreamSink } from './logstream.ts';
import { readPeakRssBytes, readProcessCpu, type CpuTimes } from './proc.ts';
import { fmt, formatTable } from './table.ts';

const MB = 1e6;
const BUCKET = 'logstream-bench';
const PREFIX = 'sdm/logs';
const KEY = new RegExp(`^${PREFIX}/(query|activity|session)/\\d{4}/\\d{2}/\\d{2}/\\d{2}/\\d{2}/[0-9a-f-]{36}\\.json(\\.gz)?$`);
/** The S3 sink's defaults (src/sinks/s3/index.ts): records and bytes per object at most. */
const MAX_RECORDS = 1000;
const MAX_BYTES = 100 * 1024 * 1024;

export interface S3RunInfo {
  gzip: boolean;
  objects: number;
  /** Lines read back, distinct recordNumbers among them, and what is missing or twice. */
  records: number;
  distinct: number;
  missing: number;
  duplicates: number;
  /** Bytes stored (compressed when gzip) and the JSON lines in them. */
  bytesStored: number;
  bytesPlain: number;
  maxRecordsPerObject: number;
  badKeys: number;
  /** MinIO's CPU (user+sys) from just before logstream was spawned until it exited; peak RSS. */
  serverCpuS: number;
  serverPeakRssMb: number;
  readBackS: number;
  sinkRetries: number;
  sinkErrors: number;
  /** With signed manifests (S3_MANIFEST_SIGNING_KEY): manifests and anchors stored, and what
   *  `logstream verify s3` said and took (wall and CPU seconds of its process). */
  manifests?: { stored: number; verifyOk: boolean; verifyS: number; verifyCpuS: number; verifyObjectsPerS: number };
}

export interface S3Bench {
  readonly sink: LogstreamSink;
  readonly outputStarted: () => Promise<boolean>;
  /** After logstream has exited: reads every object back and checks it. */
  finish(expected: number, metrics: Record<string, number>): Promise<{ info: S3RunInfo; problems: string[] }>;
  stop(): Promise<void>;
}

/** Runs `logstream verify s3` over the bucket: its verdict, wall time and CPU (sampled from /proc
 *  every 20 ms while it runs: the last sample before it exits). */
async function verifyRun(env: Record<string, string>, keyFile: string): Promise<{ ok: boolean; s: number; cpuS: number; objects: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['src/main.ts', 'verify', 's3', '--key', keyFile, '--json'], { cwd: join(import.meta.dirname, '../..'), env: { PATH: process.env['PATH'] ?? '', HOME: '/tmp', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  let cpu = { userS: 0, sysS: 0 };
  const sampler = setInterval(() => {
    try {
      cpu = readProcessCpu(child.pid!);
    } catch {
      // exited between two samples
    }
  }, 20);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  const report = JSON.parse(Buffer.concat(out).toString('utf8')) as { ok: boolean; objectsChecked: number };
  return { ok: code === 0 && report.ok, s: (performance.now() - t0) / 1000, cpuS: cpu.userS + cpu.sysS, objects: report.objectsChecked };
}

export async function startS3Bench(opts: { gzip: boolean; manifests?: boolean }): Promise<S3Bench> {
  const minio = await MinioPeer.start();
  await minio.createBucket(BUCKET);
  const cpuBefore: CpuTimes = readProcessCpu(minio.pid);
  const env: Record<string, string> = { ...minio.env(BUCKET, PREFIX), S3_LOG_TYPE_FIELD: 'type', S3_GZIP: String(opts.gzip) };
  let keyFile: string | undefined;
  if (opts.manifests) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-manifest-key-'));
    keyFile = join(dir, 'signing.key');
    await writeFile(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    env['S3_MANIFEST_SIGNING_KEY_FILE'] = keyFile;
  }
  delete (env as Record<string, string>).SINKS;
  return {
    sink: { kind: 's3', env },
    outputStarted: async () => (await minio.list(BUCKET, `${PREFIX}/`)).length > 0,
    async finish(expected, metrics) {
      const cpu = readProcessCpu(minio.pid);
      const serverPeakRssMb = readPeakRssBytes(minio.pid) / MB;
      const t0 = performance.now();
      const listed = await minio.list(BUCKET, `${PREFIX}/`);
      const seen = new Uint8Array(expected);
      let records = 0;
      let duplicates = 0;
      let outside = 0;
      let bytesStored = 0;
      let bytesPlain = 0;
      let maxRecordsPerObject = 0;
      let badKeys = 0;
      let overLimit = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < listed.length) {
            const o = listed[next++]!;
            if (!KEY.test(o.key) || o.key.endsWith('.gz') !== opts.gzip) badKeys++;
            const got = await minio.read(BUCKET, o.key);
            const text = opts.gzip && got.head.ContentEncoding === 'gzip' ? gunzipSync(got.raw).toString('utf8') : got.text;
            bytesStored += got.raw.length;
            bytesPlain += Buffer.byteLength(text);
            let lines = 0;
            for (const m of text.matchAll(/"recordNumber":(\d+)/g)) {
              lines++;
              const id = Number(m[1]);
              if (id >= expected) outside++;
              else if (seen[id]!++ > 0) duplicates++;
            }
            records += lines;
            maxRecordsPerObject = Math.max(maxRecordsPerObject, lines);
            if (lines > MAX_RECORDS || Buffer.byteLength(text) > MAX_BYTES + lines) overLimit++;
          }
        }),
      );
      let missing = 0;
      for (const c of seen) if (c === 0) missing++;
      const info: S3RunInfo = {
        gzip: opts.gzip,
        objects: listed.length,
        records,
        distinct: expected - missing,
        missing,
        duplicates,
        bytesStored,
        bytesPlain,
        maxRecordsPerObject,
        badKeys,
        serverCpuS: cpu.userS + cpu.sysS - cpuBefore.userS - cpuBefore.sysS,
        serverPeakRssMb,
        readBackS: (performance.now() - t0) / 1000,
        sinkRetries: metrics['logstream_sink_retries_total'] ?? Number.NaN,
        sinkErrors: metrics['logstream_sink_errors_total'] ?? Number.NaN,
      };
      const problems: string[] = [];
      if (keyFile !== undefined) {
        const stored = (await minio.list(BUCKET, 'logstream-manifests/')).length;
        const v = await verifyRun(env, keyFile);
        info.manifests = { stored, verifyOk: v.ok, verifyS: v.s, verifyCpuS: v.cpuS, verifyObjectsPerS: v.objects / v.s };
        if (!v.ok) problems.push('S3: `logstream verify s3` did not find the archive complete and intact');
      }
      if (missing > 0) problems.push(`S3: ${missing} records LOST (not in any object)`);
      if (duplicates > 0) problems.push(`S3: ${duplicates} records stored twice`);
      if (outside > 0) problems.push(`S3: ${outside} lines with an unknown recordNumber`);
      if (badKeys > 0) problems.push(`S3: ${badKeys} objects outside the key layout`);
      if (overLimit > 0) problems.push(`S3: ${overLimit} objects over ${MAX_RECORDS} records or ${MAX_BYTES} bytes`);
      return { info, problems };
    },
    async stop() {
      const dir = minio.logFile.replace(/\/minio\.out$/, '');
      await minio.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function formatS3Runs(runs: ReadonlyArray<{ name: string; s3?: S3RunInfo }>): string[] {
  const s3 = runs.filter((x) => x.s3);
  if (s3.length === 0) return [];
  return [
    '',
    formatTable(
      ['S3 (MinIO)', 'objects', 'records', 'missing', 'dup', 'rec/object', 'max rec/object', 'MB stored', 'MB lines', 'ratio', 'MinIO CPU s', 'MinIO RSS MB', 'retries', 'sink errors', 'read-back s'],
      s3.map((x) => {
        const s = x.s3!;
        return [
          x.name,
          fmt(s.objects, 0),
          fmt(s.records, 0),
          fmt(s.missing, 0),
          fmt(s.duplicates, 0),
          fmt(s.records / Math.max(1, s.objects), 0),
          fmt(s.maxRecordsPerObject, 0),
          fmt(s.bytesStored / MB, 1),
          fmt(s.bytesPlain / MB, 1),
          `${fmt(s.bytesPlain / Math.max(1, s.bytesStored), 2)} : 1`,
          fmt(s.serverCpuS, 1),
          fmt(s.serverPeakRssMb, 0),
          fmt(s.sinkRetries, 0),
          fmt(s.sinkErrors, 0),
          fmt(s.readBackS, 1),
        ];
      }),
    ),
    'MinIO (built from the Go module proxy, single drive in a temp dir) runs on the same cores; its CPU is counted from logstream\'s spawn until logstream exited.',
    'Objects: one per partition, log type (`type`) and minute of `timestamp` at least (the bench records are 37 ms apart), at most 1000 records or 100 MiB (the sink\'s defaults).',
    ...manifestLines(s3),
  ];
}

function manifestLines(runs: ReadonlyArray<{ name: string; s3?: S3RunInfo }>): string[] {
  const withManifests = runs.filter((x) => x.s3?.manifests);
  if (withManifests.length === 0) return [];
  return [
    '',
    formatTable(
      ['signed manifests', 'manifests + anchors', 'verify', 'verify s', 'verify CPU s', 'objects/s verified'],
      withManifests.map((x) => {
        const m = x.s3!.manifests!;
        return [x.name, fmt(m.stored, 0), m.verifyOk ? 'complete and intact' : 'FAILED', fmt(m.verifyS, 1), fmt(m.verifyCpuS, 1), fmt(m.verifyObjectsPerS, 0)];
      }),
    ),
    '`logstream verify s3` after the run reads every manifest and anchor and every object back (SHA-256 and line count), on the same cores as MinIO.',
  ];
}
