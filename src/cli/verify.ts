// `logstream verify s3 [--key public.pem]... [--since T] [--until T] [--json]`: proves an S3 archive
// written with S3_MANIFEST_SIGNING_KEY complete and unchanged, or names what is missing, changed,
// moved or removed. Reads the bucket with the S3_* settings and the AWS credential chain; needs only
// the public key (several for a rotated key). Exit 0: complete and intact; 1: not (or the archive
// could not be read); 2: bad usage or configuration.
// `logstream verify file PATH... […]` does the same for the files of file sinks written with
// FILE_MANIFEST_SIGNING_KEY (src/sinks/file/archive-reader.ts).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseS3Config } from '../sinks/s3/config.ts';
import { parseFileSigningKey } from '../sinks/file/config.ts';
import { fileArchiveReader } from '../sinks/file/archive-reader.ts';
import { parseTimeWindow } from './time-window.ts';
import { S3Transport } from '../sinks/s3/transport.ts';
import { s3ArchiveReader } from '../sinks/s3/archive-reader.ts';
import { verifyingKeys, type SigningKey } from '../sinks/manifest/document.ts';
import { reportText, verifyArchive, type ArchiveReader, type VerifyOptions } from '../sinks/manifest/verify.ts';
import { ConfigError } from '../core/errors.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createPublicKey, type KeyObject } from 'node:crypto';

const USAGE =
  'usage: logstream verify s3 [--key <public key PEM>]... [--since <time>] [--until <time>] [--json]\n' +
  '  (the bucket from S3_BUCKET, S3_PREFIX, S3_MANIFEST_PREFIX, S3_ENDPOINT…; without --key, the public half of S3_MANIFEST_SIGNING_KEY)\n' +
  '       logstream verify file [<FILE_PATH>]... [--key <public key PEM>]... [--since <time>] [--until <time>] [--json]\n' +
  '  (each FILE_PATH with its rotated files, their .manifests sidecars and its .anchors file; one per pod that wrote them;\n' +
  '   none: FILE_PATH; without --key, the public half of FILE_MANIFEST_SIGNING_KEY)\n';

export interface VerifyIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export async function verifyCommand(args: string[], env: NodeJS.ProcessEnv, io: VerifyIo): Promise<number> {
  let values: { key?: string[]; since?: string; until?: string; json?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args, allowPositionals: true, options: { key: { type: 'string', multiple: true }, since: { type: 'string' }, until: { type: 'string' }, json: { type: 'boolean' } } }));
  } catch (e) {
    io.stderr.write(`logstream: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const target = positionals[0];
  if (!(target === 's3' && positionals.length === 1) && target !== 'file') {
    io.stderr.write(USAGE);
    return 2;
  }
  const window = parseTimeWindow(values, io.stderr);
  if (window === undefined) return 2;
  if (target === 'file') {
    const roots = positionals.length > 1 ? positionals.slice(1) : env['FILE_PATH']?.trim() ? [env['FILE_PATH'].trim()] : [];
    if (roots.length === 0) {
      io.stderr.write(`logstream: verify file needs the files: <FILE_PATH>... (or FILE_PATH)\n${USAGE}`);
      return 2;
    }
    // ConfigError → exit 2 with the variable named.
    const keys = verifyKeys(values.key, () => parseFileSigningKey(env), 'FILE_MANIFEST_SIGNING_KEY', io);
    if (keys === undefined) return 2;
    return report(() => fileArchiveReader(roots), { keys, ...window }, values.json, io);
  }
  const cfg = parseS3Config(env); // ConfigError → exit 2 with the variable named
  const keys = verifyKeys(values.key, () => cfg.manifests?.key, 'S3_MANIFEST_SIGNING_KEY', io);
  if (keys === undefined) return 2;
  const s3 = new S3Transport(cfg, createLogger({ level: 'warn', name: 'logstream-verify' }));
  try {
    return await report(async () => s3ArchiveReader(cfg, s3), { keys, ...window }, values.json, io);
  } finally {
    s3.close();
  }
}

/** The public keys: from --key files, else the public half of the sink's signing key; undefined
 *  (and said why) when there are none or a file is not an Ed25519 key. */
function verifyKeys(files: string[] | undefined, signing: () => SigningKey | undefined, variable: string, io: VerifyIo): Map<string, KeyObject> | undefined {
  try {
    if (files?.length) return verifyingKeys(files.map((f) => readFileSync(f, 'utf8')));
    const own = signing();
    if (own !== undefined) return new Map([[own.id, createPublicKey(own.privateKey)]]);
    io.stderr.write(`logstream: verify needs the public key: --key <file> (or ${variable})\n${USAGE}`);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    io.stderr.write(`logstream: --key: ${(e as Error).message}\n`);
  }
  return undefined;
}

async function report(reader: () => Promise<ArchiveReader>, o: VerifyOptions, json: boolean | undefined, io: VerifyIo): Promise<number> {
  try {
    const r = await verifyArchive(await reader(), o);
    io.stdout.write(json ? `${JSON.stringify(r, null, 1)}\n` : reportText(r));
    return r.ok ? 0 : 1;
  } catch (e) {
    io.stderr.write(`logstream: cannot read the archive: ${(e as Error).message}\n`);
    return 1;
  }
}
