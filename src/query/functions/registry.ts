/**
 * Built-in function contract. Each family file (string.ts, regexp.ts, ...)
 * declares its functions with their signature, documentation and examples
 * next to the implementation; test/query/function-examples.test.ts runs every
 * example and docs/query.md is checked to mention every function.
 */
import type { GeoIp } from '../geoip.ts';
import type { Lookups } from '../lookups.ts';
import type { StaticType, Value } from '../values.ts';

/** How an argument is converted before the implementation sees it (see values.ts). */
export type ParamType = 'string' | 'number' | 'integer' | 'boolean' | 'timestamp' | 'json' | 'any';

export interface FunctionExample {
  /** An expression, e.g. `lower('ABC')`; may read fields of `input`. */
  expr: string;
  input?: Record<string, unknown>;
  /** Expected result as stored in a record (timestamps as ISO 8601 text); null for SQL null. */
  result: unknown;
}

/** What the compiler offers a function when it is compiled. */
export interface FunctionEnv {
  /** Clock in ms since the epoch (CompileOptions.now, or Date.now). */
  now: () => number;
  /** The lookup tables (CompileOptions.lookups). */
  lookups?: Lookups | undefined;
  /** The MaxMind-format databases (CompileOptions.geoip). */
  geoip?: GeoIp | undefined;
  /** CompileOptions.stateless: instructions that keep state across records are refused. */
  stateless?: boolean;
}

/** Reports a bad literal argument at compile time; `offset` points inside a string literal. */
export type ArgFail = (argIndex: number, message: string, offset?: number) => never;

// Implementations take already-converted arguments; `any` keeps the call sites monomorphic and cheap.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Impl = (...args: any[]) => Value;

export interface FunctionDef {
  name: string;
  /** Family (file) the function belongs to, for the docs. */
  family: string;
  /** One-line signature for docs and errors, e.g. `substr(s, start[, length]) → varchar`. */
  signature: string;
  summary: string;
  params: ParamType[];
  /** Required argument count; params beyond it are optional. */
  minArgs: number;
  /** Type of any further arguments (variadic functions such as concat). */
  rest?: ParamType;
  returns: StaticType | ((args: StaticType[]) => StaticType);
  /** 'null-out' (default): a null argument makes the result null without calling impl (SQL). */
  nulls?: 'null-out' | 'pass';
  /** Evaluated lazily by the compiler (if, coalesce, try): impl is only used for documentation. */
  special?: boolean;
  /**
   * Compile-time specialisation: receives literal argument values (undefined when
   * not literal) and returns a faster/validated impl, or undefined to use `impl`.
   */
  prepare?: (literals: Array<Value | undefined>, env: FunctionEnv, fail: ArgFail) => Impl | undefined;
  impl: Impl;
  examples: FunctionExample[];
}

/** Helper so family files stay terse: fills defaults. */
export function def(d: Omit<FunctionDef, 'minArgs'> & { minArgs?: number }): FunctionDef {
  return { ...d, minArgs: d.minArgs ?? d.params.length };
}
