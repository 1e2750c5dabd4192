/**
 * Query errors. Compile-time errors carry a position in the query text and a
 * caret snippet so an operator can fix a bad `--query` without guessing; the
 * daemon prints `err.message` verbatim and refuses to start.
 */

export interface Span {
  /** Offset of the first offending character (UTF-16 index into the query text). */
  start: number;
  /** Offset just past the offending text; `end === start` marks a point. */
  end: number;
}

export type QueryErrorCode = 'QUERY_SYNTAX' | 'QUERY_CHECK';

export class QueryError extends Error {
  readonly code: QueryErrorCode;
  readonly line: number;
  readonly column: number;
  /** The bare reason, without position or snippet (handy for tests and logs). */
  readonly reason: string;

  constructor(code: QueryErrorCode, reason: string, text: string, span: Span) {
    const { line, column } = lineColumn(text, span.start);
    super(`line ${line}, column ${column}: ${reason}\n${snippet(text, span)}`);
    this.name = 'QueryError';
    this.code = code;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

/**
 * A per-record failure (failed cast, regex on an object, division by zero...).
 * The pipeline sends the record to the dead-letter topic with this message;
 * it never stops the daemon.
 */
export class QueryRuntimeError extends Error {
  readonly code = 'QUERY_RUNTIME' as const;
  constructor(message: string) {
    super(message);
    this.name = 'QueryRuntimeError';
  }
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const stop = Math.min(Math.max(offset, 0), text.length);
  for (let i = 0; i < stop; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: stop - lineStart + 1 };
}

/**
 * Two lines: the source line holding `span.start`, and carets under the
 * offending text (clipped to that line). Tabs are kept in the caret line's
 * indentation so the carets stay aligned in a terminal.
 */
export function snippet(text: string, span: Span): string {
  const start = Math.min(Math.max(span.start, 0), text.length);
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  let lineEnd = text.indexOf('\n', start);
  if (lineEnd < 0) lineEnd = text.length;
  // An error at the very end of a line ending in '\r' should not show the '\r'.
  const lineText = text.slice(lineStart, lineEnd).replace(/\r$/, '');
  const pad = lineText.slice(0, start - lineStart).replace(/[^\t]/g, ' ');
  const width = Math.max(1, Math.min(span.end, lineStart + lineText.length) - start);
  return `  ${lineText}\n  ${pad}${'^'.repeat(width)}`;
}
