/**
 * parse-regexp field, 'RE2' [as a, b, ...]: capturing groups → fields
 * (positional with `as`, otherwise the groups' names). No match: the record
 * passes unchanged. Extracted values are text.
 */
import type { Instruction } from '../ast.ts';
import type { Rec } from '../fields.ts';
import { compileRe2 } from '../regex.ts';
import { sourceReader, writeValue } from './output.ts';
import { writable, type Step } from './step.ts';

type Ins = Extract<Instruction, { kind: 'parse-regexp' }>;

export function compileParseRegexp(ins: Ins, where: string): Step {
  // The checker validated the pattern and the group/output counts.
  const rx = compileRe2(ins.pattern.value);
  const outputs = ins.outputs ? ins.outputs.map((o) => o.path) : rx.groupNames.map((n) => [n as string]);
  const read = sourceReader(ins.source.path, where);
  const re = rx.re;
  return (rec, _meta, owned) => {
    const s = read(rec);
    if (s === undefined) return rec;
    const m = re.exec(s);
    if (m === null) return rec;
    const out: Rec = writable(rec, owned);
    for (let i = 0; i < outputs.length; i++) writeValue(out, outputs[i] as string[], m[i + 1], false);
    return out;
  };
}
