/**
 * compileQuery: text → lexer → parser → checker → closures. The returned
 * apply() never mutates its input: steps copy the record the first time they
 * write (copy-on-write), so the pipeline can still dead-letter the original
 * when a later step throws.
 */
import type { Instruction } from './ast.ts';
import { checkExpr, type ExprCheckContext } from './check-expr.ts';
import { checkStatement } from './check.ts';
import { compileCondition, compileExpr } from './compile-expr.ts';
import type { Eval } from './eval.ts';
import { Cursor } from './cursor.ts';
import { lineColumn } from './errors.ts';
import type { Rec } from './fields.ts';
import { setOwn, setPath } from './fields.ts';
import type { FunctionEnv } from './functions/registry.ts';
import { compileParseCsv } from './instructions/parse-csv.ts';
import { compileParseJson } from './instructions/parse-json.ts';
import { compileParseKv } from './instructions/parse-kv.ts';
import { compileParseRegexp } from './instructions/parse-regexp.ts';
import { compileProject, compileProjectAway, compileProjectRename } from './instructions/project.ts';
import { compileLookup } from './instructions/lookup.ts';
import { compileSample } from './instructions/sample.ts';
import { compileSuppress, type RestOfQuery } from './instructions/suppress.ts';
import { writable, type Step } from './instructions/step.ts';
import { compileTrimFields } from './instructions/trim-fields.ts';
import { QueryStats } from './stats.ts';
import { tokenize } from './lexer.ts';
import { parseExpression } from './parse-expr.ts';
import { parseStatement } from './parser.ts';
import type { CompiledQuery, CompileOptions, QueryMeta, Summaries } from './types.ts';
import { toRecordValue, type Value } from './values.ts';

function envOf(options?: CompileOptions): FunctionEnv {
  return { now: options?.now ?? Date.now, lookups: options?.lookups, geoip: options?.geoip, stateless: options?.stateless ?? false };
}

function where(text: string, ins: Instruction): string {
  const { line, column } = lineColumn(text, ins.span.start);
  return `${ins.kind} at line ${line}, column ${column}`;
}

function compileExtend(text: string, ins: Extract<Instruction, { kind: 'extend' }>): Step {
  const targets = ins.assignments.map((a) => a.target.path);
  const evals = ins.assignments.map((a) => compileExpr({ text }, a.expr));
  const n = evals.length;
  return (rec, meta, owned) => {
    // All right-hand sides see the input record (SQL select-list semantics), and
    // nothing is written unless every expression succeeded.
    const values: Value[] = new Array<Value>(n);
    let any = false;
    for (let i = 0; i < n; i++) {
      const v = (evals[i] as Eval)(rec, meta);
      values[i] = v;
      if (v !== null) any = true;
    }
    if (!any) return rec;
    const out = writable(rec, owned);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      // Value retention (SLS): a null result never creates or overwrites a field.
      if (v === null) continue;
      const path = targets[i] as string[];
      if (path.length === 1) setOwn(out, path[0] as string, toRecordValue(v));
      else setPath(out, path, toRecordValue(v));
    }
    return out;
  };
}

/** What compiling the instructions leaves besides the steps: the summaries of a suppress -summary. */
interface Compiling {
  stats: QueryStats;
  env: FunctionEnv;
  summaries?: { of: Summaries; rest: RestOfQuery };
}

function compileInstruction(text: string, ins: Instruction, c: Compiling): Step {
  const { stats, env } = c;
  switch (ins.kind) {
    case 'where': {
      const test = compileCondition({ text }, ins.cond);
      return (rec, meta) => {
        if (test(rec, meta) === true) return rec;
        stats.dropped.where++;
        return null;
      };
    }
    case 'extend':
      return compileExtend(text, ins);
    case 'project':
      return compileProject(ins);
    case 'project-away':
      return compileProjectAway(ins);
    case 'project-rename':
      return compileProjectRename(ins);
    case 'parse-json':
      return compileParseJson(ins);
    case 'parse-regexp':
      return compileParseRegexp(ins, where(text, ins));
    case 'parse-csv':
      return compileParseCsv(ins, where(text, ins));
    case 'parse-kv':
      return compileParseKv(ins, where(text, ins));
    case 'sample':
      return compileSample(text, ins, stats);
    case 'trim-fields':
      return compileTrimFields(ins, stats);
    case 'suppress': {
      const rest: RestOfQuery = { run: (rec) => rec };
      const { step, summaries } = compileSuppress(text, ins, stats, env.now, rest);
      // The checker allows one -summary per query.
      if (summaries) c.summaries = { of: summaries, rest };
      return step;
    }
    case 'lookup':
      // The checker made sure the table exists.
      return compileLookup(ins, env.lookups!.table(ins.table.name)!);
  }
}

/** Runs the steps from `from` on (a summary: from the instruction after suppress, on a record it built). */
function pipeline(steps: Step[], from = 0, owns = false): (record: Rec, meta?: QueryMeta) => Rec | null {
  if (steps.length - from === 0) return (record) => record;
  if (steps.length - from === 1) {
    const only = steps[from] as Step;
    return (record, meta) => only(record, meta, owns);
  }
  return (record, meta) => {
    let cur: Rec | null = record;
    let owned = owns;
    for (let i = from; i < steps.length; i++) {
      const next: Rec | null = (steps[i] as Step)(cur, meta, owned);
      if (next === null) return null;
      // A step that returned a different object built it: later steps may write in place.
      if (next !== cur) owned = true;
      cur = next;
    }
    return cur;
  };
}

/** Compiles a query; throws QueryError (QUERY_SYNTAX / QUERY_CHECK) with line, column and a caret snippet. */
export function compileQuery(text: string, options?: CompileOptions): CompiledQuery {
  const statement = parseStatement(text);
  checkStatement(statement, envOf(options));
  const c: Compiling = { stats: new QueryStats(), env: envOf(options) };
  const steps = statement.instructions.map((ins) => compileInstruction(text, ins, c));
  // A summary goes through the instructions after its suppress.
  if (c.summaries) c.summaries.rest.run = pipeline(steps, statement.instructions.findIndex((i) => i.kind === 'suppress' && i.summary) + 1, true);
  const isPassThrough = steps.length === 0;
  const apply = isPassThrough ? (record: Rec) => record : pipeline(steps);
  return { text, isPassThrough, filterFields: filterFields(text, statement.instructions, envOf(options)), apply, stats: c.stats, summaries: c.summaries?.of };
}

/** The top-level fields a filter-only query reads (conditions read fields only through field
 *  references: functions get evaluated arguments, never the record); undefined when it writes.
 *  `sample` and `suppress` only read too: their keys (sample's may be none: the record's coordinates). */
function filterFields(text: string, instructions: readonly Instruction[], env: FunctionEnv): string[] | undefined {
  const names = new Set<string>();
  for (const ins of instructions) {
    // A summary is a record the query builds: the whole record is needed.
    if (ins.kind === 'suppress' && ins.summary) return undefined;
    if (ins.kind === 'sample' || ins.kind === 'suppress') {
      // Without `by` and without Kafka metadata the hash is of the whole record.
      for (const f of ins.by) names.add(f.path[0] as string);
      if (ins.only) checkExpr({ text, env, onField: (e) => void names.add(e.field.path[0] as string) }, ins.only);
      continue;
    }
    if (ins.kind !== 'where') return undefined;
    checkExpr({ text, env, onField: (e) => void names.add(e.field.path[0] as string) }, ins.cond);
  }
  return [...names];
}

/**
 * Compiles a single expression (used by tests and the function examples).
 * Missing fields read as null; timestamps are returned as Date.
 */
export function compileExpression(text: string, options?: CompileOptions): (record: Rec, meta?: QueryMeta) => Value {
  const c = new Cursor(text, tokenize(text));
  const expr = parseExpression(c);
  const rest = c.peek();
  if (rest.kind !== 'eof') c.fail('unexpected text after the expression', rest);
  const ctx: ExprCheckContext = { text, env: envOf(options), onField: () => undefined };
  checkExpr(ctx, expr);
  const f = compileExpr({ text }, expr);
  return (record, meta) => f(record, meta);
}
