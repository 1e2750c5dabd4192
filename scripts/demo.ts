// `npm run demo`: the whole path on one machine, with real peers, and two routes. Starts a local Apache
// Kafka broker (scripts/kafka-broker.ts), creates a 4-partition topic and produces realistic security
// logs into it at a steady rate through logstream's own Kafka client (connectKafka: an idempotent
// producer, acks all; web/email/casb/mfa events as the log-streaming SaaS exports them, StrongDM
// activities and queries); runs a Splunk-HEC-compatible receiver in its own process
// (test/support/hec, written to the published spec; scripts/demo-peers.ts) and two logstream instances,
// each with two routes (ROUTES=archive,siem), every route its own consumer group:
//   archive  every record to a file in demo-output/
//   siem     only severity high/critical (ROUTE_SIEM_QUERY) to the HEC receiver
// A live view shows, per route, records/s read and delivered, lag (produced minus committed) and sink
// health, and the partitions each instance owns. After DEMO_OUTAGE_AFTER seconds the HEC receiver stops
// listening for DEMO_OUTAGE_SECONDS: the archive route keeps delivering at full rate while the siem
// route's sink fails, its lag grows and it pauses its partitions; then the receiver is back and siem
// catches up. After DEMO_KILL_AFTER seconds one instance is killed with SIGKILL and the other takes its
// partitions of both routes over. After DEMO_SECONDS (or Ctrl-C) production stops, everything is
// drained, and the demo checks each route: the archive files hold every produced record, the HEC
// receiver exactly the records the siem rule selects; it prints `<route> lost=0 dup=N` (duplicates:
// records the killed instance delivered but had not committed yet), stops everything it started and
// exits non-zero if anything was lost.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compileQuery } from '../src/query/index.ts';
import { connectDemoKafka, startHecReceiver } from './demo-peers.ts';
import { freePort, startBroker } from './kafka-broker.ts';
import { supervise, type SupervisedChild } from './supervised-child.ts';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'demo-output');
const TOPIC = 'security-logs';
const PARTITIONS = 4;
const GROUP = 'logstream-demo'; // the routes' groups: logstream-demo.archive, logstream-demo.siem
const TOKEN = 'demo-token-00000000-0000-0000-0000-000000000000';
/** The siem route's query, and the same rule in plain code for the expected set. */
const SIEM_QUERY = "* | where severity in ('high', 'critical')";
const SIEM_SEVERITIES = new Set(['high', 'critical']);
const ROUTES = ['archive', 'siem'] as const;
type RouteName = (typeof ROUTES)[number];
const SINK_OF: Record<RouteName, string> = { archive: 'file', siem: 'splunk_hec' };

const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return n;
};
const RATE = num('DEMO_RATE', 500); // records/s
const SECONDS = num('DEMO_SECONDS', 50);
// The outage and the kill default to fixed shares of DEMO_SECONDS, so a shorter demo shows both too.
const OUTAGE_AFTER = num('DEMO_OUTAGE_AFTER', Math.round(SECONDS * 0.2));
const OUTAGE_SECONDS = num('DEMO_OUTAGE_SECONDS', Math.min(15, Math.round(SECONDS * 0.3))); // 0: no outage
const KILL_AFTER = num('DEMO_KILL_AFTER', Math.round(SECONDS * 0.65)); // 0: no kill
const tty = process.stdout.isTTY === true;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const pad = (s: string | number, n: number): string => String(s).padStart(n);

/** Record i: one of the shapes of seeds/000 (web, email, casb, mfa), 003 (CloudSOC) and 004 (StrongDM). */
function sample(i: number): Record<string, unknown> {
  const now = new Date().toISOString();
  const j = Math.floor(i / 6); // varies within a shape (i % 6 picks the shape)
  const user = ['alice.martin', 'bob.nguyen', 'carol.schmidt', 'dave.okafor'][j % 4]!;
  const base = { demo_id: i, timestamp: now };
  switch (i % 6) {
    case 0: {
      const blocked = j % 8 === 0;
      return { ...base, product: 'web', user: `${user}@example.com`, url: `https://files.example.net/f/${i}`, action: blocked ? 'blocked' : 'allowed', category: ['file-sharing', 'webmail', 'news'][j % 3], severity: blocked ? 'high' : 'low', sourceIP: `10.1.${j % 200}.${i % 250}` };
    }
    case 1: {
      const phish = j % 4 === 0;
      return { ...base, product: 'email', sender: phish ? 'billing@paypa1-secure.com' : 'billing@example.org', recipient: `${user}@example.com`, subject: 'Invoice overdue', verdict: phish ? 'phish' : 'clean', severity: phish ? 'critical' : 'info' };
    }
    case 2: {
      const app = ['Box', 'Dropbox', 'Salesforce'][j % 3]!;
      const activity = ['Upload', 'Share', 'Download', 'Download', 'Upload'][j % 5]!;
      const severity = activity === 'Share' && app !== 'Salesforce' ? 'high' : ['low', 'medium'][j % 2];
      return { ...base, product: 'casb', app, user: `${user}@example.com`, activity, object_type: 'File', severity };
    }
    case 3: {
      const denied = j % 9 === 0;
      return { ...base, product: 'mfa', user: `${user}@example.com`, method: ['push', 'totp', 'sms'][j % 3], result: denied ? 'denied' : 'approved', severity: denied ? 'high' : 'info' };
    }
    case 4:
      return { ...base, logType: 'activities', type: 'activity', activity: 'user logged into the Admin UI', actor: { email: `${user}@example.com` }, ip: `192.0.2.${j % 250}` };
    default:
      return { ...base, logType: 'queries', type: 'query', datasourceName: 'prod-postgres-main', queryBody: 'SELECT id, email FROM users LIMIT 10', duration: j % 50, actor: { email: `${user}@example.com` } };
  }
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format, the lines of the metrics named in `names`. */
function parseMetrics(text: string, names: ReadonlySet<string>): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const name = brace >= 0 && brace < space ? line.slice(0, brace) : line.slice(0, line.indexOf(' '));
    if (!names.has(name)) continue;
    const labels: Record<string, string> = {};
    if (brace >= 0 && brace < space) for (const m of line.slice(brace, line.lastIndexOf('}') + 1).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
    samples.push({ name, labels, value: Number(line.slice(space + 1)) });
  }
  return samples;
}
const METRICS = new Set([
  'logstream_sink_sent_events_total',
  'logstream_source_received_events_total',
  'logstream_committed_offset',
  'logstream_assigned_partitions',
  'logstream_sink_healthy',
]);
const sum = (samples: readonly Sample[], name: string, route?: string): number =>
  samples.reduce((a, s) => (s.name === name && (route === undefined || s.labels['route'] === route) ? a + s.value : a), 0);

async function scrape(port: number): Promise<Sample[] | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(1000) });
    return parseMetrics(await r.text(), METRICS);
  } catch {
    return undefined;
  }
}

interface Member {
  name: string;
  port: number;
  proc: SupervisedChild;
  dead: boolean;
  /** The last scrape, and the counters of the one before (for records/s). */
  samples: Sample[];
  prev?: { at: number; read: Record<string, number>; sent: Record<string, number> };
  rate: { read: Record<string, number>; sent: Record<string, number> };
}

/** Which records each route must hold in the end: the produced ids, and the ids the siem rule selects. */
function tally(ids: readonly number[], expected: (id: number) => boolean, produced: number): { lost: number; dup: number; extra: number; expected: number } {
  const seen = new Uint8Array(produced);
  let dup = 0;
  let extra = 0;
  for (const id of ids) {
    if (!(Number.isInteger(id) && id >= 0 && id < produced) || !expected(id)) extra++;
    else if (seen[id]) dup++;
    else seen[id] = 1;
  }
  let lost = 0;
  let want = 0;
  for (let id = 0; id < produced; id++) {
    if (!expected(id)) continue;
    want++;
    if (!seen[id]) lost++;
  }
  return { lost, dup, extra, expected: want };
}

async function main(): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const say = (line: string): void => void process.stdout.write(`[demo] ${line}\n`);
  say('starting a local Apache Kafka broker (the first run downloads its jars from Maven Central)…');
  const broker = await startBroker({ dataDir: join(root, '.cache', `demo-kafka-${Date.now()}`) });
  cleanUp = async () => {
    await broker.stop();
    rmSync(broker.dataDir, { recursive: true, force: true });
  };
  say(`broker up at ${broker.bootstrap}`);
  const hec = await startHecReceiver(TOKEN, join(out, 'hec-receiver.log'));
  say(`Splunk HEC receiver (spec receiver, own process) at ${hec.url}`);
  const kafka = await connectDemoKafka(broker.bootstrap, join(out, 'kafka-client.log'));
  const stopBroker = cleanUp;
  cleanUp = async () => {
    await kafka.close();
    await stopBroker();
  };
  await kafka.createTopic(TOPIC, PARTITIONS);
  const producer = await kafka.producer(TOPIC);
  const siemQuery = compileQuery(SIEM_QUERY);

  const members: Member[] = [];
  for (const name of ['demo-a', 'demo-b']) {
    const port = await freePort();
    const fd = openSync(join(out, `${name}.log`), 'w'); // logs go to a file: the terminal shows the live view
    const child = spawn(process.execPath, ['src/main.ts', 'run'], {
      cwd: root,
      stdio: ['ignore', fd, fd],
      env: {
        PATH: process.env['PATH'] ?? '',
        ROUTES: ROUTES.join(','),
        // shared by both routes
        KAFKA_BROKERS: broker.bootstrap,
        KAFKA_TOPICS: TOPIC,
        KAFKA_GROUP_ID: GROUP,
        KAFKA_SESSION_TIMEOUT: '10s',
        KAFKA_HEARTBEAT_INTERVAL: '1s',
        KAFKA_COMMIT_INTERVAL: '1s',
        INFLIGHT_MAX_RECORDS: '4000',
        // archive: every record to a file (one per instance)
        ROUTE_ARCHIVE_SINKS: 'file',
        ROUTE_ARCHIVE_FILE_PATH: join(out, `archive-${name}.jsonl`),
        ROUTE_ARCHIVE_FILE_MAX_BYTES: '0',
        // siem: high and critical only, to Splunk HEC
        ROUTE_SIEM_SINKS: 'splunk_hec',
        ROUTE_SIEM_QUERY: SIEM_QUERY,
        ROUTE_SIEM_HEC_URLS: hec.url,
        ROUTE_SIEM_HEC_TOKEN: TOKEN,
        ROUTE_SIEM_HEC_SOURCETYPE: 'logstream:demo',
        ROUTE_SIEM_HEC_STAMP_ORIGIN: 'true',
        ROUTE_SIEM_HEC_FIELDS: 'product,severity',
        ROUTE_SIEM_HEC_RETRY_MAX: '1s', // retry often, so the catch-up starts as soon as the receiver is back
        // records held for the sink (read, selected, not committed) per instance; the archive route gets
        // the rest of INFLIGHT_MAX_RECORDS. A siem outage pauses siem's partitions after a few seconds.
        ROUTE_SIEM_INFLIGHT_MAX_RECORDS: '200',
        HTTP_PORT: String(port),
        HTTP_HOST: '127.0.0.1',
        INSTANCE_ID: name,
      },
    });
    closeSync(fd);
    const proc = await supervise(child, `logstream ${name}`, 40_000);
    members.push({ name, port, proc, dead: false, samples: [], rate: { read: {}, sent: {} } });
  }
  say(`two logstream instances with ROUTES=${ROUTES.join(',')}, each route its own consumer group (${ROUTES.map((r) => `${GROUP}.${r}`).join(', ')}):`);
  say('  archive  every record → demo-output/archive-<instance>.jsonl');
  say(`  siem     ${SIEM_QUERY} → the HEC receiver`);
  say(`  metrics on :${members.map((m) => m.port).join(' and :')}; logs in demo-output/*.log`);
  const plan = [
    OUTAGE_SECONDS > 0 && OUTAGE_AFTER < SECONDS ? `HEC receiver down from t=${OUTAGE_AFTER} s for ${OUTAGE_SECONDS} s` : undefined,
    KILL_AFTER > 0 && KILL_AFTER < SECONDS ? `kill -9 of demo-a at t=${KILL_AFTER} s` : undefined,
    `production stops at t=${SECONDS} s`,
  ].filter(Boolean);
  say(`producing ${RATE} records/s (idempotent producer, acks all); ${plan.join('; ')}`);

  // ---- production: paced; the siem rule is applied to each record as it is produced ----------------
  let produced = 0;
  let selected = 0;
  const siemIds = new Uint8Array(Math.ceil(RATE * (SECONDS + 5)) + 1000);
  let mismatches = 0; // records where the query engine and the plain rule disagree
  let producerFailure: string | undefined;
  let producing = true;
  const t0 = performance.now();
  const since = (): number => (performance.now() - t0) / 1000;
  const producerLoop = (async () => {
    while (producing) {
      const due = Math.min(Math.floor(since() * RATE), siemIds.length);
      if (due > produced) {
        const n = Math.min(due - produced, 1000);
        const lines: string[] = [];
        for (let k = 0; k < n; k++) {
          const id = produced + k;
          const rec = sample(id);
          const rule = SIEM_SEVERITIES.has(rec['severity'] as string);
          if (rule !== (siemQuery.apply(rec) !== null)) mismatches++;
          if (rule) {
            siemIds[id] = 1;
            selected++;
          }
          lines.push(JSON.stringify(rec));
        }
        await producer.send(lines);
        produced += n;
      } else await new Promise((r) => setTimeout(r, 20));
    }
  })().catch((e: Error) => {
    producerFailure = e.message;
    void stop();
  });

  // ---- live view ------------------------------------------------------------------------------------
  /** Highest committed offset seen per route and partition (survives the instance that committed it). */
  const committed: Record<string, Map<string, number>> = Object.fromEntries(ROUTES.map((r) => [r, new Map()]));
  const lagOf = (route: string): number => produced - [...committed[route]!.values()].reduce((a, b) => a + b, 0);
  let hecUp = true;
  let hecIndexed = 0;
  let outage: { from: number; to: number; back?: number; caughtUp?: number } | undefined;
  let kill: { at: number; takenOver?: number } | undefined;
  let shown: string[] = [];
  let lastProduced = 0;
  let lastViewAt = performance.now();

  const render = (lines: string[]): void => {
    if (tty && shown.length > 0) process.stdout.write(`\x1b[${shown.length}F\x1b[J`);
    // A wrapped line would break the redraw: cut to the terminal's width.
    const cols = tty ? (process.stdout.columns ?? 200) - 1 : Infinity;
    process.stdout.write(`${lines.map((l) => l.slice(0, cols)).join('\n')}\n`);
    shown = tty ? lines : [];
  };
  /** A timeline event: printed above the live view. */
  const announce = (line: string): void => {
    const keep = shown;
    if (tty && shown.length > 0) process.stdout.write(`\x1b[${shown.length}F\x1b[J`);
    process.stdout.write(`[demo] t=${pad(since().toFixed(0), 3)} s  ${line}\n`);
    shown = [];
    if (tty && keep.length > 0) render(keep);
  };

  const refresh = async (): Promise<void> => {
    const now = performance.now();
    await Promise.all(
      members.map(async (m) => {
        if (m.dead) return;
        const s = await scrape(m.port);
        if (!s || m.dead) return;
        m.samples = s;
        const read = Object.fromEntries(ROUTES.map((r) => [r, sum(s, 'logstream_source_received_events_total', r)]));
        const sent = Object.fromEntries(ROUTES.map((r) => [r, sum(s, 'logstream_sink_sent_events_total', r)]));
        if (m.prev) {
          const dt = (now - m.prev.at) / 1000;
          for (const r of ROUTES) {
            m.rate.read[r] = Math.max(0, (read[r]! - m.prev.read[r]!) / dt);
            m.rate.sent[r] = Math.max(0, (sent[r]! - m.prev.sent[r]!) / dt);
          }
        }
        m.prev = { at: now, read, sent };
        for (const x of s) {
          if (x.name !== 'logstream_committed_offset') continue;
          const c = committed[x.labels['route'] ?? ''];
          const key = `${x.labels['topic']}/${x.labels['partition']}`;
          if (c && x.value > (c.get(key) ?? 0)) c.set(key, x.value);
        }
      }),
    );
    try {
      hecIndexed = await hec.indexed();
      hecUp = true;
    } catch {
      hecUp = false;
    }
  };

  const view = (): void => {
    const now = performance.now();
    const producedRate = ((produced - lastProduced) / (now - lastViewAt)) * 1000;
    lastProduced = produced;
    lastViewAt = now;
    const alive = members.filter((m) => !m.dead);
    const t = since();
    const hecState = hecUp ? `up, ${fmt(hecIndexed)} indexed` : `DOWN${outage && t < outage.to ? ` (back at t=${outage.to} s)` : ''}`;
    const lines = [`t=${pad(t.toFixed(0), 3)} s  produced ${fmt(produced)} (${fmt(producedRate)}/s)  HEC receiver ${hecState}`];
    for (const r of ROUTES) {
      const read = alive.reduce((a, m) => a + (m.rate.read[r] ?? 0), 0);
      const sent = alive.reduce((a, m) => a + (m.rate.sent[r] ?? 0), 0);
      const health = alive.flatMap((m) => m.samples.filter((s) => s.name === 'logstream_sink_healthy' && s.labels['route'] === r).map((s) => s.value));
      const healthy = health.length === 0 ? '-' : health.every((v) => v === 1) ? 'healthy' : 'FAILING';
      // Reading nothing while records wait: the route's in-flight limit is full and its partitions are
      // paused (read from the rates: the logstream_paused_partitions gauge can stay up after a resume).
      const paused = producing && read < 1 && lagOf(r) > RATE;
      lines.push(
        `  ${r.padEnd(8)} read ${pad(fmt(read), 6)}/s  delivered ${pad(fmt(sent), 6)}/s  lag ${pad(fmt(Math.max(0, lagOf(r))), 7)}  ${SINK_OF[r]}: ${healthy}${paused ? '  (partitions paused)' : ''}`,
      );
    }
    for (const m of members) {
      lines.push(m.dead ? `  ${m.name}   killed (SIGKILL)` : `  ${m.name}   partitions ${ROUTES.map((r) => `${r} ${sum(m.samples, 'logstream_assigned_partitions', r)}`).join(', ')}`);
    }
    render(lines);
  };

  /** Milestones, checked every second: the receiver back, siem caught up, the kill's partitions taken over. */
  const milestones = (): void => {
    const t = since();
    if (outage && outage.back === undefined && hecUp && t >= outage.to) {
      outage.back = t;
      announce(`HEC receiver listening again: siem delivers its backlog (lag ${fmt(lagOf('siem'))})`);
    }
    if (outage?.back !== undefined && outage.caughtUp === undefined && lagOf('siem') <= Math.max(RATE, 500) && committed['siem']!.size > 0) {
      outage.caughtUp = t;
      announce(`siem caught up (lag ${fmt(Math.max(0, lagOf('siem')))}) ${(t - outage.back).toFixed(0)} s after the receiver came back`);
    }
    if (kill && kill.takenOver === undefined) {
      const survivor = members.find((m) => !m.dead);
      if (survivor && ROUTES.every((r) => sum(survivor.samples, 'logstream_assigned_partitions', r) === PARTITIONS)) {
        kill.takenOver = t;
        announce(`${survivor.name} owns all ${PARTITIONS} partitions of both routes, ${(t - kill.at).toFixed(0)} s after the kill (session timeout 10 s)`);
      }
    }
  };

  let ticking = false;
  const tick = async (k: number): Promise<void> => {
    if (ticking) return;
    ticking = true;
    try {
      await refresh();
      // Not a terminal: a block every 5 s (the milestones are checked every second all the same).
      if (tty || k % 5 === 0) view();
      milestones();
    } finally {
      ticking = false;
    }
  };
  let ticks = 0;
  const viewTimer = setInterval(() => void tick(++ticks), 1000);

  // ---- the timeline ---------------------------------------------------------------------------------
  const timers: NodeJS.Timeout[] = [];
  if (OUTAGE_SECONDS > 0 && OUTAGE_AFTER < SECONDS) {
    timers.push(
      setTimeout(() => {
        outage = { from: OUTAGE_AFTER, to: OUTAGE_AFTER + OUTAGE_SECONDS };
        hec.outage(OUTAGE_SECONDS * 1000).then(
          () => announce(`HEC receiver stopped listening for ${OUTAGE_SECONDS} s: siem's sink fails, its lag grows; archive keeps delivering`),
          (e: Error) => announce(`could not stop the HEC receiver: ${e.message}`),
        );
      }, OUTAGE_AFTER * 1000),
    );
  }
  if (KILL_AFTER > 0 && KILL_AFTER < SECONDS) {
    timers.push(
      setTimeout(() => {
        const victim = members[0]!;
        victim.dead = true;
        void victim.proc.kill();
        kill = { at: since() };
        announce(`killed ${victim.name} with SIGKILL; ${members[1]!.name} takes its partitions of both routes over after the session timeout (10 s)`);
      }, KILL_AFTER * 1000),
    );
  }

  // ---- the end: stop producing, drain, check each route -------------------------------------------
  let stopping = false;
  const stop = (): Promise<void> => finish().catch(fail);
  const finish = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const t of timers) clearTimeout(t);
    producing = false;
    await producerLoop;
    const producerError = producerFailure ?? (await producer.end());
    announce(`stopped producing after ${fmt(produced)} records; waiting until both routes delivered and committed everything…`);
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && !(ROUTES.every((r) => lagOf(r) <= 0) && (!outage || hecUp))) {
      await new Promise((r) => setTimeout(r, 500));
    }
    clearInterval(viewTimer);
    while (ticking) await new Promise((r) => setTimeout(r, 50));
    await refresh();
    if (tty || performance.now() - lastViewAt > 2000) view();
    milestones();
    await Promise.all(members.filter((m) => !m.dead).map((m) => m.proc.stop()));

    const inTopic = await kafka.topicRecords(TOPIC).catch(() => -1);
    const archiveIds = readdirSync(out)
      .filter((f) => f.startsWith('archive-') && f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean).map((l) => Number((JSON.parse(l) as { demo_id?: number }).demo_id)));
    const hecIds: number[] = [];
    for (let offset = 0; ; ) {
      const page = await hec.events(offset, 50_000);
      for (const e of page.events) hecIds.push(Number((e.event as { demo_id?: number } | null)?.demo_id));
      offset += page.events.length;
      if (page.events.length === 0 || offset >= page.total) break;
    }
    const a = tally(archiveIds, () => true, produced);
    const s = tally(hecIds, (id) => siemIds[id] === 1, produced);

    const happened = [
      outage ? `HEC receiver down from t=${outage.from} s to t=${outage.back?.toFixed(0) ?? '?'} s${outage.caughtUp !== undefined ? `, siem caught up at t=${outage.caughtUp.toFixed(0)} s` : ''}` : undefined,
      kill ? `demo-a killed with SIGKILL at t=${kill.at.toFixed(0)} s${kill.takenOver !== undefined ? `, demo-b owned all partitions at t=${kill.takenOver.toFixed(0)} s` : ''}` : undefined,
    ].filter(Boolean);
    say(`produced ${fmt(produced)} records (the topic holds ${inTopic < 0 ? '?' : fmt(inTopic)}); ${fmt(selected)} of them are severity high/critical (the siem query's selection)`);
    if (happened.length > 0) say(happened.join('; '));
    say(`archive lost=${a.lost} dup=${a.dup}   (file sink, ${out}/archive-*.jsonl: every produced record)`);
    say(`siem lost=${s.lost} dup=${s.dup}   (splunk_hec: ${fmt(s.expected)} selected records expected, ${s.extra} others received)`);
    if (a.dup + s.dup > 0) say('(duplicates are records delivered but not yet committed when an instance was killed or a partition moved: at-least-once, bounded by the in-flight limit)');
    const problems = [
      producerError ? `the producer reported: ${producerError}` : undefined,
      inTopic >= 0 && inTopic !== produced ? `the topic holds ${inTopic} records, ${produced} were produced` : undefined,
      mismatches > 0 ? `the query engine and the plain rule disagreed on ${mismatches} records` : undefined,
      s.extra > 0 ? `the HEC receiver holds ${s.extra} records the siem query does not select` : undefined,
      a.extra > 0 ? `the archive holds ${a.extra} records that were not produced` : undefined,
    ].filter((p): p is string => p !== undefined);
    for (const p of problems) say(`PROBLEM: ${p}`);
    await hec.stop();
    await cleanUp();
    say(`done; archive files, HEC receiver and instance logs are in ${out}`);
    process.exit(a.lost === 0 && s.lost === 0 && problems.length === 0 ? 0 : 1);
  };
  onSignal = () => void (stopping ? abort('interrupted again while draining: stopped everything without checking') : stop());
  setTimeout(() => void stop(), SECONDS * 1000);
}

/** Closes the demo's Kafka clients, stops the broker and removes its data (the other children die with the demo: supervise()). */
let cleanUp = async (): Promise<void> => {};

async function abort(why: string): Promise<never> {
  process.stderr.write(`[demo] ${why}\n`);
  await cleanUp().catch(() => undefined);
  process.exit(1);
}
const fail = (err: unknown): Promise<never> => abort(`failed: ${(err as Error)?.stack ?? err}`);
/** SIGINT and SIGTERM: abort while starting; once running, stop and drain (a second one aborts). */
let onSignal = (): void => void abort('interrupted while starting; stopped what was started');

// Ctrl-C: a terminal sends SIGINT to its whole foreground process group, so the broker, the HEC receiver
// and the instances would stop under the demo's feet instead of draining. The demo runs in a process
// group of its own (detached); this first process only passes Ctrl-C and SIGTERM on to it.
if (process.env['DEMO_OWN_GROUP'] === '1') {
  process.on('SIGINT', () => onSignal());
  process.on('SIGTERM', () => onSignal());
  main().catch(fail);
} else {
  const demo = spawn(process.execPath, [import.meta.filename], { stdio: 'inherit', detached: true, env: { ...process.env, DEMO_OWN_GROUP: '1' } });
  process.on('SIGINT', () => demo.kill('SIGINT'));
  process.on('SIGTERM', () => demo.kill('SIGTERM'));
  process.on('SIGHUP', () => demo.kill('SIGTERM'));
  demo.once('exit', (code) => process.exit(code ?? 1));
}
