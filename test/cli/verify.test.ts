// `logstream verify`'s usage and configuration errors (exit 2, saying what is wrong); the verdicts are
// tested against real stores in test/integration/archive-proof.integration.test.ts (S3, MinIO) and
// test/sinks/file/verify-cli.test.ts (files).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { verifyCommand } from '../../src/cli/verify.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { tmpDir } from '../support/instance.ts';

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stderr: string }> {
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  err.on('data', (c: Buffer) => chunks.push(c));
  const code = await verifyCommand(args, env, { stdout: new PassThrough(), stderr: err });
  return { code, stderr: Buffer.concat(chunks).toString() };
}

describe('logstream verify: usage', () => {
  it('names the store, the key and the times it needs', async () => {
    expect(await cli([])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^usage: logstream verify s3/) });
    expect(await cli(['gcs'])).toMatchObject({ code: 2 });
    expect((await cli(['s3'], { S3_BUCKET: 'bucket' })).stderr).toMatch(/^logstream: verify needs the public key: --key <file> \(or S3_MANIFEST_SIGNING_KEY\)/);
    expect((await cli(['file'])).stderr).toMatch(/^logstream: verify file needs the files: <FILE_PATH>\.\.\. \(or FILE_PATH\)/);
    expect((await cli(['s3', '--since', 'yesterday-ish'], { S3_BUCKET: 'bucket' })).stderr).toBe('logstream: --since and --until take an ISO 8601 time or epoch seconds/ms\n');
    const notKey = join(tmpDir('verify-cli'), 'x.pub');
    writeFileSync(notKey, 'not a key');
    expect(await cli(['s3', '--key', notKey], { S3_BUCKET: 'bucket' })).toMatchObject({ code: 2, stderr: expect.stringMatching(/^logstream: --key: /) });
  });

  it('a bad S3 or file setting is a ConfigError naming the variable (exit 2 from main)', async () => {
    await expect(cli(['s3'])).rejects.toThrow(ConfigError);
    await expect(cli(['s3'], { S3_BUCKET: 'bucket', S3_MANIFEST_SIGNING_KEY: 'x' })).rejects.toThrow(/S3_MANIFEST_SIGNING_KEY: not a PEM private key/);
    await expect(cli(['file', '/tmp/x'], { FILE_MANIFEST_SIGNING_KEY: 'x' })).rejects.toThrow(/FILE_MANIFEST_SIGNING_KEY: not a PEM private key/);
  });
});
