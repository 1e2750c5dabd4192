import { describe, expect, it } from 'vitest';
import { scanCompositeEnd, splitConcatenatedObjects } from '../support/hec/json-stream.ts';

function parts(text: string): Array<string | { error: number }> {
  const out: Array<string | { error: number }> = [];
  for (const s of splitConcatenatedObjects(text)) out.push(s.ok ? text.slice(s.start, s.end) : { error: out.length });
  return out;
}

describe('HEC body splitter', () => {
  it('splits objects with or without whitespace between them', () => {
    expect(parts('{"a":1}{"b":2}\n\n{"c":3}\t {"d":{"e":[1,{"f":2}]}}\r\n')).toEqual([
      '{"a":1}',
      '{"b":2}',
      '{"c":3}',
      '{"d":{"e":[1,{"f":2}]}}',
    ]);
  });

  it('ignores braces and brackets inside strings, honouring escaped quotes and backslashes', () => {
    const a = JSON.stringify({ event: '}{ ] [ "quoted" \\ and \\" more }' });
    const b = JSON.stringify({ event: 'ends with a backslash \\' });
    const c = JSON.stringify({ event: { '}': '{', '\\"': ['"}"'] } });
    const got = parts(`${a}${b} ${c}`);
    expect(got).toEqual([a, b, c]);
    for (const g of got) expect(() => JSON.parse(g as string)).not.toThrow();
  });

  it('stops at a value that is not an object, at the right object number', () => {
    expect(parts('{"a":1},{"b":2}')).toEqual(['{"a":1}', { error: 1 }]);
    expect(parts('[{"a":1}]')).toEqual([{ error: 0 }]);
    expect(parts('{"a":1} x')).toEqual(['{"a":1}', { error: 1 }]);
  });

  it('reports an object that never closes', () => {
    expect(parts('{"a":1}{"b":"}')).toEqual(['{"a":1}', { error: 1 }]);
    expect(parts('{"a":{"b":1}')).toEqual([{ error: 0 }]);
  });

  it('yields nothing for whitespace', () => {
    expect(parts(' \n\t\r ')).toEqual([]);
    expect(parts('')).toEqual([]);
  });

  it('finds the end of a composite value', () => {
    const t = 'x{"a":"\\\\"}y';
    expect(scanCompositeEnd(t, 1)).toBe(t.length - 1);
  });
});
