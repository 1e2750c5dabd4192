// Broker refusals that a logstream setting causes: the message of such an error names the variable, so
// that "start failed" or "consumer stopped for good" says what to change.
import { errorNamesOf, findInKafkaError } from './error-tree.ts';

/** Kafka error name → the variable that causes it, and what the broker allows. */
const SETTINGS = new Map<string, string>([
  ['INVALID_SESSION_TIMEOUT', 'KAFKA_SESSION_TIMEOUT: outside what the broker allows (group.min.session.timeout.ms to group.max.session.timeout.ms, by default 6 s to 30 min)'],
]);

/** `message`, led by the variable and the broker's range when a setting caused `err`. */
export function namingTheSetting(err: unknown, message: string): string {
  const setting = findInKafkaError(err, (e) => errorNamesOf(e).map((n) => SETTINGS.get(n)).find((x) => x !== undefined));
  return setting ? `${setting}; ${message}` : message;
}
