/**
 * vitest globalSetup: one real Kafka broker (scripts/kafka-broker.ts) for the whole run.
 * Tests get its address with kafkaBootstrap() from test/support/kafka.ts
 * (inject('kafkaBootstrap')); child processes see it as env LOGSTREAM_TEST_KAFKA.
 *
 * Env:
 *   LOGSTREAM_TEST_KAFKA=host:port   use that broker instead of starting one
 *   LOGSTREAM_KAFKA_VERSION=4.x.y    broker version to start
 *   LOGSTREAM_TEST_KEEP_KAFKA=1      keep the broker's data dir (logs) after the run
 */
import { rm } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import { startBroker } from '../../scripts/kafka-broker.ts';
import type {} from './kafka.ts'; // ProvidedContext augmentation (kafkaBootstrap)

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env['LOGSTREAM_TEST_KAFKA'];
  if (external) {
    project.provide('kafkaBootstrap', external);
    return undefined;
  }

  const started = Date.now();
  const broker = await startBroker();
  process.stderr.write(
    `[global-setup] Kafka ${broker.version} on ${broker.bootstrap} ready in ${Date.now() - started} ms (log: ${broker.logFile})\n`,
  );
  process.env['LOGSTREAM_TEST_KAFKA'] = broker.bootstrap;
  project.provide('kafkaBootstrap', broker.bootstrap);

  return async () => {
    if (process.env['LOGSTREAM_TEST_KAFKA'] === broker.bootstrap) delete process.env['LOGSTREAM_TEST_KAFKA'];
    await broker.stop();
    if (process.env['LOGSTREAM_TEST_KEEP_KAFKA']) {
      process.stderr.write(`[global-setup] Kafka data dir kept: ${broker.dataDir}\n`);
    } else {
      await rm(broker.dataDir, { recursive: true, force: true });
    }
  };
}
