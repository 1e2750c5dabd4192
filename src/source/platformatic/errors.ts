// @platformatic/kafka's errors in the interface's convention (interface.ts): the Kafka protocol error
// name in `type`. The library puts it in `apiId` of a ProtocolError, nested in MultipleErrors (`errors`:
// one per failed attempt, one per partition) and `cause`; code outside the adapter (dead-letter
// publisher, test helpers) reads `type` only. Its top-level messages say only what failed ("Listing
// topics failed."), so the innermost cause is added: the app prints the top-level message at start.

import { kafkaErrorNodes, wrappedErrors, type KafkaErrorNode } from '../kafka/error-tree.ts';

/** A node of the error tree, with what @platformatic/kafka's errors add. */
interface Node extends KafkaErrorNode {
  canRetry?: unknown;
  serverErrorMessage?: unknown;
}

const walk = (err: unknown): Node[] => kafkaErrorNodes(err) as Node[];

/** The Kafka protocol error names anywhere in `err` (apiId, or `type` once tagged), outermost first. */
export function errorNames(err: unknown): string[] {
  return walk(err).flatMap((n) => [n.apiId, n.type].filter((x): x is string => typeof x === 'string' && x !== 'NONE'));
}

/** `err` with `type` set to the last protocol error name it carries (the last attempt's) and its message
 *  ending with the innermost cause's (the broker's own words when it sent some). */
export function kafkaError(err: unknown): unknown {
  if (!(err instanceof Error) || (err as { type?: unknown }).type !== undefined) return err;
  const nodes = walk(err);
  const ids = nodes.flatMap((n) => (typeof n.apiId === 'string' && n.apiId !== 'NONE' ? [n.apiId] : []));
  // The library turns a metadata answer UNKNOWN_TOPIC_OR_PARTITION into a bare "Unknown topic x." UserError.
  const type = ids.at(-1) ?? (/^Unknown topic /.test(err.message) ? 'UNKNOWN_TOPIC_OR_PARTITION' : undefined);
  if (type !== undefined) Object.defineProperty(err, 'type', { value: type, enumerable: true, configurable: true, writable: true });
  const leaf = nodes.filter((n) => wrappedErrors(n).length === 0).at(-1);
  if (leaf && leaf !== err && typeof leaf.message === 'string') {
    const words = typeof leaf.serverErrorMessage === 'string' && leaf.serverErrorMessage ? `${leaf.message.replace(/\.$/, '')}: ${leaf.serverErrorMessage}` : leaf.message;
    if (!err.message.includes(words)) err.message = `${err.message.replace(/\.$/, '')}: ${words}`;
  }
  return err;
}

/** A failure that no retry mends: anything in the tree the library marked canRetry false (an
 *  authentication failure, a closed client), or a certificate problem. */
export function isPermanent(err: unknown): boolean {
  return walk(err).some((n) => n.canRetry === false || /certificate/i.test(String(n.message)));
}

/** Whether a library error may be retried. The library's own test (findErrorBy canRetry false) skips
 *  `cause`, so it retries a connection that failed on a wrong password or an untrusted certificate. */
export function canRetry(err: unknown): boolean {
  return walk(err).some((n) => typeof n.canRetry === 'boolean') && !isPermanent(err);
}

/** Runs a library call; its error is rethrown tagged (kafkaError). */
export async function tagged<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw kafkaError(err);
  }
}
