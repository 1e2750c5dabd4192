// A secret value that never prints itself: logs, errors, JSON and util.inspect all see a mask.
import { inspect } from 'node:util';

export const REDACTED = '**REDACTED**';

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The only way to read the value: call it where it is put on the wire. */
  reveal(): string {
    return this.#value;
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
