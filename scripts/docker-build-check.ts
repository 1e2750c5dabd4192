/**
 * Proves the Dockerfile's build and run steps without Docker (no engine runs on the dev/CI machines):
 * replays the Dockerfile in clean temporary directories, one per stage, and starts the result.
 *
 *   node scripts/docker-build-check.ts [--keep] [--dockerfile Dockerfile]      (npm run docker:check)
 *
 * What it does, in the Dockerfile's own order (it parses the file, so it cannot drift from it):
 *   - each stage's WORKDIR is a fresh directory <tmp>/<stage>; COPY copies from the repo (the build
 *     context, honouring .dockerignore) or, with --from=<stage>, from that stage's directory;
 *   - RUN commands (split on &&) it knows: `npm ci …` (the project's Node 26 running npm, with
 *     --prefer-offline added so the local npm cache serves it), `npm sbom … > <file>` (its output written
 *     into the stage), `node …`, `npm cache clean` (skipped: it
 *     would empty the machine's shared cache) and `rm -rf` (done inside the stage directory; paths
 *     outside it are image clean-up and skipped). Any other command, or instruction (ADD, SHELL…), fails
 *     the check: extend this script together with the Dockerfile;
 *   - ENV, USER, ENTRYPOINT + CMD and HEALTHCHECK of the last stage are used to start the app:
 *     `node` is the project's Node 26 (node_modules/.bin/node; the image's node is 26 too) and the only
 *     program on PATH (npm is not needed at runtime). When this runs as root, the app runs as the
 *     Dockerfile's numeric USER, with root-owned app files and a read-only HOME/TMPDIR, like the image
 *     on a read-only root filesystem.
 * Runtime config: the image's ENV plus a local Kafka broker (KAFKA_BROKERS or LOGSTREAM_TEST_KAFKA, else
 * one started with scripts/kafka-broker.ts), a fresh topic with 3 records, SINKS=stdout, and HTTP_PORT
 * set to a free port (the image's 8080 may be taken here). Passes when /readyz answers 200, the records
 * reach stdout, the HEALTHCHECK command exits 0, SIGTERM ends the app with exit 0, and the runtime
 * stage holds no dev dependency and changed no file in its app directory.
 *
 * Prints each step with its time; the last line is `DOCKER_CHECK_RESULT {json}`. Exit 0 ok, 1 failed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, matchesGlob, posix, relative, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const execFileP = promisify(execFile);

const REPO_ROOT = resolve(import.meta.dirname, '..');
/** The project's Node 26 (the npm package "node"), not the machine's node. */
const PROJECT_NODE = join(REPO_ROOT, 'node_modules', 'node', 'bin', 'node');

// ---------------------------------------------------------------------------------------------------
// Dockerfile parsing

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY… */
  op: string;
  /** The rest of the line (continuations joined with a space). */
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  image: string;
  index: number;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  /** ARGs before the first FROM. */
  globalArgs: Map<string, string>;
  stages: Stage[];
}

/** Splits a Dockerfile into instructions (comments dropped, `\` continuations joined) and stages. */
export function parseDockerfile(text: string): ParsedDockerfile {
  const instructions: Instruction[] = [];
  let current: { text: string; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) return; // comments (and parser directives), also inside continuations
    if (!current) {
      if (trimmed === '') return;
      current = { text: '', line: i + 1 };
    }
    if (trimmed.endsWith('\\')) {
      current.text += `${trimmed.slice(0, -1).trim()} `;
      return;
    }
    current.text += trimmed;
    const m = /^(\S+)\s*(.*)$/s.exec(current.text.trim())!;
    instructions.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: current.line });
    current = undefined;
  });
  if (current) throw new Error(`Dockerfile line ${current.line}: continuation at end of file`);

  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot parse FROM ${ins.args}`);
      const image = substitute(m[1]!, globalArgs);
      stages.push({ name: m[2] ?? String(stages.length), image, index: stages.length, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.op !== 'ARG') throw new Error(`Dockerfile line ${ins.line}: ${ins.op} before FROM`);
      const [k, v = ''] = ins.args.split('=', 2);
      globalArgs.set(k!.trim(), unquote(v.trim()));
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  if (stages.length === 0) throw new Error('Dockerfile has no FROM');
  return { globalArgs, stages };
}

function unquote(s: string): string {
  return (s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'")) ? s.slice(1, -1) : s;
}

function substitute(s: string, vars: Map<string, string>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => vars.get((a ?? b)!) ?? '');
}

/** Splits shell-ish words, honouring single and double quotes (no expansions). */
export function shellWords(s: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+)/g;
  let m: RegExpExecArray | null;
  let last = -1;
  while ((m = re.exec(s))) {
    const part = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!);
    if (last === m.index && words.length > 0) words[words.length - 1] += part; // adjacent: one word
    else words.push(part);
    last = re.lastIndex;
  }
  return words;
}

/** KEY=value pairs of ENV / LABEL / ARG (also the legacy `ENV KEY value`). */
export function keyValues(args: string, vars: Map<string, string> = new Map()): Map<string, string> {
  const out = new Map<string, string>();
  const words = shellWords(args);
  if (words.length > 0 && !words[0]!.includes('=')) {
    out.set(words[0]!, substitute(words.slice(1).join(' '), vars));
    return out;
  }
  for (const w of words) {
    const i = w.indexOf('=');
    if (i < 0) throw new Error(`expected KEY=value, got ${w}`);
    out.set(w.slice(0, i), substitute(w.slice(i + 1), vars));
  }
  return out;
}

/** The values a stage ends up with: ENV, LABELs (ARGs substituted), USER, WORKDIR, ENTRYPOINT, CMD, HEALTHCHECK. */
export function stageSettings(df: ParsedDockerfile, stage: Stage): {
  env: Map<string, string>;
  labels: Map<string, string>;
  user?: string;
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  healthcheck?: { options: string; cmd: string[] };
} {
  const args = new Map(df.globalArgs);
  const env = new Map<string, string>();
  const labels = new Map<string, string>();
  let user: string | undefined;
  let workdir = '/';
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  let healthcheck: { options: string; cmd: string[] } | undefined;
  for (const ins of stage.instructions) {
    if (ins.op === 'ARG') {
      // `ARG NAME` in a stage takes the global default of NAME, as Docker does.
      const [k, v] = ins.args.split('=', 2);
      if (v !== undefined || !args.has(k!.trim())) args.set(k!.trim(), unquote((v ?? '').trim()));
    } else if (ins.op === 'ENV') for (const [k, v] of keyValues(ins.args, new Map([...args, ...env]))) env.set(k, v);
    else if (ins.op === 'LABEL') for (const [k, v] of keyValues(ins.args, new Map([...args, ...env]))) labels.set(k, v);
    else if (ins.op === 'USER') user = ins.args;
    else if (ins.op === 'WORKDIR') workdir = posix.resolve(workdir, ins.args);
    else if (ins.op === 'ENTRYPOINT') entrypoint = execForm(ins);
    else if (ins.op === 'CMD') cmd = execForm(ins);
    else if (ins.op === 'HEALTHCHECK') {
      const m = /^(.*?)\bCMD\s+(\[.*\])$/s.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: HEALTHCHECK must use CMD in exec form`);
      healthcheck = { options: m[1]!.trim(), cmd: JSON.parse(m[2]!) as string[] };
    }
  }
  return { env, labels, ...(user ? { user } : {}), workdir, entrypoint, cmd, ...(healthcheck ? { healthcheck } : {}) };
}

function execForm(ins: Instruction): string[] {
  if (!ins.args.startsWith('[')) throw new Error(`Dockerfile line ${ins.line}: ${ins.op} must use the exec form (JSON array) so signals reach node`);
  return JSON.parse(ins.args) as string[];
}

// ---------------------------------------------------------------------------------------------------
// .dockerignore

export async function dockerignore(root: string): Promise<(rel: string) => boolean> {
  const file = join(root, '.dockerignore');
  const rules = existsSync(file)
    ? (await readFile(file, 'utf8'))
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => ({ negate: l.startsWith('!'), pattern: posix.normalize(l.replace(/^!/, '').replace(/^\/+/, '')).replace(/\/+$/, '') }))
    : [];
  // Docker: a path is excluded when the last rule matching it or one of its parent folders excludes it.
  return (rel: string) => {
    const parts = rel.split('/');
    let excluded = false;
    for (const r of rules) {
      for (let n = 1; n <= parts.length; n++) {
        if (matchesGlob(parts.slice(0, n).join('/'), r.pattern)) {
          excluded = !r.negate;
          break;
        }
      }
    }
    return excluded;
  };
}

// ---------------------------------------------------------------------------------------------------
// Running

const t0 = Date.now();
function log(msg: string): void {
  process.stdout.write(`[docker-check +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
}

async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  log(`${name} ...`);
  try {
    const r = await fn();
    log(`${name}: ok (${Date.now() - start} ms)`);
    return r;
  } catch (err) {
    log(`${name}: FAILED after ${Date.now() - start} ms`);
    throw err;
  }
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const add = (c: Buffer): void => {
      out += c.toString('utf8');
      if (out.length > 100_000) out = out.slice(-50_000);
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) res(out);
      else rej(new Error(`${[cmd, ...args].join(' ')} exited ${code ?? signal}:\n${out.slice(-4000)}`));
    });
  });
}

function npmCli(): string {
  // npm's own entry point, run by the project's Node 26 (the machine's `npm` would use its node).
  const candidates = [join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'), '/usr/lib/node_modules/npm/bin/npm-cli.js', '/usr/local/lib/node_modules/npm/bin/npm-cli.js'];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`npm-cli.js not found in ${candidates.join(', ')}`);
  return found;
}

/** What a build on this machine takes from it, as `docker build` takes the daemon's network set-up:
 *  HOME (~/.npmrc and the ~/.npm cache), proxies and extra CA certificates. Nothing else leaks in. */
function buildHostEnv(): NodeJS.ProcessEnv {
  const keep = /^(HOME|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|https?_proxy|no_proxy|HTTPS?_PROXY|NO_PROXY|npm_config_(cache|registry|cafile|userconfig))$/;
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => keep.test(k)));
}

interface StageRun {
  stage: Stage;
  dir: string;
  workdir: string;
}

/** Maps a path of the image (absolute, or relative to WORKDIR) into the stage directory. */
function hostPath(s: StageRun, p: string): string | undefined {
  const abs = posix.resolve(s.workdir, p);
  const rel = posix.relative(s.workdir, abs);
  if (rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return join(s.dir, rel);
}

async function copyInstruction(ins: Instruction, s: StageRun, runs: Map<string, StageRun>, ignored: (rel: string) => boolean): Promise<string> {
  const words = shellWords(ins.args);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
    else if (!/^--(chown|chmod|link)\b/.test(flag)) throw new Error(`line ${ins.line}: COPY flag ${flag} not supported by the check`);
  }
  if (words.length < 2) throw new Error(`line ${ins.line}: COPY needs a source and a destination`);
  const dest = words.pop()!;
  const destIsDir = dest.endsWith('/') || words.length > 1;
  const done: string[] = [];
  for (const src of words) {
    let srcPath: string;
    if (from !== undefined) {
      const other = runs.get(from);
      if (!other) throw new Error(`line ${ins.line}: COPY --from=${from}: no such earlier stage`);
      const p = hostPath(other, src);
      if (!p) throw new Error(`line ${ins.line}: COPY --from=${from} ${src}: outside that stage's WORKDIR`);
      srcPath = p;
    } else {
      const rel = posix.normalize(src).replace(/^\/+/, '').replace(/\/+$/, '');
      if (rel.startsWith('..')) throw new Error(`line ${ins.line}: COPY ${src} is outside the build context`);
      if (ignored(rel)) throw new Error(`line ${ins.line}: COPY ${src} is excluded by .dockerignore`);
      srcPath = join(REPO_ROOT, rel);
    }
    const st = await stat(srcPath);
    const base = src.replace(/\/+$/, '').split('/').pop()!;
    const target = hostPath(s, st.isDirectory() || !destIsDir ? dest : posix.join(dest, base));
    if (!target) throw new Error(`line ${ins.line}: COPY destination ${dest} outside WORKDIR ${s.workdir}`);
    await mkdir(dirname(target), { recursive: true });
    await cp(srcPath, target, {
      recursive: true,
      filter: (p) => from !== undefined || !ignored(relative(REPO_ROOT, p).split('\\').join('/')) || p === srcPath,
    });
    done.push(`${from ? `${from}:` : ''}${src}`);
  }
  return `${done.join(' ')} -> ${dest}`;
}

async function runInstruction(ins: Instruction, s: StageRun, env: NodeJS.ProcessEnv): Promise<void> {
  for (const command of ins.args.split('&&').map((c) => c.trim()).filter(Boolean)) {
    const words = shellWords(command);
    const [prog, ...args] = words;
    if (prog === 'npm' && args[0] === 'ci') {
      await step(`[${s.stage.name}] RUN ${command}  (+ --prefer-offline)`, () =>
        run(PROJECT_NODE, [npmCli(), ...args, '--prefer-offline', '--loglevel=error'], { cwd: s.dir, env }),
      );
    } else if (prog === 'npm' && args[0] === 'sbom' && args.at(-2) === '>') {
      // `npm sbom … > file`: npm's SBOM of the installed tree, written into the image.
      const out = hostPath(s, args.at(-1)!);
      if (!out) throw new Error(`Dockerfile line ${ins.line}: npm sbom output ${args.at(-1)} outside WORKDIR ${s.workdir}`);
      await step(`[${s.stage.name}] RUN ${command}`, async () => {
        const { stdout } = await execFileP(PROJECT_NODE, [npmCli(), ...args.slice(0, -2), '--loglevel=error'], { cwd: s.dir, env, maxBuffer: 64 * 1024 * 1024 });
        await writeFile(out, stdout);
        return `${stdout.length} bytes`;
      });
    } else if (prog === 'npm' && args[0] === 'cache' && args[1] === 'clean') {
      log(`[${s.stage.name}] RUN ${command}: skipped (would empty this machine's shared npm cache)`);
    } else if (prog === 'node') {
      await step(`[${s.stage.name}] RUN ${command}`, () => run(PROJECT_NODE, args, { cwd: s.dir, env }));
    } else if (prog === 'rm' && (args[0] === '-rf' || args[0] === '-fr')) {
      const inside = args.slice(1).filter((p) => hostPath(s, p) !== undefined);
      for (const p of inside) await rm(hostPath(s, p)!, { recursive: true, force: true });
      log(`[${s.stage.name}] RUN rm -rf: ${inside.length} path(s) in the app dir removed, ${args.length - 1 - inside.length} image path(s) skipped`);
    } else {
      throw new Error(`Dockerfile line ${ins.line}: RUN command the check does not know: ${command} (teach scripts/docker-build-check.ts)`);
    }
  }
}

async function listFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    const st = await stat(p).catch(() => undefined);
    if (st) out.set(relative(dir, p), `${st.size}:${st.mtimeMs}:${st.mode}`);
  }
  return out;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

export interface CheckResult {
  ok: boolean;
  error?: string;
  root: string;
  buildDir?: string;
  runtimeDir?: string;
  runtimeUser?: string;
  ranAsUid?: number;
  steps: number;
  totalMs: number;
}

export async function check(opts: { dockerfile?: string; keep?: boolean } = {}): Promise<CheckResult> {
  const dockerfilePath = resolve(REPO_ROOT, opts.dockerfile ?? 'Dockerfile');
  const root = await mkdtemp(join(tmpdir(), 'logstream-docker-check-'));
  await chmod(root, 0o755);
  const result: CheckResult = { ok: false, root, steps: 0, totalMs: 0 };
  let app: ChildProcess | undefined;
  let broker: { stop(): Promise<void>; dataDir: string } | undefined;
  try {
    if (!existsSync(PROJECT_NODE)) throw new Error(`${PROJECT_NODE} missing: run npm ci first`);
    const df = parseDockerfile(await readFile(dockerfilePath, 'utf8'));
    const ignored = await dockerignore(REPO_ROOT);
    log(`Dockerfile ${relative(REPO_ROOT, dockerfilePath)}: stages ${df.stages.map((s) => `${s.name} (FROM ${s.image})`).join(', ')}; node ${(await run(PROJECT_NODE, ['--version'], { cwd: root, env: {} })).trim()}; work dir ${root}`);

    // Only `node` on PATH: nothing may need npm (or anything else of the machine) at runtime.
    const binDir = join(root, 'bin');
    await mkdir(binDir);
    await symlink(PROJECT_NODE, join(binDir, 'node'));

    const runs = new Map<string, StageRun>();
    for (const stage of df.stages) {
      const settings = { env: new Map<string, string>(), workdir: '/' };
      const dir = join(root, `stage-${stage.index}-${stage.name}`);
      await mkdir(dir);
      const s: StageRun = { stage, dir, workdir: '/' };
      for (const ins of stage.instructions) {
        result.steps++;
        switch (ins.op) {
          case 'WORKDIR':
            s.workdir = posix.resolve(s.workdir, ins.args);
            settings.workdir = s.workdir;
            break;
          case 'ENV':
            for (const [k, v] of keyValues(ins.args, settings.env)) settings.env.set(k, v);
            break;
          case 'COPY': {
            const what = await step(`[${stage.name}] COPY ${ins.args}`, () => copyInstruction(ins, s, runs, ignored));
            log(`  copied ${what}`);
            break;
          }
          case 'RUN':
            await runInstruction(ins, s, { PATH: binDir, ...buildHostEnv(), ...Object.fromEntries(settings.env) });
            break;
          case 'ARG':
          case 'LABEL':
          case 'USER':
          case 'EXPOSE':
          case 'HEALTHCHECK':
          case 'ENTRYPOINT':
          case 'CMD':
            break; // used below (last stage) or metadata only
          default:
            throw new Error(`Dockerfile line ${ins.line}: instruction ${ins.op} is not supported by the check (teach scripts/docker-build-check.ts)`);
        }
      }
      runs.set(stage.name, s);
      runs.set(String(stage.index), s);
    }

    const last = df.stages.at(-1)!;
    const rt = runs.get(last.name)!;
    const cfg = stageSettings(df, last);
    result.buildDir = runs.get(df.stages[0]!.name)!.dir;
    result.runtimeDir = rt.dir;
    result.runtimeUser = cfg.user ?? '';

    await step('[runtime] no dev dependency installed (package-lock "dev": true packages)', async () => {
      const lock = JSON.parse(await readFile(join(rt.dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; dependencies?: Record<string, string> }> };
      const dev = Object.entries(lock.packages).filter(([p, v]) => p && v.dev).map(([p]) => p);
      const present = dev.filter((p) => existsSync(join(rt.dir, p)));
      if (present.length > 0) throw new Error(`dev dependencies in the runtime stage: ${present.slice(0, 10).join(', ')}`);
      // The app's own dependencies (the Kafka client among them) must all be there.
      const prod = Object.keys(lock.packages['']?.dependencies ?? {});
      const missing = prod.filter((d) => !existsSync(join(rt.dir, 'node_modules', d)));
      if (prod.length === 0 || missing.length > 0) throw new Error(`runtime node_modules lacks production dependencies: ${missing.join(', ') || '(the lockfile lists none)'}`);
      log(`  ${dev.length} dev packages of the lockfile absent, production packages present`);
    });

    // uid/gid of a numeric USER; we can only switch users as root.
    const m = /^(\d+)(?::(\d+))?$/.exec(cfg.user ?? '');
    const asRoot = process.getuid?.() === 0;
    const ids = m && asRoot ? { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) } : undefined;
    if (ids) result.ranAsUid = ids.uid;
    else log(`USER ${cfg.user ?? '(none)'}: not switching (${asRoot ? 'USER is not numeric' : 'not running as root'})`);
    // A read-only HOME and TMPDIR (owned by root, 0555): the app must not write outside mounted paths.
    const roDir = join(root, 'readonly');
    await mkdir(roDir, { mode: 0o555 });
    await chmod(roDir, 0o555);

    await step('[runtime] native modules (snappy, lz4-napi) load', () =>
      run(PROJECT_NODE, ['--input-type=module', '-e', "await import('snappy'); await import('lz4-napi');"], {
        cwd: rt.dir,
        env: { PATH: binDir, HOME: roDir, TMPDIR: roDir, ...Object.fromEntries(cfg.env) },
      }),
    );

    // Kafka: a given broker, or a local one.
    let bootstrap = process.env['KAFKA_BROKERS'] ?? process.env['LOGSTREAM_TEST_KAFKA'];
    if (!bootstrap) {
      const { startBroker } = await import('./kafka-broker.ts');
      const b = await step('start a local Kafka broker (scripts/kafka-broker.ts)', () => startBroker());
      broker = b;
      bootstrap = b.bootstrap;
    }
    const topic = `docker-check-${Date.now().toString(36)}`;
    const { connectKafka } = await import('../src/source/kafka/connect.ts');
    const { createLogger } = await import('../src/telemetry/logger.ts');
    await step(`create topic ${topic} on ${bootstrap} and produce 3 records`, async () => {
      const kafka = await connectKafka({ clientId: 'docker-check', brokers: [bootstrap!], logger: createLogger({ level: 'silent' }) });
      const admin = kafka.admin();
      await admin.createTopic({ topic, partitions: 1, replicationFactor: 1 });
      await admin.close();
      const producer = kafka.producer();
      await producer.connect();
      await producer.send(topic, [1, 2, 3].map((n) => ({ value: JSON.stringify({ check: 'docker', n }) })));
      await producer.disconnect();
    });

    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: binDir,
      HOME: roDir,
      TMPDIR: roDir,
      ...Object.fromEntries(cfg.env),
      KAFKA_BROKERS: bootstrap,
      KAFKA_TOPICS: topic,
      KAFKA_GROUP_ID: `${topic}-group`,
      KAFKA_START_FROM: 'earliest',
      SINKS: 'stdout',
      HTTP_PORT: String(port),
    };
    log(`image ENV: ${[...cfg.env].map(([k, v]) => `${k}=${v}`).join(' ')}; USER ${cfg.user ?? '(none)'}; WORKDIR ${cfg.workdir}`);
    const argv = [...cfg.entrypoint, ...cfg.cmd];
    if (argv[0] !== 'node') throw new Error(`ENTRYPOINT/CMD should start node directly (exec form), got ${JSON.stringify(argv)}`);
    const before = await listFiles(rt.dir);

    let stdout = '';
    let stderr = '';
    const { exited } = await step(`[runtime] start ${JSON.stringify(argv)}${ids ? ` as uid ${ids.uid}:${ids.gid}` : ''} and wait for /readyz 200`, async () => {
      app = spawn(PROJECT_NODE, argv.slice(1), { cwd: rt.dir, env, stdio: ['ignore', 'pipe', 'pipe'], ...(ids ?? {}) });
      app.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
      app.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      const exitedP = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => app!.on('exit', (code, signal) => res({ code, signal })));
      let done = false;
      void exitedP.then(() => (done = true));
      const deadline = Date.now() + 90_000;
      for (;;) {
        if (done) throw new Error(`the app exited before it was ready:\n${stderr.slice(-3000)}`);
        const status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
        if (status === 200) break;
        if (Date.now() > deadline) throw new Error(`/readyz not 200 after 90 s (last ${status}):\n${stderr.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      return { exited: exitedP }; // wrapped: returning the promise itself would wait for the exit
    });

    await step('[runtime] the 3 records reach the stdout sink', async () => {
      const deadline = Date.now() + 30_000;
      while ((stdout.match(/"check":"docker"/g) ?? []).length < 3) {
        if (Date.now() > deadline) throw new Error(`records not on stdout after 30 s; stdout: ${stdout.slice(-1000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    });

    if (cfg.healthcheck) {
      const hc = cfg.healthcheck.cmd;
      await step(`[runtime] HEALTHCHECK ${JSON.stringify(hc).slice(0, 80)}… exits 0`, async () => {
        if (hc[0] !== 'node') throw new Error(`HEALTHCHECK should run node (the image has no curl/wget), got ${hc[0]}`);
        await run(PROJECT_NODE, hc.slice(1), { cwd: rt.dir, env, timeoutMs: 10_000 });
      });
    } else {
      throw new Error('the runtime stage has no HEALTHCHECK');
    }

    await step('[runtime] SIGTERM -> graceful stop, exit 0', async () => {
      app!.kill('SIGTERM');
      const timer = setTimeout(() => app?.kill('SIGKILL'), 45_000);
      const r = await exited;
      clearTimeout(timer);
      if (r.code !== 0) throw new Error(`exit ${r.code ?? r.signal} after SIGTERM:\n${stderr.slice(-3000)}`);
      if (!/"msg":"stopped"/.test(stderr)) throw new Error(`no "stopped" log line:\n${stderr.slice(-2000)}`);
      app = undefined;
    });

    await step('[runtime] no file of the app directory was written', async () => {
      const after = await listFiles(rt.dir);
      const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
      if (changed.length > 0) throw new Error(`files changed at runtime: ${changed.slice(0, 10).join(', ')}`);
    });

    result.ok = true;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    log(`FAILED: ${result.error}`);
  } finally {
    if (app) {
      (app as ChildProcess).kill('SIGKILL');
    }
    if (broker) {
      await broker.stop().catch(() => undefined);
      await rm(broker.dataDir, { recursive: true, force: true }).catch(() => undefined);
    }
    if (!opts.keep && result.ok) await rm(root, { recursive: true, force: true });
    else log(`work dir kept: ${root}`);
    result.totalMs = Date.now() - t0;
  }
  return result;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false }, dockerfile: { type: 'string' } } });
  const r = await check({ keep: values.keep, ...(values.dockerfile ? { dockerfile: values.dockerfile } : {}) });
  log(r.ok ? `docker build check passed in ${(r.totalMs / 1000).toFixed(1)} s` : 'docker build check FAILED');
  process.stdout.write(`DOCKER_CHECK_RESULT ${JSON.stringify(r)}\n`);
  process.exit(r.ok ? 0 : 1);
}
