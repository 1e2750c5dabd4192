// The Log Stream key layout: <prefix>/<logType>/YYYY/MM/DD/HH/MM/<uuid>.json, UTC from the record's
// time field (else the Kafka timestamp), and the name derived from the batch.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { batchObjectId, eventTimeMs, logTypeOf, minuteFolder, objectKey, recordFolder, testObjectKey } from '../../../src/sinks/s3/object-key.ts';
import { KAFKA_TS, cfg, rec } from './support.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const md5 = (s: string) => createHash('md5').update(s).digest();

describe('S3 object layout', () => {
  const c = cfg();

  it('the seed\'s examples land in the seed\'s folders', () => {
    expect(recordFolder(rec({ logType: 'activities', timestamp: '2024-02-01T18:50:04.782960647Z' }), c)).toBe('activities/2024/02/01/18/50');
    expect(recordFolder(rec({ logType: 'queries', timestamp: '2024-02-02T13:10:20.895597163Z' }), c)).toBe('queries/2024/02/02/13/10');
    expect(recordFolder(rec({ logType: 'replays', timestamp: '2024-02-26T21:16:12.377835194Z' }), c)).toBe('replays/2024/02/26/21/16');
    // The Test record's year 1 still names a 4-digit folder.
    expect(recordFolder(rec({ logType: 'activities', timestamp: '0001-01-01T00:00:00Z' }), c)).toBe('activities/0001/01/01/00/00');
  });

  it('the full key: prefix, folder, a UUID, .json or .json.gz', () => {
    const id = batchObjectId([rec({})], md5('x'));
    expect(id).toMatch(UUID);
    expect(objectKey(c, 'activities/2024/02/01/18/50', id)).toBe(`sdm/logs/activities/2024/02/01/18/50/${id}.json`);
    expect(objectKey(cfg({ S3_GZIP: 'true' }), 'queries/2024/02/01/18/50', id)).toBe(`sdm/logs/queries/2024/02/01/18/50/${id}.json.gz`);
    expect(objectKey(cfg({ S3_PREFIX: '' }), 'replays/2024/02/01/18/50', id)).toBe(`replays/2024/02/01/18/50/${id}.json`);
    expect(objectKey(cfg({ S3_PREFIX: '/a/b/' }), 'x/2024/02/01/18/50', id)).toBe(`a/b/x/2024/02/01/18/50/${id}.json`);
    expect(testObjectKey('sdm/logs')).toBe('sdm/logs/test');
    expect(testObjectKey('')).toBe('test');
  });

  it('time zones are converted to UTC, across an hour, a day, a month and a year', () => {
    expect(recordFolder(rec({ timestamp: '2024-02-01T23:30:00-05:00' }), c)).toBe('logs/2024/02/02/04/30');
    expect(recordFolder(rec({ timestamp: '2024-03-01T00:59:59+01:00' }), c)).toBe('logs/2024/02/29/23/59'); // leap day
    expect(recordFolder(rec({ timestamp: '2025-01-01T05:29:00+05:30' }), c)).toBe('logs/2024/12/31/23/59');
    expect(recordFolder(rec({ timestamp: '2024-06-30T20:15:00-03:45' }), c)).toBe('logs/2024/07/01/00/00');
  });

  it('minute edges: the last millisecond of a minute and the first of the next', () => {
    expect(minuteFolder(Date.UTC(2024, 1, 1, 18, 59, 59, 999))).toBe('2024/02/01/18/59');
    expect(minuteFolder(Date.UTC(2024, 1, 1, 19, 0, 0, 0))).toBe('2024/02/01/19/00');
    expect(recordFolder(rec({ timestamp: '2024-02-01T18:59:59.999999999Z' }), c)).toBe('logs/2024/02/01/18/59');
    expect(recordFolder(rec({ timestamp: '2024-12-31T23:59:59.999Z' }), c)).toBe('logs/2024/12/31/23/59');
    expect(recordFolder(rec({ timestamp: '2025-01-01T00:00:00Z' }), c)).toBe('logs/2025/01/01/00/00');
  });

  it('epoch seconds and milliseconds, as numbers or text', () => {
    const s = Date.UTC(2024, 1, 1, 18, 50, 4) / 1000;
    for (const t of [s, String(s), s * 1000, String(s * 1000), s + 0.5]) expect(recordFolder(rec({ timestamp: t }), c)).toBe('logs/2024/02/01/18/50');
  });

  it('no time field, an unreadable one or one outside years 0–9999: the Kafka timestamp', () => {
    const kafka = 'logs/2024/02/01/18/50';
    expect(eventTimeMs(rec({}), 'timestamp')).toBe(KAFKA_TS);
    for (const t of [undefined, null, '', 'yesterday', {}, [], true, -5, '+010000-01-01T00:00:00Z']) expect(recordFolder(rec({ timestamp: t }), c)).toBe(kafka);
    expect(recordFolder(rec({ at: '2030-05-06T07:08:09Z' }), cfg({ S3_TIME_FIELD: 'at' }))).toBe('logs/2030/05/06/07/08');
    expect(recordFolder(rec({ meta: { at: '2030-05-06T07:08:09Z' } }), cfg({ S3_TIME_FIELD: 'meta.at' }))).toBe('logs/2030/05/06/07/08');
    expect(recordFolder(rec({ _raw: 'not json' }, { timestamp: Date.UTC(2001, 8, 9, 1, 46, 40) }), c)).toBe('logs/2001/09/09/01/46');
  });

  it('log type: from the field, the default when missing, unsafe characters replaced', () => {
    const lt = (v: unknown) => logTypeOf(rec({ logType: v }), c);
    expect(lt('activities')).toBe('activities');
    expect(lt(undefined)).toBe('logs');
    expect(lt(null)).toBe('logs');
    expect(lt('a/b')).toBe('a_b');
    expect(lt('../etc')).toBe('.._etc');
    expect(lt('..')).toBe('logs');
    expect(lt('')).toBe('logs');
    expect(lt('Ünïcode type')).toBe('_n_code_type');
    expect(lt(42)).toBe('42');
    expect(lt('x'.repeat(300))).toHaveLength(100);
    expect(logTypeOf(rec({ kind: 'dns' }), cfg({ S3_LOG_TYPE_FIELD: 'kind', S3_LOG_TYPE_DEFAULT: 'other' }))).toBe('dns');
    expect(logTypeOf(rec({}), cfg({ S3_LOG_TYPE_FIELD: 'kind', S3_LOG_TYPE_DEFAULT: 'other' }))).toBe('other');
  });

  it('the object name is derived from the batch: the same batch, the same name; any difference, another', () => {
    const batch = [rec({}, { offset: '7' }), rec({}, { offset: '9' })];
    const a = batchObjectId(batch, md5('body'));
    expect(a).toMatch(UUID);
    expect(batchObjectId([rec({}, { offset: '7' }), rec({}, { offset: '9' })], md5('body'))).toBe(a);
    expect(batchObjectId(batch, md5('other body'))).not.toBe(a);
    expect(batchObjectId([rec({}, { offset: '7' })], md5('body'))).not.toBe(a);
    expect(batchObjectId([rec({}, { offset: '7', partition: 4 }), rec({}, { offset: '9', partition: 4 })], md5('body'))).not.toBe(a);
    expect(batchObjectId([rec({}, { offset: '7', topic: 'b' }), rec({}, { offset: '9', topic: 'b' })], md5('body'))).not.toBe(a);
    expect(batchObjectId([rec({}, { offset: '79' })], md5('body'))).not.toBe(batchObjectId([rec({}, { offset: '7' }), rec({}, { offset: '9' })].slice(0, 1), md5('body')));
  });
});
