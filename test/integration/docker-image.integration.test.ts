// The Dockerfile, proven without Docker: scripts/docker-build-check.ts replays its stages in clean
// directories (npm ci + tsc, then npm ci --omit=dev) and starts the result as the image would
// (its ENV, numeric USER, ENTRYPOINT/CMD, HEALTHCHECK) against the test broker; plus the hardening
// points read from the Dockerfile itself.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { check, parseDockerfile, shellWords, stageSettings, type CheckResult } from '../../scripts/docker-build-check.ts';
import { kafkaBootstrap } from '../support/kafka.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const df = parseDockerfile(dockerfile);
const runtime = df.stages.at(-1)!;
const settings = stageSettings(df, runtime);
const cleanup: string[] = [];

afterAll(async () => {
  await Promise.all(cleanup.map((d) => rm(d, { recursive: true, force: true })));
});

describe('Dockerfile (static)', () => {
  it('has a build stage and a runtime stage, both FROM node:26-slim pinned by digest (Node 26: engines, type stripping; glibc for snappy/lz4-napi)', () => {
    expect(df.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    for (const s of df.stages) expect(s.image).toMatch(/^node:26-slim@sha256:[0-9a-f]{64}$/);
    expect(settings.labels.get('org.opencontainers.image.base.name')).toBe('docker.io/library/node:26-slim');
    expect(`node:26-slim@${settings.labels.get('org.opencontainers.image.base.digest')}`).toBe(df.stages[1]!.image);
  });

  it('type-checks in the build stage and installs only production dependencies in the runtime stage', () => {
    const runs = (s: (typeof df.stages)[number]): string[] => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    const build = runs(df.stages[0]!).join(' && ');
    expect(build).toMatch(/\bnpm ci\b/);
    expect(build).not.toMatch(/--omit=dev/);
    expect(build).toMatch(/tsc -p tsconfig\.json --noEmit/);
    const rt = runs(runtime).join(' && ');
    expect(rt).toMatch(/\bnpm ci --omit=dev\b/);
    expect(rt).not.toMatch(/\btsc\b/);
    // npm is removed after the install: nothing needs it at runtime
    expect(rt).toMatch(/rm -rf .*\/usr\/local\/lib\/node_modules\/npm/);
    // the runtime stage takes only src/ from the build stage (not its node_modules)
    const fromBuild = runtime.instructions.filter((i) => i.op === 'COPY' && i.args.includes('--from='));
    expect(fromBuild.map((i) => shellWords(i.args))).toEqual([['--from=build', '/app/src', './src']]);
  });

  it('runs as a non-root numeric user (Kubernetes runAsNonRoot can verify it)', () => {
    expect(settings.user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(settings.user!.split(':')[0])).toBeGreaterThan(0);
    // USER comes after every RUN/COPY of the runtime stage: app files stay root-owned, read-only to the app
    const ops = runtime.instructions.map((i) => i.op);
    expect(ops.lastIndexOf('USER')).toBeGreaterThan(Math.max(ops.lastIndexOf('RUN'), ops.lastIndexOf('COPY')));
    expect(runtime.instructions.some((i) => i.op === 'COPY' && /--chown/.test(i.args))).toBe(false);
  });

  it('sets NODE_ENV=production and starts node directly in exec form (SIGTERM reaches node as PID 1)', () => {
    expect(settings.env.get('NODE_ENV')).toBe('production');
    expect(settings.env.get('HTTP_PORT')).toBe('8080');
    // glibc's allocator setting the memory figures were measured with (docs/performance.md)
    expect(settings.env.get('MALLOC_ARENA_MAX')).toBe('2');
    expect([...settings.entrypoint, ...settings.cmd]).toEqual(['node', 'src/main.ts', 'run']);
    // the claim behind "no init": run.ts handles SIGTERM itself
    const run = readFileSync(join(REPO_ROOT, 'src/cli/run.ts'), 'utf8');
    expect(run).toMatch(/process\.on\('SIGTERM'/);
    expect(runtime.instructions.some((i) => i.op === 'EXPOSE' && i.args === '8080')).toBe(true);
  });

  it('has a HEALTHCHECK on /healthz that needs nothing but node', () => {
    expect(settings.healthcheck).toBeDefined();
    expect(settings.healthcheck!.cmd[0]).toBe('node');
    expect(settings.healthcheck!.cmd.join(' ')).toMatch(/\/healthz/);
    expect(settings.healthcheck!.options).toMatch(/--interval=\S+/);
    expect(settings.healthcheck!.options).toMatch(/--timeout=\S+/);
  });

  it('has the OCI labels (title, description, licenses, source, version from a build arg)', () => {
    for (const k of ['title', 'description', 'licenses', 'source', 'version', 'revision', 'created']) {
      expect(settings.labels.has(`org.opencontainers.image.${k}`), k).toBe(true);
    }
    expect(settings.labels.get('org.opencontainers.image.title')).toBe('logstream');
    expect(settings.labels.get('org.opencontainers.image.licenses')).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).license);
    expect(runtime.instructions.some((i) => i.op === 'ARG' && /^VERSION\b/.test(i.args))).toBe(true);
    expect(dockerfile).toMatch(/org\.opencontainers\.image\.version="\$\{VERSION\}"/);
  });

  it('.dockerignore keeps local state out of the build context', () => {
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', '.cache', '.git', '.tmp', 'demo-output', 'bench/results', 'coverage']) expect(ignore, p).toContain(p);
  });
});

describe('scripts/docker-build-check.ts', () => {
  it('fails on a RUN command it does not know (the check cannot silently drift from the Dockerfile)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'docker-check-drift-'));
    cleanup.push(dir);
    const file = join(dir, 'Dockerfile');
    await writeFile(file, 'FROM node:26-slim AS build\nWORKDIR /app\nRUN apt-get install -y curl\n');
    const r = await check({ dockerfile: file });
    cleanup.push(r.root);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/RUN command the check does not know: apt-get install -y curl/);
  });

  it(
    'builds both stages in clean directories and runs the result: /readyz 200, records on stdout, HEALTHCHECK 0, SIGTERM exit 0',
    async () => {
      const child = spawn(process.execPath, ['scripts/docker-build-check.ts', '--keep'], {
        cwd: REPO_ROOT,
        env: { ...process.env, KAFKA_BROKERS: kafkaBootstrap() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
      const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
      const line = out.split('\n').find((l) => l.startsWith('DOCKER_CHECK_RESULT '));
      expect(line, out.slice(-4000)).toBeDefined();
      const r = JSON.parse(line!.slice('DOCKER_CHECK_RESULT '.length)) as CheckResult;
      cleanup.push(r.root);
      expect(r.ok, `${r.error ?? ''}\n${out.slice(-4000)}`).toBe(true);
      expect(code).toBe(0);
      for (const step of ['npm ci --ignore-scripts', 'tsc -p tsconfig.json --noEmit', 'npm ci --omit=dev', 'npm sbom --sbom-format cyclonedx', '/readyz 200', 'records reach the stdout sink', 'HEALTHCHECK', 'SIGTERM -> graceful stop, exit 0', 'no file of the app directory was written']) {
        expect(out.split('\n').some((l) => l.includes(step) && /: ok \(\d+ ms\)$/.test(l)), step).toBe(true);
      }
      if (process.getuid?.() === 0) expect(r.ranAsUid).toBe(Number(settings.user!.split(':')[0]));

      // the runtime stage: production dependencies only, the image's node (no "node" npm package)
      const nm = join(r.runtimeDir!, 'node_modules');
      for (const dev of ['vitest', 'typescript', 'node', 'busboy', '@types/busboy', '.bin/node', '.bin/tsc']) expect(existsSync(join(nm, dev)), dev).toBe(false);
      for (const prod of ['kafkajs', 'pino', 'snappy', 'lz4-napi', 'zod']) expect(existsSync(join(nm, prod)), prod).toBe(true);
      expect(existsSync(join(r.runtimeDir!, 'src', 'main.ts'))).toBe(true);
      expect(existsSync(join(r.runtimeDir!, 'test'))).toBe(false);
      // the build stage had the dev dependencies (it type-checked)
      expect(existsSync(join(r.buildDir!, 'node_modules', 'typescript'))).toBe(true);
      // the image's SBOM (CycloneDX, npm's own): every production package installed, none of the dev ones
      const sbom = JSON.parse(readFileSync(join(r.runtimeDir!, 'sbom.cdx.json'), 'utf8')) as { bomFormat: string; specVersion: string; metadata: { component: { purl: string } }; components: Array<{ name: string; version: string; purl: string }> };
      expect(sbom).toMatchObject({ bomFormat: 'CycloneDX', metadata: { component: { purl: expect.stringMatching(/^pkg:npm\/logstream@/) } } });
      const listed = new Set(sbom.components.map((c) => c.name));
      for (const prod of ['kafkajs', 'pino', 'undici', 'zod', '@aws-sdk/client-s3', 'prom-client']) expect(listed.has(prod), prod).toBe(true);
      for (const dev of ['vitest', 'typescript']) expect(listed.has(dev), dev).toBe(false);
      for (const c of sbom.components) expect(c.purl, c.name).toMatch(/^pkg:npm\//);
    },
    600_000,
  );
});
