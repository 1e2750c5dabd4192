// SendMessageBatch, without I/O: a delivery batch split into calls (at most 10 entries and the byte limit
// each), the entries of one call, and each entry's outcome read from the HTTP 200 reply.
import { hash } from 'node:crypto';
import type { SendMessageBatchRequestEntry, SendMessageBatchResult } from '@aws-sdk/client-sqs';
import { retriable, type DeliveryError } from '../../core/errors.ts';
import type { BatchItem } from '../../delivery/sink.ts';
import { deduplicationId, originAttributes } from './encoder.ts';
import { failedEntryError } from './faults.ts';

/** SendMessageBatch takes 10 entries at most. */
export const MAX_ENTRIES = 10;

/**
 * Groups item indexes, in order, into calls of at most `maxEntries` entries whose sizes add up to at most
 * `maxBytes` (SQS's limit for a whole call). An item larger than `maxBytes` (the encoder keeps them out)
 * would travel alone.
 */
export function splitIntoCalls(sizes: readonly number[], maxBytes: number, maxEntries = MAX_ENTRIES): number[][] {
  const calls: number[][] = [];
  let call: number[] = [];
  let bytes = 0;
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i]!;
    if (call.length > 0 && (call.length >= maxEntries || bytes + size > maxBytes)) {
      calls.push(call);
      call = [];
      bytes = 0;
    }
    call.push(i);
    bytes += size;
  }
  if (call.length > 0) calls.push(call);
  return calls;
}

export interface EntryOptions {
  readonly stampOrigin: boolean;
  /** FIFO queues: the MessageGroupId of every item of the batch. */
  readonly groups?: readonly string[] | undefined;
}

/** The entries of one call. Entry Ids are the positions in the call ("0"…"9"): unique and valid. */
export function buildEntries(items: readonly BatchItem[], call: readonly number[], opts: EntryOptions): SendMessageBatchRequestEntry[] {
  return call.map((index, position) => {
    const item = items[index]!;
    const entry: SendMessageBatchRequestEntry = { Id: String(position), MessageBody: item.payload.toString('utf8') };
    if (opts.stampOrigin) entry.MessageAttributes = originAttributes(item.record.meta);
    if (opts.groups) {
      entry.MessageGroupId = opts.groups[index]!;
      entry.MessageDeduplicationId = deduplicationId(item.record.meta);
    }
    return entry;
  });
}

/**
 * The outcome of each entry of a call (by position; undefined = delivered). An entry reported successful
 * with a body MD5 that is not ours was garbled on the way: it is sent again. An entry the reply does not
 * mention is sent again too.
 */
export function entryOutcomes(items: readonly BatchItem[], call: readonly number[], reply: SendMessageBatchResult): Array<DeliveryError | undefined> {
  const out: Array<DeliveryError | undefined | null> = new Array(call.length).fill(null); // null: not in the reply
  const position = (id: string | undefined): number => {
    const p = id !== undefined && /^\d+$/.test(id) ? Number(id) : -1;
    return p < call.length ? p : -1;
  };
  for (const s of reply.Successful ?? []) {
    const p = position(s.Id);
    if (p < 0) continue;
    const expected = hash('md5', items[call[p]!]!.payload);
    out[p] = s.MD5OfMessageBody === expected ? undefined : retriable('SQS_MD5_MISMATCH', `SQS reports body MD5 ${s.MD5OfMessageBody ?? '(none)'}, expected ${expected}: sending the message again`);
  }
  for (const f of reply.Failed ?? []) {
    const p = position(f.Id);
    if (p >= 0) out[p] = failedEntryError(f);
  }
  return out.map((o) => (o === null ? retriable('SQS_ENTRY_MISSING', 'the SendMessageBatch reply does not mention this entry') : o));
}

/**
 * FIFO: sends the calls one after the other. Once an entry of a message group fails with an error that
 * will be retried, the later entries of that group are not sent in this attempt: they get the same error,
 * so the delivery layer retries them after it, in order. (A dead-lettered entry holds nothing back.)
 * `send` delivers the given indexes and records their outcomes in `outcomes`.
 */
export async function sendInGroupOrder(
  calls: readonly number[][],
  groups: readonly string[],
  outcomes: Array<DeliveryError | undefined>,
  send: (call: number[]) => Promise<void>,
): Promise<void> {
  const held = new Map<string, DeliveryError>();
  for (const call of calls) {
    const open = call.filter((i) => {
      const error = held.get(groups[i]!);
      if (error) outcomes[i] = error;
      return !error;
    });
    if (open.length > 0) await send(open);
    for (const i of open) {
      const error = outcomes[i];
      if (error && error.deliveryClass !== 'permanent' && !held.has(groups[i]!)) held.set(groups[i]!, error);
    }
  }
}
