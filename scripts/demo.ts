// `npm run demo`: the whole path on one machine. Starts a real local Kafka broker (scripts/kafka-broker.ts),
// produces security-log records to a 4-partition topic, and runs two logstream instances in one
// consumer group that filter and mask them on the way to demo-output/. Ctrl-C stops everything cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { silenceKafkajsTimeoutWarning, startBroker } from './kafka-broker.ts';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'demo-output');
const TOPIC = 'security-logs';
const QUERY = `* | where severity in ('high', 'critical') or _raw is not null
  | extend user = mask(user, 3), seen_by = 'logstream-demo'
  | project-away debug`;

const say = (line: string): void => {
  process.stdout.write(`[demo] ${line}\n`);
};

function sample(i: number): string {
  if (i % 25 === 0) return `<34>Nov 22 12:00:${String(i % 60).padStart(2, '0')} fw01 kernel: DROP IN=eth0 SRC=10.0.0.${i % 255}`;
  const severities = ['low', 'medium', 'high', 'critical'];
  return JSON.stringify({
    timestamp: new Date().toISOString(),
    type: 'activity',
    user: `alice.${i % 7}@example.com`,
    sourceIP: `192.0.2.${i % 250}`,
    app: ['Box', 'Dropbox', 'Salesforce'][i % 3],
    activity: ['login', 'download', 'share'][i % 3],
    severity: severities[i % 4],
    debug: { seq: i },
  });
}

async function main(): Promise<void> {
  silenceKafkajsTimeoutWarning();
  mkdirSync(out, { recursive: true });
  say('starting a local Apache Kafka broker (first run downloads its jars from Maven Central)…');
  const broker = await startBroker({ dataDir: join(root, '.cache', 'demo-kafka') });
  say(`broker up at ${broker.bootstrap}`);
  const kafka = new Kafka({ brokers: [broker.bootstrap], clientId: 'demo', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 4 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();

  const instances: ChildProcess[] = [];
  for (const name of ['demo-a', 'demo-b']) {
    const child = spawn(process.execPath, ['src/main.ts', 'run'], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        KAFKA_BROKERS: broker.bootstrap,
        KAFKA_TOPICS: TOPIC,
        KAFKA_GROUP_ID: 'logstream-demo',
        SINKS: 'file',
        FILE_PATH: join(out, `${name}.jsonl`),
        QUERY,
        HTTP_PORT: name === 'demo-a' ? '9464' : '9465',
        HTTP_HOST: '127.0.0.1',
        INSTANCE_ID: name,
        LOG_LEVEL: 'info',
      },
    });
    instances.push(child);
  }
  say('two logstream instances share the group "logstream-demo"; metrics: http://127.0.0.1:9464/metrics and :9465');
  say(`query:\n${QUERY}`);

  let i = 0;
  const produce = setInterval(() => {
    const batch = Array.from({ length: 20 }, () => ({ value: sample(i++) }));
    producer.send({ topic: TOPIC, messages: batch }).catch((e) => say(`produce failed: ${e.message}`));
  }, 500);
  const report = setInterval(() => {
    const lines = ['demo-a', 'demo-b'].map((n) => {
      const f = join(out, `${n}.jsonl`);
      return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
    });
    say(`produced ${i}; shipped demo-a=${lines[0]!.length} demo-b=${lines[1]!.length}; latest: ${lines.flat().at(-1) ?? '(none yet)'}`);
  }, 5000);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say('stopping: logstream drains and commits, then the broker stops');
    clearInterval(produce);
    clearInterval(report);
    await producer.disconnect().catch(() => undefined);
    await Promise.all(instances.map((c) => new Promise((r) => {
      c.once('exit', r);
      c.kill('SIGTERM');
    })));
    await broker.stop();
    say(`done; output is in ${out}`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  const seconds = Number(process.env.DEMO_SECONDS ?? 0);
  if (seconds > 0) setTimeout(() => void stop(), seconds * 1000);
}

main().catch((err) => {
  process.stderr.write(`[demo] failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
