/**
 * AST for a statement `* | instr | instr ...`. Every node keeps its source
 * span so the checker can point a caret at the offending text. The checker
 * annotates expression nodes in place (`type`, `fn`) to avoid a parallel tree.
 */
import type { Span } from './errors.ts';
import type { CastType, StaticType } from './values.ts';
import type { FunctionDef, Impl } from './functions/registry.ts';

export type MetaName = 'topic' | 'partition' | 'offset' | 'timestamp' | 'key' | 'headers' | 'schemaId' | 'schemaSubject' | 'schemaVersion';

/** A field reference: `a`, `a.b.c`, `"a.b"`, `"x-y".z`. Each segment is one object key. */
export interface FieldRef {
  path: string[];
  span: Span;
  /** Display form as written, for messages. */
  text: string;
}

interface ExprBase {
  span: Span;
  /** Filled by the checker. */
  type?: StaticType;
}

export type Expr =
  | (ExprBase & { kind: 'literal'; value: null | boolean | number | string })
  | (ExprBase & { kind: 'field'; field: FieldRef })
  | (ExprBase & { kind: 'meta'; name: MetaName; header?: string })
  | (ExprBase & { kind: 'unary'; op: '-' | 'not'; arg: Expr })
  | (ExprBase & { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr })
  | (ExprBase & { kind: 'in'; arg: Expr; list: Expr[]; negated: boolean })
  | (ExprBase & { kind: 'like'; arg: Expr; pattern: Expr; escape: Expr | null; negated: boolean })
  | (ExprBase & { kind: 'between'; arg: Expr; low: Expr; high: Expr; negated: boolean })
  | (ExprBase & { kind: 'is-null'; arg: Expr; negated: boolean })
  | (ExprBase & { kind: 'case'; operand: Expr | null; whens: Array<{ when: Expr; then: Expr }>; otherwise: Expr | null })
  | (ExprBase & { kind: 'cast'; arg: Expr; to: CastType; safe: boolean })
  | (ExprBase & {
      kind: 'call';
      name: string;
      nameSpan: Span;
      args: Expr[];
      /** Resolved by the checker. */
      fn?: FunctionDef;
      /** Compile-time specialised implementation (literal regex/path/format), set by the checker. */
      impl?: Impl;
    });

export type BinaryOp = 'and' | 'or' | '=' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%' | '||';

/** `-name` or `-name=value` before an instruction's operands. */
export interface OptionArg {
  name: string;
  value: string | null;
  span: Span;
}

/** A string literal operand of an instruction (regex, delimiter...), with its span for error carets. */
export interface StringArg {
  value: string;
  span: Span;
}

export type ProjectItem = { kind: 'keep'; field: FieldRef } | { kind: 'rename'; to: FieldRef; from: FieldRef };

interface InstrBase {
  /** Span of the instruction name, e.g. `parse-json`. */
  span: Span;
}

export type Instruction =
  | (InstrBase & { kind: 'where'; cond: Expr })
  | (InstrBase & { kind: 'extend'; assignments: Array<{ target: FieldRef; expr: Expr }> })
  | (InstrBase & { kind: 'project'; wildcard: boolean; items: ProjectItem[] })
  | (InstrBase & { kind: 'project-away'; wildcard: boolean; fields: FieldRef[] })
  | (InstrBase & { kind: 'project-rename'; pairs: Array<{ to: FieldRef; from: FieldRef }> })
  | (InstrBase & { kind: 'parse-json'; source: FieldRef; prefix: string; path: StringArg | null; mode: 'overwrite' | 'preserve' })
  | (InstrBase & { kind: 'parse-regexp'; source: FieldRef; pattern: StringArg; outputs: FieldRef[] | null })
  | (InstrBase & { kind: 'parse-csv'; source: FieldRef; delim: string; quote: string; strict: boolean; outputs: FieldRef[] })
  | (InstrBase & {
      kind: 'parse-kv';
      source: FieldRef;
      delims: string;
      kvSep: string;
      prefix: string;
      greedy: boolean;
      mode: 'overwrite' | 'preserve';
      regexp: StringArg | null;
    })
  | (InstrBase & { kind: 'sample'; rate: number; seed: string; by: FieldRef[]; only: Expr | null })
  | (InstrBase & { kind: 'suppress'; windowMs: number; maxKeys: number; summary: boolean; by: FieldRef[]; only: Expr | null })
  | (InstrBase & { kind: 'lookup'; table: { name: string; span: Span }; source: FieldRef; prefix: string; fallback: string | null })
  | (InstrBase & { kind: 'trim-fields'; maxLength: number; dropEmpty: boolean; fields: FieldRef[] });

export interface Statement {
  text: string;
  instructions: Instruction[];
}
