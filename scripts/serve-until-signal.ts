// The tail of the peer scripts' `start` command (kafka-broker, elasticmq, minio): keep the peer running
// until SIGINT/SIGTERM, stop it cleanly then, and report an unexpected exit. Resolves with the exit code.
export interface ServedPeer {
  stop(): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly logFile: string;
}

export function serveUntilSignal(name: string, peer: ServedPeer, err: (line: string) => void): Promise<number> {
  const keepAlive = setInterval(() => {}, 1 << 30); // the peer's child process is unref'd
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      err(`${sig}: stopping ${name} ...`);
      peer.stop().then(
        () => {
          clearInterval(keepAlive);
          err(`${name} stopped`);
          resolveExit(0);
        },
        (e: unknown) => {
          clearInterval(keepAlive);
          err(`stopping ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
          resolveExit(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    void peer.exited.then((info) => {
      if (stopping) return;
      clearInterval(keepAlive);
      err(`${name} exited unexpectedly (code ${info.code}, signal ${info.signal}); see ${peer.logFile}`);
      resolveExit(1);
    });
  });
}
