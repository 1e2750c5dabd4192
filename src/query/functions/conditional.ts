/**
 * Null handling and conditionals. coalesce, if and try are evaluated lazily
 * by the compiler (compile-expr.ts) so that an untaken branch cannot raise a
 * runtime error; the impls here only serve documentation.
 */
import { equals, typeName, type StaticType, type Value } from '../values.ts';
import { def, type FunctionDef } from './registry.ts';

/** The common static type of branches, or 'any' when they differ. */
export function commonType(types: StaticType[]): StaticType {
  const known = types.filter((t) => t !== 'null');
  const first = known[0];
  if (first === undefined) return 'null';
  return known.every((t) => t === first) ? first : 'any';
}

export const conditionalFunctions: FunctionDef[] = [
  def({
    name: 'coalesce',
    family: 'conditional',
    signature: 'coalesce(a, b, ...) → any',
    summary: 'The first argument that is not null (later arguments are not evaluated).',
    params: ['any'],
    rest: 'any',
    returns: commonType,
    nulls: 'pass',
    special: true,
    impl: (...args: Value[]) => args.find((a) => a !== null && a !== undefined) ?? null,
    examples: [
      { expr: "coalesce(user, src_user, 'unknown')", input: { src_user: 'svc' }, result: 'svc' },
      { expr: 'coalesce(a, b)', input: {}, result: null },
    ],
  }),
  def({
    name: 'if',
    family: 'conditional',
    signature: 'if(condition, then[, else]) → any',
    summary: 'Short form of CASE WHEN: `then` when the condition is true, else `else` (default null).',
    params: ['boolean', 'any', 'any'],
    minArgs: 2,
    returns: (t) => commonType(t.slice(1)),
    nulls: 'pass',
    special: true,
    impl: (c: Value, a: Value, b: Value = null) => (c === true ? a : b),
    examples: [
      { expr: "if(status >= 500, 'error', 'ok')", input: { status: 503 }, result: 'error' },
      { expr: "if(false, 'x')", result: null },
    ],
  }),
  def({
    name: 'nullif',
    family: 'conditional',
    signature: 'nullif(a, b) → any',
    summary: 'Null when a equals b, else a. Handy to turn placeholders such as `-` into null.',
    params: ['any', 'any'],
    returns: (t) => t[0] ?? 'any',
    nulls: 'pass',
    impl: (a: Value, b: Value) => (equals(a, b) === true ? null : (a ?? null)),
    examples: [
      { expr: "nullif(referer, '-')", input: { referer: '-' }, result: null },
      { expr: "nullif(referer, '-')", input: { referer: 'https://a.example' }, result: 'https://a.example' },
    ],
  }),
  def({
    name: 'try',
    family: 'conditional',
    signature: 'try(expr) → any',
    summary: 'Evaluates expr and returns null instead of a runtime error (failed cast, bad date, division by zero).',
    params: ['any'],
    returns: (t) => t[0] ?? 'any',
    nulls: 'pass',
    special: true,
    impl: (v: Value) => v,
    examples: [
      { expr: 'try(cast(port as bigint))', input: { port: 'eighty' }, result: null },
      { expr: 'try(10 / 0)', result: null },
    ],
  }),
  def({
    name: 'typeof',
    family: 'conditional',
    signature: 'typeof(x) → varchar',
    summary: 'Runtime type name: varchar, bigint, double, boolean, timestamp, array, object or null.',
    params: ['any'],
    returns: 'string',
    nulls: 'pass',
    impl: (v: Value) => typeName(v),
    examples: [
      { expr: 'typeof(status)', input: { status: 404 }, result: 'bigint' },
      { expr: 'typeof(status)', input: { status: '404' }, result: 'varchar' },
      { expr: 'typeof(nope)', input: {}, result: 'null' },
    ],
  }),
];
