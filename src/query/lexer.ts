/**
 * Lexer: query text → tokens with source offsets. Keywords are not reserved
 * here (the parser matches bare identifiers case-insensitively) so a field can
 * be called `status` or `end`; a double-quoted name is never a keyword.
 */
import { QueryError } from './errors.ts';

export type TokenKind = 'ident' | 'qident' | 'string' | 'number' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Decoded text: identifier name, string contents (quotes and '' undone), operator, or number text. */
  value: string;
  start: number;
  end: number;
}

const IDENT = /[\p{L}_][\p{L}\p{N}_]*/uy;
const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const IDENT_CHAR = /[\p{L}\p{N}_]/u;
const WHITESPACE = /\s/;
// Longest first so `<=` wins over `<`.
const OPERATORS = ['||', '!=', '<>', '<=', '>=', '|', ';', ',', '(', ')', '.', '=', '<', '>', '+', '-', '*', '/', '%', '[', ']'];

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (reason: string, start: number, end = start + 1): never => {
    throw new QueryError('QUERY_SYNTAX', reason, text, { start, end });
  };

  while (i < text.length) {
    const c = text[i] as string;
    // Any Unicode space counts, including a byte-order mark at the start of a query file.
    if (c === ' ' || c === '\n' || WHITESPACE.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) fail('unterminated comment: missing */', i, i + 2);
      i = close + 2;
      continue;
    }
    if (c === "'" || c === '"') {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        const q = text.indexOf(c, i);
        if (q < 0) {
          fail(c === "'" ? "unterminated string: missing closing quote (write '' for a quote inside a string)" : 'unterminated quoted field name', start);
        }
        value += text.slice(i, q);
        // SQL escaping: a doubled quote stands for one quote character.
        if (text[q + 1] === c) {
          value += c;
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      if (c === '"' && value === '') fail('empty field name ""', start, i);
      tokens.push({ kind: c === "'" ? 'string' : 'qident', value, start, end: i });
      continue;
    }
    const prev = tokens[tokens.length - 1];
    const dotIsMember = c === '.' && prev !== undefined && (prev.kind === 'ident' || prev.kind === 'qident' || prev.value === ')');
    if ((c >= '0' && c <= '9') || (c === '.' && !dotIsMember && /[0-9]/.test(text[i + 1] ?? ''))) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      const end = i + (m ? m[0].length : 1);
      if (end < text.length && IDENT_CHAR.test(text[end] as string)) {
        fail(`invalid number '${text.slice(i, end + 1)}…'`, i, end + 1);
      }
      tokens.push({ kind: 'number', value: text.slice(i, end), start: i, end });
      i = end;
      continue;
    }
    IDENT.lastIndex = i;
    const id = IDENT.exec(text);
    if (id) {
      tokens.push({ kind: 'ident', value: id[0], start: i, end: i + id[0].length });
      i += id[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op) {
      tokens.push({ kind: 'op', value: op, start: i, end: i + op.length });
      i += op.length;
      continue;
    }
    fail(`unexpected character '${c}'`, i);
  }
  tokens.push({ kind: 'eof', value: '', start: text.length, end: text.length });
  return tokens;
}
