// Which broker errors the operator commands and the test helpers wait out (a broker restart must not
// fail them), and that they give up on the others at once.
import { describe, expect, it } from 'vitest';
import { isRetriableKafkaError, retryKafka } from '../../src/source/kafka/group-admin.ts';

describe('retriable Kafka errors', () => {
  it('recognises a coordinator loading after a restart, also wrapped by exhausted retries', () => {
    const loading = Object.assign(new Error("The coordinator is loading and hence can't process requests"), { type: 'COORDINATOR_LOAD_IN_PROGRESS' });
    expect(isRetriableKafkaError(loading)).toBe(true);
    expect(isRetriableKafkaError(Object.assign(new Error('Number of retries exceeded'), { originalError: loading }))).toBe(true);
    expect(isRetriableKafkaError(new Error('x', { cause: new Error('This server is not the leader for that topic-partition') }))).toBe(true);
    expect(isRetriableKafkaError(Object.assign(new Error('Not authorized to access group'), { type: 'GROUP_AUTHORIZATION_FAILED' }))).toBe(false);
    expect(isRetriableKafkaError(undefined)).toBe(false);
  });

  it('retries until the call succeeds, and fails at once on an error that is not retriable', async () => {
    let calls = 0;
    const ok = await retryKafka(async () => {
      calls++;
      if (calls < 3) throw Object.assign(new Error('loading'), { type: 'COORDINATOR_LOAD_IN_PROGRESS' });
      return 'done';
    });
    expect([ok, calls]).toEqual(['done', 3]);
    let denied = 0;
    await expect(
      retryKafka(async () => {
        denied++;
        throw Object.assign(new Error('denied'), { type: 'TOPIC_AUTHORIZATION_FAILED' });
      }),
    ).rejects.toThrow('denied');
    expect(denied).toBe(1);
  });
});
