// Kafka errors as the adapters throw them: the error name in `type` (kafkajs, the adapters), `code`, or
// `apiId` (@platformatic/kafka's ProtocolError), wrapping others when a client's retries are exhausted
// (originalError, cause, errors). One walk for everything that asks what an error is.

export interface KafkaErrorNode {
  type?: unknown;
  code?: unknown;
  apiId?: unknown;
  message?: unknown;
  originalError?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The first answer `visit` gives for `err` or an error it wraps (depth first, at most 5 deep). */
export function findInKafkaError<T>(err: unknown, visit: (e: KafkaErrorNode) => T | undefined, depth = 0): T | undefined {
  if (!err || typeof err !== 'object' || depth > 5) return undefined;
  const e = err as KafkaErrorNode;
  const found = visit(e);
  if (found !== undefined) return found;
  for (const inner of [e.originalError, e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const deeper = findInKafkaError(inner, visit, depth + 1);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

/** The error names one node carries. */
export function errorNamesOf(e: KafkaErrorNode): string[] {
  return [e.type, e.code, e.apiId].filter((n): n is string => typeof n === 'string');
}
