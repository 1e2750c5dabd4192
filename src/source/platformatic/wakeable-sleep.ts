// A loop's pause between rounds that something else can end early (new records, a heartbeat answered,
// a reconciliation done): one sleeper at a time.
export class WakeableSleep {
  #wake: (() => void) | undefined;

  /** Resolves after `ms`, or at the next wake(). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /** Ends the current sleep, if any. */
  wake(): void {
    this.#wake?.();
  }
}
