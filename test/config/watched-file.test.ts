// Files re-read while logstream runs: a new content is used, an unreadable, empty or refused one is
// reported and the previous value kept; a secret from NAME_FILE follows its file.
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app-config.ts';
import { parseVars, v } from '../../src/config/vars.ts';
import { WatchedFile, watchedFiles } from '../../src/config/watched-file.ts';
import { tmpDir } from '../support/instance.ts';
import { replaceFile } from '../support/mounted-file.ts';

describe('WatchedFile', () => {
  it('takes a changed content, keeps the previous one when the new one is unreadable, empty or refused', async () => {
    const path = join(tmpDir('watched'), 'token');
    writeFileSync(path, 'one\n');
    const f = new WatchedFile('HEC_TOKEN_FILE', path, 'one');
    const seen: string[] = [];
    f.onChange((value) => seen.push(value));
    f.check((value) => (value.includes(' ') ? 'holds a space' : undefined));
    expect(await f.poll()).toBeUndefined(); // the first poll records the stamp of what was read at load
    replaceFile(path, 'two\n');
    expect(await f.poll()).toEqual({ result: 'changed' });
    expect(f.value).toBe('two');
    expect(await f.poll()).toBeUndefined();
    replaceFile(path, '\n');
    expect(await f.poll()).toEqual({ result: 'empty', why: 'the file is empty' });
    replaceFile(path, 'three four');
    expect(await f.poll()).toEqual({ result: 'invalid', why: 'holds a space' });
    rmSync(path);
    expect(await f.poll()).toEqual({ result: 'unreadable', why: 'ENOENT' });
    expect(await f.poll()).toBeUndefined(); // reported once, not every poll
    replaceFile(path, 'five');
    expect(await f.poll()).toEqual({ result: 'changed' });
    expect(f.value).toBe('five');
    expect(seen).toEqual(['two', 'five']);
  });

  it('a secret read from NAME_FILE reveals the file\'s latest accepted content', async () => {
    const path = join(tmpDir('watched-secret'), 'password');
    writeFileSync(path, 's3cret\n');
    const p = parseVars({ X_PASSWORD: v.secret({ doc: 'x' }) }, { X_PASSWORD_FILE: path });
    const secret = p.X_PASSWORD!;
    expect(secret.reveal()).toBe('s3cret');
    expect(secret.rotates).toBe(true);
    const file = watchedFiles.all.find((f) => f.path === path)!;
    expect(file.variable).toBe('X_PASSWORD_FILE');
    await file.poll();
    replaceFile(path, 'n3w\n');
    await file.poll();
    expect(secret.reveal()).toBe('n3w');
    expect(String(secret)).toBe('**REDACTED**');
    // Given directly, a secret does not rotate.
    expect(parseVars({ X_PASSWORD: v.secret({ doc: 'x' }) }, { X_PASSWORD: 'direct' }).X_PASSWORD!.rotates).toBe(false);
  });
});

describe('a Secret volume as the kubelet writes it', () => {
  it('follows the ..data symlink swap: the file read through NAME -> ..data/NAME changes with it', async () => {
    const d = tmpDir('watched-kubelet');
    mkdirSync(join(d, '..v1'));
    writeFileSync(join(d, '..v1', 'token'), 'first\n');
    symlinkSync('..v1', join(d, '..data'));
    symlinkSync('..data/token', join(d, 'token'));
    const f = new WatchedFile('HEC_TOKEN_FILE', join(d, 'token'), 'first');
    expect(await f.poll()).toBeUndefined();
    mkdirSync(join(d, '..v2'));
    writeFileSync(join(d, '..v2', 'token'), 'second\n');
    symlinkSync('..v2', join(d, '..data_tmp'));
    renameSync(join(d, '..data_tmp'), join(d, '..data'));
    expect(await f.poll()).toEqual({ result: 'changed' });
    expect(f.value).toBe('second');
  });
});

describe('WatchedFile at start', () => {
  it('the content read at load is not reported as a change (a trailing line break is not a change)', async () => {
    const path = join(tmpDir('watched-pem'), 'ca.pem');
    writeFileSync(path, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const f = new WatchedFile('HEC_TLS_CA_FILE', path, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(await f.poll()).toBeUndefined();
  });
});

describe('files a route names', () => {
  it('are watched under the name the user wrote; a global file the routes inherit keeps its own name', () => {
    const dir = tmpDir('watched-route');
    const own = join(dir, 'siem-token');
    const shared = join(dir, 'shared-token');
    writeFileSync(own, 'siem-token\n');
    writeFileSync(shared, 'shared-token\n');
    loadConfig({
      KAFKA_BROKERS: 'localhost:9092',
      KAFKA_TOPICS: 'logs',
      ROUTES: 'siem,soc',
      SINKS: 'splunk_hec',
      HEC_URLS: 'https://hec.example.com:8088',
      HEC_TOKEN_FILE: shared,
      ROUTE_SIEM_HEC_TOKEN_FILE: own,
    });
    const names = watchedFiles.all.filter((f) => f.path === own || f.path === shared).map((f) => `${f.variable} ${f.path === own ? 'own' : 'shared'}`);
    expect(names.sort()).toEqual(['HEC_TOKEN_FILE shared', 'ROUTE_SIEM_HEC_TOKEN_FILE own']);
  });
});
