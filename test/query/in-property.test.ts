// Differential property: the Set-based fast path of `x IN (literals)` must give
// exactly what `x = l1 OR x = l2 ...` gives under the equality rules, nulls included.
import { describe, expect, it } from 'vitest';
import { compileExpression } from '../../src/query/compile.ts';
import { prng } from '../support/prng.ts';


const LITERALS = ["'a'", "'A'", "'1'", "'1.0'", "' 2 '", "'true'", "'FALSE'", '1', '2', '1.5', '-3', 'true', 'false', 'null', "''"];
const VALUES: unknown[] = ['a', 'A', '1', '1.0', '2', ' 2 ', 'true', 'False', 'x', '', 1, 2, 1.5, -3, 0, true, false, null, { a: 1 }, [1], '-3', '1e0'];

describe('IN fast path', () => {
  it('agrees with the OR of equalities on random lists and values', () => {
    let checked = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = prng(seed);
      const n = 1 + Math.floor(rnd() * 4);
      const list = Array.from({ length: n }, () => LITERALS[Math.floor(rnd() * LITERALS.length)] as string);
      const neg = rnd() < 0.3;
      const fast = compileExpression(`x ${neg ? 'not in' : 'in'} (${list.join(', ')})`);
      const slow = compileExpression(`${neg ? 'not ' : ''}(${list.map((l) => `x = ${l}`).join(' or ')})`);
      for (const x of VALUES) {
        expect(fast({ x }), `seed ${seed}: x=${JSON.stringify(x)} ${neg ? 'not ' : ''}in (${list.join(', ')})`).toBe(slow({ x }));
        checked++;
      }
    }
    expect(checked).toBe(300 * VALUES.length);
  });
});
