/** Shared by the parse-* instructions: reading the source text and writing results. */
import { QueryRuntimeError } from '../errors.ts';
import { getOwn, pathReader, setOwn, setPath, type Rec } from '../fields.ts';
import { typeName } from '../values.ts';

/**
 * Source text of a parse instruction: strings as is, numbers/booleans as
 * their text (SLS data is text). Missing/null → undefined (the instruction
 * does nothing, as in SLS). An object/array is a runtime error.
 */
export function sourceReader(path: string[], where: string): (rec: Rec) => string | undefined {
  const read = pathReader(path);
  return (rec) => {
    const v = read(rec);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new QueryRuntimeError(`${where}: field ${path.join('.')} is ${typeName(v) === 'array' ? 'an array' : 'an object'}, not text`);
  };
}

/**
 * Writes one extracted value. A null value never creates or overwrites a
 * field (SLS value retention); mode 'preserve' keeps an existing value.
 */
export function writeValue(out: Rec, path: readonly string[], value: unknown, preserve: boolean): void {
  if (value === null || value === undefined) return;
  if (path.length === 1) {
    const k = path[0] as string;
    if (preserve && getOwn(out, k) !== undefined) return;
    setOwn(out, k, value);
    return;
  }
  if (preserve && pathReader(path)(out) !== undefined) return;
  setPath(out, path, value);
}
