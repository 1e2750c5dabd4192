/**
 * `logstream query '<spl>' [--file q.spl] < records.jsonl`
 * Runs a query over JSON lines and prints the output records as JSON lines;
 * the summary (in, out, dropped, errors) and per-record runtime errors go to
 * stderr so stdout stays pipeable. A line that is not a JSON object becomes
 * {"_raw": "<line>"}, as in the daemon. Blank lines are skipped. Kafka
 * metadata (__topic__ ...) reads as null here: there is no message. Lookup tables and MaxMind
 * databases come from the same variables as the daemon's (LOOKUP_<NAME>_FILE, GEOIP_DB_FILE,
 * ASN_DB_FILE), so a query that enriches can be tried on sample records.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ConfigError } from '../core/errors.ts';
import { parseEnrichConfig } from '../enrich/config.ts';
import { Enrichment } from '../enrich/enrichment.ts';
import { compileQuery, QueryError, QueryRuntimeError, type CompiledQuery, type CompileOptions } from '../query/index.ts';

export interface QueryIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** For the lookup tables and databases (default: none). */
  env?: NodeJS.ProcessEnv;
}

const USAGE = `usage: logstream query '<spl>' [--file q.spl] < records.jsonl
  Runs the query over JSON lines on stdin; output records go to stdout,
  errors and the summary (in, out, dropped, errors) to stderr.
  --file PATH   read the query from a file instead of the argument
`;

/** Same rule as the daemon: a JSON object is the record, anything else is kept as _raw text. */
export function recordFromLine(line: string): Record<string, unknown> {
  const first = line.charCodeAt(0);
  if (first === 0x7b || first === 0x20 || first === 0x09) {
    try {
      const v: unknown = JSON.parse(line);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // not JSON: kept as _raw below
    }
  }
  return { _raw: line };
}

function parseArgs(argv: string[]): { text?: string; file?: string; help?: boolean; error?: string } {
  let text: string | undefined;
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-h' || a === '--help') return { help: true };
    if (a === '--file' || a === '-f') {
      const next = argv[++i];
      if (next === undefined) return { error: '--file needs a path' };
      file = next;
    } else if (a.startsWith('--file=')) {
      file = a.slice('--file='.length);
    } else if (a.startsWith('--') && a.length > 2) {
      return { error: `unknown option ${a}` };
    } else if (text === undefined) {
      text = a;
    } else {
      return { error: 'give the query once (quote it as a single argument)' };
    }
  }
  if (text !== undefined && file !== undefined) return { error: 'give the query either as an argument or with --file, not both' };
  if (text === undefined && file === undefined) return { error: 'missing query' };
  return { text, file };
}

/** Writes with back-pressure; resolves false when stdout is gone (e.g. piped into `head`). */
function makeWriter(out: NodeJS.WritableStream): { write(s: string): Promise<boolean>; closed(): boolean; dispose(): void } {
  let gone = false;
  const onError = (): void => {
    gone = true;
  };
  out.on('error', onError);
  return {
    closed: () => gone,
    dispose: () => out.off('error', onError),
    async write(s: string): Promise<boolean> {
      if (gone) return false;
      if (!out.write(s)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            out.off('drain', done);
            out.off('error', done);
            out.off('close', done);
            resolve();
          };
          out.on('drain', done);
          out.on('error', done);
          out.on('close', done);
        });
      }
      return !gone;
    },
  };
}

async function run(query: CompiledQuery, io: QueryIo): Promise<void> {
  const stdout = makeWriter(io.stdout);
  const counts: Counts = { in: 0, out: 0, dropped: 0, errors: 0 };
  try {
    await readLines(query, io, stdout, counts);
  } finally {
    stdout.dispose();
  }
  io.stderr.write(`in ${counts.in}, out ${counts.out}, dropped ${counts.dropped}, errors ${counts.errors}\n`);
}

type Counts = { in: number; out: number; dropped: number; errors: number };

async function readLines(query: CompiledQuery, io: QueryIo, stdout: ReturnType<typeof makeWriter>, counts: Counts): Promise<void> {
  let lineNo = 0;
  let batch = '';
  if (query.summaries) {
    // suppress -summary: summaries are printed where their window closed, the rest at the end.
    query.summaries.target = {
      hold: () => undefined,
      summary: (out) => {
        if (out instanceof Error) {
          counts.errors++;
          io.stderr.write(`a suppress summary: ${out.message} (would be dead-lettered)\n`);
        } else if (out !== null) {
          counts.out++;
          batch += `${JSON.stringify(out)}\n`;
        }
      },
    };
  }
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  for await (const raw of lines) {
    lineNo++;
    if (raw.trim() === '') continue;
    counts.in++;
    let out: Record<string, unknown> | null;
    try {
      out = query.apply(recordFromLine(raw));
    } catch (err) {
      if (!(err instanceof QueryRuntimeError)) throw err;
      counts.errors++;
      io.stderr.write(`line ${lineNo}: ${err.message} (would be dead-lettered)\n`);
      continue;
    }
    if (out === null) {
      counts.dropped++;
      continue;
    }
    counts.out++;
    batch += `${JSON.stringify(out)}\n`;
    // Batch small writes: one write per record is the bottleneck on large inputs.
    if (batch.length >= 65536) {
      const ok = await stdout.write(batch);
      batch = '';
      if (!ok) break;
    }
  }
  query.summaries?.flush();
  if (batch && !stdout.closed()) await stdout.write(batch);
}

/** Exit code: 0 ok, 2 bad query or usage (message on stderr), 1 I/O failure. */
export async function queryCommand(argv: string[], io: QueryIo): Promise<number> {
  const args = parseArgs(argv);
  if (args.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (args.error) {
    io.stderr.write(`logstream query: ${args.error}\n${USAGE}`);
    return 2;
  }
  let text = args.text ?? '';
  if (args.file !== undefined) {
    try {
      text = await readFile(args.file, 'utf8');
    } catch (err) {
      io.stderr.write(`logstream query: cannot read ${args.file}: ${(err as Error).message}\n`);
      return 2;
    }
  }
  let options: CompileOptions = {};
  try {
    const enrichment = new Enrichment(parseEnrichConfig(io.env ?? {}));
    options = { lookups: enrichment, geoip: enrichment.geo };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`logstream query: ${err.message}\n`);
    return 2;
  }
  let query: CompiledQuery;
  try {
    query = compileQuery(text, options);
  } catch (err) {
    if (!(err instanceof QueryError)) throw err;
    io.stderr.write(`logstream query: ${err.code}: ${err.message}\n`);
    return 2;
  }
  try {
    await run(query, io);
  } catch (err) {
    io.stderr.write(`logstream query: ${(err as Error).message}\n`);
    return 1;
  }
  return 0;
}
