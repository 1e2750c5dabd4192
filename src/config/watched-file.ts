// Files whose content logstream re-reads while it runs: secrets mounted from Kubernetes Secrets
// (NAME_FILE), which the kubelet updates in place, and the HTTP server's certificate, which
// cert-manager renews. Each is polled (stat, then a read when it changed); a new value that is
// unreadable, empty or refused by a check is reported and the previous one kept. Who uses a value
// reads `value` when it needs it (a request, a connection), or listens for changes.
import { readFile, stat } from 'node:fs/promises';

export type ReloadResult = 'changed' | 'unreadable' | 'empty' | 'invalid';

/** What a check answers: undefined when the new value is acceptable, else why not (no secret in it). */
export type ValueCheck = (value: string) => string | undefined;

export class WatchedFile {
  /** The configuration variable that named the file (what reports name; never the content). */
  readonly variable: string;
  readonly path: string;
  #value: string;
  #stamp: string | undefined;
  readonly #checks: ValueCheck[] = [];
  readonly #listeners: Array<(value: string) => void> = [];

  /** `value`: the content read at load (one trailing line break is dropped, as on every re-read). */
  constructor(variable: string, path: string, value: string) {
    this.variable = variable;
    this.path = path;
    this.#value = value.replace(/\r?\n$/, '');
  }

  get value(): string {
    return this.#value;
  }

  /** A check every new value must pass before it is used (e.g. it parses). */
  check(fn: ValueCheck): void {
    this.#checks.push(fn);
  }

  /** `fn` hears of every new value taken; the returned function stops that. */
  onChange(fn: (value: string) => void): () => void {
    this.#listeners.push(fn);
    return () => {
      const i = this.#listeners.indexOf(fn);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Re-reads the file when its inode, size or mtime changed; undefined when nothing changed. */
  async poll(): Promise<{ result: ReloadResult; why?: string } | undefined> {
    let stamp: string;
    try {
      const s = await stat(this.path);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (err) {
      return this.#refuse('unreadable', (err as NodeJS.ErrnoException).code ?? 'error');
    }
    if (stamp === this.#stamp) return undefined;
    let text: string;
    try {
      text = (await readFile(this.path, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      return this.#refuse('unreadable', (err as NodeJS.ErrnoException).code ?? 'error');
    }
    this.#stamp = stamp;
    if (text === this.#value) return undefined;
    if (text.trim() === '') return { result: 'empty', why: 'the file is empty' };
    for (const check of this.#checks) {
      const why = check(text);
      if (why !== undefined) return { result: 'invalid', why };
    }
    this.#value = text;
    for (const l of this.#listeners) l(text);
    return { result: 'changed' };
  }

  /** A failure to read is reported once per stamp (a missing file is not re-reported every poll). */
  #refuse(result: ReloadResult, why: string): { result: ReloadResult; why: string } | undefined {
    const stamp = `error:${why}`;
    if (stamp === this.#stamp) return undefined;
    this.#stamp = stamp;
    return { result, why };
  }
}

/** Every watched file of the process, by variable and path (a value read twice is one file). */
class WatchedFiles {
  readonly #files = new Map<string, WatchedFile>();
  #names: ReadonlyMap<string, string> | undefined;

  /** `variable`: as the configuration spec names it; reports use the name the user wrote (namedAs). */
  register(variable: string, path: string, value: string): WatchedFile {
    variable = this.#names?.get(variable) ?? variable;
    const id = `${variable}\u0000${path}`;
    let f = this.#files.get(id);
    if (f === undefined) {
      f = new WatchedFile(variable, path, value);
      this.#files.set(id, f);
    }
    return f;
  }

  /** Runs `load` (synchronous) with files registered under the names `names` maps to: a route's view of
   *  the environment reads HEC_TOKEN_FILE where the user wrote ROUTE_SIEM_HEC_TOKEN_FILE. */
  namedAs<T>(names: ReadonlyMap<string, string>, load: () => T): T {
    const before = this.#names;
    this.#names = names;
    try {
      return load();
    } finally {
      this.#names = before;
    }
  }

  get all(): WatchedFile[] {
    return [...this.#files.values()];
  }

  /** Polls every file each `intervalMs`; `report` hears of every new value, used or refused. */
  watch(intervalMs: number, report: (file: WatchedFile, result: ReloadResult, why: string | undefined) => void): { stop(): void } {
    let running = false;
    const tick = async (): Promise<void> => {
      if (running) return;
      running = true;
      try {
        for (const f of this.all) {
          const r = await f.poll();
          if (r !== undefined) report(f, r.result, r.why);
        }
      } finally {
        running = false;
      }
    };
    // The first poll records each file's stamp (its value was read at load).
    void tick();
    const timer = setInterval(() => void tick(), intervalMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
}

export const watchedFiles = new WatchedFiles();
