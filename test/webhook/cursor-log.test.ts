import { describe, expect, it } from 'vitest';
import { CursorLog, parseLogRecord, splitLogKey, type WebhookCursor } from '../../src/webhook/cursor-log.ts';

const TTL = 60_000;
const cursor = (o: Record<string, number>, lastCallAt = 1): WebhookCursor => ({ topic: 't', offsets: o, lastCallAt });

describe('CursorLog rules', () => {
  it('grants a lease, refuses a second one while it is live, grants again after it expires', () => {
    const log = new CursorLog(TTL);
    expect(log.apply('k', { kind: 'lease', owner: 'a' }, 0, 1000)).toBe('accepted');
    expect(log.apply('k', { kind: 'lease', owner: 'b' }, 1, 1000 + TTL - 1)).toBe('rejected');
    expect(log.get('k')?.lease?.owner).toBe('a');
    expect(log.apply('k', { kind: 'lease', owner: 'b' }, 2, 1000 + TTL)).toBe('accepted');
    expect(log.get('k')?.lease).toEqual({ offset: 2, owner: 'b', ts: 1000 + TTL });
  });

  it('leases of different keys are independent', () => {
    const log = new CursorLog(TTL);
    expect(log.apply('k1', { kind: 'lease', owner: 'a' }, 0, 10)).toBe('accepted');
    expect(log.apply('k2', { kind: 'lease', owner: 'b' }, 1, 11)).toBe('accepted');
  });

  it('a cursor record advances seq by one and ends its lease; a second with the same seq is rejected', () => {
    const log = new CursorLog(TTL);
    log.apply('k', { kind: 'lease', owner: 'a' }, 0, 10);
    expect(log.apply('k', { kind: 'cursor', seq: 1, lease: 0, cursor: cursor({ 0: 5 }) }, 1, 20)).toBe('accepted');
    expect(log.get('k')).toMatchObject({ seq: 1, cursorOffset: 1, lease: undefined, cursor: { offsets: { 0: 5 } } });
    // a call whose lease had expired read seq 0 too and writes seq 1 after the winner
    expect(log.apply('k', { kind: 'cursor', seq: 1, lease: 7, cursor: cursor({ 0: 9 }) }, 2, 30)).toBe('rejected');
    expect(log.get('k')?.cursor?.offsets).toEqual({ 0: 5 });
    expect(log.apply('k', { kind: 'cursor', seq: 3, lease: 7, cursor: cursor({ 0: 9 }) }, 3, 30)).toBe('rejected');
    expect(log.apply('k', { kind: 'cursor', seq: 2, lease: 7, cursor: cursor({ 0: 9 }) }, 4, 30)).toBe('accepted');
  });

  it('a cursor record does not end another call\'s lease', () => {
    const log = new CursorLog(TTL);
    log.apply('k', { kind: 'lease', owner: 'a' }, 0, 10);
    log.apply('k', { kind: 'cursor', seq: 1, lease: 99, cursor: cursor({}) }, 1, 20);
    expect(log.get('k')?.lease?.offset).toBe(0);
  });

  it('release ends only the named lease of the same owner', () => {
    const log = new CursorLog(TTL);
    log.apply('k', { kind: 'lease', owner: 'a' }, 0, 10);
    expect(log.apply('k', { kind: 'release', owner: 'b', lease: 0 }, 1, 11)).toBe('ignored');
    expect(log.apply('k', { kind: 'release', owner: 'a', lease: 5 }, 2, 12)).toBe('ignored');
    expect(log.get('k')?.lease?.offset).toBe(0);
    expect(log.apply('k', { kind: 'release', owner: 'a', lease: 0 }, 3, 13)).toBe('accepted');
    expect(log.get('k')?.lease).toBeUndefined();
    expect(log.apply('k', { kind: 'lease', owner: 'b' }, 4, 14)).toBe('accepted');
  });

  it('after compaction a replica takes the surviving cursor record as the state', () => {
    const log = new CursorLog(TTL);
    expect(log.apply('k', { kind: 'cursor', seq: 41, lease: 3, cursor: cursor({ 0: 77 }) }, 500, 10)).toBe('accepted');
    expect(log.get('k')?.seq).toBe(41);
    expect(log.apply('k', { kind: 'cursor', seq: 42, lease: 3, cursor: cursor({ 0: 80 }) }, 501, 11)).toBe('accepted');
  });

  it('leaseLive follows the timeout', () => {
    const log = new CursorLog(TTL);
    log.apply('k', { kind: 'lease', owner: 'a' }, 0, 1000);
    expect(log.leaseLive(log.get('k'), 1000 + TTL - 1)).toBe(true);
    expect(log.leaseLive(log.get('k'), 1000 + TTL)).toBe(false);
    expect(log.leaseLive(undefined, 0)).toBe(false);
  });
});

describe('cursor topic records', () => {
  it('splits keys and parses values; unknown shapes are skipped', () => {
    expect(splitLogKey('lease/web/abc')).toEqual(['lease', 'web/abc']);
    expect(splitLogKey('cursor/web/abc')).toEqual(['cursor', 'web/abc']);
    expect(splitLogKey('other/x')).toBeUndefined();
    expect(splitLogKey('nokey')).toBeUndefined();
    expect(parseLogRecord(Buffer.from('{"kind":"lease","owner":"a"}'))).toEqual({ kind: 'lease', owner: 'a' });
    const c = { kind: 'cursor', seq: 1, lease: 0, cursor: { topic: 't', offsets: { 0: 3 }, lastCallAt: 5 } };
    expect(parseLogRecord(Buffer.from(JSON.stringify(c)))).toEqual(c);
    expect(parseLogRecord(Buffer.from(JSON.stringify({ ...c, cursor: { ...c.cursor, offsets: { 0: -1 } } })))).toBeUndefined();
    expect(parseLogRecord(Buffer.from('not json'))).toBeUndefined();
    expect(parseLogRecord(null)).toBeUndefined();
    expect(parseLogRecord(Buffer.from('{"kind":"lease"}'))).toBeUndefined();
  });
});
