// Reads partitions by offset without a consumer group: list offsets (earliest, latest, by timestamp)
// and fetch a range. The webhook serves pull calls with it (several partitions fetched at once) and
// the cursor store and control topic replay theirs with it.
//
// The fetch is a single Fetch request to the partition's leader, without a fetch session (KIP-227
// epoch -1). The library's Consumer.fetch keeps one incremental session per broker, which concurrent
// fetches of different partitions invalidate in turn (INVALID_FETCH_SESSION_EPOCH, retried after a
// delay), and it drops aborted batches before we could count them in the next offset. So this uses the
// library's friend API (kGetApi: the newest Fetch version the broker supports) and its record-batch
// decoding (all codecs), and filters aborted transactions and control batches here.
import { Admin, FetchIsolationLevels, ListOffsetTimestamps, ProtocolError, UserError, type fetchV17 } from '@platformatic/kafka';
import type { FetchedMessage, FetchResult, KafkaConnectOptions, PartitionOffsets, PartitionReader } from '../kafka/interface.ts';
import { listOffsets } from './admin.ts';
import { canRetry, tagged } from './errors.ts';
import { platformaticBaseOptions, retryDelay } from './options.ts';
import { protocolApi } from './protocol-api.ts';

type FetchApi = typeof fetchV17.api;
type FetchPartition = fetchV17.FetchResponsePartition;

/** Record batch attributes (Kafka's DefaultRecordBatch). */
const LOG_APPEND_TIME = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
/** A fetch outside any fetch session. */
const SESSIONLESS = { id: 0, epoch: -1 };

export class PlatformaticPartitionReader implements PartitionReader {
  readonly #opts: KafkaConnectOptions;
  #client: Admin | undefined;

  constructor(opts: KafkaConnectOptions) {
    this.#opts = opts;
  }

  /** Any client gives metadata, connections and ListOffsets; the Admin needs no group. A closed one
   *  cannot reopen: connect() after disconnect() makes a new one. */
  get #c(): Admin {
    this.#client ??= new Admin(platformaticBaseOptions(this.#opts));
    return this.#client;
  }

  /** Connects now (bootstrap and metadata), so that an unreachable broker fails here. */
  connect(): Promise<void> {
    return tagged(async () => {
      await this.#c.metadata({ topics: [] });
    });
  }

  async disconnect(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close().catch(() => undefined);
  }

  partitions(topic: string): Promise<number[]> {
    return tagged(async () => {
      const meta = await this.#c.metadata({ topics: [topic] });
      return Array.from({ length: meta.topics.get(topic)?.partitionsCount ?? 0 }, (_, i) => i);
    });
  }

  earliest(topic: string): Promise<PartitionOffsets> {
    return this.#offsets(topic, ListOffsetTimestamps.EARLIEST);
  }

  /** The end of each partition: read-committed, the last stable offset. */
  latest(topic: string): Promise<PartitionOffsets> {
    return this.#offsets(topic, ListOffsetTimestamps.LATEST);
  }

  async forTime(topic: string, ms: number): Promise<PartitionOffsets> {
    const [byTime, end] = await Promise.all([this.#offsets(topic, BigInt(ms)), this.latest(topic)]);
    for (const [p, o] of byTime) if (o < 0) byTime.set(p, end.get(p) ?? 0); // no record that new
    return byTime;
  }

  #offsets(topic: string, timestamp: bigint): Promise<PartitionOffsets> {
    return tagged(async () => listOffsets(this.#c, topic, await this.partitions(topic), timestamp));
  }

  fetch(topic: string, partition: number, offset: number, maxBytes: number): Promise<FetchResult> {
    return tagged(async () => {
      const retries = this.#opts.retries ?? 8;
      for (let attempt = 0; ; attempt++) {
        const client = this.#c;
        // After a failed attempt (a leader moved), with fresh metadata. The library retries this call itself.
        const meta = await client.metadata({ topics: [topic], forceUpdate: attempt > 0 });
        const t = meta.topics.get(topic);
        if (t === undefined || partition < 0 || partition >= t.partitionsCount) {
          throw new UserError(`topic ${topic} has no partition ${partition}`, { apiId: 'UNKNOWN_TOPIC_OR_PARTITION' });
        }
        try {
          const data = await this.#fetchOnce(client, topic, t.id, t.partitions[partition]?.leader ?? -1, partition, offset, maxBytes);
          return data === undefined ? { messages: [], nextOffset: offset } : decode(data, BigInt(offset));
        } catch (err) {
          // Retried as the library's own calls: what it marks retriable (a leader moving, a broker restarting).
          if (!canRetry(err) || attempt >= retries || this.#client !== client) throw err;
          await new Promise((r) => setTimeout(r, retryDelay(attempt + 1)));
        }
      }
    });
  }

  /** One Fetch of one partition from its leader. */
  async #fetchOnce(client: Admin, topic: string, id: string, leader: number, partition: number, offset: number, maxBytes: number): Promise<FetchPartition | undefined> {
    const connection = (await client.connectToBrokers([leader])).get(leader);
    if (connection === undefined) throw new ProtocolError('LEADER_NOT_AVAILABLE'); // retriable: no leader elected yet
    const api = await protocolApi<FetchApi>(client, 'Fetch');
    // Fetch up to v12 names the topic; later versions use its id.
    const topicId = api.version <= 12 ? topic : id;
    const res = await api.async(connection, 0, 1, maxBytes, FetchIsolationLevels.READ_COMMITTED, SESSIONLESS.id, SESSIONLESS.epoch, [
      { topicId, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), lastFetchedEpoch: -1, partitionMaxBytes: maxBytes }] },
    ], [], '');
    return res.responses.find((r) => r.topicId === topicId)?.partitions.find((p) => p.partitionIndex === partition);
  }
}

/** A fetched partition's batches as messages from `from` on, read-committed (as the Java consumer:
 *  batches of an aborted transaction and control batches are skipped but counted in the next offset). */
function decode(data: FetchPartition, from: bigint): FetchResult {
  const aborted = [...(data.abortedTransactions ?? [])].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  const abortedProducers = new Set<bigint>();
  const messages: FetchedMessage[] = [];
  let next = from;
  for (const batch of data.records ?? []) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (last >= next) next = last + 1n;
    // Producers whose aborted transaction began at or before this batch's end.
    while (aborted.length > 0 && aborted[0]!.firstOffset <= last) abortedProducers.add(aborted.shift()!.producerId);
    if (batch.attributes & CONTROL) {
      // A control record's key is (version int16, type int16); type 0 is the abort marker, ending the range.
      if (batch.records[0]?.key?.readInt16BE(2) === 0) abortedProducers.delete(batch.producerId);
      continue;
    }
    if (batch.attributes & TRANSACTIONAL && abortedProducers.has(batch.producerId)) continue;
    const logAppendTime = (batch.attributes & LOG_APPEND_TIME) !== 0;
    for (const r of batch.records) {
      const offset = batch.firstOffset + BigInt(r.offsetDelta);
      if (offset < from) continue; // a batch starting before the offset asked for comes whole
      messages.push({
        offset: String(offset),
        timestamp: String(logAppendTime ? batch.maxTimestamp : batch.firstTimestamp + r.timestampDelta),
        key: r.key,
        value: r.value,
        headers: headers(r.headers),
      });
    }
  }
  return { messages, nextOffset: Number(next) };
}

/** Record headers as kafkajs gives them: name → value, an array when a name repeats. */
function headers(pairs: Array<[Buffer | null, Buffer | null]>): NonNullable<FetchedMessage['headers']> {
  const out: NonNullable<FetchedMessage['headers']> = {};
  for (const [k, v] of pairs) {
    const name = k?.toString() ?? '';
    const value = v ?? undefined;
    if (!(name in out)) out[name] = value;
    else {
      const prev = out[name];
      out[name] = [...(Array.isArray(prev) ? prev : prev === undefined ? [] : [prev]), ...(value === undefined ? [] : [value])];
    }
  }
  return out;
}
