/**
 * Expression compiler: checked AST → closures `(rec, meta) => value`. No code
 * is generated from text (no eval/new Function); speed comes from
 * specialising common shapes at compile time (field = 'literal', IN over
 * literals, LIKE 'prefix%', fixed-arity calls).
 */
import type { Expr } from './ast.ts';
import { lineColumn, QueryRuntimeError } from './errors.ts';
import { getOwn, isInheritedName, pathReader, type Rec } from './fields.ts';
import type { FunctionDef, Impl, ParamType } from './functions/registry.ts';
import { compileIn } from './compile-in.ts';
import { compileLike } from './like.ts';
import type { QueryMeta } from './types.ts';
import { asCondition, castValue, compare, equals, toNumber, toText, toTimestamp, type Value } from './values.ts';
import { paramType } from './check-expr.ts';
import type { Eval } from './eval.ts';

export interface ExprCompiler {
  text: string;
}

function at(c: ExprCompiler, label: string, e: Expr): string {
  const { line, column } = lineColumn(c.text, e.span.start);
  return `${label} at line ${line}, column ${column}`;
}

/** Re-throws a runtime error with the location of the expression that failed. */
function located(where: string, err: unknown): never {
  if (err instanceof QueryRuntimeError && !err.message.startsWith(where)) throw new QueryRuntimeError(`${where}: ${err.message}`);
  throw err;
}

/** Boolean view of a value for AND/OR/NOT/WHEN: true, false or null (unknown). */
export function compileCondition(c: ExprCompiler, e: Expr): (rec: Rec, meta: QueryMeta | undefined) => boolean | null {
  const f = compileExpr(c, e);
  if (e.type === 'boolean') return f as (rec: Rec, meta: QueryMeta | undefined) => boolean | null;
  const where = at(c, 'condition', e);
  return (rec, meta) => asCondition(f(rec, meta), where);
}

export function compileExpr(c: ExprCompiler, e: Expr): Eval {
  switch (e.kind) {
    case 'literal': {
      const v = e.value;
      return () => v;
    }
    case 'field': {
      const path = e.field.path;
      if (path.length === 1 && !isInheritedName(path[0] as string)) {
        const k = path[0] as string;
        return (rec) => {
          const v = rec[k];
          return v === undefined ? null : v;
        };
      }
      const read = pathReader(path);
      return (rec) => {
        const v = read(rec);
        return v === undefined ? null : v;
      };
    }
    case 'meta':
      return compileMeta(e);
    case 'unary': {
      if (e.op === 'not') {
        const arg = compileCondition(c, e.arg);
        return (rec, meta) => {
          const v = arg(rec, meta);
          return v === null ? null : !v;
        };
      }
      const arg = compileExpr(c, e.arg);
      const where = at(c, 'unary minus', e);
      return (rec, meta) => {
        const v = arg(rec, meta);
        return v === null ? null : -toNumber(v, where);
      };
    }
    case 'binary':
      return compileBinary(c, e);
    case 'in':
      return compileIn(e, compileExpr(c, e.arg), e.list.map((x) => compileExpr(c, x)));
    case 'like':
      return compileLike(e, compileExpr(c, e.arg), compileExpr(c, e.pattern), e.escape ? compileExpr(c, e.escape) : null, at(c, 'LIKE', e));
    case 'between': {
      const [x, lo, hi] = [compileExpr(c, e.arg), compileExpr(c, e.low), compileExpr(c, e.high)];
      const neg = e.negated;
      return (rec, meta) => {
        const v = x(rec, meta);
        const a = compare(v, lo(rec, meta));
        const b = compare(v, hi(rec, meta));
        // SQL three-valued AND of (v >= lo) and (v <= hi).
        const ge = a === null ? null : a >= 0;
        const le = b === null ? null : b <= 0;
        const r = ge === false || le === false ? false : ge === null || le === null ? null : true;
        return r === null ? null : neg ? !r : r;
      };
    }
    case 'is-null': {
      const x = compileExpr(c, e.arg);
      return e.negated ? (rec, meta) => x(rec, meta) !== null : (rec, meta) => x(rec, meta) === null;
    }
    case 'case':
      return compileCase(c, e);
    case 'cast': {
      const x = compileExpr(c, e.arg);
      const to = e.to;
      const where = at(c, e.safe ? 'try_cast' : 'cast', e);
      if (e.safe) {
        return (rec, meta) => {
          try {
            return castValue(x(rec, meta), to);
          } catch (err) {
            if (err instanceof QueryRuntimeError) return null;
            throw err;
          }
        };
      }
      return (rec, meta) => {
        const v = x(rec, meta);
        try {
          return castValue(v, to);
        } catch (err) {
          return located(where, err);
        }
      };
    }
    case 'call':
      return compileCall(c, e);
  }
}

function compileMeta(e: Extract<Expr, { kind: 'meta' }>): Eval {
  switch (e.name) {
    case 'topic':
      return (_r, m) => (m ? m.topic : null);
    case 'partition':
      return (_r, m) => (m ? m.partition : null);
    case 'offset':
      return (_r, m) => (m ? m.offset : null);
    case 'timestamp':
      return (_r, m) => (m ? m.timestamp : null);
    case 'key':
      return (_r, m) => (m ? m.key : null);
    case 'schemaId':
      return (_r, m) => m?.schema?.id ?? null;
    case 'schemaSubject':
      return (_r, m) => m?.schema?.subject ?? null;
    case 'schemaVersion':
      return (_r, m) => m?.schema?.version ?? null;
    case 'headers': {
      const h = e.header;
      if (h === undefined) return (_r, m) => (m ? m.headers : null);
      return (_r, m) => {
        const v = m ? getOwn(m.headers, h) : undefined;
        return v === undefined ? null : v;
      };
    }
  }
}

function compileBinary(c: ExprCompiler, e: Extract<Expr, { kind: 'binary' }>): Eval {
  if (e.op === 'and' || e.op === 'or') {
    const l = compileCondition(c, e.left);
    const r = compileCondition(c, e.right);
    // SQL three-valued logic: false AND null = false, true OR null = true.
    if (e.op === 'and') {
      return (rec, meta) => {
        const a = l(rec, meta);
        if (a === false) return false;
        const b = r(rec, meta);
        return b === false ? false : a === null || b === null ? null : true;
      };
    }
    return (rec, meta) => {
      const a = l(rec, meta);
      if (a === true) return true;
      const b = r(rec, meta);
      return b === true ? true : a === null || b === null ? null : false;
    };
  }
  const l = compileExpr(c, e.left);
  const r = compileExpr(c, e.right);
  switch (e.op) {
    case '=':
    case '!=': {
      const neg = e.op === '!=';
      // Fast path: field = 'text'. A string equals a string literal exactly when they are identical.
      if (e.right.kind === 'literal' && typeof e.right.value === 'string') {
        const lit = e.right.value;
        return (rec, meta) => {
          const v = l(rec, meta);
          if (typeof v === 'string') return neg ? v !== lit : v === lit;
          const eq = equals(v, lit);
          return eq === null ? null : neg ? !eq : eq;
        };
      }
      return (rec, meta) => {
        const eq = equals(l(rec, meta), r(rec, meta));
        return eq === null ? null : neg ? !eq : eq;
      };
    }
    case '<':
      return (rec, meta) => {
        const k = compare(l(rec, meta), r(rec, meta));
        return k === null ? null : k < 0;
      };
    case '<=':
      return (rec, meta) => {
        const k = compare(l(rec, meta), r(rec, meta));
        return k === null ? null : k <= 0;
      };
    case '>':
      return (rec, meta) => {
        const k = compare(l(rec, meta), r(rec, meta));
        return k === null ? null : k > 0;
      };
    case '>=':
      return (rec, meta) => {
        const k = compare(l(rec, meta), r(rec, meta));
        return k === null ? null : k >= 0;
      };
    case '||': {
      const where = at(c, "'||'", e);
      return (rec, meta) => {
        const a = l(rec, meta);
        if (a === null) return null;
        const b = r(rec, meta);
        if (b === null) return null;
        return toText(a, where) + toText(b, where);
      };
    }
    default:
      return compileArithmetic(at(c, `'${e.op}'`, e), e.op, l, r);
  }
}

function compileArithmetic(where: string, op: '+' | '-' | '*' | '/' | '%', l: Eval, r: Eval): Eval {
  const apply = (a: number, b: number): number => {
    switch (op) {
      case '+':
        return a + b;
      case '-':
        return a - b;
      case '*':
        return a * b;
      case '/':
        if (b === 0) throw new QueryRuntimeError(`${where}: division by zero`);
        return a / b;
      case '%':
        if (b === 0) throw new QueryRuntimeError(`${where}: division by zero`);
        return a % b;
    }
  };
  return (rec, meta) => {
    const a = l(rec, meta);
    if (a === null) return null;
    const b = r(rec, meta);
    if (b === null) return null;
    const n = apply(typeof a === 'number' ? a : toNumber(a, where), typeof b === 'number' ? b : toNumber(b, where));
    // Infinity/NaN cannot be written as JSON: treat overflow as a failed computation.
    if (!Number.isFinite(n)) throw new QueryRuntimeError(`${where}: numeric overflow`);
    return n;
  };
}

function compileCase(c: ExprCompiler, e: Extract<Expr, { kind: 'case' }>): Eval {
  const otherwise = e.otherwise ? compileExpr(c, e.otherwise) : () => null;
  const thens = e.whens.map((w) => compileExpr(c, w.then));
  if (e.operand) {
    const operand = compileExpr(c, e.operand);
    const values = e.whens.map((w) => compileExpr(c, w.when));
    return (rec, meta) => {
      const v = operand(rec, meta);
      for (let i = 0; i < values.length; i++) {
        if (equals(v, (values[i] as Eval)(rec, meta)) === true) return (thens[i] as Eval)(rec, meta);
      }
      return otherwise(rec, meta);
    };
  }
  const conds = e.whens.map((w) => compileCondition(c, w.when));
  return (rec, meta) => {
    for (let i = 0; i < conds.length; i++) {
      if ((conds[i] as (r: Rec, m: QueryMeta | undefined) => boolean | null)(rec, meta) === true) return (thens[i] as Eval)(rec, meta);
    }
    return otherwise(rec, meta);
  };
}

function coercer(type: ParamType, where: string): ((v: Value) => Value) | null {
  switch (type) {
    case 'string':
      return (v) => (typeof v === 'string' ? v : toText(v, where));
    case 'number':
      return (v) => (typeof v === 'number' ? v : toNumber(v, where));
    case 'integer':
      return (v) => {
        const n = typeof v === 'number' ? v : toNumber(v, where);
        if (!Number.isInteger(n)) throw new QueryRuntimeError(`${where}: expected an integer, got ${n}`);
        return n;
      };
    case 'boolean':
      return (v) => asCondition(v, where);
    case 'timestamp':
      return (v) => toTimestamp(v, where);
    case 'json':
    case 'any':
      return null;
  }
}

function compileCall(c: ExprCompiler, e: Extract<Expr, { kind: 'call' }>): Eval {
  const fn = e.fn as FunctionDef;
  const where = at(c, `${fn.name}()`, e);
  const args = e.args.map((a) => compileExpr(c, a));
  if (fn.special) return compileSpecial(c, fn.name, e, args);
  const impl: Impl = e.impl ?? fn.impl;
  const conv = args.map((_, i) => coercer(paramType(fn, i), `argument ${i + 1} of ${where}`));
  const nullOut = fn.nulls !== 'pass';
  const arg = (i: number): Eval => {
    const f = args[i] as Eval;
    const k = conv[i];
    return k ? (rec, meta) => {
      const v = f(rec, meta);
      return v === null && nullOut ? null : k(v);
    } : f;
  };
  const call = (run: (rec: Rec, meta: QueryMeta | undefined) => Value): Eval => (rec, meta) => {
    try {
      return run(rec, meta);
    } catch (err) {
      return located(where, err);
    }
  };
  // Fixed arities avoid allocating an argument array per record.
  switch (args.length) {
    case 0:
      return call(() => impl());
    case 1: {
      const a0 = arg(0);
      return call((rec, meta) => {
        const a = a0(rec, meta);
        return a === null && nullOut ? null : impl(a);
      });
    }
    case 2: {
      const [a0, a1] = [arg(0), arg(1)];
      return call((rec, meta) => {
        const a = a0(rec, meta);
        if (a === null && nullOut) return null;
        const b = a1(rec, meta);
        return b === null && nullOut ? null : impl(a, b);
      });
    }
    default: {
      const all = args.map((_, i) => arg(i));
      return call((rec, meta) => {
        const vals: Value[] = [];
        for (const f of all) {
          const v = f(rec, meta);
          if (v === null && nullOut) return null;
          vals.push(v);
        }
        return impl(...vals);
      });
    }
  }
}

function compileSpecial(c: ExprCompiler, name: string, e: Extract<Expr, { kind: 'call' }>, args: Eval[]): Eval {
  switch (name) {
    case 'coalesce':
      return (rec, meta) => {
        for (const f of args) {
          const v = f(rec, meta);
          if (v !== null) return v;
        }
        return null;
      };
    case 'if': {
      const cond = compileCondition(c, e.args[0] as Expr);
      const [, then, otherwise = () => null] = args as [Eval, Eval, Eval?];
      return (rec, meta) => (cond(rec, meta) === true ? then(rec, meta) : otherwise(rec, meta));
    }
    case 'try': {
      const inner = args[0] as Eval;
      return (rec, meta) => {
        try {
          return inner(rec, meta);
        } catch (err) {
          if (err instanceof QueryRuntimeError) return null;
          throw err;
        }
      };
    }
  }
  throw new Error(`no lazy implementation for ${name}()`);
}
