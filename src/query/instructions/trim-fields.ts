/**
 * `trim-fields [-max-length=N] [-drop-empty] [f1, f2 …]`: cuts text longer than N characters (a
 * surrogate pair is never split) and removes fields that are null, '', [] or {} — from the listed
 * fields, or from every field at any depth when none is listed. Both are counted
 * (logstream_query_fields_trimmed_total), so a team sees what it no longer pays to index.
 */
import type { Instruction } from '../ast.ts';
import { pathReader, setOwn, setPath, removePath, type Rec } from '../fields.ts';
import type { QueryStats } from '../stats.ts';
import type { Step } from './step.ts';
import { writable } from './step.ts';

type TrimIns = Extract<Instruction, { kind: 'trim-fields' }>;

const isEmpty = (v: unknown): boolean =>
  v === null || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

function cut(s: string, max: number): string {
  let end = max;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // a high surrogate whose pair would be cut off
  return s.slice(0, end);
}

export function compileTrimFields(ins: TrimIns, stats: QueryStats): Step {
  const max = ins.maxLength;
  const dropEmpty = ins.dropEmpty;
  /** The value trimmed (a new object or array when anything inside changed), or undefined to remove it. */
  const trim = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (max > 0 && v.length > max) {
        stats.truncated++;
        return cut(v, max);
      }
      return dropEmpty && v === '' ? undefined : v;
    }
    if (v === null) return dropEmpty ? undefined : v;
    if (typeof v !== 'object') return v;
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const t = trim(v[i]);
        // Array elements keep their positions: an empty element is kept (dropping it would shift the rest).
        const kept = t === undefined ? v[i] : t;
        if (kept !== v[i]) (out ??= v.slice())[i] = kept;
      }
      const result = out ?? v;
      return dropEmpty && result.length === 0 ? undefined : result;
    }
    const obj = v as Rec;
    let out: Rec | undefined;
    for (const k of Object.keys(obj)) {
      const t = trim(obj[k]);
      if (t === obj[k]) continue;
      out ??= { ...obj };
      if (t === undefined) {
        stats.emptyRemoved++;
        delete out[k];
      } else setOwn(out, k, t);
    }
    const result = out ?? obj;
    return dropEmpty && Object.keys(result).length === 0 ? undefined : result;
  };

  if (ins.fields.length === 0) {
    return (rec, _meta, owned) => {
      let out: Rec | undefined;
      for (const k of Object.keys(rec)) {
        const v = rec[k];
        const t = trim(v);
        if (t === v) continue;
        out ??= writable(rec, owned);
        if (t === undefined) {
          stats.emptyRemoved++;
          delete out[k];
        } else setOwn(out, k, t);
      }
      return out ?? rec;
    };
  }
  const targets = ins.fields.map((f) => ({ path: f.path, read: pathReader(f.path) }));
  return (rec, _meta, owned) => {
    let out: Rec | undefined;
    for (const { path, read } of targets) {
      const v = read(out ?? rec);
      if (v === undefined) continue;
      const t = trim(v);
      if (t === v) continue;
      out ??= writable(rec, owned);
      if (t === undefined) {
        stats.emptyRemoved++;
        removePath(out, path);
      } else if (path.length === 1) setOwn(out, path[0] as string, t);
      else setPath(out, path, t);
    }
    return out ?? rec;
  };
}
