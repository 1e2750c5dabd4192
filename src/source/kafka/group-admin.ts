// What the operator commands ask about a consumer group: its members, its lag, and waiting until it
// has none (Kafka refuses to move the offsets of a group that has members). Retriable broker errors
// (coordinator loading or moving) are retried here, so a command does not fail on a broker restart.
import { errorNamesOf, findInKafkaError, type KafkaErrorNode } from './error-tree.ts';
import type { GroupDescription, KafkaAdmin } from './interface.ts';

export type GroupState = GroupDescription;

export interface TopicLag {
  topic: string;
  /** Sum over partitions of end offset minus committed offset (the whole partition when nothing is committed). */
  lag: number;
  /** Partitions with no committed offset. */
  uncommitted: number;
}

/** Errors a broker answers while it (re)starts, elects a leader or moves a coordinator: they pass. */
const RETRIABLE_TYPES = /COORDINATOR_LOAD_IN_PROGRESS|COORDINATOR_NOT_AVAILABLE|NOT_COORDINATOR|REBALANCE_IN_PROGRESS|LEADER_NOT_AVAILABLE|NOT_LEADER|UNKNOWN_TOPIC_OR_PARTITION|REQUEST_TIMED_OUT|NETWORK_EXCEPTION/;
const RETRIABLE_TEXT = /coordinator is (loading|not available)|not the correct coordinator|leader.*not available|not the leader|Connection error|ECONNREFUSED|timed out/i;

/** True when `err`, or an error it wraps (a client's retries exhausted: originalError, cause, errors), is retriable.
 *  The error name is in `type` (kafkajs, adapters), `code`, or `apiId` (@platformatic/kafka's ProtocolError). */
export function isRetriableKafkaError(err: unknown): boolean {
  const retriable = (e: KafkaErrorNode): true | undefined =>
    errorNamesOf(e).some((n) => RETRIABLE_TYPES.test(n)) || (typeof e.message === 'string' && RETRIABLE_TEXT.test(e.message)) ? true : undefined;
  return findInKafkaError(err, retriable) ?? false;
}

/** Runs `fn` until it succeeds or fails with an error that is not retriable, for up to `timeoutMs`. */
export async function retryKafka<T>(fn: () => Promise<T>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline || !isRetriableKafkaError(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** i)));
    }
  }
}

export async function groupState(admin: KafkaAdmin, group: string): Promise<GroupState> {
  return retryKafka(() => admin.describeGroup(group));
}

export async function groupLag(admin: KafkaAdmin, group: string, topics: readonly string[]): Promise<TopicLag[]> {
  const out: TopicLag[] = [];
  for (const topic of topics) {
    const [ends, done] = await Promise.all([retryKafka(() => admin.offsets(topic)), retryKafka(() => admin.committed(group, topic))]);
    let lag = 0;
    let uncommitted = 0;
    for (const p of ends) {
      const c = done.get(p.partition);
      if (c === undefined) uncommitted++;
      lag += Math.max(0, p.high - (c === undefined ? p.low : c));
    }
    out.push({ topic, lag, uncommitted });
  }
  return out;
}

/** Polls until the group has no members; false after `timeoutMs`. */
export async function waitForEmptyGroup(admin: KafkaAdmin, group: string, timeoutMs: number, pollMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await groupState(admin, group)).members === 0) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
