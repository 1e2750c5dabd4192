// Static keys in a mounted shared credentials file follow the file: the SDK client signs the next
// request with the rotated key, without a restart. A real S3 client against a local HTTP server that
// records which access key id signed each request.
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchedFiles } from '../../../src/config/watched-file.ts';
import { followedAwsCredentials } from '../../../src/sinks/aws/credentials.ts';
import { parseS3Config } from '../../../src/sinks/s3/config.ts';
import { tmpDir } from '../../support/instance.ts';
import { replaceFile } from '../../support/mounted-file.ts';

const keys = (id: string): string => `[default]\naws_access_key_id = ${id}\naws_secret_access_key = secret-of-${id}\n`;

let server: Server;
let endpoint: string;
/** The access key id of each request's SigV4 Authorization header. */
const signedBy: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    signedBy.push(/Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? 'unsigned');
    req.resume();
    req.on('end', () => res.writeHead(200, { etag: '"e"' }).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server?.close();
});

describe('AWS keys from a shared credentials file', () => {
  it('the next request is signed with a rotated key; a file without keys is refused and the previous key kept', async () => {
    const path = join(tmpDir('aws-credentials'), 'credentials');
    writeFileSync(path, keys('AKIAFIRST'));
    const cfg = parseS3Config({ S3_BUCKET: 'logs', S3_ENDPOINT: endpoint, S3_REGION: 'eu-west-1', AWS_SHARED_CREDENTIALS_FILE: path });
    expect(cfg.credentials).toBeTypeOf('function');
    const client = new S3Client({ credentials: cfg.credentials!, endpoint, region: 'eu-west-1', forcePathStyle: true });
    const put = (): Promise<unknown> => client.send(new PutObjectCommand({ Bucket: 'logs', Key: 'k', Body: 'x' }));
    const file = watchedFiles.all.find((f) => f.path === path)!;
    expect(file.variable).toBe('AWS_SHARED_CREDENTIALS_FILE');
    await file.poll();

    await put();
    await put();
    replaceFile(path, keys('AKIASECOND'));
    expect(await file.poll()).toEqual({ result: 'changed' });
    await put();
    replaceFile(path, '[default]\nregion = eu-west-1\n');
    expect(await file.poll()).toEqual({ result: 'invalid', why: 'holds no aws_access_key_id' });
    await put();
    expect(signedBy).toEqual(['AKIAFIRST', 'AKIAFIRST', 'AKIASECOND', 'AKIASECOND']);
    client.destroy();
  });

  it('not followed when keys come from the environment (first in the chain) or no such file is set', () => {
    const path = join(tmpDir('aws-credentials-env'), 'credentials');
    writeFileSync(path, keys('AKIAFILE'));
    expect(followedAwsCredentials({ AWS_SHARED_CREDENTIALS_FILE: path, AWS_ACCESS_KEY_ID: 'AKIAENV' })).toBeUndefined();
    expect(followedAwsCredentials({})).toBeUndefined();
    expect(followedAwsCredentials({ AWS_SHARED_CREDENTIALS_FILE: join(path, 'missing') })).toBeUndefined();
  });
});
