/**
 * `lookup [-prefix='p_'] [-default='text'] <table> on <field>`: adds the columns of the table's row
 * for the field's value (the key column excluded), each as <prefix><column>. Nothing matches: with
 * -default every column of the table gets that text, else nothing is added (value retention: an
 * existing field is never overwritten by a miss). The row comes from the table's current version.
 */
import type { Instruction } from '../ast.ts';
import { pathReader, setOwn, type Rec } from '../fields.ts';
import { lookupKey, type LookupTable } from '../lookups.ts';
import { writable, type Step } from './step.ts';

type LookupIns = Extract<Instruction, { kind: 'lookup' }>;

export function compileLookup(ins: LookupIns, table: LookupTable): Step {
  const read = pathReader(ins.source.path);
  const prefix = ins.prefix;
  const fallback = ins.fallback;
  return (rec, _meta, owned) => {
    const key = lookupKey(read(rec));
    const contents = table.current();
    const row = key === undefined ? undefined : contents.match(key);
    if (row === undefined) {
      if (fallback === null) return rec;
      const out = writable(rec, owned);
      for (const c of contents.columns) setOwn(out, prefix + c, fallback);
      return out;
    }
    let out: Rec | undefined;
    for (const c in row) {
      const value = row[c];
      if (value === undefined || value === null) continue;
      out ??= writable(rec, owned);
      setOwn(out, prefix + c, value);
    }
    return out ?? rec;
  };
}
