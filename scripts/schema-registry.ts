/**
 * A real schema registry for the schema-registry format tests: Apicurio Registry 2.4.2.Final with
 * in-memory storage, serving the Confluent-compatible API under /apis/ccompat/v7. Library and CLI, on
 * the pattern of scripts/elasticmq.ts.
 *
 * Apicurio publishes its server on Maven Central only as a plain module jar (apicurio-registry-app), not
 * as a runnable application. fetch() builds one: scripts/schema-registry/pom.xml (which says why each of
 * its settings is there) is copied into .cache/apicurio/<version>/build, the app jar is unpacked there
 * as the Quarkus application root (its classes and application.properties; the library jars without a
 * Jandex index are indexed by `quarkus.index-dependency.*`), and Quarkus's Maven plugin packages it.
 * Cold: about 2 minutes and 210 MB of Maven downloads; the result is cached.
 *
 * The tests produce their records with confluent-kafka's Python serializers (independent of logstream's
 * decoders): fetch() also makes a virtualenv for them in .cache/registry-producer (PyPI, about 15 s cold).
 *
 * CLI:
 *   node scripts/schema-registry.ts fetch
 *   node scripts/schema-registry.ts start [--port N]   prints SCHEMA_REGISTRY_URL=… and runs until SIGINT/SIGTERM.
 */
import { execFile } from 'node:child_process';
import { appendFile, copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { err, out, portArg, runMain } from './cli.ts';
import { freePort } from './kafka-broker.ts';
import { serveUntilSignal } from './serve-until-signal.ts';
import { ensureVenv } from './python-venv.ts';
import { fileTail, startSupervised, type PeerProcess } from './supervised-child.ts';

export const APICURIO_VERSION = '2.4.2.Final';
/** The Confluent-compatible API's base path. */
export const CCOMPAT_PATH = '/apis/ccompat/v7';

const REPO_ROOT = resolve(import.meta.dirname, '..');
const POM = join(REPO_ROOT, 'scripts', 'schema-registry', 'pom.xml');
const CACHE = join(REPO_ROOT, '.cache', 'apicurio', APICURIO_VERSION);
const RUNNER = join(CACHE, 'build', 'target', 'apicurio-runner-1-runner.jar');
const COMPLETE_MARKER = join(CACHE, '.logstream-complete');
const BIND_FAILED = /Port\(s\) already bound|Address already in use/;

/** The Apicurio library jars that ship without a Jandex index but hold CDI beans the server needs. */
const UNINDEXED = [
  'schema-util-provider', 'schema-util-common', 'schema-util-avro', 'schema-util-json', 'schema-util-protobuf', 'schema-util-asyncapi',
  'schema-util-graphql', 'schema-util-kconnect', 'schema-util-openapi', 'schema-util-wsdl', 'schema-util-xml', 'schema-util-xsd',
  'utils-import-export', 'utils-kafka', 'protobuf-schema-utilities',
];

async function run(cmd: string, args: string[], cwd: string, what: string): Promise<void> {
  try {
    await promisify(execFile)(cmd, args, { cwd, timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    const tail = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${what} failed: ${e.message}\n${tail}`);
  }
}

/** Builds the runnable registry into .cache/apicurio/<version> unless it is there; returns the jar. */
export async function ensureRegistryJar(): Promise<string> {
  if (existsSync(COMPLETE_MARKER) && existsSync(RUNNER)) return RUNNER;
  await mkdir(CACHE, { recursive: true });
  const build = await mkdtemp(join(CACHE, 'build.tmp-'));
  try {
    const resources = join(build, 'src', 'main', 'resources');
    await mkdir(resources, { recursive: true });
    await copyFile(POM, join(build, 'pom.xml'));
    const m2 = process.env['MAVEN_REPO'] ?? join(homedir(), '.m2', 'repository');
    await run('mvn', ['-B', '-q', '-ntp', 'dependency:get', `-Dartifact=io.apicurio:apicurio-registry-app:${APICURIO_VERSION}`, '-Dtransitive=false'], build, 'mvn dependency:get apicurio-registry-app');
    const appJar = join(m2, 'io', 'apicurio', 'apicurio-registry-app', APICURIO_VERSION, `apicurio-registry-app-${APICURIO_VERSION}.jar`);
    if (!existsSync(appJar)) throw new Error(`mvn did not leave ${appJar} (set MAVEN_REPO if the local repository is elsewhere)`);
    // `jar` (the JDK's) unpacks it: no unzip needed.
    await run('jar', ['xf', appJar], resources, 'unpacking apicurio-registry-app');
    await rm(join(resources, 'META-INF', 'maven'), { recursive: true, force: true });
    await rm(join(resources, 'META-INF', 'MANIFEST.MF'), { force: true });
    const index = UNINDEXED.map((a, i) => `quarkus.index-dependency.ap${i}.group-id=io.apicurio\nquarkus.index-dependency.ap${i}.artifact-id=apicurio-registry-${a}\n`).join('');
    await appendFile(join(resources, 'application.properties'), `\n${index}quarkus.index-dependency.cfgidx.group-id=io.apicurio\nquarkus.index-dependency.cfgidx.artifact-id=apicurio-common-app-components-config\n`);
    await run('mvn', ['-B', '-q', '-ntp', '-Dstyle.color=never', 'package', '-DskipTests'], build, `building Apicurio Registry ${APICURIO_VERSION}`);
    const target = join(CACHE, 'build');
    await rm(target, { recursive: true, force: true });
    await rename(build, target);
    if (!existsSync(RUNNER)) throw new Error(`the build did not produce ${RUNNER}`);
    await writeFile(COMPLETE_MARKER, `${APICURIO_VERSION}\n`);
    return RUNNER;
  } finally {
    await rm(build, { recursive: true, force: true });
  }
}

/** The Python packages of the test producer (test/support/registry-producer/produce.py), pinned. */
export const PRODUCER_PACKAGES = ['confluent-kafka[avro,protobuf,json,schemaregistry]==2.16.1', 'grpcio-tools==1.85.1'];

/** Makes the test producer's virtualenv (.cache/registry-producer/venv) unless it is there; returns its python. */
export function ensureProducerPython(): Promise<string> {
  return ensureVenv('registry-producer', PRODUCER_PACKAGES);
}

export interface SchemaRegistryServer extends PeerProcess {
  /** The Confluent-compatible base URL, http://127.0.0.1:<port>/apis/ccompat/v7 (SCHEMA_REGISTRY_URL). */
  url: string;
  port: number;
  logFile: string;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2000) })).status === 200;
  } catch {
    return false;
  }
}

/** Starts the registry on `port` (default: a free one; a port taken meanwhile is chosen again, up to 3 times). */
export async function startSchemaRegistry(opts: { port?: number; heapMb?: number; startTimeoutMs?: number } = {}): Promise<SchemaRegistryServer> {
  const jar = await ensureRegistryJar();
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const dir = await mkdtemp(join(tmpdir(), 'logstream-apicurio-'));
    const logFile = join(dir, 'apicurio.out');
    const url = `http://127.0.0.1:${port}${CCOMPAT_PATH}`;
    try {
      const proc = await startSupervised({
        what: `Apicurio Registry ${APICURIO_VERSION}`,
        command: 'java',
        args: [`-Xmx${opts.heapMb ?? 384}m`, '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true', '-Dquarkus.http.host=127.0.0.1', `-Dquarkus.http.port=${port}`, '-Dquarkus.log.level=WARN', '-jar', jar],
        cwd: dir,
        logFile,
        truncateLog: true,
        where: url,
        ready: () => answers(url),
        failed: () => (BIND_FAILED.test(fileTail(logFile, 100)) ? `could not bind 127.0.0.1:${port}` : undefined),
        startTimeoutMs: opts.startTimeoutMs ?? 90_000,
        pollMs: 200,
      });
      return { url, port, logFile, pid: proc.pid, exited: proc.exited, stop: proc.stop, kill: proc.kill };
    } catch (error) {
      const taken = /could not bind|already bound|Address already in use/.test(String((error as Error).message));
      if (!taken || opts.port !== undefined || attempt >= 3) throw error;
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { port: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  const cmd = positionals[0];
  if (values.help || (cmd !== 'fetch' && cmd !== 'start')) {
    err('usage: node scripts/schema-registry.ts fetch\n       node scripts/schema-registry.ts start [--port N]');
    return values.help ? 0 : 2;
  }
  const t0 = Date.now();
  if (cmd === 'fetch') {
    const [jar, python] = await Promise.all([ensureRegistryJar(), ensureProducerPython()]);
    err(`Apicurio Registry ${APICURIO_VERSION} ready in ${jar}, test producer in ${python} (${Date.now() - t0} ms)`);
    return 0;
  }
  const port = portArg('port', values.port);
  const server = await startSchemaRegistry(port ? { port } : {});
  err(`Apicurio Registry ${APICURIO_VERSION} ready in ${Date.now() - t0} ms, pid ${server.pid}, log ${server.logFile}`);
  out(`SCHEMA_REGISTRY_URL=${server.url}`);
  return serveUntilSignal('schema-registry', server, err);
}

if (import.meta.main) runMain(main);
