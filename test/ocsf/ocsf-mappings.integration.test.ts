// The OCSF mappings in config/queries/ocsf-*.spl: every record they output is valid OCSF 1.1.0, as the
// published schema says (ocsf-json-schema 1.2.0 on PyPI, checked by jsonschema: scripts/ocsf-validator.ts),
// for the seed's StrongDM records, records missing each optional field, and hostile values. And the
// validator is no rubber stamp: outputs broken on purpose are refused.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileQuery } from '../../src/query/index.ts';
import { OCSF_VERSION, validateOcsf, type OcsfVerdict } from '../../scripts/ocsf-validator.ts';
import { QUERIES_DIR } from '../support/config-examples.ts';
import { SDM_ACTIVITIES, SDM_ALL, SDM_QUERY } from '../support/strongdm-seed.ts';

const MAPPINGS: Record<string, { class: string; classUid: number }> = {
  'ocsf-strongdm-authentication.spl': { class: 'authentication', classUid: 3002 },
  'ocsf-strongdm-api-activity.spl': { class: 'api_activity', classUid: 6003 },
  'ocsf-strongdm-datastore-activity.spl': { class: 'datastore_activity', classUid: 6005 },
};

/** The seed's records, each without each field in turn, and with hostile text in every text field. */
function corpus(): Array<Record<string, unknown>> {
  const base: Array<Record<string, unknown>> = [
    ...SDM_ALL,
    { ...SDM_ACTIVITIES[0], activity: 'user logged out of the Admin UI' },
    ...['User deleted', 'Role updated', 'Datasource created', 'Access revoked', 'Something else happened'].map((activity) => ({ ...SDM_ACTIVITIES[1], activity })),
    { ...SDM_QUERY, resourceType: 'mongo', durationMs: 'n/a' },
    { ...SDM_QUERY, sourceIp: '2001:db8::7' },
  ];
  const out = [...base];
  const keep = new Set(['logType', 'activity', 'timestamp']);
  for (const r of base) {
    for (const k of Object.keys(r)) if (!keep.has(k)) out.push(Object.fromEntries(Object.entries(r).filter(([key]) => key !== k)));
    out.push(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && !keep.has(k) ? `"}],\n{"x":"\\u0000 ${v}` : v])));
  }
  return out;
}

describe(`OCSF ${OCSF_VERSION} mappings (validated by ocsf-json-schema 1.2.0 + jsonschema)`, () => {
  const outputs = new Map<string, Array<Record<string, unknown>>>();
  let verdicts = new Map<string, OcsfVerdict[]>();

  beforeAll(async () => {
    const records = corpus();
    for (const file of Object.keys(MAPPINGS)) {
      const q = compileQuery(readFileSync(join(QUERIES_DIR, file), 'utf8'));
      outputs.set(file, records.map((r) => q.apply(r)).filter((r): r is Record<string, unknown> => r !== null));
    }
    verdicts = new Map(await Promise.all([...outputs].map(async ([file, recs]) => [file, await validateOcsf(recs)] as const)));
  }, 120_000);

  it('every ocsf-*.spl in config/queries is listed here', () => {
    expect(readdirSync(QUERIES_DIR).filter((f) => f.startsWith('ocsf-')).sort()).toEqual(Object.keys(MAPPINGS).sort());
  });

  it.each(Object.keys(MAPPINGS))('%s: every output is valid OCSF of its class', (file) => {
    const recs = outputs.get(file)!;
    expect(recs.length).toBeGreaterThan(3);
    const v = verdicts.get(file)!;
    const bad = v.flatMap((x, i) => (x.errors.length ? [`${JSON.stringify(recs[i]).slice(0, 300)} → ${x.errors.join('; ')}`] : []));
    expect(bad).toEqual([]);
    expect(new Set(v.map((x) => x.class))).toEqual(new Set([MAPPINGS[file]!.class]));
    for (const r of recs) {
      expect(r.class_uid).toBe(MAPPINGS[file]!.classUid);
      expect(r.type_uid).toBe((r.class_uid as number) * 100 + (r.activity_id as number));
      expect((r.metadata as { version: string }).version).toBe(OCSF_VERSION);
      expect(Number.isInteger(r.time)).toBe(true);
    }
  });

  it('each seed record goes to exactly one mapping (replays to none)', () => {
    const hits = SDM_ALL.map((r) => Object.keys(MAPPINGS).filter((f) => compileQuery(readFileSync(join(QUERIES_DIR, f), 'utf8')).apply(r) !== null));
    expect(hits).toEqual([['ocsf-strongdm-authentication.spl'], ['ocsf-strongdm-api-activity.spl'], ['ocsf-strongdm-authentication.spl'], ['ocsf-strongdm-datastore-activity.spl'], []]);
  });

  it('the validator refuses what is not OCSF: a missing required attribute, a wrong type, an unknown attribute or class', async () => {
    const good = outputs.get('ocsf-strongdm-authentication.spl')![0]!;
    const { time: _t, ...noTime } = good;
    const broken = [noTime, { ...good, activity_id: 'Logon' }, { ...good, colour: 'red' }, { ...good, class_uid: 9999 }, { ...good, user: {} }];
    const v = await validateOcsf(broken);
    expect(v.map((x) => x.errors.length > 0)).toEqual([true, true, true, true, true]);
    expect(v[0]!.errors.join()).toMatch(/'time' is a required property/);
    expect(v[2]!.errors.join()).toMatch(/'colour' was unexpected/);
  });
});
