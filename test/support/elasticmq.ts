/**
 * A real SQS-compatible peer for the SQS sink's tests and benchmark: ElasticMQ (scripts/elasticmq.ts) as a
 * child java process on a free 127.0.0.1 port, plus an SDK client to create queues and read back what the
 * sink sent. stop() + restart() bring "the same" server back on the same port, with its configured
 * queues empty (ElasticMQ keeps messages in memory only: see scripts/elasticmq.ts). TcpGate (tcp-gate.ts) takes
 * an endpoint down without losing what the server holds. close() stops the server and removes its data dir.
 */
import { rm } from 'node:fs/promises';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { ELASTICMQ_ACCOUNT, startElasticMq, type ElasticMqOptions, type ElasticMqServer, type QueueSpec } from '../../scripts/elasticmq.ts';

/** ElasticMQ ignores signatures; the sink still needs credentials and a region to sign with. */
export const TEST_CREDENTIALS = { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key-never-logged' };
export const TEST_REGION = 'elasticmq';

export interface ReceivedMessage {
  body: string;
  attributes: Record<string, string>;
  groupId: string | undefined;
}

export class ElasticMqPeer {
  #server: ElasticMqServer;
  readonly #opts: ElasticMqOptions;
  readonly client: SQSClient;

  private constructor(server: ElasticMqServer, opts: ElasticMqOptions) {
    this.#server = server;
    this.#opts = opts;
    this.client = new SQSClient({ region: TEST_REGION, endpoint: server.endpoint, credentials: TEST_CREDENTIALS, maxAttempts: 3 });
  }

  static async start(opts: { queues?: Record<string, QueueSpec>; heapMb?: number } = {}): Promise<ElasticMqPeer> {
    return new ElasticMqPeer(await startElasticMq(opts), opts);
  }

  get endpoint(): string {
    return this.#server.endpoint;
  }

  queueUrl(name: string): string {
    return this.#server.queueUrl(name);
  }

  get port(): number {
    return this.#server.port;
  }
  get pid(): number {
    return this.#server.pid;
  }

  /** What a logstream instance needs to ship to `queue` here (through `endpoint`, e.g. a TcpGate's). */
  env(queue: string, endpoint = this.endpoint): Record<string, string> {
    return {
      SINKS: 'sqs',
      SQS_QUEUE_URL: `${endpoint}/${ELASTICMQ_ACCOUNT}/${queue}`,
      SQS_REGION: TEST_REGION,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    };
  }

  async createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
    const fifo = name.endsWith('.fifo') ? { FifoQueue: 'true' } : {};
    const r = await this.client.send(new CreateQueueCommand({ QueueName: name, Attributes: { ...fifo, ...attributes } }));
    return r.QueueUrl!;
  }

  async approximateCount(queue: string): Promise<number> {
    const r = await this.client.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl(queue), AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    return Number(r.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  /**
   * Receives messages until at least `expected` arrived and then `quietMs` passed without more (so
   * duplicates are seen too), or `timeoutMs` passed (then it says so on stderr and returns what it has).
   * Received messages stay invisible for 10 minutes, so each is received once; `ordered` (FIFO queues)
   * uses one receiver and deletes what it got, which a FIFO queue needs before it hands out the next
   * messages of a group.
   */
  async drain(queue: string, opts: { expected: number; ordered?: boolean; quietMs?: number; timeoutMs?: number }): Promise<ReceivedMessage[]> {
    const url = this.queueUrl(queue);
    const out: ReceivedMessage[] = [];
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    const quietMs = opts.quietMs ?? 1500;
    let lastArrival = Date.now();
    const done = (): boolean => Date.now() > deadline || (out.length >= opts.expected && Date.now() - lastArrival >= quietMs);
    const worker = async (): Promise<void> => {
      while (!done()) {
        let r;
        try {
          r = await this.client.send(
            new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 600, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['MessageGroupId'] }),
          );
        } catch {
          // A receive that timed out on a loaded machine: what it would have received stays in the queue.
          await new Promise((res) => setTimeout(res, 500));
          continue;
        }
        const msgs: Message[] = r.Messages ?? [];
        if (msgs.length === 0) continue;
        lastArrival = Date.now();
        for (const m of msgs) {
          const attributes: Record<string, string> = {};
          for (const [k, v] of Object.entries(m.MessageAttributes ?? {})) if (v.StringValue !== undefined) attributes[k] = v.StringValue;
          out.push({ body: m.Body ?? '', attributes, groupId: m.Attributes?.MessageGroupId });
        }
        if (opts.ordered) await this.client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
    };
    await Promise.all(Array.from({ length: opts.ordered ? 1 : 8 }, worker));
    if (out.length < opts.expected) process.stderr.write(`[elasticmq] drain of ${queue}: ${out.length} of ${opts.expected} messages within ${timeoutMs} ms (the queue holds ${await this.approximateCount(queue)})\n`);
    return out;
  }

  /** SIGTERM; the port and the data dir are kept for restart(). */
  async stop(): Promise<void> {
    await this.#server.stop();
  }

  /** Starts the server again on the same port and data dir. */
  async restart(): Promise<void> {
    this.#server = await startElasticMq({ ...this.#opts, port: this.#server.port, dataDir: this.#server.dataDir });
  }

  /** Stops the server and removes its data dir. */
  async close(): Promise<void> {
    this.client.destroy();
    await this.#server.stop();
    await rm(this.#server.dataDir, { recursive: true, force: true });
  }
}
