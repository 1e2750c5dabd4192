// kafkajs has no "partitions revoked" callback: on a rebalance it rejoins the group at once, and the
// new owner of a partition starts from the last commit, re-delivering whatever this instance had in
// flight. This module gives the consumer a hook that runs before every join (first join, rebalance,
// restart after a crash), so the pipeline can stop taking records, drain what is in flight and commit
// while its generation is still valid (the coordinator accepts commits while preparing a rebalance).
//
// How: kafkajs passes each consumer's partition assigners to its ConsumerGroup; we give the consumer
// an assigner (round robin, the kafkajs default, same protocol name) that carries the hook, and wrap
// ConsumerGroup.prototype.joinAndSync once to await the hooks of its assigners. kafkajs 2.2.4 is the
// last release (2023), so its internals are stable; installJoinHook() fails loudly if they changed.
import { createRequire } from 'node:module';
import { PartitionAssigners, type PartitionAssigner } from 'kafkajs';

const BEFORE_JOIN = Symbol.for('logstream.beforeJoin');
const PATCHED = Symbol.for('logstream.joinHookInstalled');

type Hooked = { [BEFORE_JOIN]?: () => Promise<void> };

export function installJoinHook(): void {
  const require = createRequire(import.meta.url);
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: Record<string | symbol, unknown> };
  const proto = ConsumerGroup?.prototype;
  if (!proto || typeof proto.joinAndSync !== 'function') {
    throw new Error('kafkajs internals changed: ConsumerGroup.joinAndSync not found; the revoke hook cannot be installed');
  }
  if (proto[PATCHED]) return;
  const original = proto.joinAndSync as (this: { assigners?: Hooked[] }, ...args: unknown[]) => Promise<unknown>;
  proto.joinAndSync = async function (this: { assigners?: Hooked[] }, ...args: unknown[]): Promise<unknown> {
    for (const assigner of this.assigners ?? []) await assigner[BEFORE_JOIN]?.();
    return original.apply(this, args);
  };
  proto[PATCHED] = true;
}

/** The round-robin assigner, carrying `beforeJoin` for the patched joinAndSync. */
export function assignerWithJoinHook(beforeJoin: () => Promise<void>): PartitionAssigner {
  return (config) => Object.assign(PartitionAssigners.roundRobin(config), { [BEFORE_JOIN]: beforeJoin });
}
