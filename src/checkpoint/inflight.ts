// The per-instance bound on records read but not yet committed. When it is full the source pauses
// partitions (Kafka is the buffer); below the low-water mark it resumes them. Because a record stays
// counted until its offset is committed, the duplicates a crash can cause are bounded by this limit.
import { EventEmitter } from 'node:events';

export class InFlightLimit extends EventEmitter {
  readonly maxRecords: number;
  readonly maxBytes: number;
  #records = 0;
  #bytes = 0;
  readonly #roomWaiters = new Waiters();

  constructor(maxRecords: number, maxBytes: number) {
    super();
    this.maxRecords = maxRecords;
    this.maxBytes = maxBytes;
  }

  get records(): number {
    return this.#records;
  }
  get bytes(): number {
    return this.#bytes;
  }

  /** Room for one more record? (A single record larger than maxBytes is let in when nothing else is.) */
  hasRoom(): boolean {
    return this.#records < this.maxRecords && (this.#bytes < this.maxBytes || this.#records === 0);
  }

  /** Past half of either limit: time to commit rather than wait for the interval. */
  get pressed(): boolean {
    return this.#records * 2 >= this.maxRecords || this.#bytes * 2 >= this.maxBytes;
  }

  acquire(size: number): void {
    this.#records++;
    this.#bytes += size;
  }

  release(records: number, bytes: number): void {
    this.#records -= records;
    this.#bytes -= bytes;
    if (!this.pressed) this.emit('low');
    if (this.#roomWaiters.size > 0 && this.hasRoom()) this.#roomWaiters.wakeAll();
  }

  /** Resolves true as soon as hasRoom(), false after `timeoutMs`. */
  waitForRoom(timeoutMs: number): Promise<boolean> {
    return this.hasRoom() ? Promise.resolve(true) : this.#roomWaiters.wait(timeoutMs);
  }
}

/** Counts outstanding work and lets a caller wait until none is left. */
export class PendingCount {
  #n = 0;
  readonly #waiters = new Waiters();

  get value(): number {
    return this.#n;
  }

  add(n = 1): void {
    this.#n += n;
  }

  done(n = 1): void {
    this.#n -= n;
    if (this.#n <= 0) {
      this.#n = 0;
      this.#waiters.wakeAll();
    }
  }

  /** Resolves true when the count reaches zero, false if `timeoutMs` passes first. */
  waitForZero(timeoutMs: number): Promise<boolean> {
    return this.#n === 0 ? Promise.resolve(true) : this.#waiters.wait(timeoutMs);
  }
}

/** Callers waiting for a condition: each resolves true when woken, or false at its own deadline. */
class Waiters {
  #list: Array<() => void> = [];

  get size(): number {
    return this.#list.length;
  }

  wait(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#list = this.#list.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.#list.push(waiter);
    });
  }

  wakeAll(): void {
    const list = this.#list;
    this.#list = [];
    for (const w of list) w();
  }
}
