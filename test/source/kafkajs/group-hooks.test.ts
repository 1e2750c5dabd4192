// The kafkajs internals the group hooks wrap must be where kafkajs 2.2.4 keeps them: a kafkajs upgrade
// that moves them fails here, not silently in production (no drain before a rebalance, no count of
// records lost to retention).
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { installGroupHooks } from '../../../src/source/kafkajs/group-hooks.ts';

describe('kafkajs group hooks', () => {
  it('finds and wraps ConsumerGroup.joinAndSync and recoverFromOffsetOutOfRange', () => {
    const proto = (createRequire(import.meta.url)('kafkajs/src/consumer/consumerGroup.js') as { prototype: Record<string | symbol, unknown> }).prototype;
    const before = [proto.joinAndSync, proto.recoverFromOffsetOutOfRange];
    expect(before.every((f) => typeof f === 'function')).toBe(true);
    installGroupHooks();
    expect(proto.joinAndSync).not.toBe(before[0]);
    expect(proto.recoverFromOffsetOutOfRange).not.toBe(before[1]);
    installGroupHooks(); // idempotent
    expect(proto[Symbol.for('logstream.groupHooksInstalled')]).toBe(true);
  });
});
