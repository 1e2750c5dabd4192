// `logstream verify file`: exit 0 with a complete archive over several pods' files, 1 when something is
// wrong or a path has no files, 2 for bad usage or configuration; the key comes from --key or
// FILE_MANIFEST_SIGNING_KEY(_FILE).
import { PassThrough } from 'node:stream';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyCommand } from '../../../src/cli/verify.ts';
import type { Report } from '../../../src/sinks/manifest/verify.ts';
import { archiveSink, keys, sendRange, tmp } from './support.ts';

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: [Buffer[], Buffer[]] = [[], []];
  out.on('data', (c: Buffer) => chunks[0].push(c));
  err.on('data', (c: Buffer) => chunks[1].push(c));
  const code = await verifyCommand(args, env, { stdout: out, stderr: err });
  return { code, stdout: Buffer.concat(chunks[0]).toString(), stderr: Buffer.concat(chunks[1]).toString() };
}

describe('logstream verify file', () => {
  it('checks the files of two pods that each owned a partition in turn', async () => {
    const dir = tmp();
    const k = keys(dir);
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    const first = archiveSink(a, k, { maxBytes: 300 });
    await first.start!();
    await sendRange(first, 0, 0, 9, 3);
    await first.stop!();
    // The partition moved to pod b, which read 8-9 again (a's commit had not passed them).
    const second = archiveSink(b, k, { maxBytes: 300 });
    await second.start!();
    await sendRange(second, 0, 8, 19, 3);
    await second.stop!();

    const one = await cli(['file', a, b, '--key', k.publicFile, '--json']);
    expect(one.code, one.stderr).toBe(0);
    const r = JSON.parse(one.stdout) as Report;
    expect(r.partitions.map((p) => [p.checked, p.complete, p.distinctRecords, p.duplicates, p.chainStarts])).toEqual([[[0, 19], true, 20, { records: 2, ranges: [[8, 9]] }, 2]]);
    expect(r.location).toBe(`${a}, ${b}`);

    // Without --key: FILE_MANIFEST_SIGNING_KEY_FILE; the text report.
    const text = await cli(['file', a, b], { FILE_MANIFEST_SIGNING_KEY_FILE: k.privateFile });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('t/0: offsets 0-19 complete');
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe('result: complete and intact');

    // Only pod b's files: b's chain started afresh (a's anchors are in a's files), so what is checked
    // starts at b's first offset: verify proves only what the files it is given should hold.
    const onlyB = await cli(['file', b, '--key', k.publicFile, '--json']);
    expect(onlyB.code).toBe(0);
    expect((JSON.parse(onlyB.stdout) as Report).partitions[0]).toMatchObject({ checked: [8, 19], complete: true, chainStarts: 1 });
    // A changed byte in a's files is found.
    const bytes = readFileSync(`${a}.1`);
    bytes[3] = bytes[3] === 0x41 ? 0x42 : 0x41;
    writeFileSync(`${a}.1`, bytes);
    const bad = await cli(['file', a, b, '--key', k.publicFile]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/changed-object: object [0-9a-f-]{36}:0-\d+: its content was changed/);
    expect(bad.stdout.trimEnd().split('\n').at(-1)).toBe('result: NOT complete and intact');
  });

  it('says why it cannot run: no key, no files, a path without files, a bad key variable', async () => {
    const dir = tmp();
    const k = keys(dir);
    expect(await cli(['file', join(dir, 'x.jsonl')])).toMatchObject({ code: 2, stderr: expect.stringContaining('verify needs the public key') });
    expect(await cli(['file', '--key', k.publicFile])).toMatchObject({ code: 2, stderr: expect.stringContaining('verify file needs the files') });
    expect(await cli(['file', join(dir, 'none.jsonl'), '--key', k.publicFile])).toMatchObject({ code: 1, stderr: expect.stringContaining(`${join(dir, 'none.jsonl')}: no such file`) });
    await expect(cli(['file', join(dir, 'x.jsonl')], { FILE_MANIFEST_SIGNING_KEY: 'junk' })).rejects.toThrow(/FILE_MANIFEST_SIGNING_KEY: not a PEM private key/);
    appendFileSync(join(dir, 'x.jsonl'), '{}\n');
    // FILE_PATH when no path is given; bytes written without manifests are listed, not a failure.
    const r = await cli(['file', '--json'], { FILE_PATH: join(dir, 'x.jsonl'), FILE_MANIFEST_SIGNING_KEY: k.privatePem });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Report).unaccountedObjects).toEqual({ count: 1, keys: [`${join(dir, 'x.jsonl')}:0-3`] });
    expect(await cli(['nope'])).toMatchObject({ code: 2, stderr: expect.stringContaining('logstream verify file') });
  });
});
