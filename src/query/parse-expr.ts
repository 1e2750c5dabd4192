/**
 * Expression parser (SQL precedence, lowest first):
 *   OR < AND < NOT < comparison/IN/LIKE/BETWEEN/IS < || < + - < * / % < unary - < primary
 * Recursive descent; each level returns an Expr with a span covering its text.
 */
import type { BinaryOp, Expr, MetaName } from './ast.ts';
import { Cursor } from './cursor.ts';
import type { Span } from './errors.ts';
import { castTypeFromName, CAST_TYPE_NAMES } from './values.ts';

const META: Record<string, MetaName> = {
  __topic__: 'topic',
  __partition__: 'partition',
  __offset__: 'offset',
  __timestamp__: 'timestamp',
  __key__: 'key',
  __headers__: 'headers',
  __schema_id__: 'schemaId',
  __schema_subject__: 'schemaSubject',
  __schema_version__: 'schemaVersion',
};

const COMPARISON: Record<string, BinaryOp> = { '=': '=', '!=': '!=', '<>': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

// A nesting cap keeps a hostile `((((...` or `a+a+a+...` from overflowing the stack of the
// parser, the checker or the compiled closures (which all recurse over the tree).
const MAX_DEPTH = 500;

function deeper(c: Cursor, d: number): number {
  if (d > MAX_DEPTH) c.fail(`expression nested too deeply (more than ${MAX_DEPTH} levels)`, c.peek());
  return d + 1;
}

const span = (a: Span, b: Span): Span => ({ start: a.start, end: b.end });

export function parseExpression(c: Cursor, depth = 0): Expr {
  return parseOr(c, deeper(c, depth));
}

function parseOr(c: Cursor, d: number): Expr {
  let left = parseAnd(c, d);
  while (c.acceptKeyword('or')) {
    d = deeper(c, d);
    const right = parseAnd(c, d);
    left = { kind: 'binary', op: 'or', left, right, span: span(left.span, right.span) };
  }
  return left;
}

function parseAnd(c: Cursor, d: number): Expr {
  let left = parseNot(c, d);
  while (c.acceptKeyword('and')) {
    d = deeper(c, d);
    const right = parseNot(c, d);
    left = { kind: 'binary', op: 'and', left, right, span: span(left.span, right.span) };
  }
  return left;
}

function parseNot(c: Cursor, d: number): Expr {
  const not = c.acceptKeyword('not');
  if (!not) return parsePredicate(c, d);
  const arg = parseNot(c, deeper(c, d));
  return { kind: 'unary', op: 'not', arg, span: span(not, arg.span) };
}

function parsePredicate(c: Cursor, d: number): Expr {
  const left = parseConcat(c, d);
  const t = c.peek();
  if (t.kind === 'op' && Object.hasOwn(COMPARISON, t.value)) {
    c.next();
    const right = parseConcat(c, d);
    return { kind: 'binary', op: COMPARISON[t.value] as BinaryOp, left, right, span: span(left.span, right.span) };
  }
  if (c.isKeyword('is')) {
    c.next();
    const negated = c.acceptKeyword('not') !== null;
    const nul = c.expectKeyword('null');
    return { kind: 'is-null', arg: left, negated, span: span(left.span, nul) };
  }
  const negated = c.isKeyword('not') && (c.isKeyword('in', 1) || c.isKeyword('like', 1) || c.isKeyword('between', 1));
  if (negated) c.next();
  if (c.acceptKeyword('in')) {
    c.expectOp('(', "'(' after IN");
    const list: Expr[] = [parseExpression(c, d)];
    while (c.acceptOp(',')) list.push(parseExpression(c, d));
    const close = c.expectOp(')', "',' or ')' in the IN list");
    return { kind: 'in', arg: left, list, negated, span: span(left.span, close) };
  }
  if (c.acceptKeyword('like')) {
    const pattern = parseConcat(c, d);
    let escape: Expr | null = null;
    if (c.acceptKeyword('escape')) escape = parseConcat(c, d);
    return { kind: 'like', arg: left, pattern, escape, negated, span: span(left.span, (escape ?? pattern).span) };
  }
  if (c.acceptKeyword('between')) {
    // Bounds are parsed above AND so `x between 1 and 5 and y` splits correctly.
    const low = parseConcat(c, d);
    c.expectKeyword('and');
    const high = parseConcat(c, d);
    return { kind: 'between', arg: left, low, high, negated, span: span(left.span, high.span) };
  }
  return left;
}

function parseConcat(c: Cursor, d: number): Expr {
  let left = parseAdditive(c, d);
  while (c.acceptOp('||')) {
    d = deeper(c, d);
    const right = parseAdditive(c, d);
    left = { kind: 'binary', op: '||', left, right, span: span(left.span, right.span) };
  }
  return left;
}

function parseAdditive(c: Cursor, d: number): Expr {
  let left = parseMultiplicative(c, d);
  for (;;) {
    const t = c.peek();
    if (t.kind !== 'op' || (t.value !== '+' && t.value !== '-')) return left;
    c.next();
    d = deeper(c, d);
    const right = parseMultiplicative(c, d);
    left = { kind: 'binary', op: t.value, left, right, span: span(left.span, right.span) };
  }
}

function parseMultiplicative(c: Cursor, d: number): Expr {
  let left = parseUnary(c, d);
  for (;;) {
    const t = c.peek();
    if (t.kind !== 'op' || (t.value !== '*' && t.value !== '/' && t.value !== '%')) return left;
    c.next();
    d = deeper(c, d);
    const right = parseUnary(c, d);
    left = { kind: 'binary', op: t.value, left, right, span: span(left.span, right.span) };
  }
}

function parseUnary(c: Cursor, d: number): Expr {
  const t = c.peek();
  if (t.kind === 'op' && (t.value === '-' || t.value === '+')) {
    c.next();
    const arg = parseUnary(c, deeper(c, d));
    if (t.value === '+') return { ...arg, span: span(t, arg.span) };
    // Fold `-5` into a literal so `in (-1, 2)` stays a constant set.
    if (arg.kind === 'literal' && typeof arg.value === 'number') {
      return { kind: 'literal', value: -arg.value, span: span(t, arg.span) };
    }
    return { kind: 'unary', op: '-', arg, span: span(t, arg.span) };
  }
  return parsePrimary(c, d);
}

function parsePrimary(c: Cursor, d: number): Expr {
  const t = c.peek();
  switch (t.kind) {
    case 'number':
      c.next();
      return { kind: 'literal', value: Number(t.value), span: t };
    case 'string':
      c.next();
      return { kind: 'literal', value: t.value, span: t };
    case 'qident': {
      // A quoted name is always a record field, even `"__topic__"`.
      const field = c.fieldRef();
      return { kind: 'field', field, span: field.span };
    }
    case 'op':
      if (t.value === '(') {
        c.next();
        const inner = parseExpression(c, d);
        const close = c.expectOp(')', "')'");
        return { ...inner, span: span(t, close) };
      }
      return c.unexpected('an expression');
    case 'eof':
      return c.unexpected('an expression');
    case 'ident':
      break;
  }
  const word = t.value.toLowerCase();
  if (word === 'true' || word === 'false') {
    c.next();
    return { kind: 'literal', value: word === 'true', span: t };
  }
  if (word === 'null') {
    c.next();
    return { kind: 'literal', value: null, span: t };
  }
  if (word === 'case') return parseCase(c, d);
  if ((word === 'cast' || word === 'try_cast') && c.isOp('(', 1)) return parseCast(c, d);
  if (c.isOp('(', 1)) return parseCall(c, d);
  if (Object.hasOwn(META, t.value)) {
    c.next();
    const name = META[t.value] as MetaName;
    if (name === 'headers' && c.isOp('.')) {
      c.next();
      const h = c.peek();
      if (h.kind !== 'ident' && h.kind !== 'qident') c.unexpected('a header name after __headers__.');
      c.next();
      return { kind: 'meta', name, header: h.value, span: span(t, h) };
    }
    return { kind: 'meta', name, span: t };
  }
  if (['and', 'or', 'not', 'in', 'like', 'between', 'is', 'then', 'else', 'end', 'when'].includes(word)) {
    c.fail(`expected an expression, found keyword '${t.value}' (quote it as "${t.value}" if it is a field name)`, t);
  }
  const field = c.fieldRef();
  return { kind: 'field', field, span: field.span };
}

function parseCase(c: Cursor, d: number): Expr {
  const start = c.next();
  const operand = c.isKeyword('when') ? null : parseExpression(c, d);
  const whens: Array<{ when: Expr; then: Expr }> = [];
  while (c.acceptKeyword('when')) {
    const when = parseExpression(c, d);
    c.expectKeyword('then');
    whens.push({ when, then: parseExpression(c, d) });
  }
  if (whens.length === 0) c.unexpected("'when'");
  const otherwise = c.acceptKeyword('else') ? parseExpression(c, d) : null;
  const end = c.peek();
  if (!c.acceptKeyword('end')) c.unexpected(otherwise ? "'end'" : "'when', 'else' or 'end'");
  return { kind: 'case', operand, whens, otherwise, span: span(start, end) };
}

function parseCast(c: Cursor, d: number): Expr {
  const start = c.next();
  c.expectOp('(');
  const arg = parseExpression(c, d);
  c.expectKeyword('as');
  const typeTok = c.peek();
  if (typeTok.kind !== 'ident') c.unexpected('a type name');
  c.next();
  const to = castTypeFromName(typeTok.value);
  if (!to) c.fail(`unknown type '${typeTok.value}' (supported: ${CAST_TYPE_NAMES.join(', ')})`, typeTok);
  // varchar(255), decimal(10,2): the size does not change our representation, accept and ignore it.
  if (c.acceptOp('(')) {
    while (!c.isOp(')') && c.peek().kind !== 'eof') c.next();
    c.expectOp(')');
  }
  const close = c.expectOp(')', "')' to close the cast");
  return { kind: 'cast', arg, to, safe: start.value.toLowerCase() === 'try_cast', span: span(start, close) };
}

function parseCall(c: Cursor, d: number): Expr {
  const nameTok = c.next();
  c.expectOp('(');
  const args: Expr[] = [];
  if (!c.isOp(')')) {
    args.push(parseExpression(c, d));
    while (c.acceptOp(',')) args.push(parseExpression(c, d));
  }
  const close = c.expectOp(')', "',' or ')' after a function argument");
  return { kind: 'call', name: nameTok.value.toLowerCase(), nameSpan: nameTok, args, span: span(nameTok, close) };
}
