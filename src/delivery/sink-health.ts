// Whether a sink delivers (the logstream_sink_healthy gauge, /readyz, `lastError`), and its failure
// log: a failing sink logs its first failure, then at most one line per interval (a halt: one loud
// line a minute) with how many attempts were not logged in between, so an outage cannot flood the log.
import { oneLine, type DeliveryError } from '../core/errors.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Metrics } from '../telemetry/metrics.ts';

const FAILURE_LOG_EVERY_MS = 10_000;
const HALT_LOG_EVERY_MS = 60_000;

export class SinkHealth {
  readonly #labels: { route: string; sink: string };
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #now: () => number;
  #healthy = true;
  #lastError: string | undefined;
  #lastFailureLog = 0;
  #notLogged = 0;

  constructor(labels: { route: string; sink: string }, metrics: Metrics, logger: Logger, now: () => number = Date.now) {
    this.#labels = labels;
    this.#metrics = metrics;
    this.#log = logger;
    this.#now = now;
    metrics.sinkHealthy.set(labels, 1);
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** `CODE: message` of the failure that made the sink unhealthy; undefined while healthy. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** A send (or its confirmation) succeeded. */
  delivering(): void {
    if (this.#healthy) return;
    this.#healthy = true;
    this.#lastError = undefined;
    this.#metrics.sinkHealthy.set(this.#labels, 1);
    this.#log.info('sink delivers again');
    this.#lastFailureLog = 0; // the next outage's first failure is logged at once
  }

  /** A send failed and will be retried: unhealthy, with this error as the reason. */
  failing(err: DeliveryError): void {
    this.#healthy = false;
    this.#lastError = `${err.code}: ${oneLine(err.message, 200)}`;
    this.#metrics.sinkHealthy.set(this.#labels, 0);
  }

  /** Logs a failed attempt, unless one was logged within the interval (then it is only counted). */
  logFailure(f: DeliveryError, attempt: number, retryInMs: number, records: number): void {
    const now = this.#now();
    const every = f.deliveryClass === 'halt' ? HALT_LOG_EVERY_MS : FAILURE_LOG_EVERY_MS;
    if (now - this.#lastFailureLog < every) {
      this.#notLogged++;
      return;
    }
    const fields = { code: f.code, class: f.deliveryClass, attempt: attempt + 1, retryInMs, records, notLogged: this.#notLogged };
    this.#lastFailureLog = now;
    this.#notLogged = 0;
    if (f.deliveryClass === 'halt') this.#log.error(fields, `sink halted until its configuration or credentials are fixed (records wait, nothing is committed past them): ${oneLine(f.message)}`);
    else this.#log.warn(fields, `send failed, will retry: ${oneLine(f.message)}`);
  }
}
