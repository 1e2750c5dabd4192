// Sends delivery batches to one SQS queue with SendMessageBatch through the AWS SDK (AWS JSON protocol).
// A batch of more than 10 records becomes several calls: sent at once on a standard queue, one after the
// other on a FIFO queue, where a failed entry also holds back every later entry of its message group so
// that its retry cannot be overtaken (sendInGroupOrder). One limit remains: if SQS refuses an entry yet
// accepts a later entry of the same group within the same call, that later message is already queued.
//
// The SDK is built with maxAttempts 1: the delivery layer (src/delivery) does every retry, with its own
// backoff and health reporting, instead of the SDK retrying for minutes out of sight. The SDK's own body
// MD5 check is off (md5: false) because it fails a whole call for one garbled entry, which would send the
// good entries twice; entryOutcomes() checks each entry instead.
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { oneLine, type DeliveryError } from '../../core/errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { Batch, BatchItem, SendResult } from '../../delivery/sink.ts';
import { SQS_MAX_BYTES, type SqsConfig } from './config.ts';
import { messageBytes, messageGroupId } from './encoder.ts';
import { describeSqsError, sqsCallError } from './faults.ts';
import { buildEntries, entryOutcomes, sendInGroupOrder, splitIntoCalls } from './send-batch.ts';

const START_TIMEOUT_MS = 15_000;

export interface QueueInfo {
  fifo: boolean;
  /** The limit for one message and for one call: min(queue's MaximumMessageSize, SQS_MAX_MESSAGE_BYTES, 1 MiB). */
  maxBytes: number;
  /** The queue's MaximumMessageSize attribute, when it reports one (ElasticMQ does not). */
  queueMaxBytes: number | undefined;
}

/** A batch's per-item outcomes (undefined = delivered), filled in by the calls. */
type Outcomes = Array<DeliveryError | undefined>;

export class SqsTransport {
  readonly #cfg: SqsConfig;
  readonly #client: SQSClient;
  #queue: QueueInfo;

  constructor(cfg: SqsConfig, logger: Logger) {
    this.#cfg = cfg;
    this.#queue = { fifo: cfg.fifoByName, maxBytes: Math.min(cfg.maxMessageBytes, SQS_MAX_BYTES), queueMaxBytes: undefined };
    const agent = { keepAlive: true, maxSockets: cfg.connections };
    // Only the SDK's warnings in words reach our log. Its per-call info and error entries carry the request
    // (message bodies): leaving `info` and `error` out skips them, and the SDK then does not even build them.
    const sdkLogger = {
      debug: () => {},
      warn: (m: unknown) => {
        if (typeof m === 'string') logger.warn(`AWS SDK: ${oneLine(m)}`);
      },
    } as unknown as SQSClientConfig['logger'];
    this.#client = new SQSClient({
      ...(cfg.credentials !== undefined ? { credentials: cfg.credentials } : {}),
      region: cfg.region,
      endpoint: cfg.endpoint,
      maxAttempts: 1,
      md5: false,
      logger: sdkLogger,
      requestHandler: { httpAgent: agent, httpsAgent: agent, connectionTimeout: 10_000, logger: sdkLogger },
    });
  }

  get queue(): QueueInfo {
    return this.#queue;
  }

  /** Reads the queue's MaximumMessageSize and FifoQueue attributes. Throws one line naming the queue. */
  async readQueue(): Promise<QueueInfo> {
    let attrs: Record<string, string>;
    try {
      const reply = await this.#client.send(new GetQueueAttributesCommand({ QueueUrl: this.#cfg.queueUrl, AttributeNames: ['MaximumMessageSize', 'FifoQueue'] }), {
        abortSignal: AbortSignal.timeout(START_TIMEOUT_MS),
      });
      attrs = reply.Attributes ?? {};
    } catch (err) {
      throw new Error(`SQS queue ${this.#cfg.queueUrl} (endpoint ${this.#cfg.endpoint}, region ${this.#cfg.region}): GetQueueAttributes failed: ${describeSqsError(err)}`, { cause: err });
    }
    const attr = Number(attrs['MaximumMessageSize']);
    const queueMaxBytes = Number.isInteger(attr) && attr > 0 ? attr : undefined;
    this.#queue = {
      fifo: this.#cfg.fifoByName || attrs['FifoQueue'] === 'true',
      maxBytes: Math.min(queueMaxBytes ?? SQS_MAX_BYTES, this.#cfg.maxMessageBytes, SQS_MAX_BYTES),
      queueMaxBytes,
    };
    return this.#queue;
  }

  async send(batch: Batch, signal: AbortSignal): Promise<SendResult | void> {
    const { items } = batch;
    const sizes = items.map((i) => messageBytes(i.payload, i.record.meta, this.#cfg.stampOrigin));
    const calls = splitIntoCalls(sizes, this.#queue.maxBytes);
    const outcomes: Outcomes = new Array(items.length).fill(undefined);
    const groups = this.#queue.fifo ? items.map((i) => messageGroupId(i.record, this.#cfg.groupField)) : undefined;
    await this.#sendCalls(items, calls, groups, outcomes, signal);
    const failures: Array<{ index: number; error: DeliveryError }> = [];
    outcomes.forEach((error, index) => {
      if (error) failures.push({ index, error });
    });
    // One error for everything (the queue is down, a timeout): report it as the batch's failure.
    if (failures.length === items.length && failures.every((f) => f.error === failures[0]!.error)) throw failures[0]!.error;
    return failures.length > 0 ? { failures } : undefined;
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  async #sendCalls(items: readonly BatchItem[], calls: number[][], groups: readonly string[] | undefined, outcomes: Outcomes, signal: AbortSignal): Promise<void> {
    const send = (call: number[]): Promise<void> => this.#call(items, call, groups, outcomes, signal);
    if (groups) await sendInGroupOrder(calls, groups, outcomes, send);
    else await Promise.all(calls.map(send));
  }

  async #call(items: readonly BatchItem[], call: number[], groups: readonly string[] | undefined, outcomes: Outcomes, signal: AbortSignal): Promise<void> {
    const Entries = buildEntries(items, call, { stampOrigin: this.#cfg.stampOrigin, groups });
    try {
      const reply = await this.#client.send(new SendMessageBatchCommand({ QueueUrl: this.#cfg.queueUrl, Entries }), { abortSignal: signal });
      entryOutcomes(items, call, reply).forEach((error, position) => {
        outcomes[call[position]!] = error;
      });
    } catch (err) {
      const error = sqsCallError(err);
      // One unacceptable message refuses the whole call: send the entries one by one to find it.
      if (error.deliveryClass === 'permanent' && call.length > 1) {
        await this.#sendCalls(items, call.map((i) => [i]), groups, outcomes, signal);
        return;
      }
      for (const i of call) outcomes[i] = error;
    }
  }
}
