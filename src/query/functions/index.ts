/** The function table: every family, looked up by lower-case name. */
import { conditionalFunctions } from './conditional.ts';
import { enrichFunctions } from './enrich.ts';
import { hashFunctions } from './hash.ts';
import { jsonFunctions } from './json.ts';
import { maskFunctions } from './mask.ts';
import { mathFunctions } from './math.ts';
import { regexpFunctions } from './regexp.ts';
import type { FunctionDef } from './registry.ts';
import { stringFunctions } from './string.ts';
import { timeFunctions } from './time.ts';

export const ALL_FUNCTIONS: readonly FunctionDef[] = [
  ...stringFunctions,
  ...regexpFunctions,
  ...jsonFunctions,
  ...timeFunctions,
  ...hashFunctions,
  ...maskFunctions,
  ...mathFunctions,
  ...conditionalFunctions,
  ...enrichFunctions,
];

const BY_NAME = new Map(ALL_FUNCTIONS.map((f) => [f.name, f]));
if (BY_NAME.size !== ALL_FUNCTIONS.length) throw new Error('duplicate built-in function name');

export function lookupFunction(name: string): FunctionDef | undefined {
  return BY_NAME.get(name.toLowerCase());
}
