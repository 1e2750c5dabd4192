/**
 * Expression checker: resolves functions, checks arity and argument types
 * that are known statically (literals, casts, function results), validates
 * literal regexes / JSON paths / date formats, and infers a static type for
 * every node. Field values are typed 'any' (known only per record).
 */
import type { Expr } from './ast.ts';
import { QueryError, type Span } from './errors.ts';
import { commonType } from './functions/conditional.ts';
import { lookupFunction, ALL_FUNCTIONS } from './functions/index.ts';
import type { FunctionDef, FunctionEnv, ParamType } from './functions/registry.ts';
import { likeMatcher } from './like.ts';
import { isNumericText, staticTypeOfCast, type StaticType, type Value } from './values.ts';

export interface ExprCheckContext {
  text: string;
  env: FunctionEnv;
  /** Called for every record field the expression reads (unknown-field check). */
  onField: (e: Extract<Expr, { kind: 'field' }>) => void;
}

export function checkError(ctx: { text: string }, reason: string, span: Span): never {
  throw new QueryError('QUERY_CHECK', reason, ctx.text, span);
}

/** Span of character `offset` inside a single-quoted literal written at `span` ('' counts as one character). */
export function literalCharSpan(text: string, span: Span, offset: number): Span {
  const quote = text.indexOf("'", span.start);
  if (quote < 0 || quote >= span.end) return span;
  let raw = quote + 1;
  for (let k = 0; k < offset && raw < span.end - 1; k++) raw += text[raw] === "'" ? 2 : 1;
  return { start: raw, end: raw + 1 };
}

const TYPE_WORD: Record<StaticType, string> = {
  string: 'varchar',
  number: 'a number',
  boolean: 'boolean',
  timestamp: 'timestamp',
  json: 'an array/object',
  null: 'null',
  any: 'any',
};

/** Why an argument of static type `t` (or literal `lit`) cannot be passed as `param`; null when fine. */
function mismatch(param: ParamType, t: StaticType, lit: Value | undefined): string | null {
  if (t === 'any' || t === 'null' || param === 'any' || param === 'json') return null;
  switch (param) {
    case 'string':
      return t === 'json' ? `expects text, got ${TYPE_WORD[t]}` : null;
    case 'number':
    case 'integer':
      if (t === 'number') return null;
      if (t === 'string' && typeof lit === 'string' && isNumericText(lit)) return null;
      return `expects a number, got ${TYPE_WORD[t]}${t === 'string' ? ' (use cast(... as bigint))' : ''}`;
    case 'boolean':
      return t === 'boolean' ? null : `expects a boolean condition, got ${TYPE_WORD[t]}`;
    case 'timestamp':
      if (t === 'timestamp' || t === 'string') return null;
      return `expects a timestamp, got ${TYPE_WORD[t]}${t === 'number' ? ' (use from_unixtime(seconds))' : ''}`;
  }
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

function suggestion(name: string): string {
  const best = ALL_FUNCTIONS.map((f) => ({ f, d: levenshtein(name, f.name) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 2 ? ` (did you mean ${best.f.name}?)` : '';
}

function arityText(fn: FunctionDef): string {
  const max = fn.params.length;
  if (fn.rest) return `at least ${fn.minArgs} argument${fn.minArgs === 1 ? '' : 's'}`;
  if (fn.minArgs === max) return `${max} argument${max === 1 ? '' : 's'}`;
  return `${fn.minArgs} to ${max} arguments`;
}

export function paramType(fn: FunctionDef, i: number): ParamType {
  return fn.params[i] ?? fn.rest ?? 'any';
}

function expect(ctx: ExprCheckContext, e: Expr, param: ParamType, what: string): void {
  const t = checkExpr(ctx, e);
  const lit = e.kind === 'literal' ? e.value : undefined;
  const why = mismatch(param, t, lit);
  if (why) checkError(ctx, `${what} ${why}`, e.span);
}

export function checkExpr(ctx: ExprCheckContext, e: Expr): StaticType {
  const t = infer(ctx, e);
  e.type = t;
  return t;
}

function infer(ctx: ExprCheckContext, e: Expr): StaticType {
  switch (e.kind) {
    case 'literal':
      return e.value === null ? 'null' : typeof e.value === 'string' ? 'string' : typeof e.value === 'number' ? 'number' : 'boolean';
    case 'field':
      ctx.onField(e);
      return 'any';
    case 'meta':
      if (e.name === 'partition' || e.name === 'timestamp' || e.name === 'schemaId' || e.name === 'schemaVersion') return 'number';
      if (e.name === 'headers') return e.header === undefined ? 'json' : 'string';
      return 'string';
    case 'unary':
      if (e.op === 'not') {
        expect(ctx, e.arg, 'boolean', 'NOT');
        return 'boolean';
      }
      expect(ctx, e.arg, 'number', 'unary minus');
      return 'number';
    case 'binary':
      switch (e.op) {
        case 'and':
        case 'or':
          expect(ctx, e.left, 'boolean', e.op.toUpperCase());
          expect(ctx, e.right, 'boolean', e.op.toUpperCase());
          return 'boolean';
        case '+':
        case '-':
        case '*':
        case '/':
        case '%':
          expect(ctx, e.left, 'number', `'${e.op}'`);
          expect(ctx, e.right, 'number', `'${e.op}'`);
          return 'number';
        case '||':
          expect(ctx, e.left, 'string', "'||'");
          expect(ctx, e.right, 'string', "'||'");
          return 'string';
        default:
          checkExpr(ctx, e.left);
          checkExpr(ctx, e.right);
          return 'boolean';
      }
    case 'in':
      checkExpr(ctx, e.arg);
      for (const item of e.list) checkExpr(ctx, item);
      return 'boolean';
    case 'like':
      expect(ctx, e.arg, 'string', 'LIKE');
      expect(ctx, e.pattern, 'string', 'the LIKE pattern');
      if (e.escape) {
        expect(ctx, e.escape, 'string', 'ESCAPE');
        if (e.escape.kind === 'literal' && (typeof e.escape.value !== 'string' || [...e.escape.value].length !== 1)) {
          checkError(ctx, 'ESCAPE must be a single character', e.escape.span);
        }
      }
      if (e.pattern.kind === 'literal' && typeof e.pattern.value === 'string' && (!e.escape || e.escape.kind === 'literal')) {
        try {
          likeMatcher(e.pattern.value, e.escape && e.escape.kind === 'literal' ? (e.escape.value as string) : null);
        } catch (err) {
          checkError(ctx, (err as Error).message, e.pattern.span);
        }
      }
      return 'boolean';
    case 'between':
      checkExpr(ctx, e.arg);
      checkExpr(ctx, e.low);
      checkExpr(ctx, e.high);
      return 'boolean';
    case 'is-null':
      checkExpr(ctx, e.arg);
      return 'boolean';
    case 'case': {
      if (e.operand) checkExpr(ctx, e.operand);
      for (const w of e.whens) {
        if (e.operand) checkExpr(ctx, w.when);
        else expect(ctx, w.when, 'boolean', 'WHEN');
      }
      const results = e.whens.map((w) => checkExpr(ctx, w.then));
      results.push(e.otherwise ? checkExpr(ctx, e.otherwise) : 'null');
      return commonType(results);
    }
    case 'cast': {
      const from = checkExpr(ctx, e.arg);
      if (from === 'json' && e.to !== 'varchar' && e.to !== 'json') {
        checkError(ctx, `cannot cast an array/object to ${e.to}`, e.span);
      }
      return staticTypeOfCast(e.to);
    }
    case 'call':
      return checkCall(ctx, e);
  }
}

function checkCall(ctx: ExprCheckContext, e: Extract<Expr, { kind: 'call' }>): StaticType {
  const fn = lookupFunction(e.name);
  if (!fn) return checkError(ctx, `unknown function '${e.name}'${suggestion(e.name)}`, e.nameSpan);
  const n = e.args.length;
  if (n < fn.minArgs || (!fn.rest && n > fn.params.length)) {
    checkError(ctx, `${fn.name}() takes ${arityText(fn)}, got ${n} — ${fn.signature}`, e.span);
  }
  const types = e.args.map((a, i) => {
    expect(ctx, a, paramType(fn, i), `argument ${i + 1} of ${fn.name}()`);
    return a.type ?? 'any';
  });
  e.fn = fn;
  if (fn.prepare) {
    const literals = e.args.map((a) => (a.kind === 'literal' ? a.value : undefined));
    const fail = (argIndex: number, message: string, offset?: number): never => {
      const arg = e.args[argIndex] ?? e;
      const span = offset === undefined ? arg.span : literalCharSpan(ctx.text, arg.span, offset);
      return checkError(ctx, `${fn.name}(): ${message}`, span);
    };
    e.impl = fn.prepare(literals, ctx.env, fail);
  }
  return typeof fn.returns === 'function' ? fn.returns(types) : fn.returns;
}
