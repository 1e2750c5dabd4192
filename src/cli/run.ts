// `logstream run`: the daemon. SIGTERM/SIGINT → graceful stop (exit 0); a fatal consumer error or a
// stop that overruns SHUTDOWN_TIMEOUT → exit 1; bad configuration or query → exit 2.
import { App } from '../app.ts';
import { loadConfig } from '../app-config.ts';
import { oneLine } from '../core/errors.ts';
import { connectKafkaFor } from '../source/kafka/connect.ts';
import { namingTheSetting } from '../source/kafka/setting-errors.ts';
import { createLogger } from '../telemetry/logger.ts';

export async function runCommand(env: NodeJS.ProcessEnv): Promise<void> {
  const cfg = loadConfig(env);
  const logger = createLogger({ level: cfg.logLevel, name: 'logstream' });
  const log = cfg.instanceId ? logger.child({ instance: cfg.instanceId }) : logger;
  const app = new App(cfg, log, await connectKafkaFor(cfg.kafka, log));

  let exiting = false;
  const exit = (code: number): void => {
    logger.flush();
    setTimeout(() => process.exit(code), 50);
  };
  const shutdown = (signal: string): void => {
    if (exiting) return;
    exiting = true;
    log.info({ signal }, 'shutdown requested');
    const hard = setTimeout(() => {
      log.error({ timeoutMs: cfg.shutdownTimeoutMs }, 'shutdown overran SHUTDOWN_TIMEOUT; exiting without a clean leave');
      exit(1);
    }, cfg.shutdownTimeoutMs);
    hard.unref();
    app.stop().then(
      () => exit(0),
      (err) => {
        log.error(`shutdown failed: ${oneLine(String(err?.message ?? err))}`);
        exit(1);
      },
    );
  };
  app.onFatal((err) => {
    if (exiting) return;
    exiting = true;
    log.fatal({ code: (err as { type?: string }).type }, `consumer stopped for good: ${namingTheSetting(err, oneLine(err.message))}; exiting so the orchestrator restarts this instance`);
    app.stop().finally(() => exit(1));
  });
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await app.start();
  } catch (err) {
    log.fatal(`start failed: ${oneLine(String((err as Error)?.message ?? err), 2000)}`);
    await app.stop().catch(() => undefined);
    exit(1);
  }
}
