// splunk_hec sink: JSON events (or raw lines) to Splunk's HTTP Event Collector.
import type { SinkDefinition } from '../../delivery/sink.ts';
import { hecVars, parseHecConfig, type HecConfig } from './config.ts';
import { encodeHecEvent, hecShipsBytes, rawBatchKey, rawEventIn } from './encoder.ts';
import { HecTransport } from './transport.ts';

/** How often /services/collector/health is checked for /readyz. */
const HEALTH_INTERVAL_MS = 15_000;

export const splunkHecSink: SinkDefinition<HecConfig> = {
  type: 'splunk_hec',
  envPrefix: 'HEC',
  summary: 'Splunk HTTP Event Collector: batched, gzip, bad events isolated and dead-lettered.',
  vars: hecVars,
  parseConfig: parseHecConfig,
  deliveryDefaults: { batchMaxRecords: 1000, batchMaxBytes: 2 * 1024 * 1024, batchMaxWaitMs: 200, concurrency: 8, maxRecordBytes: 5 * 1024 * 1024 },
  create(cfg, ctx) {
    const transport = new HecTransport(cfg, ctx.logger);
    let healthProblems: string[] = [];
    let healthTimer: NodeJS.Timeout | undefined;
    const checkHealth = async (): Promise<void> => {
      const problems = await transport.checkHealth();
      if (problems.length > 0 && healthProblems.length === 0) for (const p of problems) ctx.logger.warn(`HEC health check failed: ${p}`);
      healthProblems = problems;
    };
    return {
      encode: (record) => encodeHecEvent(record, cfg),
      shipsBytes: hecShipsBytes(cfg),
      rawIn: rawEventIn,
      ...(cfg.endpoint === 'raw' ? { batchKey: (record) => rawBatchKey(record, cfg) } : {}),
      async start() {
        if (cfg.tls.insecure) ctx.logger.warn('HEC_TLS_INSECURE=true: the HEC server certificate is NOT verified');
        if (!cfg.healthCheck) return;
        await checkHealth();
        healthTimer = setInterval(() => void checkHealth(), HEALTH_INTERVAL_MS);
        healthTimer.unref();
      },
      send: (batch, signal) => transport.send(batch, signal),
      problem: () => (healthProblems.length > 0 ? `HEC health: ${healthProblems.join('; ')}` : undefined),
      async stop() {
        if (healthTimer) clearInterval(healthTimer);
        await transport.close();
      },
    };
  },
};
