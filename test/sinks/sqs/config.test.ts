import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.ts';
import { parseSqsConfig } from '../../../src/sinks/sqs/config.ts';

const URL_ = 'https://sqs.eu-west-1.amazonaws.com/123456789012/siem-logs';

function problems(env: Record<string, string>): string[] {
  try {
    parseSqsConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('SQS sink configuration', () => {
  it('defaults: region from the AWS queue URL, endpoint = the queue URL origin, 1 MiB, no attributes', () => {
    expect(parseSqsConfig({ SQS_QUEUE_URL: URL_ })).toEqual({
      queueUrl: URL_,
      region: 'eu-west-1',
      endpoint: 'https://sqs.eu-west-1.amazonaws.com',
      maxMessageBytes: 1048576,
      groupField: undefined,
      stampOrigin: false,
      connections: 100,
      fifoByName: false,
    });
  });

  it('region: SQS_REGION, else AWS_REGION, else the URL (legacy host names too); required for other hosts', () => {
    expect(parseSqsConfig({ SQS_QUEUE_URL: URL_, AWS_REGION: 'us-east-1' }).region).toBe('us-east-1');
    expect(parseSqsConfig({ SQS_QUEUE_URL: URL_, AWS_REGION: 'us-east-1', SQS_REGION: 'ap-south-1' }).region).toBe('ap-south-1');
    expect(parseSqsConfig({ SQS_QUEUE_URL: 'https://us-west-2.queue.amazonaws.com/1/q' }).region).toBe('us-west-2');
    expect(parseSqsConfig({ SQS_QUEUE_URL: 'https://sqs.cn-north-1.amazonaws.com.cn/1/q' }).region).toBe('cn-north-1');
    expect(problems({ SQS_QUEUE_URL: 'http://127.0.0.1:9324/000000000000/q' })).toEqual(['SQS_REGION: is required (or AWS_REGION) when the queue URL names no AWS region']);
  });

  it('FIFO by name, endpoint override, limit, group field, attributes', () => {
    const c = parseSqsConfig({
      SQS_QUEUE_URL: 'http://127.0.0.1:9324/000000000000/orders.fifo',
      SQS_REGION: 'elasticmq',
      SQS_ENDPOINT: 'http://127.0.0.1:9324',
      SQS_MAX_MESSAGE_BYTES: '256KiB',
      SQS_MESSAGE_GROUP_FIELD: 'user',
      SQS_STAMP_ORIGIN: 'true',
    });
    expect(c).toMatchObject({ fifoByName: true, endpoint: 'http://127.0.0.1:9324', maxMessageBytes: 262144, groupField: 'user', stampOrigin: true });
  });

  it('names the variable of each problem', () => {
    expect(problems({})).toEqual(['SQS_QUEUE_URL: is required but not set']);
    expect(problems({ SQS_QUEUE_URL: 'ftp://x/1/q', SQS_REGION: 'x' })).toEqual(['SQS_QUEUE_URL: "ftp://x/1/q" is not an http(s) URL']);
    expect(problems({ SQS_QUEUE_URL: 'https://key:secret@sqs.eu-west-1.amazonaws.com/1/q' })[0]).toMatch(/^SQS_QUEUE_URL: .*must not carry credentials/);
    expect(problems({ SQS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/' })[0]).toMatch(/^SQS_QUEUE_URL: .*does not end in a queue name/);
    expect(problems({ SQS_QUEUE_URL: URL_, SQS_ENDPOINT: 'nope' })).toEqual(['SQS_ENDPOINT: "nope" is not a URL']);
    expect(problems({ SQS_QUEUE_URL: URL_, SQS_MAX_MESSAGE_BYTES: '2MiB' })[0]).toMatch(/^SQS_MAX_MESSAGE_BYTES: must be at most 1048576/);
    expect(problems({ SQS_QUEUE_URL: URL_, SQS_MAX_MESSAGE_BYTES: '100' })[0]).toMatch(/^SQS_MAX_MESSAGE_BYTES: must be at least 1024/);
  });
});
