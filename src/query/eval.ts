// The shape every compiled expression has. It has a file of its own so that the helpers the
// expression compiler calls (compile-in.ts, like.ts) need not import the compiler back.
import type { Rec } from './fields.ts';
import type { QueryMeta } from './types.ts';
import type { Value } from './values.ts';

/** A compiled expression: evaluates against one record (and its Kafka metadata). */
export type Eval = (rec: Rec, meta: QueryMeta | undefined) => Value;
