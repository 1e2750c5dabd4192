/**
 * A lookup table's file read into memory: CSV with a header line (RFC 4180: quoted fields may hold
 * the delimiter, quotes doubled, line breaks) or JSON lines (one object per line). A row is found by
 * its key column: exact text, text ignoring case, or the longest CIDR network holding an IP address.
 * An empty CSV cell is no value (the column is absent from that row). The first row of a key wins; the
 * later ones are counted as duplicates.
 */
import { lookupKey, type LookupContents } from '../query/lookups.ts';
import { CidrTable, parseCidr, parseIp } from './ip.ts';

export type LookupFormat = 'csv' | 'jsonl';
export type LookupMatch = 'exact' | 'ignore-case' | 'cidr';

export interface LookupSpec {
  name: string;
  file: string;
  format: LookupFormat;
  /** The key column; undefined: the CSV's first column (JSON lines must name it). */
  key: string | undefined;
  match: LookupMatch;
}

/** A file that cannot be a table: the message names the line. */
export class LookupFileError extends Error {}

export interface ParsedTable extends LookupContents {
  readonly rows: number;
  readonly duplicates: number;
  readonly keyColumn: string;
}

type Row = Readonly<Record<string, unknown>>;

/** RFC 4180 records of a whole file, with the line each starts on. */
function* csvRecords(text: string): Generator<{ line: number; values: string[] }> {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte order mark
  let line = 1;
  while (i < text.length) {
    const start = line;
    const values: string[] = [];
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) throw new LookupFileError(`line ${start}: a quoted value is not closed`);
          const chunk = text.slice(i, q);
          for (let k = chunk.indexOf('\n'); k >= 0; k = chunk.indexOf('\n', k + 1)) line++;
          value += chunk;
          i = q + 1;
          if (text[i] === '"') {
            value += '"';
            i++;
            continue;
          }
          break;
        }
        if (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') throw new LookupFileError(`line ${line}: text after a closing quote`);
      } else {
        let j = i;
        while (j < text.length && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
        value = text.slice(i, j);
        if (value.includes('"')) throw new LookupFileError(`line ${line}: a quote inside an unquoted value (quote the whole value and double the quote)`);
        i = j;
      }
      values.push(value);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r') i++;
      if (text[i] === '\n') i++;
      line++;
      break;
    }
    // A blank line is no record.
    if (values.length === 1 && values[0] === '') continue;
    yield { line: start, values };
  }
}

class Builder {
  readonly #match: LookupMatch;
  readonly #exact = new Map<string, Row>();
  readonly #cidr = new CidrTable<Row>();
  rows = 0;
  duplicates = 0;

  constructor(match: LookupMatch) {
    this.#match = match;
  }

  add(line: number, key: string, row: Row): void {
    this.rows++;
    if (this.#match === 'cidr') {
      const cidr = parseCidr(key.trim());
      if (!cidr) throw new LookupFileError(`line ${line}: the key ${JSON.stringify(key.slice(0, 60))} is not an IP address or CIDR network`);
      if (!this.#cidr.add(cidr, row)) this.duplicates++;
      return;
    }
    const k = this.#match === 'ignore-case' ? key.toLowerCase() : key;
    if (this.#exact.has(k)) this.duplicates++;
    else this.#exact.set(k, row);
  }

  matcher(): (key: string) => Row | undefined {
    if (this.#match === 'cidr') {
      const table = this.#cidr;
      return (key) => {
        const ip = parseIp(key.trim());
        return ip === undefined ? undefined : table.match(ip);
      };
    }
    const map = this.#exact;
    return this.#match === 'ignore-case' ? (key) => map.get(key.toLowerCase()) : (key) => map.get(key);
  }
}

export function parseLookupTable(text: string, spec: LookupSpec): ParsedTable {
  const b = new Builder(spec.match);
  const columns = new Set<string>();
  let keyColumn: string;
  if (spec.format === 'csv') {
    const records = csvRecords(text);
    const header = records.next();
    if (header.done) throw new LookupFileError('the file is empty: a CSV table starts with a header line');
    const names = header.value.values.map((n) => n.trim());
    const seen = new Set<string>();
    for (const n of names) {
      if (n === '') throw new LookupFileError('line 1: a column without a name');
      if (seen.has(n)) throw new LookupFileError(`line 1: the column ${JSON.stringify(n)} appears twice`);
      seen.add(n);
    }
    keyColumn = spec.key ?? (names[0] as string);
    const keyIndex = names.indexOf(keyColumn);
    if (keyIndex < 0) throw new LookupFileError(`line 1: no column ${JSON.stringify(keyColumn)} (the key column), found ${names.map((n) => JSON.stringify(n)).join(', ')}`);
    names.forEach((n, i) => i !== keyIndex && columns.add(n));
    for (const { line, values } of records) {
      if (values.length !== names.length) throw new LookupFileError(`line ${line}: ${values.length} values for ${names.length} columns`);
      const row: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) if (i !== keyIndex && values[i] !== '') row[names[i] as string] = values[i];
      b.add(line, values[keyIndex] as string, Object.freeze(row));
    }
  } else {
    if (spec.key === undefined) throw new LookupFileError('JSON lines have no column order: name the key column');
    keyColumn = spec.key;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const l = (lines[i] as string).trim();
      if (l === '') continue;
      let obj: unknown;
      try {
        obj = JSON.parse(l);
      } catch (e) {
        throw new LookupFileError(`line ${i + 1}: not JSON (${(e as Error).message})`);
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new LookupFileError(`line ${i + 1}: not a JSON object`);
      const { [keyColumn]: key, ...rest } = obj as Record<string, unknown>;
      const k = lookupKey(key);
      if (k === undefined) throw new LookupFileError(`line ${i + 1}: no ${JSON.stringify(keyColumn)} (the key column) of text or a number`);
      for (const c of Object.keys(rest)) columns.add(c);
      b.add(i + 1, k, Object.freeze(rest));
    }
  }
  const match = b.matcher();
  return { columns: [...columns], rows: b.rows, duplicates: b.duplicates, keyColumn, match };
}
