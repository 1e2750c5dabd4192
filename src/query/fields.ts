/**
 * Reading and writing (possibly nested) record fields without touching the
 * caller's objects and without prototype pollution: a record key named
 * `__proto__` or `constructor` is just data.
 */
import { QueryRuntimeError } from './errors.ts';

export type Rec = Record<string, unknown>;

/** Own-property read; missing → undefined. `rec[k]` alone would find Object.prototype members. */
export function getOwn(obj: unknown, key: string): unknown {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  return Object.hasOwn(obj, key) ? (obj as Rec)[key] : undefined;
}

/** Keys that a plain `obj[key]` read could resolve through the prototype chain. */
export function isInheritedName(key: string): boolean {
  return key in Object.prototype;
}

/** Builds a fast reader for a path; missing or non-object intermediate → undefined. */
export function pathReader(path: readonly string[]): (rec: Rec) => unknown {
  if (path.length === 1) {
    const k = path[0] as string;
    // The common case (a plain field name) is a single property load.
    if (!isInheritedName(k)) return (rec) => rec[k];
    return (rec) => getOwn(rec, k);
  }
  return (rec) => {
    let cur: unknown = rec;
    for (const k of path) {
      cur = getOwn(cur, k);
      if (cur === undefined) return undefined;
    }
    return cur;
  };
}

/** Assigns as data even for `__proto__` (plain assignment would change the prototype). */
export function setOwn(obj: Rec, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/** Own enumerable properties copied as data (object spread defines `__proto__` as a plain key, and V8 clones it fast). */
export function shallowClone(obj: Rec): Rec {
  return { ...obj };
}

function isPlainObject(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Sets `path` in `rec` (which the caller owns). Intermediate objects are
 * copied before being written, because they are still shared with the input
 * record; missing intermediates are created.
 */
export function setPath(rec: Rec, path: readonly string[], value: unknown): void {
  let cur = rec;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i] as string;
    const next = getOwn(cur, k);
    let child: Rec;
    if (next === undefined || next === null) child = {};
    else if (isPlainObject(next)) child = shallowClone(next);
    else {
      throw new QueryRuntimeError(`cannot set ${path.join('.')}: ${path.slice(0, i + 1).join('.')} is not an object`);
    }
    setOwn(cur, k, child);
    cur = child;
  }
  setOwn(cur, path[path.length - 1] as string, value);
}

/** Removes `path` from `rec` (owned by the caller), copying shared intermediates. */
export function removePath(rec: Rec, path: readonly string[]): void {
  if (path.length === 1) {
    delete rec[path[0] as string];
    return;
  }
  const parents: Rec[] = [rec];
  let cur: unknown = rec;
  for (let i = 0; i < path.length - 1; i++) {
    cur = getOwn(cur, path[i] as string);
    if (!isPlainObject(cur)) return;
    parents.push(cur);
  }
  const leaf = path[path.length - 1] as string;
  if (!Object.hasOwn(parents[parents.length - 1] as Rec, leaf)) return;
  // Re-copy the chain so the input's nested objects stay untouched.
  let owner = rec;
  for (let i = 0; i < path.length - 1; i++) {
    const copy = shallowClone(parents[i + 1] as Rec);
    setOwn(owner, path[i] as string, copy);
    owner = copy;
  }
  delete owner[leaf];
}
