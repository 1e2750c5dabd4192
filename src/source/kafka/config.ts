// Kafka source settings (KAFKA_*). Validation is pure; connections happen at start.
import { parseVars, v, type Env } from '../../config/vars.ts';
import { hostname } from 'node:os';
import { ConfigError } from '../../core/errors.ts';
import { kafkaSecurityVars, parseKafkaSecurity, type KafkaSecurity } from './security.ts';
import { KEY_FORMATS, VALUE_FORMATS, type KeyFormat, type ValueFormat } from '../decode/formats.ts';
import { GROUP_PROTOCOLS, KAFKA_CLIENT_LIBRARIES, type GroupConsumerConfig, type GroupProtocol, type KafkaClientLibrary, type StartPosition } from './interface.ts';

const hostPort = (s: string): string | undefined =>
  /^[A-Za-z0-9.\-_\[\]:]+:\d{1,5}$/.test(s) ? undefined : `${JSON.stringify(s)} is not host:port`;

export type { StartPosition };

export function parseStartPosition(raw: string): StartPosition | undefined {
  const g = /^group:(.+)$/i.exec(raw.trim());
  if (g) return { kind: 'group', groupId: g[1]!.trim() };
  const t = raw.trim().toLowerCase();
  if (t === 'earliest' || t === 'beginning') return { kind: 'earliest' };
  if (t === 'latest' || t === 'end') return { kind: 'latest' };
  if (/^\d{10,16}$/.test(t)) return { kind: 'timestamp', ms: t.length <= 10 ? Number(t) * 1000 : Number(t) };
  const ms = Date.parse(raw.trim());
  return Number.isFinite(ms) ? { kind: 'timestamp', ms } : undefined;
}

export const kafkaVars = {
  KAFKA_BROKERS: v.list({ doc: 'Bootstrap brokers, comma-separated host:port.', required: true, item: hostPort }),
  KAFKA_TOPICS: v.list({ doc: 'Topics to consume, comma-separated (not needed by a webhook-only instance, which has no SINKS).', required: true }),
  KAFKA_GROUP_ID: v.string({ doc: 'Consumer group shared by all replicas; progress is committed to it.', default: 'logstream' }),
  KAFKA_GROUP_INSTANCE_ID: v.optionalString({
    doc: 'Static group membership (group.instance.id; not with KAFKA_CLIENT=kafkajs): a stable name per instance, e.g. a StatefulSet pod name. Restarted within KAFKA_SESSION_TIMEOUT it gets its partitions back with no rebalance; a dead one holds them until the session times out. Never a Deployment pod name (it changes on every restart).',
  }),
  KAFKA_CLIENT: v.oneOf(KAFKA_CLIENT_LIBRARIES, {
    doc: 'Kafka client library: platformatic (default; @platformatic/kafka, cooperative-sticky rebalancing, static membership) or kafkajs (eager rebalancing, unmaintained; kept as a fallback)',
    default: 'platformatic',
  }),
  KAFKA_GROUP_PROTOCOL: v.oneOf(GROUP_PROTOCOLS, {
    doc: 'Group protocol: classic (JoinGroup/SyncGroup with cooperative-sticky; any Kafka-compatible service) or consumer (KIP-848: the broker assigns and no member ever stops for a rebalance; Kafka ≥ 4.0, KAFKA_CLIENT=platformatic). Under consumer the broker owns the session timeout and heartbeat interval (group.consumer.session.timeout.ms, group.consumer.heartbeat.interval.ms, or the group\'s own consumer.* configs): KAFKA_SESSION_TIMEOUT and KAFKA_HEARTBEAT_INTERVAL do not apply.',
    default: 'classic',
  }),
  KAFKA_CLIENT_ID: v.string({ doc: 'Client id (defaults to logstream-<hostname>).', default: `logstream-${hostname()}`, }),
  KAFKA_START_FROM: v.string({
    doc: 'Where a partition without a committed offset starts: earliest, latest, an ISO 8601 time, epoch seconds/ms, or `group:<id>` (where that group committed; earliest where it did not).',
    default: 'earliest',
  }),
  KAFKA_SESSION_TIMEOUT: v.duration({ doc: 'Group session timeout: how soon a dead instance\'s partitions move.', default: 30_000, min: 3000 }),
  KAFKA_HEARTBEAT_INTERVAL: v.duration({ doc: 'Heartbeat interval (below a third of the session timeout).', default: 3000, min: 100 }),
  KAFKA_REBALANCE_TIMEOUT: v.duration({ doc: 'How long the group waits for members to rejoin in a rebalance.', default: 60_000, min: 1000 }),
  KAFKA_COMMIT_INTERVAL: v.duration({ doc: 'How often acknowledged offsets are committed (also on revoke and shutdown); after a kill -9 the next owner repeats about this long of delivery.', default: 1000, min: 100 }),
  KAFKA_FETCH_MAX_WAIT: v.duration({ doc: 'Longest a fetch waits for new records; also how soon a resumed partition is fetched again.', default: 500, min: 10 }),
  KAFKA_MAX_BYTES_PER_PARTITION: v.bytes({ doc: 'Fetch size per partition.', default: 1024 * 1024, min: 1024 }),
  KAFKA_VALUE_FORMAT: v.oneOf(VALUE_FORMATS, {
    doc: 'How a record value is read: json (a JSON object; other UTF-8 text ships as `{"_raw": text}`), text (always `{"_raw": text}`), avro, protobuf or json-schema (the schema-registry wire format, schema from SCHEMA_REGISTRY_URL; anything else is dead-lettered), auto (a value starting with the magic byte 0 by its schema, anything else as json). docs/schema-registry.md.',
    default: 'json',
  }),
  KAFKA_KEY_FORMAT: v.oneOf(KEY_FORMATS, {
    doc: 'How a record key is read (for `__key__` in the query and the sinks): text (UTF-8), or avro, protobuf, json-schema, auto as KAFKA_VALUE_FORMAT (a decoded key becomes its JSON text; a string key its string). A key that cannot be read dead-letters its record.',
    default: 'text',
  }),
  KAFKA_DLQ_TOPIC: v.string({ doc: 'Dead-letter topic (created at start if missing).', default: 'logstream-dead-letter' }),
  KAFKA_DLQ_PARTITIONS: v.int({ doc: 'Partitions of the dead-letter topic when logstream creates it.', default: 1, min: 1 }),
  KAFKA_CONTROL_TOPIC: v.string({ doc: 'Compacted topic every instance follows for route pause/resume (`logstream routes`, `reset-offsets --route`); created at start if missing.', default: 'logstream-control' }),
  KAFKA_CONNECTION_TIMEOUT: v.duration({ doc: 'TCP connect timeout to a broker.', default: 10_000, min: 100 }),
  ...kafkaSecurityVars,
};

/** What a route may set for itself (ROUTE_<NAME>_X); the rest (brokers, TLS/SASL, timeouts) is shared. */
export const KAFKA_ROUTE_VARS = [
  'KAFKA_TOPICS',
  'KAFKA_GROUP_ID',
  'KAFKA_START_FROM',
  'KAFKA_COMMIT_INTERVAL',
  'KAFKA_FETCH_MAX_WAIT',
  'KAFKA_MAX_BYTES_PER_PARTITION',
  'KAFKA_VALUE_FORMAT',
  'KAFKA_KEY_FORMAT',
  'KAFKA_DLQ_TOPIC',
  'KAFKA_DLQ_PARTITIONS',
] as const satisfies ReadonlyArray<keyof typeof kafkaVars>;

/** A route's Kafka settings; a group member is given the GroupConsumerConfig part. */
export interface KafkaSourceConfig extends GroupConsumerConfig {
  brokers: string[];
  topics: string[];
  groupId: string;
  /** The client library (KAFKA_CLIENT). */
  client: KafkaClientLibrary;
  /** The group protocol (KAFKA_GROUP_PROTOCOL). */
  groupProtocol: GroupProtocol;
  /** Static membership: this instance's group.instance.id (undefined: dynamic membership). */
  groupInstanceId?: string;
  clientId: string;
  startFrom: StartPosition;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  commitIntervalMs: number;
  maxBytesPerPartition: number;
  fetchMaxWaitMs: number;
  /** How record values are read (KAFKA_VALUE_FORMAT). */
  valueFormat: ValueFormat;
  /** How record keys are read (KAFKA_KEY_FORMAT). */
  keyFormat: KeyFormat;
  dlqTopic: string;
  dlqPartitions: number;
  controlTopic: string;
  connectionTimeoutMs: number;
  security: KafkaSecurity;
}

/** `consuming: false` (a webhook-only instance: no consumer group) makes KAFKA_TOPICS optional. */
export function parseKafkaConfig(env: Env, opts: { consuming: boolean } = { consuming: true }): KafkaSourceConfig {
  const specs = opts.consuming ? kafkaVars : { ...kafkaVars, KAFKA_TOPICS: v.list({ doc: kafkaVars.KAFKA_TOPICS.doc, default: [] }) };
  const p = parseVars(specs, env);
  const startFrom = parseStartPosition(p.KAFKA_START_FROM);
  const problems: string[] = [];
  if (!startFrom) problems.push(`KAFKA_START_FROM: must be earliest, latest, an ISO 8601 time, epoch seconds/ms or group:<id>, got ${JSON.stringify(p.KAFKA_START_FROM)}`);
  if (p.KAFKA_HEARTBEAT_INTERVAL * 3 > p.KAFKA_SESSION_TIMEOUT) problems.push('KAFKA_HEARTBEAT_INTERVAL: must be at most a third of KAFKA_SESSION_TIMEOUT');
  if (p.KAFKA_TOPICS.includes(p.KAFKA_DLQ_TOPIC)) problems.push('KAFKA_DLQ_TOPIC: must not be one of KAFKA_TOPICS (dead letters would be read again)');
  if (p.KAFKA_GROUP_INSTANCE_ID && p.KAFKA_CLIENT !== 'platformatic') problems.push('KAFKA_GROUP_INSTANCE_ID: static membership needs KAFKA_CLIENT=platformatic (kafkajs has none)');
  if (p.KAFKA_GROUP_PROTOCOL === 'consumer' && p.KAFKA_CLIENT !== 'platformatic') problems.push('KAFKA_GROUP_PROTOCOL: consumer (KIP-848) needs KAFKA_CLIENT=platformatic (kafkajs speaks only the classic protocol)');
  const security = parseKafkaSecurity(p, env, problems);
  if (problems.length) throw new ConfigError(problems);
  return {
    brokers: p.KAFKA_BROKERS,
    topics: p.KAFKA_TOPICS,
    groupId: p.KAFKA_GROUP_ID,
    client: p.KAFKA_CLIENT,
    groupProtocol: p.KAFKA_GROUP_PROTOCOL,
    ...(p.KAFKA_GROUP_INSTANCE_ID ? { groupInstanceId: p.KAFKA_GROUP_INSTANCE_ID } : {}),
    clientId: p.KAFKA_CLIENT_ID,
    startFrom: startFrom!,
    sessionTimeoutMs: p.KAFKA_SESSION_TIMEOUT,
    heartbeatIntervalMs: p.KAFKA_HEARTBEAT_INTERVAL,
    rebalanceTimeoutMs: p.KAFKA_REBALANCE_TIMEOUT,
    commitIntervalMs: p.KAFKA_COMMIT_INTERVAL,
    maxBytesPerPartition: p.KAFKA_MAX_BYTES_PER_PARTITION,
    fetchMaxWaitMs: p.KAFKA_FETCH_MAX_WAIT,
    valueFormat: p.KAFKA_VALUE_FORMAT,
    keyFormat: p.KAFKA_KEY_FORMAT,
    dlqTopic: p.KAFKA_DLQ_TOPIC,
    dlqPartitions: p.KAFKA_DLQ_PARTITIONS,
    controlTopic: p.KAFKA_CONTROL_TOPIC,
    connectionTimeoutMs: p.KAFKA_CONNECTION_TIMEOUT,
    security,
  };
}
