// file sink: JSON lines appended to a file with size-based rotation. With FILE_MANIFEST_SIGNING_KEY,
// every batch appended gets a signed manifest in its partition's hash chain (segment.ts says where they
// are); the batch is acknowledged only once its manifest is written.
import { createHash } from 'node:crypto';
import { retriable } from '../../core/errors.ts';
import { encodeJson, joinLines } from '../json-lines.ts';
import type { SinkDefinition } from '../../delivery/sink.ts';
import { ManifestChain } from '../manifest/chain.ts';
import { accountBatch, seal } from '../manifest/document.ts';
import { hostname } from 'node:os';
import { retirementOf } from './retirement.ts';
import { fileVars, parseFileConfig, type FileConfig } from './config.ts';
import { FileManifestStore } from './manifest-store.ts';
import { RotatingFile, type Landed } from './rotating-file.ts';
import { anchorsPath, segmentObject, sidecarPath } from './segment.ts';

export const fileSink: SinkDefinition<FileConfig> = {
  type: 'file',
  envPrefix: 'FILE',
  summary: 'JSON lines appended to a file, rotated at a size with N backups.',
  vars: fileVars,
  parseConfig: parseFileConfig,
  deliveryDefaults: { batchMaxRecords: 2000, batchMaxBytes: 4 * 1024 * 1024, batchMaxWaitMs: 100, concurrency: 4 },
  create(cfg, ctx) {
    const m = cfg.manifests;
    let store: FileManifestStore | undefined;
    const file = new RotatingFile(cfg.path, {
      ...cfg,
      segments: m !== undefined,
      // Recorded, signed, before the segment goes: `verify file` then reports its history as retired.
      retire: async (path, segment, sidecar) => {
        if (m === undefined || store === undefined) return;
        await store.appendAnchorsLine(seal(retirementOf(path, segment, sidecar, { backupCount: cfg.backupCount, writer: hostname() }), m.key));
        ctx.logger.info({ file: path, segment }, 'rotation deletes an archive segment and its manifests (FILE_BACKUP_COUNT); its deletion is recorded in the anchors file');
      },
    });
    store = m === undefined ? undefined : new FileManifestStore(file, anchorsPath(cfg.path), { fsync: cfg.fsync, logger: ctx.logger });
    const chain = m === undefined || store === undefined ? undefined : new ManifestChain(store, { prefix: '', key: () => m.key, anchorIntervalMs: m.anchorIntervalMs, logger: ctx.logger });
    return {
      encode: encodeJson,
      shipsBytes: true,
      async start() {
        await file.open();
        await store?.open();
        chain?.start();
      },
      async send(batch) {
        const data = joinLines(batch.items);
        let landed: Landed;
        try {
          landed = await file.append(data);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          throw retriable(e.code ?? 'FILE_WRITE', `cannot write ${cfg.path}: ${e.message}`, err);
        }
        if (chain === undefined || landed.segmentId === undefined || batch.items.length === 0) return;
        // Its manifest, once the bytes are written: a manifest never names bytes that are not there.
        // A batch holds one partition's records (the delivery layer batches per partition).
        const first = batch.items[0]!.record.meta;
        const object = segmentObject({ segmentId: landed.segmentId, start: landed.start, end: landed.end });
        try {
          await chain.link(first.topic, first.partition, { object, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), ...accountBatch(batch.items) });
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          throw retriable(e.code ?? 'FILE_MANIFEST', `cannot write the manifest of ${object} to ${sidecarPath(cfg.path)} or its anchors: ${e.message}`, err);
        }
      },
      async stop() {
        // The chains' heads are anchored before the files close (delivery has drained).
        await chain?.stop().catch((err: unknown) => ctx.logger.warn({ err: String((err as Error)?.message ?? err) }, 'archive chain anchors not written at stop'));
        await file.close();
        await store?.close();
      },
    };
  },
};
