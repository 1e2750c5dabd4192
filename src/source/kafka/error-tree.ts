// Kafka errors as the adapters throw them: the error name in `type` (kafkajs, the adapters), `code`, or
// `apiId` (@platformatic/kafka's ProtocolError), wrapping others when a client's retries are exhausted
// (originalError, errors, cause). One walk for everything that asks what an error is.

export interface KafkaErrorNode {
  type?: unknown;
  code?: unknown;
  apiId?: unknown;
  message?: unknown;
  originalError?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The errors `e` wraps: originalError (kafkajs), errors (one per attempt or partition), cause. */
export function wrappedErrors(e: KafkaErrorNode): unknown[] {
  return [e.originalError, ...(Array.isArray(e.errors) ? e.errors : []), e.cause].filter((x) => x !== undefined);
}

/** `err` and every error it wraps, depth first (outermost first), at most 8 deep. */
export function kafkaErrorNodes(err: unknown, out: KafkaErrorNode[] = [], depth = 0): KafkaErrorNode[] {
  if (!err || typeof err !== 'object' || depth > 8) return out;
  out.push(err as KafkaErrorNode);
  for (const inner of wrappedErrors(err as KafkaErrorNode)) kafkaErrorNodes(inner, out, depth + 1);
  return out;
}

/** The first answer `visit` gives for `err` or an error it wraps. */
export function findInKafkaError<T>(err: unknown, visit: (e: KafkaErrorNode) => T | undefined): T | undefined {
  for (const node of kafkaErrorNodes(err)) {
    const found = visit(node);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The error names one node carries. */
export function errorNamesOf(e: KafkaErrorNode): string[] {
  return [e.type, e.code, e.apiId].filter((n): n is string => typeof n === 'string');
}
