// RotatingFile with segments: every data file keeps its sidecar (and so its segment id) through
// renames, the oldest is deleted with its sidecar, appends report their byte ranges, and a rotation
// interrupted between two renames is repaired at the next start.
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RotatingFile, type Landed } from '../../../src/sinks/file/rotating-file.ts';
import { lines, tmp } from './support.ts';

const line = (i: number): Buffer => Buffer.from(`${JSON.stringify({ i, pad: 'x'.repeat(20) })}\n`); // 37 bytes (i < 10)
const idOf = (file: string): string => (JSON.parse(lines(file)[0]!) as { segment: string }).segment;

describe('RotatingFile with segments', () => {
  it('keeps each sidecar with its data file through rotations, and deletes it with the oldest', async () => {
    const dir = tmp();
    const path = join(dir, 'out.jsonl');
    const dropped: Array<[string, string, boolean]> = [];
    // Told before each deletion, with the sidecar's text, while the files are still there.
    const retire = async (p: string, id: string, sidecar: string): Promise<void> => void dropped.push([p, id, existsSync(p) && sidecar.startsWith(`{"segment":"${id}"`)]);
    const f = new RotatingFile(path, { maxBytes: 100, backupCount: 2, fsync: true, segments: true, retire });
    await f.open();
    const landed: Landed[] = [];
    for (let i = 0; i < 10; i++) landed.push(await f.append(line(i))); // 2 per file
    await f.appendToSidecar(Buffer.from('{"m":"last"}\n'));
    await f.close();

    expect(readdirSync(dir).sort()).toEqual(['out.jsonl', 'out.jsonl.1', 'out.jsonl.1.manifests', 'out.jsonl.2', 'out.jsonl.2.manifests', 'out.jsonl.manifests']);
    // Five segments were written, two lines each; the ids are distinct and each file still carries
    // the id its bytes were written under.
    const ids = [0, 2, 4, 6, 8].map((i) => landed[i]!.segmentId!);
    expect(new Set(ids).size).toBe(5);
    for (let i = 0; i < 10; i += 2) expect(landed[i + 1]!.segmentId).toBe(landed[i]!.segmentId);
    expect(landed.map((l) => [l.start, l.end])).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? [0, 37] : [37, 74])));
    expect(idOf(`${path}.manifests`)).toBe(ids[4]);
    expect(idOf(`${path}.1.manifests`)).toBe(ids[3]);
    expect(idOf(`${path}.2.manifests`)).toBe(ids[2]);
    const data = readFileSync(`${path}.2`);
    expect(data.subarray(landed[5]!.start, landed[5]!.end)).toEqual(line(5));
    // The sidecar line went to the current segment's sidecar; the data files hold only data.
    expect(lines(`${path}.manifests`)).toEqual([lines(`${path}.manifests`)[0], '{"m":"last"}']);
    expect(readFileSync(path, 'utf8')).toBe(`${line(8)}${line(9)}`);
    // Segments 1 and 2 fell off, with their sidecars.
    expect(dropped).toEqual([
      [`${path}.2`, ids[0], true],
      [`${path}.2`, ids[1], true],
    ]);
  });

  it('continues an existing segment after a restart, and starts one for a file that had no sidecar', async () => {
    const dir = tmp();
    const path = join(dir, 'out.jsonl');
    writeFileSync(path, 'old line\n');
    const a = new RotatingFile(path, { maxBytes: 0, backupCount: 1, fsync: false, segments: true });
    await a.open();
    const id = a.segmentId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await a.append(line(1))).toEqual({ segmentId: id, start: 9, end: 46 });
    await a.close();
    const b = new RotatingFile(path, { maxBytes: 0, backupCount: 1, fsync: false, segments: true });
    expect(await b.append(line(2))).toEqual({ segmentId: id, start: 46, end: 83 });
    await b.close();
    expect(lines(`${path}.manifests`)).toHaveLength(1);
    expect(JSON.parse(lines(`${path}.manifests`)[0]!)).toEqual({ segment: id, created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it('closes a batch cut short before appending (its bytes stay apart), in data and sidecar', async () => {
    const dir = tmp();
    const path = join(dir, 'out.jsonl');
    const a = new RotatingFile(path, { maxBytes: 0, backupCount: 1, fsync: false, segments: true });
    await a.append(line(1));
    await a.close();
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"i":2,"pa`);
    writeFileSync(`${path}.manifests`, `${readFileSync(`${path}.manifests`, 'utf8')}{"docu`);
    const b = new RotatingFile(path, { maxBytes: 0, backupCount: 1, fsync: false, segments: true });
    const l = await b.append(line(3));
    await b.appendToSidecar(Buffer.from('{"m":1}\n'));
    await b.close();
    expect(readFileSync(path, 'utf8')).toBe(`${line(1)}{"i":2,"pa\n${line(3)}`);
    expect(l.start).toBe(37 + 11);
    expect(lines(`${path}.manifests`).slice(1)).toEqual(['{"docu', '{"m":1}']);
  });

  it('moves a sidecar left behind by a rotation interrupted between two renames to its data file', async () => {
    const dir = tmp();
    const path = join(dir, 'out.jsonl');
    const f = new RotatingFile(path, { maxBytes: 40, backupCount: 3, fsync: false, segments: true });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await f.append(line(i))).segmentId!);
    await f.close();
    // Killed after `out.jsonl.1 → out.jsonl.2` and before its sidecar followed.
    renameSync(`${path}.2`, `${path}.3`);
    renameSync(`${path}.2.manifests`, `${path}.3.manifests`);
    renameSync(`${path}.1`, `${path}.2`);
    expect(existsSync(`${path}.2.manifests`)).toBe(false);
    const g = new RotatingFile(path, { maxBytes: 40, backupCount: 3, fsync: false, segments: true });
    await g.open();
    await g.close();
    expect(existsSync(`${path}.1.manifests`)).toBe(false);
    expect(idOf(`${path}.2.manifests`)).toBe(ids[1]);
    expect(idOf(`${path}.3.manifests`)).toBe(ids[0]);
    expect(idOf(`${path}.manifests`)).toBe(ids[2]);
  });

  it('refuses to start on a sidecar whose first line is not a segment header, naming it', async () => {
    const dir = tmp();
    const path = join(dir, 'out.jsonl');
    writeFileSync(`${path}.manifests`, 'not a header\n');
    const f = new RotatingFile(path, { maxBytes: 0, backupCount: 1, fsync: false, segments: true });
    await expect(f.open()).rejects.toThrow(`${path}.manifests: its first line is not a segment header`);
  });

  it('without segments writes no sidecar', async () => {
    const dir = tmp();
    const path = join(dir, 'out.jsonl');
    const f = new RotatingFile(path, { maxBytes: 40, backupCount: 1, fsync: false });
    expect(await f.append(line(1))).toEqual({ segmentId: undefined, start: 0, end: 37 });
    await f.append(line(2));
    await f.close();
    expect(readdirSync(dir).sort()).toEqual(['out.jsonl', 'out.jsonl.1']);
    await expect(f.appendToSidecar(Buffer.from('x\n'))).rejects.toThrow(/keeps no sidecar/);
  });
});
