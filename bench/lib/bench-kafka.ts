// The Kafka side of a benchmark: a local broker (scripts/kafka-broker.ts) with an admin client
// (bench/lib/kafka.ts) and the benchmark's topic, torn down again in the benchmark's `finally`; and the
// set-up the throughput and routes benchmarks share: that topic filled with N generated records
// (bench/lib/records.ts), produced with kcat -P, counted, and what producing them cost.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_KAFKA_VERSION, startBroker, type Broker } from '../../scripts/kafka-broker.ts';
import { connectAdmin, type BenchAdmin } from './kafka.ts';
import { kcatProduceFile } from './kcat.ts';
import { writeRecordsFile, type GeneratedFile } from './records.ts';
import { fmt } from './table.ts';

const MB = 1e6;

/** kcat -P of the records file: wall and CPU seconds, MB (10^6 bytes of values) and records per second. */
export interface ProduceFigures {
  wallS: number;
  mbPerSec: number;
  recordsPerSec: number;
  cpuS: number;
}

export interface ProducedRecords {
  /** The records now in the topic (their file is removed once they are). */
  topic: GeneratedFile;
  /** Seconds spent writing the records file. */
  generateS: number;
  produce: ProduceFigures;
}

export interface ProduceRecordsOptions {
  bootstrap: string;
  admin: BenchAdmin;
  /** An existing topic. */
  topic: string;
  /** Where the records are written first. */
  file: string;
  records: number;
  recordBytes: number;
  /** Says "generating …" and "producing with kcat …" when given. */
  log?: (line: string) => void;
  /** The topic in the error when the count is off; default "the topic". */
  what?: string;
}

/**
 * Writes `records` generated records of `recordBytes` to `file`, produces them into `topic` with kcat -P
 * (uncompressed), removes the file and checks that the topic holds exactly that many records (throws
 * otherwise).
 */
export async function produceRecords(o: ProduceRecordsOptions): Promise<ProducedRecords> {
  o.log?.(`generating ${o.records} records of ${o.recordBytes} bytes ...`);
  const t = performance.now();
  const topic = writeRecordsFile(o.file, o.records, o.recordBytes);
  const generateS = (performance.now() - t) / 1000;
  o.log?.(`producing with kcat (${fmt(topic.valueBytes / MB, 0)} MB) ...`);
  const p = await kcatProduceFile(o.bootstrap, o.topic, topic.path);
  await rm(topic.path, { force: true });
  const inTopic = await o.admin.endOffsetSum(o.topic);
  if (inTopic !== topic.records) throw new Error(`${o.what ?? 'the topic'} holds ${inTopic} records after producing ${topic.records}`);
  const mb = topic.valueBytes / MB;
  return { topic, generateS, produce: { wallS: p.wallS, mbPerSec: mb / p.wallS, recordsPerSec: topic.records / p.wallS, cpuS: p.userS + p.sysS } };
}

/** The report's first line about the topic startWithRecords() filled: size, share of high/critical records, Kafka version. */
export function formatTopicLine(t: { records: number; recordBytes: number; partitions: number; valueBytes: number; highOrCritical: number }, kafkaVersion: string): string {
  return (
    `topic: ${t.records.toLocaleString('en-US')} records × ${t.recordBytes} B in ${t.partitions} partitions = ${fmt(t.valueBytes / MB, 0)} MB of values; ` +
    `${fmt((100 * t.highOrCritical) / t.records)} % high/critical; Kafka ${kafkaVersion}`
  );
}

/**
 * A benchmark's broker and admin client. Create it before the `try`, start it inside, and call stop() in
 * the `finally`: it undoes whatever start() got to (each is set as soon as it is up).
 */
export class BenchKafka {
  broker: Broker | undefined;
  admin: BenchAdmin | undefined;
  readonly #log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  /** Starts the broker (JVM heap `heapMb`), connects the admin client and creates `topic`. */
  async start(o: { heapMb: number; topic: string; partitions: number }): Promise<{ broker: Broker; admin: BenchAdmin }> {
    const broker = await startBroker({ heapMb: o.heapMb });
    this.broker = broker;
    const admin = await connectAdmin(broker.bootstrap);
    this.admin = admin;
    await admin.createTopic(o.topic, o.partitions);
    return { broker, admin };
  }

  /**
   * The throughput and routes benchmarks' set-up, logged step by step: "starting Kafka <version> ...",
   * start() (heap default 2048 MB), then produceRecords() of `records` records through records.jsonl in
   * `workDir`.
   */
  async startWithRecords(o: { topic: string; partitions: number; records: number; recordBytes: number; workDir: string; heapMb?: number }): Promise<{ broker: Broker; admin: BenchAdmin } & ProducedRecords> {
    this.#log(`starting Kafka ${process.env['LOGSTREAM_KAFKA_VERSION'] ?? DEFAULT_KAFKA_VERSION} ...`);
    const { broker, admin } = await this.start({ heapMb: o.heapMb ?? 2048, topic: o.topic, partitions: o.partitions });
    const produced = await produceRecords({ bootstrap: broker.bootstrap, admin, topic: o.topic, file: join(o.workDir, 'records.jsonl'), records: o.records, recordBytes: o.recordBytes, log: this.#log });
    return { broker, admin, ...produced };
  }

  /** Closes the admin client, then stops the broker ("stopping Kafka ...") and removes its data. */
  async stop(): Promise<void> {
    await this.admin?.close().catch(() => undefined);
    if (this.broker) {
      this.#log('stopping Kafka ...');
      await this.broker.stop();
      await rm(this.broker.dataDir, { recursive: true, force: true });
    }
  }
}
