/** Token cursor shared by the statement and expression parsers. */
import { QueryError, type Span } from './errors.ts';
import type { Token } from './lexer.ts';
import type { FieldRef } from './ast.ts';

export class Cursor {
  readonly text: string;
  private readonly tokens: Token[];
  private i = 0;

  constructor(text: string, tokens: Token[]) {
    this.text = text;
    this.tokens = tokens;
  }

  peek(offset = 0): Token {
    // The token list always ends with 'eof', so clamp instead of returning undefined.
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)] as Token;
  }

  next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  /** Previous token (for adjacency checks like `project-away`). */
  prev(): Token | undefined {
    return this.tokens[this.i - 1];
  }

  isOp(value: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'op' && t.value === value;
  }

  /** Bare identifier matching a keyword, case-insensitively. Quoted names never match. */
  isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'ident' && t.value.toLowerCase() === word;
  }

  acceptOp(value: string): Token | null {
    return this.isOp(value) ? this.next() : null;
  }

  acceptKeyword(word: string): Token | null {
    return this.isKeyword(word) ? this.next() : null;
  }

  expectOp(value: string, what?: string): Token {
    if (this.isOp(value)) return this.next();
    return this.unexpected(what ?? `'${value}'`);
  }

  expectKeyword(word: string): Token {
    if (this.isKeyword(word)) return this.next();
    return this.unexpected(`'${word}'`);
  }

  expectString(what: string): Token {
    if (this.peek().kind === 'string') return this.next();
    return this.unexpected(`${what} (a single-quoted string)`);
  }

  unexpected(expected: string): never {
    const t = this.peek();
    return this.fail(`expected ${expected}, found ${describeToken(t)}`, t);
  }

  fail(reason: string, span: Span): never {
    throw new QueryError('QUERY_SYNTAX', reason, this.text, span);
  }

  /** Field reference: `name`, `"quoted name"`, `a.b."c.d"`. */
  fieldRef(what = 'a field name'): FieldRef {
    const first = this.peek();
    if (first.kind !== 'ident' && first.kind !== 'qident') this.unexpected(what);
    this.next();
    const path = [first.value];
    let end = first.end;
    while (this.isOp('.') && (this.peek(1).kind === 'ident' || this.peek(1).kind === 'qident')) {
      this.next();
      const seg = this.next();
      path.push(seg.value);
      end = seg.end;
    }
    return { path, span: { start: first.start, end }, text: this.text.slice(first.start, end) };
  }

  /** Are two tokens written with nothing between them (`project-away`, `-prefix`)? */
  static adjacent(a: Token | undefined, b: Token): boolean {
    return a !== undefined && a.end === b.start;
  }
}

export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of query';
    case 'string':
      return `string '${t.value}'`;
    case 'qident':
      return `"${t.value}"`;
    default:
      return `'${t.value}'`;
  }
}
