// Amazon SQS sink settings (SQS_*). Credentials are not settings: they come from the AWS default chain
// (env AWS_ACCESS_KEY_ID…, AWS_PROFILE and shared files, web identity, container and instance metadata).
import { ConfigError } from '../../core/errors.ts';
import { parseVars, v, type Env } from '../../config/vars.ts';
import { followedAwsCredentials, type AwsCredentialProvider } from '../aws/credentials.ts';

/** SQS's ceiling for one message and for one SendMessageBatch call (raised from 256 KiB). */
export const SQS_MAX_BYTES = 1024 * 1024;

const httpUrl = (name: string) => (s: string): string | undefined => {
  try {
    const u = new URL(s);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return `${JSON.stringify(s)} is not an http(s) URL`;
    if (u.username || u.password) return `${JSON.stringify(u.origin)} must not carry credentials (${name} takes none; use the AWS credential chain)`;
    return undefined;
  } catch {
    return `${JSON.stringify(s)} is not a URL`;
  }
};

export const sqsVars = {
  SQS_QUEUE_URL: v.string({ doc: 'The queue, e.g. `https://sqs.eu-west-1.amazonaws.com/123456789012/siem-logs`; a name ending in `.fifo` is a FIFO queue.', required: true }),
  SQS_REGION: v.optionalString({ doc: 'AWS region for signing. Unset: AWS_REGION, else the region in an AWS queue URL.' }),
  SQS_ENDPOINT: v.optionalString({ doc: 'Endpoint override (an SQS-compatible server, a VPC endpoint, tests). Unset: the queue URL\'s origin.' }),
  SQS_MAX_MESSAGE_BYTES: v.bytes({ doc: 'Message size limit (body plus message attributes). The queue\'s own `MaximumMessageSize` is read at start and the smaller of the two applies; a larger record goes to the dead-letter topic with the reason.', default: SQS_MAX_BYTES, min: 1024, max: SQS_MAX_BYTES }),
  SQS_MESSAGE_GROUP_FIELD: v.optionalString({ doc: 'FIFO queues: record field holding the MessageGroupId (order is kept within a group). Unset, or missing in a record: `<topic>-<partition>`.' }),
  SQS_STAMP_ORIGIN: v.bool({ doc: 'Add message attributes kafka_topic, kafka_partition and kafka_offset, so a consumer can drop duplicates (they count towards the message size).', default: false }),
  SQS_CONNECTIONS: v.int({ doc: 'HTTP keep-alive connections to SQS at most (one batch is sent as up to ⌈records/10⌉ SendMessageBatch calls at once: 8 batches of 100 records make 80).', default: 100, min: 1, max: 1024 }),
};

export interface SqsConfig {
  /** Keys from a shared credentials file that is followed while running; undefined: the SDK's chain. */
  credentials?: AwsCredentialProvider | undefined;
  queueUrl: string;
  region: string;
  endpoint: string;
  /** The configured limit (1 MiB unless lowered); the queue's attribute is read at start. */
  maxMessageBytes: number;
  groupField: string | undefined;
  stampOrigin: boolean;
  connections: number;
  /** The queue name ends in .fifo (the FifoQueue attribute read at start may say so too). */
  fifoByName: boolean;
}

/** The region named by an AWS queue URL: sqs.<region>.amazonaws.com[.cn] or the legacy <region>.queue.amazonaws.com. */
export function regionOfQueueUrl(url: URL): string | undefined {
  return /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1] ?? /^([a-z0-9-]+)\.queue\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];
}

export function parseSqsConfig(env: Env): SqsConfig {
  const p = parseVars(sqsVars, env);
  const problems: string[] = [];
  const urlProblem = httpUrl('SQS_QUEUE_URL')(p.SQS_QUEUE_URL);
  const endpointProblem = p.SQS_ENDPOINT === undefined ? undefined : httpUrl('SQS_ENDPOINT')(p.SQS_ENDPOINT);
  if (urlProblem) problems.push(`SQS_QUEUE_URL: ${urlProblem}`);
  if (endpointProblem) problems.push(`SQS_ENDPOINT: ${endpointProblem}`);
  const url = urlProblem ? undefined : new URL(p.SQS_QUEUE_URL);
  const name = url?.pathname.replace(/\/+$/, '').split('/').pop() ?? '';
  if (url && !/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(name)) problems.push(`SQS_QUEUE_URL: ${JSON.stringify(p.SQS_QUEUE_URL)} does not end in a queue name (…/<account>/<name>)`);
  const envRegion = env['AWS_REGION']?.trim() || undefined;
  const region = p.SQS_REGION ?? envRegion ?? (url ? regionOfQueueUrl(url) : undefined);
  if (url && region === undefined) problems.push('SQS_REGION: is required (or AWS_REGION) when the queue URL names no AWS region');
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    credentials: followedAwsCredentials(env),
    queueUrl: p.SQS_QUEUE_URL,
    region: region!,
    endpoint: p.SQS_ENDPOINT ?? url!.origin,
    maxMessageBytes: p.SQS_MAX_MESSAGE_BYTES,
    groupField: p.SQS_MESSAGE_GROUP_FIELD,
    stampOrigin: p.SQS_STAMP_ORIGIN,
    connections: p.SQS_CONNECTIONS,
    fifoByName: name.endsWith('.fifo'),
  };
}
