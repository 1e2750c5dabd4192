import { parseVars, v, type Env } from '../../config/vars.ts';

export const fileVars = {
  FILE_PATH: v.string({ doc: 'File to append JSON lines to (its folder must exist).', required: true }),
  FILE_MAX_BYTES: v.bytes({ doc: 'Rotate when the file would grow past this size; 0 = never rotate.', default: 100 * 1024 * 1024, min: 0 }),
  FILE_BACKUP_COUNT: v.int({ doc: 'Rotated files kept (PATH.1 … PATH.N, the oldest deleted).', default: 5, min: 0, max: 1000 }),
  FILE_FSYNC: v.bool({ doc: 'fsync after every batch before acknowledging it (survives power loss; slower).', default: false }),
};

export interface FileConfig {
  path: string;
  maxBytes: number;
  backupCount: number;
  fsync: boolean;
}

export function parseFileConfig(env: Env): FileConfig {
  const p = parseVars(fileVars, env);
  return { path: p.FILE_PATH, maxBytes: p.FILE_MAX_BYTES, backupCount: p.FILE_BACKUP_COUNT, fsync: p.FILE_FSYNC };
}
