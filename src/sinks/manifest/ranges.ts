// Offset ranges: inclusive [first, last] pairs, as manifests store them and `verify` adds them up.

export type Range = [first: number, last: number];

/** Sorted, merged ranges of a list of offsets in any order. */
export function rangesOf(offsets: Iterable<number>): Range[] {
  return merge([...offsets].sort((a, b) => a - b).map((o): Range => [o, o]));
}

/** Sorts and merges overlapping or adjacent ranges. */
export function merge(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Range[] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Offsets in [from, to] that no range covers. */
export function gaps(covered: readonly Range[], from: number, to: number): Range[] {
  const out: Range[] = [];
  let at = from;
  for (const [a, b] of merge(covered)) {
    if (b < at) continue;
    if (a > to) break;
    if (a > at) out.push([at, Math.min(a - 1, to)]);
    at = Math.max(at, b + 1);
    if (at > to) break;
  }
  if (at <= to) out.push([at, to]);
  return out;
}

/** Offsets covered by more than one of the range lists (each list merged on its own first). */
export function overlaps(lists: ReadonlyArray<readonly Range[]>): Range[] {
  const events: Array<[at: number, delta: number]> = [];
  for (const list of lists) for (const [a, b] of merge(list)) events.push([a, 1], [b + 1, -1]);
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: Range[] = [];
  let depth = 0;
  let start = 0;
  for (const [at, delta] of events) {
    const before = depth;
    depth += delta;
    if (before < 2 && depth >= 2) start = at;
    else if (before >= 2 && depth < 2) out.push([start, at - 1]);
  }
  return merge(out);
}

export const count = (ranges: readonly Range[]): number => ranges.reduce((n, [a, b]) => n + b - a + 1, 0);

export const rangeText = ([a, b]: Range): string => (a === b ? String(a) : `${a}-${b}`);
