/**
 * `sample <fraction> [by f1, f2 …]`: keeps about that fraction of the records, chosen by a hash, not at
 * random, so a replay of the same offsets keeps the same records. Without `by` the hash is of the
 * record's Kafka coordinates (topic, partition, offset); with `by` it is of those fields' values, so
 * every record of one user or one source address is kept or dropped together (a session stays whole).
 * `-seed` changes which records a rate keeps (two routes sampling one topic can keep different ones).
 * `where <condition>` samples only the records it selects (the noisy ones); the others pass.
 */
import type { Instruction } from '../ast.ts';
import { compileCondition } from '../compile-expr.ts';
import { pathReader, type Rec } from '../fields.ts';
import type { QueryStats } from '../stats.ts';
import type { QueryMeta } from '../types.ts';
import type { Step } from './step.ts';

type SampleIns = Extract<Instruction, { kind: 'sample' }>;

const TWO_32 = 0x1_0000_0000;

/** 32-bit FNV-1a over UTF-16 code units, finished with murmur3's avalanche (FNV's low bits mix poorly). */
export function sampleHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A field value as key text (sample's hash, suppress's state): the type is part of it (404 and "404" differ), a missing field is its own token. */
export function keyPart(v: unknown): string {
  if (v === undefined || v === null) return '\u0000';
  if (typeof v === 'string') return `s${v}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v}${String(v)}`;
  return `j${JSON.stringify(v)}`;
}

/** Reads the key of a record from `paths` (sample's `by`, suppress's `by`) as one text. */
export function keyOfFields(paths: ReadonlyArray<readonly string[]>): (rec: Rec) => string {
  const readers = paths.map((p) => pathReader(p));
  if (readers.length === 1) {
    const read = readers[0] as (r: Rec) => unknown;
    return (rec) => keyPart(read(rec));
  }
  return (rec) => readers.map((read) => keyPart(read(rec))).join('\u0001');
}

export function compileSample(text: string, ins: SampleIns, stats: QueryStats): Step {
  const threshold = Math.floor(ins.rate * TWO_32);
  const seed = ins.seed === '' ? '' : `${ins.seed}\u0001`;
  const fieldsKey = ins.by.length === 0 ? undefined : keyOfFields(ins.by.map((f) => f.path));
  const keyOf =
    fieldsKey === undefined
      ? (rec: Rec, meta: QueryMeta | undefined) => (meta ? `${seed}${meta.topic}\u0001${meta.partition}\u0001${meta.offset}` : `${seed}${JSON.stringify(rec)}`)
      : (rec: Rec) => seed + fieldsKey(rec);
  if (ins.rate >= 1) return (rec) => rec;
  const only = ins.only ? compileCondition({ text }, ins.only) : undefined;
  return (rec, meta) => {
    if (only !== undefined && only(rec, meta) !== true) return rec;
    if (sampleHash(keyOf(rec, meta)) < threshold) return rec;
    stats.dropped.sample++;
    return null;
  };
}
