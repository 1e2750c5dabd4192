// `logstream s3 test`: the Log Stream "Test" button. Writes the test record to <S3_PREFIX>/test in
// S3_BUCKET with the S3 sink's settings and says exactly what is wrong when it cannot (region, bucket,
// credentials, permission, endpoint). Exit 0 written, 1 not written, 2 bad configuration or usage.
import { parseS3Config } from '../sinks/s3/config.ts';
import { S3Transport } from '../sinks/s3/transport.ts';
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
    const written = await transport.writeTestObject(TEST_TIMEOUT_MS);
    out.write(`Log Stream test successful: wrote s3://${written.bucket}/${written.key} (${written.bytes} bytes; ${where})\n`);
    return 0;
  } catch (e) {
    err.write(`logstream: S3 test failed: ${(e as Error).message}\n`);
    return 1;
  } finally {
    transport.close();
  }
}
