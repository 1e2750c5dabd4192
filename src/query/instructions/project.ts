/**
 * project / project-away / project-rename. Each builds a new record instead
 * of deleting keys in place: `delete` would both mutate the caller's record
 * and push V8 objects into slow dictionary mode.
 *
 * SLS semantics: patterns with `*` are wildcards only with -wildcard;
 * without it `"__tag__:*"` names exactly that field. In `project`, all
 * kept fields are taken first, then renames (`new = old`) read the input.
 */
import type { FieldRef, Instruction, ProjectItem } from '../ast.ts';
import { isInheritedName, pathReader, removePath, setOwn, setPath, type Rec } from '../fields.ts';
import type { Step } from './step.ts';

/** `*` matches any run of characters; everything else is literal and case-sensitive. */
export function wildcardMatcher(pattern: string): (name: string) => boolean {
  if (!pattern.includes('*')) return (n) => n === pattern;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'))
    .join('[\\s\\S]*');
  const re = new RegExp(`^${source}$`, 'u');
  return (n) => re.test(n);
}

const isPattern = (f: FieldRef, wildcard: boolean): boolean => wildcard && f.path.length === 1 && (f.path[0] as string).includes('*');

type ProjectIns = Extract<Instruction, { kind: 'project' }>;

export function compileProject(ins: ProjectIns): Step {
  type Keep = { kind: 'top'; key: string; own: boolean } | { kind: 'nested'; path: string[]; read: (r: Rec) => unknown } | { kind: 'pattern'; match: (n: string) => boolean };
  const keeps: Keep[] = [];
  const renames: Array<{ to: string[]; read: (r: Rec) => unknown }> = [];
  for (const item of ins.items as ProjectItem[]) {
    if (item.kind === 'rename') {
      renames.push({ to: item.to.path, read: pathReader(item.from.path) });
    } else if (isPattern(item.field, ins.wildcard)) {
      keeps.push({ kind: 'pattern', match: wildcardMatcher(item.field.path[0] as string) });
    } else if (item.field.path.length === 1) {
      const key = item.field.path[0] as string;
      keeps.push({ kind: 'top', key, own: isInheritedName(key) });
    } else {
      keeps.push({ kind: 'nested', path: item.field.path, read: pathReader(item.field.path) });
    }
  }
  // Fast path for the common `project a, b, c`: one property read and write per field.
  if (renames.length === 0 && keeps.every((k) => k.kind === 'top' && !k.own)) {
    const keys = keeps.map((k) => (k as { key: string }).key);
    return (rec) => {
      const out: Rec = {};
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        const v = rec[k];
        if (v !== undefined) setOwn(out, k, v);
      }
      return out;
    };
  }
  return (rec) => {
    const out: Rec = {};
    for (const k of keeps) {
      if (k.kind === 'top') {
        const v = k.own ? (Object.hasOwn(rec, k.key) ? rec[k.key] : undefined) : rec[k.key];
        if (v !== undefined) setOwn(out, k.key, v);
      } else if (k.kind === 'nested') {
        const v = k.read(rec);
        if (v !== undefined) setPath(out, k.path, v);
      } else {
        for (const name of Object.keys(rec)) if (k.match(name)) setOwn(out, name, rec[name]);
      }
    }
    for (const r of renames) {
      const v = r.read(rec);
      // Value retention: a missing or null source never overwrites a kept field.
      if (v !== undefined && v !== null) setPath(out, r.to, v);
      else if (v === null && r.to.length === 1 && !Object.hasOwn(out, r.to[0] as string)) setOwn(out, r.to[0] as string, null);
    }
    return out;
  };
}

type AwayIns = Extract<Instruction, { kind: 'project-away' }>;

export function compileProjectAway(ins: AwayIns): Step {
  const exact = new Set<string>();
  const patterns: Array<(n: string) => boolean> = [];
  const nested: string[][] = [];
  for (const f of ins.fields) {
    if (isPattern(f, ins.wildcard)) patterns.push(wildcardMatcher(f.path[0] as string));
    else if (f.path.length === 1) exact.add(f.path[0] as string);
    else nested.push(f.path);
  }
  const removed = (k: string): boolean => exact.has(k) || patterns.some((p) => p(k));
  return (rec) => {
    const out: Rec = {};
    const keys = Object.keys(rec);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      if (!removed(k)) setOwn(out, k, rec[k]);
    }
    for (const p of nested) removePath(out, p);
    return out;
  };
}

type RenameIns = Extract<Instruction, { kind: 'project-rename' }>;

export function compileProjectRename(ins: RenameIns): Step {
  const pairs = ins.pairs.map((p) => ({ to: p.to.path, from: p.from.path, read: pathReader(p.from.path) }));
  const topLevel = pairs.every((p) => p.to.length === 1 && p.from.length === 1);
  if (topLevel) {
    // Keep the field's position: the renamed key takes the place of the old one.
    const byFrom = new Map(pairs.map((p) => [p.from[0] as string, p.to[0] as string]));
    const targets = new Set(pairs.map((p) => p.to[0] as string));
    return (rec) => {
      if (!pairs.some((p) => Object.hasOwn(rec, p.from[0] as string))) return rec;
      const out: Rec = {};
      for (const k of Object.keys(rec)) {
        const v = rec[k];
        const to = byFrom.get(k);
        if (to !== undefined) {
          // Value retention: a null value does not replace an existing target.
          if (v !== null || !Object.hasOwn(rec, to) || byFrom.has(to)) setOwn(out, to, v);
        } else if (!targets.has(k) || !renamedOver(rec, pairs, k)) {
          setOwn(out, k, v);
        }
      }
      return out;
    };
  }
  return (rec) => {
    const values = pairs.map((p) => p.read(rec));
    if (values.every((v) => v === undefined)) return rec;
    const out: Rec = {};
    for (const k of Object.keys(rec)) setOwn(out, k, rec[k]);
    pairs.forEach((p) => removePath(out, p.from));
    pairs.forEach((p, i) => {
      const v = values[i];
      if (v === undefined || (v === null && pathReader(p.to)(out) !== undefined)) return;
      setPath(out, p.to, v);
    });
    return out;
  };
}

/** Is `target` overwritten by a rename whose source exists with a non-null value? */
function renamedOver(rec: Rec, pairs: Array<{ to: string[]; from: string[] }>, target: string): boolean {
  return pairs.some((p) => p.to[0] === target && Object.hasOwn(rec, p.from[0] as string) && rec[p.from[0] as string] !== null);
}
