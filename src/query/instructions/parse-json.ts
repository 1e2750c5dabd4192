/**
 * parse-json [-prefix='p_'] [-path='$.a.b'] [-mode='overwrite'|'preserve'] field
 * Expands the first level of a JSON object into fields. Unlike SLS (where
 * every value becomes text) values keep their JSON type: a nested object
 * stays an object. Text that is not JSON, or a path that does not lead to an
 * object, leaves the record unchanged (SLS: no extraction). A field that
 * already holds an object is expanded directly.
 */
import type { Instruction } from '../ast.ts';
import { pathReader, type Rec } from '../fields.ts';
import { evalJsonPath, parseJsonPath } from '../json-path.ts';
import { writeValue } from './output.ts';
import { writable, type Step } from './step.ts';

type Ins = Extract<Instruction, { kind: 'parse-json' }>;

function isObject(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function compileParseJson(ins: Ins): Step {
  const read = pathReader(ins.source.path);
  const steps = ins.path ? parseJsonPath(ins.path.value) : [];
  const { prefix } = ins;
  const preserve = ins.mode === 'preserve';
  return (rec, _meta, owned) => {
    const v = read(rec);
    let doc: unknown;
    if (typeof v === 'string') {
      try {
        doc = JSON.parse(v);
      } catch {
        return rec;
      }
    } else if (isObject(v)) {
      doc = v;
    } else {
      return rec;
    }
    const target = steps.length ? evalJsonPath(doc, steps) : doc;
    if (!isObject(target)) return rec;
    const out = writable(rec, owned);
    for (const k of Object.keys(target)) writeValue(out, [prefix + k], target[k], preserve);
    return out;
  };
}
