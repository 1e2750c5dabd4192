// The consumer-protocol membership's own logic, against a scripted coordinator (the broker's answers
// as functions): what a member reports while it gives partitions up, what it does when fenced, and the
// error that names the setting when the broker refuses the protocol. Against the real broker:
// test/integration/kafka-rebalance.integration.test.ts.
import { ResponseError } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import type { TopicPartitions } from '../../../src/source/kafka/interface.ts';
import { ConsumerProtocolMembership, type HeartbeatAnswer, type HeartbeatRequest } from '../../../src/source/platformatic/consumer-protocol.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

const logger = createLogger({ level: 'silent' });
const T = '00000000-0000-0000-0000-00000000000a';
/** The library's error for a ConsumerGroupHeartbeat answer carrying `code` (as its parser throws it). */
const CODES = { UNSUPPORTED_VERSION: 35, GROUP_AUTHORIZATION_FAILED: 30, FENCED_MEMBER_EPOCH: 110, UNRELEASED_INSTANCE_ID: 111 } as const;
const protocolError = (name: keyof typeof CODES) => new ResponseError(68, 1, { '/': [CODES[name], null] }, {});

function membership(answer: (req: HeartbeatRequest, n: number) => HeartbeatAnswer | Error, o: { reconcile?: (t: TopicPartitions[]) => Promise<void>; isStatic?: boolean; topicIds?: () => Promise<Map<string, string>> } = {}) {
  const sent: HeartbeatRequest[] = [];
  const events: string[] = [];
  const fatal: Error[] = [];
  const m = new ConsumerProtocolMembership({
    send: async (req) => {
      sent.push(structuredClone(req));
      const a = answer(req, sent.length);
      if (a instanceof Error) throw a;
      return a;
    },
    apiVersion: async () => 1,
    logger,
    isStatic: o.isStatic ?? false,
    topicIds: o.topicIds ?? (async () => new Map([['logs', T]])),
    hooks: {
      reconcile: async (t) => {
        events.push(`reconcile ${t.flatMap((x) => x.partitions).join(',')}`);
        await o.reconcile?.(t);
        events.push('reconciled');
      },
      lost: async (why) => {
        events.push(`lost ${why}`);
      },
      confirmed: () => undefined,
      fatal: (e) => fatal.push(e),
    },
  });
  return { m, sent, events, fatal };
}

const answer = (epoch: number, partitions?: number[]): HeartbeatAnswer => ({ memberId: null, memberEpoch: epoch, heartbeatIntervalMs: 20, assignment: partitions ? { topicPartitions: [{ topicId: T, partitions }] } : null });
const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

describe('consumer protocol membership', () => {
  it('joins with a member id of its own at epoch 0, and reports a revoked partition as owned until its drain is done', async () => {
    let drained!: () => void;
    const drain = new Promise<void>((r) => (drained = r));
    const { m, sent, events } = membership((_req, n) => (n === 1 ? answer(1, [0, 1]) : n < 4 ? answer(1) : n === 4 ? answer(2, [0]) : answer(2)), {
      reconcile: (t) => (t[0]!.partitions.length === 1 ? drain : Promise.resolve()),
    });
    await m.join();
    expect(sent[0]).toMatchObject({ memberEpoch: 0, owned: [] });
    expect(sent[0]!.memberId).toMatch(/^[0-9a-f-]{36}$/);
    await until(() => events.includes('reconcile 0'));
    // While partition 1 drains, the heartbeats still report it.
    const during = sent.length;
    await until(() => sent.length > during + 2);
    expect(sent.slice(during).every((r) => r.owned[0]?.partitions.join() === '0,1')).toBe(true);
    drained();
    await until(() => sent.at(-1)!.owned[0]?.partitions.join() === '0');
    expect(sent.every((r) => r.memberId === sent[0]!.memberId)).toBe(true);
    await m.leave();
    expect(sent.at(-1)).toMatchObject({ memberEpoch: -1, owned: [] });
  });

  it('an assignment whose topic id the metadata does not know yet is tried again, not dropped (the broker sends it only once)', async () => {
    let lookups = 0;
    const { m, sent, events } = membership((_req, n) => (n === 1 ? answer(1, [0, 1]) : answer(1)), {
      topicIds: async () => (++lookups <= 2 ? new Map() : new Map([['logs', T]])),
    });
    await m.join();
    await until(() => events.includes('reconcile 0,1'));
    await until(() => sent.at(-1)!.owned[0]?.partitions.join() === '0,1');
    expect(lookups).toBe(3);
    await m.leave();
  }, 10_000);

  it('a static member leaves with epoch -2 (its assignment waits for it)', async () => {
    const { m, sent } = membership(() => answer(3, [0]), { isStatic: true });
    await m.join();
    await m.leave();
    expect(sent.at(-1)!.memberEpoch).toBe(-2);
  });

  it('fenced: its partitions are lost (the adapter forgets them), and it joins again at epoch 0 with the same id', async () => {
    const { m, sent, events } = membership((_req, n) => (n === 1 ? answer(5, [0]) : n === 3 ? protocolError('FENCED_MEMBER_EPOCH') : n === 4 ? answer(6, [1]) : answer(6)));
    await m.join();
    await until(() => events.includes('reconcile 1'));
    expect(events).toContain('lost FENCED_MEMBER_EPOCH');
    expect(sent[3]).toMatchObject({ memberEpoch: 0, owned: [], memberId: sent[0]!.memberId });
    await m.leave();
  });

  it('restarted after a kill -9 as a static member: waits while the broker answers UNRELEASED_INSTANCE_ID, then joins', async () => {
    const { m, sent } = membership((_req, n) => (n <= 3 ? protocolError('UNRELEASED_INSTANCE_ID') : answer(1, [0])), { isStatic: true });
    await m.join();
    expect(sent.length).toBe(4);
    expect(new Set(sent.map((r) => r.memberId)).size).toBe(1);
    await m.leave();
  }, 20_000);

  it('a broker without the consumer protocol fails the join naming KAFKA_GROUP_PROTOCOL', async () => {
    const { m } = membership(() => protocolError('UNSUPPORTED_VERSION'));
    await expect(m.join()).rejects.toThrow(/^KAFKA_GROUP_PROTOCOL: the broker does not offer the consumer group protocol.*use KAFKA_GROUP_PROTOCOL=classic/);
  });

  it('a refusal that no retry mends, after the join, is fatal and stops the heartbeats', async () => {
    const { m, sent, fatal } = membership((_req, n) => (n === 1 ? answer(1, [0]) : protocolError('GROUP_AUTHORIZATION_FAILED')));
    await m.join();
    await until(() => fatal.length === 1);
    expect(fatal[0]!.message).toMatch(/^KAFKA_GROUP_ID: not authorised/);
    const n = sent.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(sent.length).toBe(n);
    await m.leave();
  });
});
