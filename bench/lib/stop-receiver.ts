// How every bench stops a receiver it started (HEC, form POST): SIGTERM, SIGKILL when it has not
// exited within RECEIVER_STOP_TIMEOUT_MS, and what went wrong in words for the run's problems.

export const RECEIVER_STOP_TIMEOUT_MS = 15_000;

export type ReceiverExit = { code: number | null; signal: NodeJS.Signals | null };

export interface StoppableReceiver {
  stop(signal?: NodeJS.Signals): Promise<ReceiverExit>;
}

/** Stops `receiver` (named `what` in the problems); a clean stop is exit code 0 after SIGTERM. */
export async function stopReceiver(receiver: StoppableReceiver, what: string): Promise<{ exit: ReceiverExit; problems: string[] }> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), RECEIVER_STOP_TIMEOUT_MS);
  });
  const first = await Promise.race([receiver.stop(), timedOut]);
  clearTimeout(timer);
  if (first === 'timeout') {
    const exit = await receiver.stop('SIGKILL');
    return { exit, problems: [`${what} did not exit within ${RECEIVER_STOP_TIMEOUT_MS / 1000} s of SIGTERM; killed`] };
  }
  return { exit: first, problems: first.code === 0 ? [] : [`${what} exit ${first.code ?? first.signal} (expected 0 after SIGTERM)`] };
}
