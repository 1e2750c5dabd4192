// Typed environment variables: each variable declares its zod schema, default and doc line.
// parseVars() validates a group of them and reports every problem with the variable's name.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { Secret } from './secret.ts';
import { watchedFiles } from './watched-file.ts';

export type Env = Record<string, string | undefined>;

export interface VarSpec<T> {
  readonly schema: z.ZodType<T, string | undefined>;
  readonly doc: string;
  /** The default as a user would write it, for the docs ('' when none). */
  readonly defaultText: string;
  readonly required: boolean;
  readonly secret: boolean;
}

export type VarSpecs = Record<string, VarSpec<unknown>>;
export type ParsedVars<S extends VarSpecs> = { [K in keyof S]: S[K] extends VarSpec<infer T> ? T : never };

function spec<T>(schema: z.ZodType<T, string | undefined>, doc: string, defaultText: string, required = false, secret = false): VarSpec<T> {
  return { schema, doc, defaultText, required, secret };
}

const present = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

function custom<T>(parse: (raw: string) => T | string, opts: { doc: string; default?: T; defaultText?: string; required?: boolean }): VarSpec<T> {
  const required = opts.required ?? opts.default === undefined;
  const schema = z.string().optional().transform((raw, ctx): T => {
    if (!present(raw)) {
      if (opts.default !== undefined) return opts.default;
      if (required) ctx.addIssue({ code: 'custom', message: 'is required but not set' });
      return undefined as T;
    }
    const out = parse(raw.trim());
    if (typeof out === 'string' && out.startsWith('\u0000')) {
      ctx.addIssue({ code: 'custom', message: out.slice(1) });
      return z.NEVER;
    }
    return out as T;
  });
  const defaultText = opts.defaultText ?? (opts.default === undefined ? '' : String(opts.default));
  return spec(schema as z.ZodType<T, string | undefined>, opts.doc, defaultText, required);
}

/** Marks a parse failure (a string starting with NUL cannot be a legitimate parsed value here). */
const fail = (message: string): string => `\u0000${message}`;
const quote = (raw: string): string => JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw);

const UNITS: Record<string, number> = {
  b: 1, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
};
const DURATIONS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseByteSize(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw);
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit === '' ? 1 : UNITS[unit];
  return mult === undefined ? undefined : Math.round(Number(m[1]) * mult);
}

export function parseDurationMs(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw);
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const mult = unit === '' ? 1 : DURATIONS[unit];
  return mult === undefined ? undefined : Math.round(Number(m[1]) * mult);
}

function inRange(n: number, raw: string, min?: number, max?: number): number | string {
  if (min !== undefined && n < min) return fail(`must be at least ${min}, got ${quote(raw)}`);
  if (max !== undefined && n > max) return fail(`must be at most ${max}, got ${quote(raw)}`);
  return n;
}

export const v = {
  string(opts: { doc: string; default?: string; required?: boolean; pattern?: RegExp; patternText?: string }): VarSpec<string> {
    return custom((raw) => (opts.pattern && !opts.pattern.test(raw) ? fail(`must be ${opts.patternText ?? `like ${opts.pattern}`}, got ${quote(raw)}`) : raw), opts);
  },
  optionalString(opts: { doc: string }): VarSpec<string | undefined> {
    return custom<string | undefined>((raw) => raw, { ...opts, required: false });
  },
  int(opts: { doc: string; default?: number; min?: number; max?: number; required?: boolean }): VarSpec<number> {
    return custom((raw) => {
      if (!/^-?\d+$/.test(raw)) return fail(`must be a whole number, got ${quote(raw)}`);
      return inRange(Number(raw), raw, opts.min, opts.max);
    }, opts);
  },
  number(opts: { doc: string; default?: number; min?: number; max?: number }): VarSpec<number> {
    return custom((raw) => {
      const n = Number(raw);
      if (!Number.isFinite(n)) return fail(`must be a number, got ${quote(raw)}`);
      return inRange(n, raw, opts.min, opts.max);
    }, opts);
  },
  bytes(opts: { doc: string; default?: number; min?: number; max?: number }): VarSpec<number> {
    return custom((raw) => {
      const n = parseByteSize(raw);
      if (n === undefined) return fail(`must be a size in bytes such as 1048576, 512KiB or 2MiB, got ${quote(raw)}`);
      return inRange(n, raw, opts.min, opts.max);
    }, { ...opts, defaultText: opts.default === undefined ? '' : String(opts.default) });
  },
  duration(opts: { doc: string; default?: number; min?: number; max?: number }): VarSpec<number> {
    return custom((raw) => {
      const n = parseDurationMs(raw);
      if (n === undefined) return fail(`must be a duration such as 500ms, 5s, 2m or a number of milliseconds, got ${quote(raw)}`);
      return inRange(n, raw, opts.min, opts.max);
    }, { ...opts, defaultText: opts.default === undefined ? '' : `${opts.default}ms` });
  },
  bool(opts: { doc: string; default: boolean }): VarSpec<boolean> {
    return custom((raw) => {
      const t = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(t)) return true;
      if (['false', '0', 'no', 'off'].includes(t)) return false;
      return fail(`must be true or false, got ${quote(raw)}`);
    }, opts);
  },
  oneOf<T extends string>(values: readonly T[], opts: { doc: string; default?: T; required?: boolean }): VarSpec<T> {
    return custom((raw) => ((values as readonly string[]).includes(raw) ? (raw as T) : fail(`must be one of ${values.join(', ')}, got ${quote(raw)}`)), opts);
  },
  list(opts: { doc: string; default?: string[]; required?: boolean; item?: (s: string) => string | undefined; itemText?: string }): VarSpec<string[]> {
    return custom((raw) => {
      const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (items.length === 0) return fail('must list at least one value, separated by commas');
      for (const it of items) {
        const problem = opts.item?.(it);
        if (problem) return fail(`${problem} (in ${quote(raw)})`);
      }
      return items;
    }, { ...opts, defaultText: opts.default?.join(',') ?? '' });
  },
  /** A secret: from NAME or from the file named by NAME_FILE (as Kubernetes mounts secrets). */
  secret(opts: { doc: string; required?: boolean }): VarSpec<Secret | undefined> {
    const base = custom<Secret | undefined>((raw) => new Secret(raw), { doc: opts.doc, required: opts.required ?? false });
    return { ...base, secret: true };
  },
};

/** Resolves NAME_FILE for secret variables. Returns the env with NAME filled in, and problems found;
 *  `files` gets the path each secret came from. */
function resolveSecretFiles(specs: VarSpecs, env: Env, problems: string[], files: Map<string, string>): Env {
  const out: Env = { ...env };
  for (const [name, s] of Object.entries(specs)) {
    if (!s.secret) continue;
    const file = env[`${name}_FILE`];
    if (!present(file)) continue;
    if (present(env[name])) {
      problems.push(`${name} and ${name}_FILE are both set: set only one`);
      continue;
    }
    try {
      out[name] = readFileSync(file.trim(), 'utf8').replace(/\r?\n$/, '');
      files.set(name, file.trim());
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${quote(file)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return out;
}

/** Validates a group of variables. Throws ConfigError listing every problem, each naming its variable. */
export function parseVars<S extends VarSpecs>(specs: S, env: Env): ParsedVars<S> {
  const problems: string[] = [];
  const files = new Map<string, string>();
  const resolved = resolveSecretFiles(specs, env, problems, files);
  const result: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(specs)) {
    const r = s.schema.safeParse(resolved[name]);
    const path = files.get(name);
    // A secret from a file follows the file (re-read while running, src/config/watched-file.ts).
    if (r.success && path !== undefined && r.data instanceof Secret) result[name] = new Secret(r.data.reveal(), watchedFiles.register(`${name}_FILE`, path, r.data.reveal()));
    else if (r.success) result[name] = r.data;
    else for (const issue of r.error.issues) problems.push(`${name}: ${issue.message}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return result as ParsedVars<S>;
}
