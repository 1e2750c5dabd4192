// A client of the schema registry's REST API (Confluent's; Apicurio's ccompat API, Karapace and
// Redpanda serve the same): a schema by id, the schemas it references, its subject and version.
// Schemas by id never change, so each is fetched once and kept compiled (bounded, least recently used).
//
// Failures are classed so that nothing is lost:
// - the registry unreachable, timing out, or answering 5xx, 429, 401/403 or anything unexpected: the
//   lookup waits and retries (backing off to 10 s, trying the next URL each time) for as long as it takes;
//   only the records that need that schema wait, the route reports the problem on /readyz and
//   logstream_schema_registry_up is 0;
// - 404 with error code 40403 (no schema has that id): the record is dead-lettered with the reason; the
//   answer is kept for a minute, so a burst of such records asks once;
// - a schema that cannot be compiled (invalid, a reference that does not resolve): dead-lettered too.
import { Agent, request } from 'undici';
import { HttpTlsConnector } from '../../config/http-tls.ts';
import { oneLine } from '../../core/errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { AvroNames, compileAvro, SchemaError, type AvroReader } from './avro.ts';
import { compileProtobuf, type ProtobufSchema, type ProtoFile } from './protobuf.ts';
import type { SchemaRegistryConfig } from './registry-config.ts';

export type SchemaType = 'AVRO' | 'PROTOBUF' | 'JSON';

/** A schema ready to decode records with. */
export type CompiledSchema =
  | { kind: 'avro'; id: number; subject?: string; version?: number; reader: AvroReader }
  | { kind: 'protobuf'; id: number; subject?: string; version?: number; schema: ProtobufSchema }
  | { kind: 'json'; id: number; subject?: string; version?: number }
  /** The registry has no schema with this id (404, error code 40403). */
  | { kind: 'missing'; id: number; message: string }
  /** The registry has it, but it cannot be used. */
  | { kind: 'invalid'; id: number; message: string };

interface RegistrySchema {
  schema: string;
  schemaType?: string;
  references?: Array<{ name: string; subject: string; version: number }>;
}

/** What the registry client reports to the metrics. */
export interface RegistryTelemetry {
  request(result: 'ok' | 'not_found' | 'error'): void;
  up(up: boolean): void;
}

const MISSING_TTL_MS = 60_000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10_000;
const LOG_EVERY_MS = 30_000;
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

class NotFound extends Error {}

export class SchemaRegistry {
  readonly #cfg: SchemaRegistryConfig;
  readonly #log: Logger;
  readonly #telemetry: RegistryTelemetry | undefined;
  readonly #agent: Agent;
  readonly #connector: HttpTlsConnector;
  readonly #accept: string;
  /** Compiled schemas by id, least recently used first. */
  readonly #cache = new Map<number, { schema: CompiledSchema; until?: number }>();
  readonly #pending = new Map<number, Promise<CompiledSchema>>();
  #lastHit = -1;
  #url = 0;
  /** Requests in their retry loop, by path: since when, and the last error. Empty: the registry answers. */
  readonly #failing = new Map<string, { since: number; error: string }>();
  #loggedAt = 0;
  #closed = false;
  readonly #sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  constructor(cfg: SchemaRegistryConfig, logger: Logger, telemetry?: RegistryTelemetry) {
    this.#cfg = cfg;
    this.#log = logger.child({ component: 'schema-registry' });
    this.#telemetry = telemetry;
    this.#connector = new HttpTlsConnector(cfg.tls);
    this.#agent = new Agent({ connect: this.#connector.connect, connections: 4 });
    this.#accept = `${CONTENT_TYPE}, application/json`;
    telemetry?.up(true);
  }

  /** Request headers; the credentials read per request (a rotated SCHEMA_REGISTRY_*_FILE is used at once). */
  #headers(): Record<string, string> {
    const auth = this.#cfg.auth;
    if (auth?.kind === 'basic') return { accept: this.#accept, authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password.reveal()}`).toString('base64')}` };
    if (auth?.kind === 'bearer') return { accept: this.#accept, authorization: `Bearer ${auth.token.reveal()}` };
    return { accept: this.#accept };
  }

  /** The problem while the registry cannot be reached (for /readyz), else undefined. */
  get problem(): string | undefined {
    let first: { since: number; error: string } | undefined;
    for (const f of this.#failing.values()) if (first === undefined || f.since < first.since) first = f;
    if (first === undefined) return undefined;
    return `schema registry unreachable for ${Math.round((Date.now() - first.since) / 1000)} s: ${first.error}`;
  }

  /** The schema `id`, at once when it is cached, else a promise that settles once the registry answered. */
  lookup(id: number): CompiledSchema | Promise<CompiledSchema> {
    if (id === this.#lastHit) {
      const hit = this.#cache.get(id);
      if (hit && (hit.until === undefined || hit.until > Date.now())) return hit.schema;
    }
    const hit = this.#cache.get(id);
    if (hit) {
      if (hit.until === undefined || hit.until > Date.now()) {
        this.#cache.delete(id);
        this.#cache.set(id, hit);
        this.#lastHit = id;
        return hit.schema;
      }
      this.#cache.delete(id);
    }
    let p = this.#pending.get(id);
    if (!p) {
      p = this.#load(id).finally(() => this.#pending.delete(id));
      this.#pending.set(id, p);
    }
    return p;
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#sleeps) {
      clearTimeout(s.timer);
      s.resolve();
    }
    this.#connector.close();
    void this.#agent.close();
  }

  async #load(id: number): Promise<CompiledSchema> {
    let schema: CompiledSchema;
    try {
      const [found, where] = await Promise.all([this.#get<RegistrySchema>(`/schemas/ids/${id}`), this.#subjectOf(id)]);
      schema = await this.#compile(id, found, where);
    } catch (err) {
      if (err instanceof NotFound) schema = { kind: 'missing', id, message: `schema id ${id} is not in the registry (404, error code 40403)` };
      else if (err instanceof SchemaError) schema = { kind: 'invalid', id, message: `schema id ${id}: ${err.message}` };
      else throw err;
    }
    if (this.#cache.size >= this.#cfg.cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(id, schema.kind === 'missing' ? { schema, until: Date.now() + MISSING_TTL_MS } : { schema });
    return schema;
  }

  /** The first subject and version registered with this id (Confluent ≥ 5.5; older registries: none). */
  async #subjectOf(id: number): Promise<{ subject?: string; version?: number }> {
    try {
      const versions = await this.#get<Array<{ subject?: unknown; version?: unknown }>>(`/schemas/ids/${id}/versions`, { optional: true });
      const first = Array.isArray(versions) ? versions[0] : undefined;
      return {
        ...(typeof first?.subject === 'string' ? { subject: first.subject } : {}),
        ...(typeof first?.version === 'number' ? { version: first.version } : {}),
      };
    } catch (err) {
      if (err instanceof NotFound) return {};
      throw err;
    }
  }

  async #compile(id: number, found: RegistrySchema, where: { subject?: string; version?: number }): Promise<CompiledSchema> {
    if (typeof found?.schema !== 'string') throw new SchemaError('the registry answered without a schema');
    const type = (found.schemaType ?? 'AVRO').toUpperCase();
    const refs = await this.#references(found.references ?? [], new Set());
    if (type === 'AVRO') {
      const names = new AvroNames();
      for (const r of refs) compileAvro(r.text, names);
      return { kind: 'avro', id, ...where, reader: compileAvro(found.schema, names) };
    }
    if (type === 'PROTOBUF') return { kind: 'protobuf', id, ...where, schema: compileProtobuf(found.schema, refs) };
    if (type === 'JSON') return { kind: 'json', id, ...where };
    throw new SchemaError(`schema type ${JSON.stringify(found.schemaType)} is not one logstream reads (AVRO, PROTOBUF, JSON)`);
  }

  /** The referenced schemas, each after the ones it references, each once. */
  async #references(refs: NonNullable<RegistrySchema['references']>, seen: Set<string>): Promise<ProtoFile[]> {
    const out: ProtoFile[] = [];
    for (const ref of refs) {
      const key = `${ref.subject}/${ref.version}`;
      if (seen.has(key)) continue;
      seen.add(key);
      let s: RegistrySchema;
      try {
        s = await this.#get<RegistrySchema>(`/subjects/${encodeURIComponent(ref.subject)}/versions/${encodeURIComponent(String(ref.version))}`);
      } catch (err) {
        if (err instanceof NotFound) throw new SchemaError(`its reference ${ref.name} (subject ${ref.subject} version ${ref.version}) is not in the registry`);
        throw err;
      }
      out.push(...(await this.#references(s.references ?? [], seen)), { name: ref.name, text: s.schema });
    }
    return out;
  }

  /** GET a path, retrying until the registry answers; NotFound for a 404 the registry means. */
  async #get<T>(path: string, opts: { optional?: boolean } = {}): Promise<T> {
    let delay = BACKOFF_MIN_MS;
    for (;;) {
      if (this.#closed) throw new Error('the schema registry client is closed');
      const at = this.#url;
      const base = this.#cfg.urls[at % this.#cfg.urls.length]!;
      let failure: string;
      try {
        const res = await request(`${base}${path}`, {
          dispatcher: this.#agent,
          headers: this.#headers(),
          headersTimeout: this.#cfg.timeoutMs,
          bodyTimeout: this.#cfg.timeoutMs,
          signal: AbortSignal.timeout(this.#cfg.timeoutMs),
        });
        const text = await res.body.text();
        if (res.statusCode === 200) {
          this.#recovered(path);
          this.#telemetry?.request('ok');
          return JSON.parse(text) as T;
        }
        const code = errorCode(text);
        // A 404 the registry means (its error code), or any 404 of an optional endpoint an older
        // registry does not have. A bare 404 of a required one (a wrong base URL) is retried.
        if (res.statusCode === 404 && (code === 40403 || code === 40401 || code === 40402 || opts.optional)) {
          this.#recovered(path);
          this.#telemetry?.request('not_found');
          throw new NotFound(path);
        }
        failure = `${base} answered ${res.statusCode}${code !== undefined ? ` (error code ${code})` : ''}${res.statusCode === 404 ? ': is SCHEMA_REGISTRY_URL the API base (Apicurio: …/apis/ccompat/v7)?' : res.statusCode === 401 || res.statusCode === 403 ? ': check the registry credentials' : ''}`;
      } catch (err) {
        if (err instanceof NotFound) throw err;
        failure = `${base}: ${oneLine(describe(this.#connector.explain(err)))}`;
      }
      this.#telemetry?.request('error');
      this.#failed(path, failure);
      // The next URL after the one that failed (concurrent failures move it once, not past the others).
      if (this.#url === at) this.#url = at + 1;
      await this.#sleep(delay);
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    }
  }

  #failed(path: string, message: string): void {
    const now = Date.now();
    const was = this.#failing.get(path);
    this.#failing.set(path, { since: was?.since ?? now, error: message });
    if (this.#failing.size === 1 && was === undefined) this.#telemetry?.up(false);
    if (now - this.#loggedAt >= LOG_EVERY_MS) {
      this.#loggedAt = now;
      this.#log.warn({ error: message, since: new Date(was?.since ?? now).toISOString() }, 'schema registry unreachable: records whose schema is not cached wait (nothing is dead-lettered for this)');
    }
  }

  #recovered(path: string): void {
    const was = this.#failing.get(path);
    if (was === undefined) return;
    this.#failing.delete(path);
    if (this.#failing.size > 0) return;
    this.#log.info({ afterMs: Date.now() - was.since }, 'schema registry reachable again');
    this.#loggedAt = 0;
    this.#telemetry?.up(true);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.#sleeps.add(entry);
    });
  }
}

function errorCode(text: string): number | undefined {
  try {
    const body = JSON.parse(text) as { error_code?: unknown };
    return typeof body?.error_code === 'number' ? body.error_code : undefined;
  } catch {
    return undefined;
  }
}

function describe(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'no answer within SCHEMA_REGISTRY_TIMEOUT';
  if (e instanceof SyntaxError) return `the answer is not JSON (${e.message})`;
  const code = e?.code ?? e?.cause?.code;
  return `${code ? `${code} ` : ''}${e?.message ?? String(err)}`;
}
