// `npm run demo`: the whole path on one machine, with real peers. Starts a local Apache Kafka broker
// (scripts/kafka-broker.ts), creates a 4-partition topic, produces realistic security logs at a steady
// rate (web/email/casb/mfa events as the log-streaming SaaS exports them, StrongDM activities and
// queries), runs a Splunk-HEC-compatible receiver in its own process (test/support/hec, written to the
// published spec) and two logstream instances in one consumer group shipping every record to the HEC
// receiver and to a file. A live view shows partitions per instance, records/s, lag and deliveries per
// sink. After DEMO_KILL_AFTER seconds (20) one instance is killed with SIGKILL and the other takes its
// partitions over; after DEMO_SECONDS (45) or Ctrl-C production stops, everything is drained and the
// demo prints, per sink, lost=0 dup=N (duplicates: records the killed instance delivered but had not
// committed yet), then stops everything it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { HecProcess } from '../test/support/hec/process.ts';
import { silenceKafkajsTimeoutWarning, startBroker } from './kafka-broker.ts';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'demo-output');
const TOPIC = 'security-logs';
const GROUP = 'logstream-demo';
const TOKEN = 'demo-token-00000000-0000-0000-0000-000000000000';
const RATE = Number(process.env['DEMO_RATE'] ?? 500); // records/s
const KILL_AFTER = Number(process.env['DEMO_KILL_AFTER'] ?? 20);
const SECONDS = Number(process.env['DEMO_SECONDS'] ?? 45);
const tty = process.stdout.isTTY === true;

const say = (line: string): void => {
  process.stdout.write(`[demo] ${line}\n`);
};

/** Record i: one of the shapes of seeds/000 (web, email, casb, mfa), 003 (CloudSOC) and 004 (StrongDM). */
function sample(i: number): Record<string, unknown> {
  const now = new Date().toISOString();
  const user = ['alice.martin', 'bob.nguyen', 'carol.schmidt', 'dave.okafor'][i % 4]!;
  const base = { demo_id: i, timestamp: now };
  switch (i % 6) {
    case 0:
      return { ...base, product: 'web', user: `${user}@example.com`, url: `https://files.example.net/f/${i}`, action: i % 12 === 0 ? 'blocked' : 'allowed', category: ['file-sharing', 'webmail', 'news'][i % 3], severity: i % 12 === 0 ? 'high' : 'low', sourceIP: `10.1.${i % 200}.${i % 250}` };
    case 1:
      return { ...base, product: 'email', sender: `billing@${['example.org', 'paypa1-secure.com'][i % 2]}`, recipient: `${user}@example.com`, subject: 'Invoice overdue', verdict: i % 2 ? 'phish' : 'clean', severity: i % 2 ? 'critical' : 'info' };
    case 2:
      return { ...base, product: 'casb', app: ['Box', 'Dropbox', 'Salesforce'][i % 3], user: `${user}@example.com`, activity: ['Upload', 'Share', 'Download'][i % 3], object_type: 'File', severity: ['low', 'medium', 'high'][i % 3] };
    case 3:
      return { ...base, product: 'mfa', user: `${user}@example.com`, method: ['push', 'totp', 'sms'][i % 3], result: i % 9 === 0 ? 'denied' : 'approved', severity: i % 9 === 0 ? 'high' : 'info' };
    case 4:
      return { ...base, logType: 'activities', type: 'activity', activity: 'user logged into the Admin UI', actor: { email: `${user}@example.com` }, ip: `192.0.2.${i % 250}` };
    default:
      return { ...base, logType: 'queries', type: 'query', datasourceName: 'prod-postgres-main', queryBody: 'SELECT id, email FROM users LIMIT 10', duration: i % 50, actor: { email: `${user}@example.com` } };
  }
}

async function metrics(port: number): Promise<string> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(1000) });
    return await r.text();
  } catch {
    return '';
  }
}

function metric(text: string, name: string, label?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    if (label && !line.includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

interface Member {
  name: string;
  port: number;
  child: ChildProcess;
  dead: boolean;
}

async function main(): Promise<void> {
  silenceKafkajsTimeoutWarning();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  say('starting a local Apache Kafka broker (the first run downloads its jars from Maven Central)…');
  const broker = await startBroker({ dataDir: join(root, '.cache', `demo-kafka-${Date.now()}`) });
  say(`broker up at ${broker.bootstrap}`);
  const hec = await HecProcess.start(['--port', '0', '--token', TOKEN]);
  say(`Splunk HEC receiver (spec receiver, own process) at ${hec.url}`);
  const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: 'demo', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 4 }], waitForLeaders: true });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();

  const members: Member[] = ['demo-a', 'demo-b'].map((name, k) => {
    const port = 9464 + k;
    const child = spawn(process.execPath, ['src/main.ts', 'run'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        PATH: process.env['PATH'] ?? '',
        KAFKA_BROKERS: broker.bootstrap,
        KAFKA_TOPICS: TOPIC,
        KAFKA_GROUP_ID: GROUP,
        KAFKA_SESSION_TIMEOUT: '10s',
        KAFKA_HEARTBEAT_INTERVAL: '1s',
        KAFKA_COMMIT_INTERVAL: '1s',
        SINKS: 'splunk_hec,file',
        HEC_URLS: hec.url,
        HEC_TOKEN: TOKEN,
        HEC_SOURCETYPE: 'logstream:demo',
        HEC_STAMP_ORIGIN: 'true',
        HEC_FIELDS: 'product,severity',
        FILE_PATH: join(out, `${name}.jsonl`),
        FILE_MAX_BYTES: '0',
        HTTP_PORT: String(port),
        HTTP_HOST: '127.0.0.1',
        INSTANCE_ID: name,
      },
    });
    // logs go to a file: the terminal shows the live view
    const logFile = join(out, `${name}.log`);
    child.stderr!.on('data', (c: Buffer) => {
      try {
        appendFileSync(logFile, c);
      } catch {
        // best effort
      }
    });
    return { name, port, child, dead: false };
  });
  say(`two logstream instances in group "${GROUP}" → HEC and ${out}/<instance>.jsonl; metrics on :9464 and :9465; logs in ${out}/*.log`);

  let produced = 0;
  let producing = true;
  const t0 = performance.now();
  const producerLoop = (async () => {
    while (producing) {
      const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
      if (due > produced) {
        const n = Math.min(due - produced, 500);
        const messages = Array.from({ length: n }, (_, k) => ({ value: JSON.stringify(sample(produced + k)) }));
        await producer.send({ topic: TOPIC, messages });
        produced += n;
      } else await new Promise((r) => setTimeout(r, 20));
    }
  })();

  let lastHec = 0;
  let lastT = performance.now();
  let killed = false;
  const view = async (): Promise<void> => {
    const texts = await Promise.all(members.map((m) => (m.dead ? Promise.resolve('') : metrics(m.port))));
    const hecTotal = (await hec.stats().catch(() => ({ eventsIndexed: lastHec }) as { eventsIndexed: number })).eventsIndexed;
    const now = performance.now();
    const rate = ((hecTotal - lastHec) / (now - lastT)) * 1000;
    lastHec = hecTotal;
    lastT = now;
    const offsets = await admin.fetchTopicOffsets(TOPIC).catch(() => []);
    const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }).catch(() => []);
    const lag = offsets.reduce((sum, p) => {
      const c = Number(committed[0]?.partitions.find((x) => x.partition === p.partition)?.offset ?? 0);
      return sum + Number(p.high) - Math.max(0, c);
    }, 0);
    const lines = [
      `t=${((now - t0) / 1000).toFixed(0).padStart(3)} s  produced ${produced}  HEC indexed ${hecTotal}  (${rate.toFixed(0)} records/s)  lag ${lag}`,
      ...members.map((m, k) =>
        m.dead
          ? `  ${m.name}: killed (SIGKILL)`
          : `  ${m.name}: partitions ${metric(texts[k]!, 'logstream_assigned_partitions')}  sent HEC ${metric(texts[k]!, 'logstream_sink_sent_events_total', 'sink="splunk_hec"')}  file ${metric(texts[k]!, 'logstream_sink_sent_events_total', 'sink="file"')}  in flight ${metric(texts[k]!, 'logstream_inflight_records')}`,
      ),
    ];
    if (tty) process.stdout.write(`\x1b[${lines.length}F\x1b[J`);
    process.stdout.write(`${lines.join('\n')}\n`);
  };
  if (tty) process.stdout.write('\n'.repeat(members.length + 1));
  const viewTimer = setInterval(() => void view(), tty ? 1000 : 5000);

  const killTimer = setTimeout(() => {
    const victim = members[0]!;
    victim.child.kill('SIGKILL');
    victim.dead = true;
    killed = true;
    if (!tty) say(`killed ${victim.name} with SIGKILL; ${members[1]!.name} takes its partitions over after the session timeout (10 s)`);
    else process.stdout.write(`[demo] killed ${victim.name} with SIGKILL; ${members[1]!.name} takes its partitions over after the session timeout (10 s)\n${'\n'.repeat(members.length + 1)}`);
  }, KILL_AFTER * 1000);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearTimeout(killTimer);
    producing = false;
    await producerLoop.catch(() => undefined);
    say(`stopped producing after ${produced} records; waiting until everything is delivered and committed…`);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }).catch(() => []);
      const total = committed[0]?.partitions.reduce((a, p) => a + Math.max(0, Number(p.offset)), 0) ?? 0;
      if (total >= produced || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    clearInterval(viewTimer);
    await view();
    await Promise.all(members.filter((m) => !m.dead).map((m) => new Promise((r) => {
      m.child.once('exit', r);
      m.child.kill('SIGTERM');
    })));
    // tally: every produced demo_id must be in each sink; more than once = a duplicate
    const tally = (ids: number[]) => {
      const seen = new Uint8Array(produced);
      let dup = 0;
      for (const id of ids) {
        if (id < 0 || id >= produced) continue;
        if (seen[id]) dup++;
        else seen[id] = 1;
      }
      return { lost: seen.reduce((n, x) => n + (x ? 0 : 1), 0), dup };
    };
    const hecIds: number[] = [];
    for (let offset = 0; ; ) {
      const page = await hec.events(offset, 50_000);
      for (const e of page.events) hecIds.push(Number((e.event as { demo_id?: number }).demo_id));
      offset += page.events.length;
      if (page.events.length === 0 || offset >= page.total) break;
    }
    const fileIds = members.flatMap((m) => {
      const f = join(out, `${m.name}.jsonl`);
      return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => Number((JSON.parse(l) as { demo_id: number }).demo_id)) : [];
    });
    const h = tally(hecIds);
    const f = tally(fileIds);
    say(`produced ${produced}${killed ? `, one instance killed with SIGKILL at ${KILL_AFTER} s` : ''}`);
    say(`splunk_hec: lost=${h.lost} dup=${h.dup}`);
    say(`file:       lost=${f.lost} dup=${f.dup}`);
    say('(duplicates are the records the killed instance had delivered but not yet committed: at-least-once, bounded by INFLIGHT_MAX_RECORDS)');
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await hec.stop();
    await broker.stop();
    rmSync(broker.dataDir, { recursive: true, force: true });
    say(`done; file output and logs are in ${out}`);
    process.exit(h.lost === 0 && f.lost === 0 ? 0 : 1);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  setTimeout(() => void stop(), SECONDS * 1000);
}

main().catch((err) => {
  process.stderr.write(`[demo] failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
