/**
 * Statement parser: `<source> | <instruction> | ... [;]`. Instruction syntax
 * follows SLS SPL: options (`-name[=value]`) come right after the instruction
 * name, then operands. Option values for delimiters accept C escapes
 * ('\t', '\x09', '\011') as SLS's Char parameters do.
 */
import type { FieldRef, Instruction, OptionArg, ProjectItem, Statement, StringArg } from './ast.ts';
import { Cursor, describeToken } from './cursor.ts';
import type { Span } from './errors.ts';
import { tokenize, type Token } from './lexer.ts';
import { parseExpression } from './parse-expr.ts';
import { decodeCharEscapes } from './instructions/char-escapes.ts';
import { parseWindow } from './instructions/suppress.ts';

export const INSTRUCTIONS = [
  'where',
  'extend',
  'project',
  'project-away',
  'project-rename',
  'parse-json',
  'parse-regexp',
  'parse-csv',
  'parse-kv',
  'sample',
  'trim-fields',
  'lookup',
  'suppress',
] as const;

// Recognised SLS instructions we deliberately do not offer, with the reason shown to the user.
const UNSUPPORTED: Record<string, string> = {
  'expand-values': 'expand-values is not supported: a query maps one record to at most one record',
  stats: 'stats is not supported: a query processes one record at a time',
  sort: 'sort is not supported: a query processes one record at a time',
  limit: 'limit is not supported: a query processes one record at a time',
};

export function parseStatement(text: string): Statement {
  const c = new Cursor(text, tokenize(text));
  const first = c.peek();
  if (first.kind === 'eof') c.fail('empty query: write `*` to pass every record through', first);
  if (!c.acceptOp('*')) c.fail(`a query must start with the source \`*\` (every record), found ${describeToken(first)}`, first);
  const instructions: Instruction[] = [];
  while (c.acceptOp('|')) instructions.push(parseInstruction(c));
  c.acceptOp(';');
  const rest = c.peek();
  if (rest.kind !== 'eof') {
    c.fail(`expected '|' or the end of the query, found ${describeToken(rest)}`, rest);
  }
  return { text, instructions };
}

/** Reads `name` or a hyphenated name written without spaces (`project-away`, `kv-sep`). */
function hyphenatedName(c: Cursor, first: Token): { name: string; span: Span } {
  let name = first.value;
  let end = first.end;
  while (c.isOp('-') && Cursor.adjacent(c.prev(), c.peek()) && c.peek(1).kind === 'ident' && c.peek(1).start === c.peek().end) {
    c.next();
    const part = c.next();
    name += `-${part.value}`;
    end = part.end;
  }
  return { name, span: { start: first.start, end } };
}

function parseOptions(c: Cursor): OptionArg[] {
  const options: OptionArg[] = [];
  // An option is a '-' glued to a name: `-prefix='p_'`, `-strict`.
  while (c.isOp('-') && c.peek(1).kind === 'ident' && c.peek(1).start === c.peek().end) {
    const dash = c.next();
    const { name, span } = hyphenatedName(c, c.next());
    let value: string | null = null;
    let end = span.end;
    if (c.acceptOp('=')) {
      const v = c.peek();
      if (v.kind !== 'string' && v.kind !== 'ident' && v.kind !== 'number') c.unexpected(`a value for -${name}`);
      c.next();
      value = v.value;
      end = v.end;
    }
    options.push({ name, value, span: { start: dash.start, end } });
  }
  return options;
}

/** Validates options against what the instruction accepts; returns a lookup. */
function optionTable(c: Cursor, instr: string, options: OptionArg[], allowed: Record<string, 'flag' | 'value'>) {
  const seen = new Map<string, OptionArg>();
  for (const o of options) {
    const kind = allowed[o.name];
    if (!kind) {
      const list = Object.keys(allowed).map((n) => `-${n}`);
      c.fail(`unknown option -${o.name} for ${instr}${list.length ? ` (allowed: ${list.join(', ')})` : ''}`, o.span);
    }
    if (kind === 'value' && o.value === null) c.fail(`option -${o.name} needs a value, e.g. -${o.name}='...'`, o.span);
    if (kind === 'flag' && o.value !== null) c.fail(`option -${o.name} takes no value`, o.span);
    if (seen.has(o.name)) c.fail(`option -${o.name} given twice`, o.span);
    seen.set(o.name, o);
  }
  return {
    flag: (n: string) => seen.has(n),
    value: (n: string): OptionArg | undefined => seen.get(n),
  };
}

function stringArg(c: Cursor, what: string): StringArg {
  const t = c.expectString(what);
  return { value: t.value, span: t };
}

function fieldList(c: Cursor, what: string): FieldRef[] {
  const fields = [c.fieldRef(what)];
  while (c.acceptOp(',')) fields.push(c.fieldRef(what));
  return fields;
}

function modeOption(c: Cursor, o: OptionArg | undefined): 'overwrite' | 'preserve' {
  if (!o) return 'overwrite';
  if (o.value === 'overwrite' || o.value === 'preserve') return o.value;
  return c.fail(`-mode must be 'overwrite' or 'preserve', found '${o.value ?? ''}'`, o.span);
}

function charOption(c: Cursor, o: OptionArg | undefined, fallback: string, single: boolean): string {
  if (!o || o.value === null) return fallback;
  const decoded = decodeCharEscapes(o.value);
  if (decoded === '') c.fail(`-${o.name} must not be empty`, o.span);
  if (single && [...decoded].length !== 1) c.fail(`-${o.name} must be a single character`, o.span);
  return decoded;
}

function parseInstruction(c: Cursor): Instruction {
  const t = c.peek();
  if (t.kind !== 'ident') c.unexpected(`an instruction (${INSTRUCTIONS.join(', ')})`);
  c.next();
  const { name, span } = hyphenatedName(c, t);
  const lower = name.toLowerCase();
  if (Object.hasOwn(UNSUPPORTED, lower)) c.fail(UNSUPPORTED[lower] as string, span);
  if (!(INSTRUCTIONS as readonly string[]).includes(lower)) {
    c.fail(`unknown instruction '${name}' (supported: ${INSTRUCTIONS.join(', ')})`, span);
  }
  // `where -amount > 5` must stay an expression, so only instructions with options look for them.
  const options = lower === 'where' || lower === 'extend' ? [] : parseOptions(c);
  switch (lower as (typeof INSTRUCTIONS)[number]) {
    case 'where': {
      optionTable(c, name, options, {});
      return { kind: 'where', span, cond: parseExpression(c) };
    }
    case 'extend': {
      optionTable(c, name, options, {});
      const assignments: Array<{ target: FieldRef; expr: ReturnType<typeof parseExpression> }> = [];
      do {
        const target = c.fieldRef('a field name to assign');
        c.expectOp('=', "'=' after the field name");
        assignments.push({ target, expr: parseExpression(c) });
      } while (c.acceptOp(','));
      return { kind: 'extend', span, assignments };
    }
    case 'project': {
      const opts = optionTable(c, name, options, { wildcard: 'flag' });
      const items: ProjectItem[] = [];
      do {
        const field = c.fieldRef();
        if (c.acceptOp('=')) items.push({ kind: 'rename', to: field, from: c.fieldRef('the field to rename') });
        else items.push({ kind: 'keep', field });
      } while (c.acceptOp(','));
      return { kind: 'project', span, wildcard: opts.flag('wildcard'), items };
    }
    case 'project-away': {
      const opts = optionTable(c, name, options, { wildcard: 'flag' });
      return { kind: 'project-away', span, wildcard: opts.flag('wildcard'), fields: fieldList(c, 'a field name') };
    }
    case 'project-rename': {
      optionTable(c, name, options, {});
      const pairs: Array<{ to: FieldRef; from: FieldRef }> = [];
      do {
        const to = c.fieldRef('the new field name');
        c.expectOp('=', "'=' in new_name = old_name");
        pairs.push({ to, from: c.fieldRef('the field to rename') });
      } while (c.acceptOp(','));
      return { kind: 'project-rename', span, pairs };
    }
    case 'parse-json': {
      const opts = optionTable(c, name, options, { prefix: 'value', path: 'value', mode: 'value' });
      const path = opts.value('path');
      return {
        kind: 'parse-json',
        span,
        prefix: opts.value('prefix')?.value ?? '',
        path: path && path.value !== null ? { value: path.value, span: path.span } : null,
        mode: modeOption(c, opts.value('mode')),
        source: c.fieldRef('the field holding JSON'),
      };
    }
    case 'parse-regexp': {
      optionTable(c, name, options, {});
      const source = c.fieldRef('the field to match');
      c.expectOp(',', "',' and a regular expression");
      const pattern = stringArg(c, 'a regular expression');
      const outputs = c.acceptKeyword('as') ? fieldList(c, 'an output field name') : null;
      return { kind: 'parse-regexp', span, source, pattern, outputs };
    }
    case 'parse-csv': {
      const opts = optionTable(c, name, options, { delim: 'value', quote: 'value', strict: 'flag' });
      const source = c.fieldRef('the field holding CSV');
      c.expectKeyword('as');
      return {
        kind: 'parse-csv',
        span,
        source,
        delim: charOption(c, opts.value('delim'), ',', false),
        quote: charOption(c, opts.value('quote'), '"', true),
        strict: opts.flag('strict'),
        outputs: fieldList(c, 'an output field name'),
      };
    }
    case 'parse-kv':
      return parseKv(c, name, span, options);
    case 'sample': {
      const opts = optionTable(c, name, options, { seed: 'value' });
      const t = c.peek();
      if (t.kind !== 'number') c.unexpected('the fraction of records to keep, e.g. 0.1');
      c.next();
      const rate = Number(t.value);
      if (!(rate > 0 && rate <= 1)) c.fail(`the fraction to keep must be more than 0 and at most 1, found ${t.value}`, t);
      const by = c.acceptKeyword('by') ? fieldList(c, 'a field to sample by') : [];
      const only = c.acceptKeyword('where') ? parseExpression(c) : null;
      return { kind: 'sample', span, rate, seed: opts.value('seed')?.value ?? '', by, only };
    }
    case 'suppress': {
      const opts = optionTable(c, name, options, { window: 'value', 'max-keys': 'value', summary: 'flag' });
      const w = opts.value('window');
      if (!w) c.fail("suppress needs -window=<duration>: seconds (-window=60) or a duration (-window='5m')", span);
      // A bare number is seconds; text is a duration with its unit.
      const windowMs = /^\d+(\.\d+)?$/.test(w.value ?? '') ? Math.round(Number(w.value) * 1000) : parseWindow(w.value ?? '');
      if (windowMs === undefined || windowMs < 1) c.fail(`-window must be a number of seconds or a duration such as '90s', '5m' or '1h', found '${w.value ?? ''}'`, w.span);
      const mk = opts.value('max-keys');
      const maxKeys = mk ? Number(mk.value) : 100_000;
      if (!Number.isInteger(maxKeys) || maxKeys < 1) c.fail(`-max-keys must be a whole number, at least 1, found '${mk?.value ?? ''}'`, mk!.span);
      c.expectKeyword('by');
      const by = fieldList(c, 'a field the repeats share');
      const only = c.acceptKeyword('where') ? parseExpression(c) : null;
      return { kind: 'suppress', span, windowMs, maxKeys, summary: opts.flag('summary'), by, only };
    }
    case 'lookup': {
      const opts = optionTable(c, name, options, { prefix: 'value', default: 'value' });
      const t = c.peek();
      if (t.kind !== 'ident' && t.kind !== 'string') c.unexpected('the name of a lookup table (LOOKUP_<NAME>_FILE)');
      c.next();
      c.expectKeyword('on');
      const source = c.fieldRef('the field holding the key');
      return { kind: 'lookup', span, table: { name: t.value, span: { start: t.start, end: t.end } }, source, prefix: opts.value('prefix')?.value ?? '', fallback: opts.value('default')?.value ?? null };
    }
    case 'trim-fields': {
      const opts = optionTable(c, name, options, { 'max-length': 'value', 'drop-empty': 'flag' });
      const ml = opts.value('max-length');
      let maxLength = 0;
      if (ml) {
        maxLength = Number(ml.value);
        if (!Number.isInteger(maxLength) || maxLength < 1) c.fail(`-max-length must be a whole number of characters, at least 1, found '${ml.value ?? ''}'`, ml.span);
      }
      if (!ml && !opts.flag('drop-empty')) c.fail('trim-fields needs -max-length=N, -drop-empty or both', span);
      const t = c.peek();
      const fields = t.kind === 'eof' || c.isOp('|') || c.isOp(';') ? [] : fieldList(c, 'a field to trim');
      return { kind: 'trim-fields', span, maxLength, dropEmpty: opts.flag('drop-empty'), fields };
    }
  }
}

function parseKv(c: Cursor, name: string, span: Span, options: OptionArg[]): Instruction {
  const opts = optionTable(c, name, options, {
    delims: 'value',
    'kv-sep': 'value',
    prefix: 'value',
    mode: 'value',
    greedy: 'flag',
    regexp: 'flag',
  });
  const source = c.fieldRef('the field holding key=value pairs');
  let delims = charOption(c, opts.value('delims'), ' \t,;&', false);
  let kvSep = charOption(c, opts.value('kv-sep'), '=', false);
  let regexp: StringArg | null = null;
  if (opts.flag('regexp')) {
    c.expectOp(',', "',' and a regular expression with two groups (key, value)");
    regexp = stringArg(c, 'a regular expression');
  } else if (c.acceptOp(',')) {
    // SLS positional form: parse-kv field, '<delims>', '<kv-sep>'.
    const d = stringArg(c, 'the pair delimiters');
    c.expectOp(',', "',' and the key/value separator");
    const s = stringArg(c, 'the key/value separator');
    delims = decodeCharEscapes(d.value);
    kvSep = decodeCharEscapes(s.value);
    if (delims === '') c.fail('the pair delimiters must not be empty', d.span);
    if (kvSep === '') c.fail('the key/value separator must not be empty', s.span);
  }
  return {
    kind: 'parse-kv',
    span,
    source,
    delims,
    kvSep,
    prefix: opts.value('prefix')?.value ?? '',
    greedy: opts.flag('greedy'),
    mode: modeOption(c, opts.value('mode')),
    regexp,
  };
}
