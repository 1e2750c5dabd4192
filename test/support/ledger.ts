/**
 * Fault-test bookkeeping (../shared/PROTOCOLS.md conventions): every produced record carries a run id,
 * its partition, a sequence number and a hash of its body; after a run the outputs are compared with
 * what was produced and reported as lost / duplicated / altered counts.
 */
import { createHash } from 'node:crypto';
import type { TestRecord } from './kafka.ts';

export interface LedgerRecord {
  run: string;
  id: number;
  partition: number;
  seq: number;
  body: string;
  hash: string;
  [k: string]: unknown;
}

const hashOf = (body: string): string => createHash('sha256').update(body).digest('hex').slice(0, 16);

/** `n` security-log-shaped records spread round-robin over `partitions`. */
export function ledgerRecords(run: string, n: number, partitions: number, first = 0): TestRecord[] {
  const out: TestRecord[] = [];
  for (let i = first; i < first + n; i++) {
    const partition = i % partitions;
    const body = `user u${i % 977} ${i % 3 ? 'login' : 'download'} from 10.0.${i % 256}.${(i * 7) % 256}`;
    const value: LedgerRecord = { run, id: i, partition, seq: Math.floor(i / partitions), body, hash: hashOf(body), severity: ['low', 'medium', 'high'][i % 3] };
    out.push({ partition, value });
  }
  return out;
}

export interface Tally {
  delivered: number;
  lost: number;
  dup: number;
  altered: number;
  foreign: number;
}

/** Compares output rows with ids first…first+n-1 of `run`. */
export function tally(run: string, n: number, rows: Iterable<Record<string, unknown>>, first = 0): Tally {
  const seen = new Uint32Array(n);
  let delivered = 0;
  let altered = 0;
  let foreign = 0;
  for (const r of rows) {
    if (r.run !== run || typeof r.id !== 'number' || r.id < first || r.id >= first + n) {
      foreign++;
      continue;
    }
    delivered++;
    seen[r.id - first]!++;
    if (typeof r.body !== 'string' || hashOf(r.body) !== r.hash) altered++;
  }
  let lost = 0;
  let dup = 0;
  for (const c of seen) {
    if (c === 0) lost++;
    else dup += c - 1;
  }
  return { delivered, lost, dup, altered, foreign };
}
