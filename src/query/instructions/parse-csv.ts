/**
 * parse-csv [-delim=','] [-quote='"'] [-strict] field as a, b, ...
 * RFC 4180 style: a field that starts with the quote character runs to the
 * closing quote, and a doubled quote inside it is one quote. The delimiter
 * may be several characters (SLS allows `-delim='||'`).
 * Non-strict (default): the first min(values, names) values are assigned.
 * Strict: when the counts differ, nothing is extracted.
 */
import type { Instruction } from '../ast.ts';
import { sourceReader, writeValue } from './output.ts';
import { writable, type Step } from './step.ts';

export function splitCsv(s: string, delim: string, quote: string): string[] {
  const values: string[] = [];
  let i = 0;
  for (;;) {
    let value = '';
    if (s.startsWith(quote, i)) {
      i += quote.length;
      for (;;) {
        const q = s.indexOf(quote, i);
        if (q < 0) {
          // Unterminated quote: take the rest as the value rather than failing the record.
          value += s.slice(i);
          i = s.length;
          break;
        }
        value += s.slice(i, q);
        i = q + quote.length;
        if (s.startsWith(quote, i)) {
          value += quote;
          i += quote.length;
          continue;
        }
        break;
      }
      // Text between the closing quote and the next delimiter is kept (lenient, like most CSV readers).
      const d = s.indexOf(delim, i);
      value += s.slice(i, d < 0 ? s.length : d);
      i = d < 0 ? s.length : d;
    } else {
      const d = s.indexOf(delim, i);
      value = s.slice(i, d < 0 ? s.length : d);
      i = d < 0 ? s.length : d;
    }
    values.push(value);
    if (i >= s.length) return values;
    i += delim.length;
    if (i === s.length) {
      values.push('');
      return values;
    }
  }
}

type Ins = Extract<Instruction, { kind: 'parse-csv' }>;

export function compileParseCsv(ins: Ins, where: string): Step {
  const read = sourceReader(ins.source.path, where);
  const outputs = ins.outputs.map((o) => o.path);
  const { delim, quote, strict } = ins;
  return (rec, _meta, owned) => {
    const s = read(rec);
    if (s === undefined) return rec;
    const values = splitCsv(s, delim, quote);
    if (strict && values.length !== outputs.length) return rec;
    const out = writable(rec, owned);
    const n = Math.min(values.length, outputs.length);
    for (let i = 0; i < n; i++) writeValue(out, outputs[i] as string[], values[i], false);
    return out;
  };
}
