// Runs an async function over a list with at most `limit` calls at a time (S3 multipart parts, the
// objects `verify` reads). Results come back in the order of the list.

/**
 * `fn(item, index)` for every item, `limit` at a time. The first failure rejects the whole call and no
 * new call starts after it (nor after `signal` aborts); calls already running finish on their own.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed && !signal?.aborted) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
