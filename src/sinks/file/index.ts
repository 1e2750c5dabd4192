// file sink: JSON lines appended to a file with size-based rotation.
import { retriable } from '../../core/errors.ts';
import { encodeJson, joinLines } from '../json-lines.ts';
import type { SinkDefinition } from '../../delivery/sink.ts';
import { fileVars, parseFileConfig, type FileConfig } from './config.ts';
import { RotatingFile } from './rotating-file.ts';

export const fileSink: SinkDefinition<FileConfig> = {
  type: 'file',
  envPrefix: 'FILE',
  summary: 'JSON lines appended to a file, rotated at a size with N backups.',
  vars: fileVars,
  parseConfig: parseFileConfig,
  deliveryDefaults: { batchMaxRecords: 2000, batchMaxBytes: 4 * 1024 * 1024, batchMaxWaitMs: 100, concurrency: 4 },
  create(cfg) {
    const file = new RotatingFile(cfg.path, cfg);
    return {
      encode: encodeJson,
      shipsBytes: true,
      async start() {
        await file.open();
      },
      async send(batch) {
        try {
          await file.append(joinLines(batch.items));
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          throw retriable(e.code ?? 'FILE_WRITE', `cannot write ${cfg.path}: ${e.message}`, err);
        }
      },
      stop: () => file.close(),
    };
  },
};
