// Broker refusals that a logstream setting causes: the message of such an error names the variable, so
// that "start failed" or "consumer stopped for good" says what to change. The error name is looked for
// as isRetriableKafkaError does (`type`, `code`, `apiId`, also in wrapped errors).

/** Kafka error name → the variable that causes it, and what the broker allows. */
const SETTINGS = new Map<string, string>([
  ['INVALID_SESSION_TIMEOUT', 'KAFKA_SESSION_TIMEOUT: outside what the broker allows (group.min.session.timeout.ms to group.max.session.timeout.ms, by default 6 s to 30 min)'],
]);

function settingOf(err: unknown, depth = 0): string | undefined {
  const e = err as { type?: unknown; code?: unknown; apiId?: unknown; originalError?: unknown; cause?: unknown; errors?: unknown } | undefined;
  if (!e || typeof e !== 'object' || depth > 5) return undefined;
  for (const name of [e.type, e.code, e.apiId]) if (typeof name === 'string' && SETTINGS.has(name)) return SETTINGS.get(name);
  for (const inner of [e.originalError, e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const found = settingOf(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** `message`, led by the variable and the broker's range when a setting caused `err`. */
export function namingTheSetting(err: unknown, message: string): string {
  const setting = settingOf(err);
  return setting ? `${setting}; ${message}` : message;
}
