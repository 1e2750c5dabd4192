// Several obligations that together make one acknowledgement: a summary record's sinks, each owing an
// acknowledgement, release the one record whose commit the summary holds back.
import type { Ack } from '../core/record.ts';

class Share implements Ack {
  readonly #group: { left: number; readonly of: Ack };
  #used = false;
  constructor(group: { left: number; readonly of: Ack }) {
    this.#group = group;
  }
  done(): void {
    if (this.#used) return;
    this.#used = true;
    if (--this.#group.left === 0) this.#group.of.done();
  }
  get live(): boolean {
    return this.#group.of.live;
  }
}

/** `n` acknowledgements; when each is done, `of` is. */
export function sharedAcks(of: Ack, n: number): Ack[] {
  if (n <= 0) {
    of.done();
    return [];
  }
  const group = { left: n, of };
  return Array.from({ length: n }, () => new Share(group));
}
