// A secret value that never prints itself: logs, errors, JSON and util.inspect all see a mask. One
// read from a file (NAME_FILE) follows the file: reveal() gives its latest accepted content.
import { inspect } from 'node:util';
import type { ValueCheck, WatchedFile } from './watched-file.ts';

export const REDACTED = '**REDACTED**';

export class Secret {
  readonly #value: string;
  #file: WatchedFile | undefined;
  constructor(value: string, file?: WatchedFile) {
    this.#value = value;
    this.#file = file;
  }
  /** The only way to read the value: call it where it is put on the wire (not once at start, so
   *  that a rotated secret is used for the next request or connection). */
  reveal(): string {
    return this.#file?.value ?? this.#value;
  }
  /** True when the value comes from a file that is watched (it may change). */
  get rotates(): boolean {
    return this.#file !== undefined;
  }
  /** A check a new value of the file must pass, and what to do with it (a secret parsed at load, such
   *  as key hashes, re-parses here). Nothing happens for a secret given directly. */
  onRotate(check: ValueCheck, use: (value: string) => void): void {
    this.#file?.check(check);
    this.#file?.onChange(use);
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}
