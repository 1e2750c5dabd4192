/**
 * The JSONPath subset used by json_extract and parse-json -path:
 * `$`, `.key`, `['key']`, `["key"]`, `[0]`. A numeric `.0` also indexes an
 * array, as SLS examples (`$.0.time`) expect. Wildcards, filters and slices
 * are rejected at compile time rather than silently matching nothing.
 */
export type PathStep = string | number;

export class JsonPathError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

export function parseJsonPath(path: string): PathStep[] {
  const s = path.trim();
  const lead = path.length - path.trimStart().length;
  if (!s.startsWith('$')) throw new JsonPathError("a JSON path must start with '$'", lead);
  const steps: PathStep[] = [];
  let i = 1;
  while (i < s.length) {
    const at = i + lead;
    if (s[i] === '.') {
      const m = /^[^.[\]\s]+/.exec(s.slice(i + 1));
      if (!m) throw new JsonPathError("expected a key after '.'", at);
      if (m[0] === '*') throw new JsonPathError('wildcards are not supported in JSON paths', at);
      steps.push(m[0]);
      i += 1 + m[0].length;
      continue;
    }
    if (s[i] === '[') {
      const rest = s.slice(i);
      const quoted = /^\[\s*(['"])((?:(?!\1)[^\\]|\\.)*)\1\s*\]/.exec(rest);
      if (quoted) {
        steps.push((quoted[2] as string).replace(/\\(.)/g, '$1'));
        i += quoted[0].length;
        continue;
      }
      const index = /^\[\s*(\d+)\s*\]/.exec(rest);
      if (index) {
        steps.push(Number(index[1]));
        i += index[0].length;
        continue;
      }
      throw new JsonPathError("expected [index] or ['key'] (wildcards, filters and slices are not supported)", at);
    }
    throw new JsonPathError(`unexpected '${s[i]}' in JSON path`, at);
  }
  return steps;
}

/** Follows the path; undefined when any step is missing. */
export function evalJsonPath(value: unknown, steps: readonly PathStep[]): unknown {
  let cur = value;
  for (const step of steps) {
    if (Array.isArray(cur)) {
      const idx = typeof step === 'number' ? step : /^\d+$/.test(step) ? Number(step) : -1;
      cur = idx >= 0 ? cur[idx] : undefined;
    } else if (typeof cur === 'object' && cur !== null && typeof step === 'string') {
      cur = Object.hasOwn(cur, step) ? (cur as Record<string, unknown>)[step] : undefined;
    } else {
      return undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}
