/**
 * Statement checker. Besides expression checks (check-expr.ts) it follows
 * which top-level fields can exist after each instruction: after a plain
 * `project a, b` only a and b (plus later extends/parses) can be present, so
 * a later reference to `c` is a mistake we report at start-up instead of a
 * filter that silently drops everything.
 */
import type { Expr, FieldRef, Instruction, Statement } from './ast.ts';
import { checkError, checkExpr, literalCharSpan, type ExprCheckContext } from './check-expr.ts';
import type { Span } from './errors.ts';
import type { FunctionEnv } from './functions/registry.ts';
import { JsonPathError, parseJsonPath } from './json-path.ts';
import { lineColumn } from './errors.ts';
import { compileRe2, RegexSyntaxError, type CompiledRegex } from './regex.ts';
import { wildcardMatcher } from './instructions/project.ts';
import { SUMMARY_FIELDS } from './instructions/suppress.ts';

/** Which top-level fields may exist at a point in the pipeline. */
interface Schema {
  /** False while any field may exist (the input is arbitrary JSON). */
  closed: boolean;
  names: Set<string>;
  /** Wildcard patterns of fields that may exist (from project -wildcard or a parse -prefix). */
  patterns: Array<(name: string) => boolean>;
  /** The instruction that closed the set, for the error message. */
  closedBy: { name: string; span: Span } | null;
}

interface Ctx {
  text: string;
  env: FunctionEnv;
  schema: Schema;
  /** A suppress -summary was seen. */
  summary?: boolean;
}

function mayExist(s: Schema, name: string): boolean {
  return !s.closed || s.names.has(name) || s.patterns.some((p) => p(name));
}

function requireField(ctx: Ctx, f: FieldRef): void {
  const top = f.path[0] as string;
  if (mayExist(ctx.schema, top)) return;
  const by = ctx.schema.closedBy;
  const pos = by ? lineColumn(ctx.text, by.span.start) : null;
  const where = by && pos ? ` after ${by.name} at line ${pos.line}, column ${pos.column}` : '';
  const known = [...ctx.schema.names];
  const list = known.length ? `only ${known.join(', ')}${ctx.schema.patterns.length ? ' and wildcard matches' : ''} can exist` : 'no field can exist';
  checkError(ctx, `unknown field '${f.text}':${where} ${list}`, f.span);
}

function exprCtx(ctx: Ctx): ExprCheckContext {
  return { text: ctx.text, env: ctx.env, onField: (e) => requireField(ctx, e.field) };
}

function addField(s: Schema, f: FieldRef): void {
  s.names.add(f.path[0] as string);
}

/** Compiles an instruction's regex operand, reporting errors at the offending character. */
export function checkRegex(ctx: { text: string }, pattern: { value: string; span: Span }): CompiledRegex {
  try {
    return compileRe2(pattern.value);
  } catch (e) {
    if (e instanceof RegexSyntaxError) checkError(ctx, e.message, literalCharSpan(ctx.text, pattern.span, e.offset));
    throw e;
  }
}

function checkUnique(ctx: Ctx, fields: FieldRef[], what: string): void {
  const seen = new Set<string>();
  for (const f of fields) {
    const key = JSON.stringify(f.path);
    if (seen.has(key)) checkError(ctx, `${what} '${f.text}' appears twice`, f.span);
    seen.add(key);
  }
}

function checkCondition(ctx: Ctx, cond: Expr, what: string): void {
  const t = checkExpr(exprCtx(ctx), cond);
  if (t !== 'boolean' && t !== 'any' && t !== 'null') {
    const kind = { string: 'text', number: 'a number', timestamp: 'a timestamp', json: 'an array/object' }[t];
    checkError(ctx, `${what} needs a condition (true/false), but this expression is ${kind}`, cond.span);
  }
}

function checkInstruction(ctx: Ctx, ins: Instruction): void {
  const s = ctx.schema;
  switch (ins.kind) {
    case 'where':
      checkCondition(ctx, ins.cond, 'where');
      return;
    case 'extend':
      checkUnique(ctx, ins.assignments.map((a) => a.target), 'extend target');
      for (const a of ins.assignments) checkExpr(exprCtx(ctx), a.expr);
      for (const a of ins.assignments) addField(s, a.target);
      return;
    case 'project': {
      const keeps = ins.items.flatMap((i) => (i.kind === 'keep' ? [i.field] : []));
      const renames = ins.items.flatMap((i) => (i.kind === 'rename' ? [i] : []));
      checkUnique(ctx, renames.map((r) => r.to), 'rename target');
      checkUnique(ctx, renames.map((r) => r.from), 'renamed field');
      const names = new Set<string>();
      const patterns: Array<(n: string) => boolean> = [];
      for (const k of keeps) {
        const top = k.path[0] as string;
        if (ins.wildcard && k.path.length === 1 && top.includes('*')) {
          const m = wildcardMatcher(top);
          if (s.closed) for (const n of s.names) if (m(n)) names.add(n);
          if (!s.closed || s.patterns.length) patterns.push(m);
        } else {
          requireField(ctx, k);
          names.add(top);
        }
      }
      for (const r of renames) {
        requireField(ctx, r.from);
        names.add(r.to.path[0] as string);
      }
      ctx.schema = { closed: true, names, patterns, closedBy: { name: 'project', span: ins.span } };
      return;
    }
    case 'project-away':
      if (s.closed) {
        for (const f of ins.fields) {
          const top = f.path[0] as string;
          if (f.path.length > 1) continue;
          const m = ins.wildcard && top.includes('*') ? wildcardMatcher(top) : (n: string) => n === top;
          for (const n of [...s.names]) if (m(n)) s.names.delete(n);
        }
      }
      return;
    case 'project-rename':
      checkUnique(ctx, ins.pairs.map((p) => p.to), 'rename target');
      checkUnique(ctx, ins.pairs.map((p) => p.from), 'renamed field');
      for (const p of ins.pairs) requireField(ctx, p.from);
      for (const p of ins.pairs) {
        if (p.from.path.length === 1) s.names.delete(p.from.path[0] as string);
        addField(s, p.to);
      }
      return;
    case 'parse-json':
      requireField(ctx, ins.source);
      if (ins.path) {
        try {
          parseJsonPath(ins.path.value);
        } catch (e) {
          if (e instanceof JsonPathError) checkError(ctx, `-path: ${e.message}`, literalCharSpan(ctx.text, ins.path.span, e.offset));
          throw e;
        }
      }
      addPrefixed(s, ins.prefix);
      return;
    case 'parse-regexp': {
      requireField(ctx, ins.source);
      const rx = checkRegex(ctx, ins.pattern);
      if (rx.groupCount === 0) checkError(ctx, 'the pattern has no capturing group: wrap what to extract in ( )', ins.pattern.span);
      if (ins.outputs) {
        if (ins.outputs.length !== rx.groupCount) {
          const at = ins.outputs[Math.min(ins.outputs.length, rx.groupCount) - 1] ?? ins.pattern;
          const n = ins.outputs.length;
          checkError(ctx, `the pattern has ${rx.groupCount} capturing group${rx.groupCount === 1 ? '' : 's'} but ${n} output name${n === 1 ? ' follows' : 's follow'} 'as'`, at.span);
        }
        checkUnique(ctx, ins.outputs, 'output field');
        for (const o of ins.outputs) addField(s, o);
      } else {
        rx.groupNames.forEach((n, i) => {
          if (n === null) checkError(ctx, `capturing group ${i + 1} has no name: name it (?P<name>…) or list the outputs with 'as'`, ins.pattern.span);
          s.names.add(n);
        });
      }
      return;
    }
    case 'parse-csv':
      requireField(ctx, ins.source);
      checkUnique(ctx, ins.outputs, 'output field');
      if (ins.delim.includes(ins.quote)) checkError(ctx, 'the delimiter must not contain the quote character', ins.span);
      for (const o of ins.outputs) addField(s, o);
      return;
    case 'parse-kv':
      requireField(ctx, ins.source);
      if (ins.regexp) {
        const rx = checkRegex(ctx, ins.regexp);
        if (rx.groupCount !== 2) checkError(ctx, `parse-kv -regexp needs exactly 2 capturing groups (key, value), found ${rx.groupCount}`, ins.regexp.span);
      }
      if ([...ins.kvSep].some((ch) => ins.delims.includes(ch))) {
        checkError(ctx, 'the key/value separator must not be one of the pair delimiters', ins.span);
      }
      addPrefixed(s, ins.prefix);
      return;
    case 'sample':
      checkUnique(ctx, ins.by, 'sample key');
      for (const f of ins.by) requireField(ctx, f);
      if (ins.only) checkCondition(ctx, ins.only, 'sample … where');
      return;
    case 'suppress':
      if (ctx.env.stateless) {
        checkError(ctx, "suppress keeps state per partition as a route reads it; the pull webhook's query (QUERY with WEBHOOK_PRODUCTS) serves readers at different positions and cannot use it: suppress in a route's query", ins.span);
      }
      checkUnique(ctx, ins.by, 'suppress key');
      for (const f of ins.by) requireField(ctx, f);
      if (ins.only) checkCondition(ctx, ins.only, 'suppress … where');
      if (ins.summary) {
        // One summary per dropped record: a second -summary would summarise summaries.
        if (ctx.summary) checkError(ctx, 'only one suppress -summary per query: the summaries of the first would go through the second', ins.span);
        ctx.summary = true;
        for (const f of SUMMARY_FIELDS) s.names.add(f);
      }
      return;
    case 'lookup': {
      requireField(ctx, ins.source);
      const table = ctx.env.lookups?.table(ins.table.name);
      if (!table) {
        const known = ctx.env.lookups?.names() ?? [];
        checkError(ctx, `no lookup table '${ins.table.name}': set LOOKUP_${ins.table.name.toUpperCase()}_FILE${known.length ? ` (tables: ${known.join(', ')})` : ''}`, ins.table.span);
      }
      for (const col of table!.current().columns) s.names.add(ins.prefix + col);
      // A new version of the file may bring columns of its own.
      addPrefixed(s, ins.prefix);
      return;
    }
    case 'trim-fields':
      checkUnique(ctx, ins.fields, 'field');
      for (const f of ins.fields) requireField(ctx, f);
      return;
  }
}

/** parse-json / parse-kv create keys we cannot know: with a prefix they match `prefix*`, else anything. */
function addPrefixed(s: Schema, prefix: string): void {
  if (!s.closed) return;
  if (prefix === '') {
    s.closed = false;
    return;
  }
  s.patterns.push((n) => n.startsWith(prefix));
}

export function checkStatement(st: Statement, env: FunctionEnv): void {
  const ctx: Ctx = { text: st.text, env, schema: { closed: false, names: new Set(), patterns: [], closedBy: null } };
  for (const ins of st.instructions) checkInstruction(ctx, ins);
}
