/**
 * `x [NOT] IN (...)`. With an all-literal list (the CloudSOC-style filters
 * `severity in ('critical','high')`) membership is a Set lookup; the sets are
 * arranged so the result equals `x = item1 OR x = item2 ...` under the
 * equality rules of values.ts, including SQL nulls.
 */
import type { Expr } from './ast.ts';
import type { Eval } from './eval.ts';
import { booleanText, equals, isNumericText, type Value } from './values.ts';

type InExpr = Extract<Expr, { kind: 'in' }>;

export function compileIn(e: InExpr, arg: Eval, items: Eval[]): Eval {
  const neg = e.negated;
  const finish = (found: boolean, sawNull: boolean): boolean | null => (found ? !neg : sawNull ? null : neg);
  if (!e.list.every((x) => x.kind === 'literal')) {
    return (rec, meta) => {
      const v = arg(rec, meta);
      if (v === null) return null;
      let sawNull = false;
      for (const f of items) {
        const eq = equals(v, f(rec, meta));
        if (eq === true) return !neg;
        if (eq === null) sawNull = true;
      }
      return finish(false, sawNull);
    };
  }
  const values = e.list.map((x) => (x as Extract<Expr, { kind: 'literal' }>).value);
  const hasNull = values.includes(null);
  const strings = new Set(values.filter((v): v is string => typeof v === 'string'));
  const numberLiterals = new Set(values.filter((v): v is number => typeof v === 'number'));
  // A number equals a string literal when the literal is numeric text.
  const numbers = new Set([...numberLiterals, ...[...strings].filter(isNumericText).map(Number)]);
  const booleanLiterals = new Set(values.filter((v): v is boolean => typeof v === 'boolean'));
  // A boolean equals a string literal spelled 'true'/'false' (any case).
  const booleans = new Set(booleanLiterals);
  for (const s of strings) {
    const b = booleanText(s);
    if (b !== null) booleans.add(b);
  }
  const generic = (v: Value): boolean => values.some((x) => equals(v, x) === true);
  return (rec, meta) => {
    const v = arg(rec, meta);
    if (v === null) return null;
    let found: boolean;
    if (typeof v === 'string') {
      found =
        strings.has(v) ||
        (numberLiterals.size > 0 && isNumericText(v) && numberLiterals.has(Number(v))) ||
        (booleanLiterals.size > 0 && booleanLiterals.has(booleanText(v) as boolean));
    } else if (typeof v === 'number') {
      found = numbers.has(v);
    } else if (typeof v === 'boolean') {
      found = booleans.has(v);
    } else {
      found = generic(v);
    }
    return finish(found, hasNull);
  };
}
