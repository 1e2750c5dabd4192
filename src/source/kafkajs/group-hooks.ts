// kafkajs has two gaps logstream must close, and closes here, in the one file that touches its
// consumer-group internals:
//
// 1. No "partitions revoked" callback: on a rebalance kafkajs rejoins at once, and the new owner of a
//    partition starts from the last commit, re-delivering whatever this instance had in flight. The
//    join hook runs before every join (first join, rebalance, restart after a crash), so the pipeline
//    can stop taking records, drain what is in flight and commit while its generation is still valid
//    (the coordinator accepts commits while preparing a rebalance).
// 2. Offsets deleted by retention are skipped silently: a fetch of an offset below the log start gets
//    OFFSET_OUT_OF_RANGE, and kafkajs commits its default offset (-2 earliest / -1 latest) over the
//    group's commit and carries on. The out-of-range hook runs before that reset, while the group's
//    commit still says where the route was, so the records lost can be counted and named.
//
// How: kafkajs passes each consumer's partition assigners to its ConsumerGroup; we give the consumer
// an assigner (round robin, the kafkajs default, same protocol name) that carries both hooks, and wrap
// ConsumerGroup.prototype.joinAndSync and .recoverFromOffsetOutOfRange once to await the hooks of its
// assigners. kafkajs 2.2.4 is the last release (2023), so its internals are stable; installGroupHooks()
// fails loudly if they changed (test/source/group-hooks.test.ts checks it too).
import { createRequire } from 'node:module';
import { PartitionAssigners, type PartitionAssigner } from 'kafkajs';

const BEFORE_JOIN = Symbol.for('logstream.beforeJoin');
const OUT_OF_RANGE = Symbol.for('logstream.offsetOutOfRange');
const PATCHED = Symbol.for('logstream.groupHooksInstalled');

/** Runs before kafkajs resets an out-of-range partition; may return work to run after the reset. */
export type OutOfRangeHook = (topic: string, partition: number) => Promise<(() => void) | void>;

type Hooked = { [BEFORE_JOIN]?: () => Promise<void>; [OUT_OF_RANGE]?: OutOfRangeHook };
type Group = { assigners?: Hooked[] };

export function installGroupHooks(): void {
  const require = createRequire(import.meta.url);
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: Record<string | symbol, unknown> };
  const proto = ConsumerGroup?.prototype;
  if (!proto || typeof proto.joinAndSync !== 'function' || typeof proto.recoverFromOffsetOutOfRange !== 'function') {
    throw new Error('kafkajs internals changed: ConsumerGroup.joinAndSync / recoverFromOffsetOutOfRange not found; the group hooks cannot be installed');
  }
  if (proto[PATCHED]) return;
  const join = proto.joinAndSync as (this: Group, ...args: unknown[]) => Promise<unknown>;
  proto.joinAndSync = async function (this: Group, ...args: unknown[]): Promise<unknown> {
    for (const assigner of this.assigners ?? []) await assigner[BEFORE_JOIN]?.();
    return join.apply(this, args);
  };
  const recover = proto.recoverFromOffsetOutOfRange as (this: Group, e: { topic: string; partition: number }) => Promise<unknown>;
  proto.recoverFromOffsetOutOfRange = async function (this: Group, e: { topic: string; partition: number }): Promise<unknown> {
    const after: Array<() => void> = [];
    for (const assigner of this.assigners ?? []) {
      const then = await assigner[OUT_OF_RANGE]?.(e.topic, e.partition).catch(() => undefined);
      if (then) after.push(then);
    }
    const result = await recover.call(this, e);
    for (const then of after) then();
    return result;
  };
  proto[PATCHED] = true;
}

/** The round-robin assigner, carrying the hooks for the patched ConsumerGroup. */
export function assignerWithHooks(hooks: { beforeJoin: () => Promise<void>; offsetOutOfRange: OutOfRangeHook }): PartitionAssigner {
  return (config) => Object.assign(PartitionAssigners.roundRobin(config), { [BEFORE_JOIN]: hooks.beforeJoin, [OUT_OF_RANGE]: hooks.offsetOutOfRange });
}
