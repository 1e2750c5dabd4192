/**
 * The examples in config/ must keep working:
 *   - every config/*.env is a plain NAME=value file that reads the same in a shell (`set -a; . file`)
 *     and in `docker run --env-file`, names secrets only as *_FILE paths under /etc/logstream/, and
 *     passes `logstream check-config` (the CLI, spawned with only that file's variables; the files it
 *     names are provided under a temp dir) with exit 0, no warning and the resolved fields it promises;
 *   - every config/queries/*.spl starts with a comment, compiles, and turns each `-- in:` record of its
 *     comment into the `-- out:` record (or drops it) — so each query does what its comment says — and
 *     the StrongDM queries do the right thing on the seed's own records;
 *   - config/README.md lists every example.
 * The Helm values examples (config/helm/*.yaml) are rendered with the chart in test/helm/config-examples.integration.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileQuery } from '../../src/query/index.ts';
import { CONFIG_DIR, QUERIES_DIR, SECRET_VARS, baseName, materialise } from '../support/config-examples.ts';
import { REPO_ROOT } from '../support/instance.ts';
import { SDM_ALL, SDM_REPLAY } from '../support/strongdm-seed.ts';
import { makeNodeTestPki } from '../support/node-pki.ts';
import type { TestPki } from '../support/pki.ts';

const ENV_FILES = readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.env')).sort();
const QUERY_FILES = readdirSync(QUERIES_DIR).filter((f) => f.endsWith('.spl')).sort();
const query = (name: string): string => readFileSync(join(QUERIES_DIR, name), 'utf8');

/**
 * An env file as `docker run --env-file` reads it: `#` lines and blank lines skipped, every other line
 * NAME=value taken literally (no quotes removed, no `#` comment after a value). Stricter than docker on
 * purpose (no leading blanks, no bare NAME, no name twice), so the file means one thing everywhere.
 */
function parseEnvFile(text: string): { env: Record<string, string>; problems: string[] } {
  const env: Record<string, string> = {};
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) return problems.push(`line ${i + 1}: not NAME=value: ${JSON.stringify(line)}`);
    if (m[1]! in env) problems.push(`line ${i + 1}: ${m[1]} is set twice`);
    if (m[2]!.trim() === '') problems.push(`line ${i + 1}: ${m[1]} is empty (leave it out instead)`);
    env[m[1]!] = m[2]!;
  });
  return { env, problems };
}

/** The same file as the README's `set -a; . file; set +a` reads it, in /bin/sh. */
function sourceInShell(file: string): Record<string, string> {
  const r = spawnSync('/bin/sh', ['-c', 'set -a; . "$1"; set +a; exec env -0', 'sh', file], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sh could not source ${file}: ${r.stderr}`);
  return Object.fromEntries(r.stdout.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

/** `node src/main.ts check-config` with exactly `env`. */
function checkConfig(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/main.ts', 'check-config'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// The resolved configuration as check-config prints it (JSON; secrets masked, files as "<N bytes read>").
type Printed = Record<string, any>;
const READ = /^<\d+ bytes read>$/;
const MASK = '**REDACTED**';
const sinkOf = (cfg: Printed, route: string, type: string) => {
  const r = (cfg['routes'] as Printed[]).find((x) => x['name'] === route);
  const s = (r?.['sinks'] as Printed[] | undefined)?.find((x) => x['type'] === type);
  if (!s) throw new Error(`route ${route} has no sink ${type}: ${JSON.stringify(cfg['routes'])}`);
  return s;
};

/** What each example must resolve to, beyond exit 0 and no warnings. Every config/*.env needs an entry. */
const EXPECT: Record<string, (cfg: Printed) => void> = {
  'splunk-hec.env': (cfg) => {
    expect(cfg['routes'].map((r: Printed) => [r['name'], r['kafka'].groupId, r['query']])).toEqual([['default', 'logstream-splunk', query('severity.spl')]]);
    expect(cfg['kafka'].security.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'logstream', password: MASK });
    expect(cfg['kafka'].security.tls.files.ca).toMatch(READ);
    const hec = sinkOf(cfg, 'default', 'splunk_hec');
    expect(hec.config.token).toBe(MASK);
    expect(hec.config.ack).toMatchObject({ enabled: true, pollIntervalMs: 10_000, timeoutMs: 300_000 });
    expect(hec.config.urls).toHaveLength(2);
    expect(hec.config.tls.ca).toMatch(READ);
    expect(hec.config).toMatchObject({ stampOrigin: true, index: { constant: 'security' }, timeField: 'timestamp' });
  },
  'avro-schema-registry.env': (cfg) => {
    expect(cfg['routes'].map((r: Printed) => [r['name'], r['kafka'].valueFormat, r['query']])).toEqual([['default', 'avro', query('registry-failures.spl')]]);
    expect(cfg['schemaRegistry']).toMatchObject({ urls: ['https://schema-registry-0.example.com:8081', 'https://schema-registry-1.example.com:8081'], auth: { kind: 'basic', username: 'logstream', password: MASK } });
    expect(cfg['schemaRegistry'].tls.ca).toMatch(READ);
    expect(sinkOf(cfg, 'default', 'splunk_hec').config.fields).toEqual([{ name: 'schema_subject', path: '__schema_subject__' }, { name: 'schema_version', path: '__schema_version__' }]);
  },
  'syslog-mtls.env': (cfg) => {
    const s = sinkOf(cfg, 'default', 'syslog');
    expect(s.config.format).toBe('rfc5424');
    expect(s.config.transport).toMatchObject({ protocol: 'tls', host: 'qradar.example.com', port: 6514, framing: 'octet-counting' });
    expect(s.config.transport.tls).toEqual({ ca: expect.stringMatching(READ), cert: expect.stringMatching(READ), key: expect.stringMatching(READ) });
    expect(s.config.sd).toEqual({ id: 'origin@32473', params: [{ name: 'topic', field: '__topic__' }, { name: 'partition', field: '__partition__' }, { name: 'offset', field: '__offset__' }] });
    expect(s.delivery.maxRecordBytes).toBe(8192);
  },
  'cef-arcsight.env': (cfg) => {
    expect(cfg['routes'][0].query).toBe(query('cloudsoc-agent-default.spl'));
    const s = sinkOf(cfg, 'default', 'syslog');
    expect(s.config.format).toBe('cef-3164');
    expect(s.config.transport).toMatchObject({ protocol: 'tcp', port: 1514, framing: 'lf' });
    expect(s.config.cef).toMatchObject({ vendor: 'Symantec', product: 'CloudSOC', severityField: 'severity' });
    expect(s.config.cef.extension).toContainEqual({ name: 'suser', field: 'user' });
  },
  's3-archive.env': (cfg) => {
    expect(cfg['routes'][0].query).toBe('*');
    const s = sinkOf(cfg, 'default', 's3');
    expect(s.config).toMatchObject({ bucket: 'unique-bucket-name', prefix: 'sdm/logs', region: 'us-west-2', gzip: true, testOnStart: true, logTypeField: 'logType' });
    expect(s.config.sse).toEqual({ mode: 'aws:kms', kmsKeyId: 'alias/logstream-archive', bucketKey: true });
    // StrongDM's Log Stream batches: up to 1000 entries or ~100 MiB
    expect(s.delivery).toMatchObject({ batchMaxRecords: 1000, batchMaxBytes: 100 * 1024 * 1024 });
  },
  'sqs.env': (cfg) => {
    const s = sinkOf(cfg, 'default', 'sqs');
    expect(s.config).toMatchObject({ region: 'eu-west-1', endpoint: 'https://sqs.eu-west-1.amazonaws.com', fifoByName: false, stampOrigin: true });
  },
  'form-post.env': (cfg) => {
    const s = sinkOf(cfg, 'default', 'form_post');
    expect(s.config.url).toBe(MASK);
    expect(s.config.origin).toBe('https://collectors.example.com');
    expect(s.config.auth).toEqual({ header: 'Authorization', value: MASK });
    expect(s.config).toMatchObject({ product: 'web', productField: 'product' });
    expect(s.delivery).toMatchObject({ batchMaxRecords: 20, batchMaxWaitMs: 5000 });
  },
  'webhook.env': (cfg) => {
    // webhook only: no consumer group, no route
    expect(cfg['routes']).toEqual([]);
    expect(cfg['query']).toBe(query('pii-mask.spl'));
    expect(cfg['webhook'].products).toEqual({ web: 'logs-web', email: 'logs-email', casb: 'logs-casb' });
    expect(cfg['webhook'].keys.map((k: Printed) => k['product'])).toEqual(['web', 'email', 'casb']);
    expect(cfg['webhook']).toMatchObject({ firstWindowMs: 600_000, cursorExpiryMs: 86_400_000, resetWindowMs: 300_000 });
  },
  'msk-iam.env': (cfg) => {
    expect(cfg['kafka'].security.sasl).toEqual({ mechanism: 'aws-msk-iam', region: 'eu-west-1' });
    // TLS is implied by aws-msk-iam, verified against the system CAs
    expect(cfg['kafka'].security.tls).toEqual({ insecure: false });
    expect(cfg['kafka'].brokers.every((b: string) => b.endsWith('.amazonaws.com:9098'))).toBe(true);
    expect(sinkOf(cfg, 'default', 's3').config.region).toBe('eu-west-1');
  },
  'routes-archive-siem.env': (cfg) => {
    expect(cfg['routed']).toBe(true);
    expect(cfg['routes'].map((r: Printed) => [r['name'], r['kafka'].groupId, r['kafka'].topics, r['sinks'].map((s: Printed) => s['type'])])).toEqual([
      ['archive', 'logstream.archive', ['security-logs'], ['s3']],
      ['siem', 'logstream.siem', ['security-logs'], ['splunk_hec']],
    ]);
    const [archive, siem] = cfg['routes'] as Printed[];
    expect(archive!['query']).toBe('*');
    expect(siem!['query']).toBe(query('severity.spl'));
    expect(siem!['rateLimit']).toBe(5000);
    expect(archive!['rateLimit']).toBe(0);
    expect(sinkOf(cfg, 'siem', 'splunk_hec').config.token).toBe(MASK);
    expect(sinkOf(cfg, 'archive', 's3').config).toMatchObject({ bucket: 'security-archive', prefix: 'logs', region: 'eu-west-1' });
    // the instance's in-flight budget shared out equally
    expect(archive!['inflightMaxRecords'] + siem!['inflightMaxRecords']).toBe(cfg['inflightMaxRecords']);
  },
};

describe('config/*.env', () => {
  let pki: TestPki;
  let scratch: string;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'logstream-config-examples-'));
    pki = await makeNodeTestPki(join(scratch, 'pki'), 'config examples');
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('there are examples, and each has its expectations below', () => {
    expect(ENV_FILES.length).toBeGreaterThanOrEqual(9);
    expect(ENV_FILES.filter((f) => !(f in EXPECT))).toEqual([]);
    expect(Object.keys(EXPECT).filter((f) => !ENV_FILES.includes(f))).toEqual([]);
  });

  describe.each(ENV_FILES)('%s', (file) => {
    const path = join(CONFIG_DIR, file);
    const text = readFileSync(path, 'utf8');
    const parsed = parseEnvFile(text);

    it('opens with comments saying when to use it and what to change, and shows the check', () => {
      expect(text.startsWith('# ')).toBe(true);
      const header = text.slice(0, text.search(/^[A-Z]/m));
      expect(header).toMatch(/^# When:/m);
      expect(header).toMatch(/^# Change:/m);
      expect(header).toContain(`set -a; . config/${file}; set +a; logstream check-config`);
    });

    it('is NAME=value lines that read the same in a shell (set -a; . file) and in docker --env-file', () => {
      expect(parsed.problems).toEqual([]);
      const shell = sourceInShell(path);
      const differ = Object.entries(parsed.env).filter(([k, v]) => shell[k] !== v).map(([k, v]) => `${k}: docker reads ${JSON.stringify(v)}, sh reads ${JSON.stringify(shell[k])}`);
      expect(differ).toEqual([]);
    });

    it('gives secrets only as *_FILE paths under /etc/logstream/', () => {
      const names = Object.keys(parsed.env);
      expect(names.filter((n) => SECRET_VARS.has(baseName(n, parsed.env)))).toEqual([]);
      const paths = Object.entries(parsed.env).filter(([, v]) => v.startsWith('/'));
      expect(paths.filter(([, v]) => !v.startsWith('/etc/logstream/'))).toEqual([]);
      expect(paths.filter(([n]) => !n.endsWith('_FILE'))).toEqual([]);
    });

    it('passes logstream check-config with only its own variables (exit 0, no warning), resolving as promised', async () => {
      const { env, problems, files } = materialise(parsed.env, join(scratch, file), pki);
      expect(problems).toEqual([]);
      const r = await checkConfig(env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('logstream:');
      const cfg = JSON.parse(r.stdout) as Printed;
      expect(cfg['warnings']).toEqual([]);
      // no secret read from a file is printed
      for (const [p, f] of files) {
        const v = baseName(f.variable, parsed.env).replace(/_FILE$/, '');
        if (SECRET_VARS.has(v)) expect(r.stdout, `${f.variable}=${p}`).not.toContain(f.content.toString().trim());
      }
      EXPECT[file]!(cfg);
    });
  });

  it('check-config refuses an example with a typo in a variable name (the check is not vacuous)', async () => {
    const { env } = materialise(parseEnvFile(readFileSync(join(CONFIG_DIR, 'routes-archive-siem.env'), 'utf8')).env, join(scratch, 'typo'), pki);
    const { ROUTE_SIEM_QUERY_FILE: q, ...rest } = env;
    const r = await checkConfig({ ...rest, ROUTE_SIEM_QEURY_FILE: q! });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ROUTE_SIEM_QEURY_FILE: QEURY_FILE is not a per-route variable');
    // a typo outside a route is only a warning, which the test above fails on
    const w = await checkConfig({ ...materialise(parseEnvFile(readFileSync(join(CONFIG_DIR, 'sqs.env'), 'utf8')).env, join(scratch, 'typo2'), pki).env, SQS_STAMP_ORGIN: 'true' });
    expect(w.code).toBe(0);
    expect(JSON.parse(w.stdout).warnings).toEqual(['SQS_STAMP_ORGIN: not a logstream variable; it is ignored; did you mean SQS_STAMP_ORIGIN?']);
  });
});

/** The `-- in:` / `-- out:` pairs of a query file's comment (`out: dropped` when the query drops it). */
function examplesOf(text: string): Array<{ line: number; input: Record<string, unknown>; output: Record<string, unknown> | null }> {
  const out: Array<{ line: number; input: Record<string, unknown>; output: Record<string, unknown> | null }> = [];
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    const m = /^--\s+in:\s+(.*)$/.exec(l);
    if (!m) return;
    const o = /^--\s+out:\s+(.*)$/.exec(lines[i + 1] ?? '');
    if (!o) throw new Error(`line ${i + 1}: an "-- in:" line must be followed by an "-- out:" line`);
    out.push({ line: i + 1, input: JSON.parse(m[1]!), output: o[1]!.trim() === 'dropped' ? null : JSON.parse(o[1]!) });
  });
  return out;
}

describe('config/queries/*.spl', () => {
  it('there are the starting points: severity, PII masking, CloudSOC filters, StrongDM activities', () => {
    expect(QUERY_FILES).toEqual(expect.arrayContaining(['severity.spl', 'pii-mask.spl', 'cloudsoc-agent-default.spl', 'cloudsoc-filters.spl', 'strongdm-admin-activities.spl']));
  });

  describe.each(QUERY_FILES)('%s', (file) => {
    const text = query(file);

    it('starts with a comment, compiles, and does what its examples say (in → out, in order of fields)', () => {
      expect(text.startsWith('-- ')).toBe(true);
      const summaryLines = [...text.matchAll(/^--\s+summary:\s+(.*)$/gm)].map((m) => JSON.parse(m[1]!) as unknown);
      // The examples have no Kafka timestamp: where a query falls back to the clock (suppress's record
      // time, a syslog line without a year), it reads this.
      const q = compileQuery(text, { now: () => 1_700_000_000_000 });
      const summaries: unknown[] = [];
      if (q.summaries) q.summaries.target = { hold: () => undefined, summary: (o) => void summaries.push(o) };
      const examples = examplesOf(text);
      expect(examples.length).toBeGreaterThanOrEqual(2);
      // a filter shows a record it keeps and one it drops
      if (/\|\s*where\b/.test(text)) {
        expect(examples.some((e) => e.output === null)).toBe(true);
        expect(examples.some((e) => e.output !== null)).toBe(true);
      }
      for (const e of examples) {
        const input = structuredClone(e.input);
        const got = q.apply(input);
        expect(got === null ? 'dropped' : JSON.stringify(got), `example at line ${e.line}`).toBe(e.output === null ? 'dropped' : JSON.stringify(e.output));
        expect(input, 'the query never changes its input').toEqual(e.input);
      }
      // suppress -summary: the windows still open are closed, and their summaries are the file's.
      q.summaries?.flush();
      expect(summaries.map((s) => JSON.stringify(s))).toEqual(summaryLines.map((s) => JSON.stringify(s)));
      if (q.summaries) expect(summaryLines.length).toBeGreaterThan(0);
    });
  });
});

describe('the queries on the seeds\' StrongDM records', () => {
  const run = (file: string) => {
    const q = compileQuery(query(file));
    return SDM_ALL.map((r) => q.apply(r)).filter((r) => r !== null);
  };

  it('strongdm-admin-activities keeps the role change, not the logins, queries or replays, with the projected fields', () => {
    expect(run('strongdm-admin-activities.spl')).toEqual([
      {
        timestamp: '2024-02-01T18:50:05.782960648Z',
        id: 'at-44faa6fb65df876b',
        activity: 'User added to role',
        description: 'Alice Glick (alice.glick@strongdm.com) assigned Bob Belcher (bob.belcher@strongdm.com) to DEVROLE.',
        entities: [{ type: 'user', id: 'a-0abcdabcdab00000', email: 'alice.glick@strongdm.com' }],
        actor: 'alice.glick@strongdm.com',
        actor_id: 'a-0abcdabcdab00000',
        src_ip: '123.123.123.123',
        user_agent: 'strongdm-cli/1.2.3',
      },
    ]);
  });

  it('strongdm-no-replays keeps activities and queries unchanged and drops the replay', () => {
    const out = run('strongdm-no-replays.spl');
    expect(out).toHaveLength(SDM_ALL.length - 1);
    expect(out.every((r, i) => r === SDM_ALL[i])).toBe(true);
  });

  it('pii-mask leaves no e-mail address or IP address of the seed records readable', () => {
    const out = run('pii-mask.spl');
    expect(out).toHaveLength(SDM_ALL.length);
    expect(out[1]).toMatchObject({ actorEmail: 'a**********@strongdm.com', ipAddress: '123.123.123.0', description: 'Alice Glick (<email>) assigned Bob Belcher (<email>) to DEVROLE.' });
    // not an IP address (the seed's 456.456.456.456, 1.11.222.333): starred out, not left as it was
    expect(out[2]).toMatchObject({ ipAddress: '***************' });
    expect(out[3]).toMatchObject({ sourceIp: '************' });
    // the replay has none of the fields: unchanged, no field created
    expect(out[4]).toEqual(SDM_REPLAY);
    const text = JSON.stringify(out.map(({ entities: _e, ...r }) => r));
    expect(text).not.toMatch(/[a-z]{2,}@/);
    expect(text).not.toMatch(/\b(123\.123\.123\.123|456\.456\.456\.456|1\.11\.222\.333)\b/);
  });
});

describe('config/README.md', () => {
  const readme = readFileSync(join(CONFIG_DIR, 'README.md'), 'utf8');
  const helmFiles = readdirSync(join(CONFIG_DIR, 'helm')).filter((f) => f.endsWith('.yaml'));

  it('lists every example, and every config/ file it names exists', () => {
    const all = [...ENV_FILES, ...QUERY_FILES.map((f) => `queries/${f}`), ...helmFiles.map((f) => `helm/${f}`)];
    expect(all.filter((f) => !readme.includes(`(${f})`))).toEqual([]);
    const named = [...readme.matchAll(/\]\(((?:queries\/|helm\/)?[a-z0-9-]+\.(?:env|spl|yaml))\)/g)].map((m) => m[1]!);
    expect(named.filter((f) => !all.includes(f))).toEqual([]);
  });
});
