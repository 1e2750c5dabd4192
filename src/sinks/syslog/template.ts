// SYSLOG_MSG_TEMPLATE: text with `{field}` placeholders (`{.}` = the whole record as JSON), parsed
// once at start so that a broken template is a configuration error, not a per-record one.
import type { PipelineRecord } from '../../core/record.ts';
import { fieldText, recordValue } from '../record-field.ts';

/** Literal text, or a field path ('.' = the whole record). */
export type TemplatePart = { readonly text: string } | { readonly field: string };
export type Template = readonly TemplatePart[];

/** Parses a template; `{{` and `}}` are literal braces. Returns an error text when malformed. */
export function parseTemplate(source: string): Template | string {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if ((c === '{' || c === '}') && source[i + 1] === c) {
      text += c;
      i += 2;
    } else if (c === '}') {
      return `unmatched "}" at position ${i + 1} (write "}}" for a literal brace)`;
    } else if (c === '{') {
      const end = source.indexOf('}', i + 1);
      const name = end < 0 ? '' : source.slice(i + 1, end).trim();
      if (end < 0) return `unclosed "{" at position ${i + 1} (write "{{" for a literal brace)`;
      if (name === '' || name.includes('{')) return `empty or nested placeholder at position ${i + 1}`;
      if (text !== '') parts.push({ text });
      text = '';
      parts.push({ field: name });
      i = end + 1;
    } else {
      text += c;
      i += 1;
    }
  }
  if (text !== '') parts.push({ text });
  return parts;
}

/** A record that is only {"_raw": text} (an undecoded line) is that text; anything else its JSON. */
export function recordText(record: PipelineRecord): string {
  const f = record.fields;
  const keys = Object.keys(f);
  return keys.length === 1 && keys[0] === '_raw' && typeof f._raw === 'string' ? f._raw : JSON.stringify(f);
}

/** The message text of a record: the template filled in (a missing field gives ''), or recordText. */
export function renderTemplate(record: PipelineRecord, template: Template | undefined): string {
  if (template === undefined) return recordText(record);
  let out = '';
  for (const p of template) {
    if ('text' in p) out += p.text;
    else if (p.field === '.') out += JSON.stringify(record.fields);
    else out += fieldText(recordValue(record, p.field)) ?? '';
  }
  return out;
}
