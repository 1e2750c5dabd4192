/** Numeric functions. Numeric text ('42') is accepted wherever a number is. */
import { def, type FunctionDef } from './registry.ts';

/** Half away from zero, as SQL rounds (JS Math.round rounds -2.5 to -2). */
function round(x: number, digits = 0): number {
  const f = 10 ** Math.trunc(digits);
  const r = (Math.sign(x) * Math.round(Math.abs(x) * f)) / f;
  // Huge digit counts overflow the scale factor: the value is already as precise as it gets.
  if (!Number.isFinite(r)) return x;
  return r === 0 ? 0 : r;
}

export const mathFunctions: FunctionDef[] = [
  def({
    name: 'abs',
    family: 'math',
    signature: 'abs(x) → number',
    summary: 'Absolute value.',
    params: ['number'],
    returns: 'number',
    impl: Math.abs,
    examples: [{ expr: 'abs(-3.5)', result: 3.5 }],
  }),
  def({
    name: 'floor',
    family: 'math',
    signature: 'floor(x) → number',
    summary: 'Largest integer not above x; `floor(a / b)` is integer division.',
    params: ['number'],
    returns: 'number',
    impl: Math.floor,
    examples: [
      { expr: 'floor(7 / 2)', result: 3 },
      { expr: "floor('2.9')", result: 2 },
    ],
  }),
  def({
    name: 'ceil',
    family: 'math',
    signature: 'ceil(x) → number',
    summary: 'Smallest integer not below x.',
    params: ['number'],
    returns: 'number',
    impl: Math.ceil,
    examples: [{ expr: 'ceil(bytes / 1024)', input: { bytes: 1500 }, result: 2 }],
  }),
  def({
    name: 'round',
    family: 'math',
    signature: 'round(x[, digits]) → number',
    summary: 'Rounds half away from zero, optionally to `digits` decimals.',
    params: ['number', 'integer'],
    minArgs: 1,
    returns: 'number',
    impl: round,
    examples: [
      { expr: 'round(2.5)', result: 3 },
      { expr: 'round(-2.5)', result: -3 },
      { expr: 'round(3.14159, 2)', result: 3.14 },
    ],
  }),
];
