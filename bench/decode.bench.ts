// Decode benchmark: the same ~1 KiB security records as JSON, Avro and Protobuf in the schema-registry
// wire format, through the decoder a route uses (KAFKA_VALUE_FORMAT json, avro, protobuf), schema
// cached as in steady state. Records per CPU-second, MB of input per CPU-second, and MB of the JSON
// form per CPU-second (the same records, so the formats compare on equal work).
// Run directly: `node bench/decode.bench.ts`; `npm run bench` calls runDecodeBench().
// The Avro and Protobuf bytes are written by avsc and protobufjs's encoder (not by the decoders measured).
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import avsc from 'avsc';
import protobuf from 'protobufjs';
import { AvroNames, compileAvro } from '../src/source/decode/avro.ts';
import { valueDecoder } from '../src/source/decode/formats.ts';
import { compileProtobuf } from '../src/source/decode/protobuf.ts';
import type { CompiledSchema, SchemaRegistry } from '../src/source/decode/registry.ts';
import { jsonDecoder } from '../src/source/kafka/decode.ts';
import type { RecordDecoder } from '../src/source/kafka/interface.ts';
import { prng } from '../test/support/prng.ts';
import { makeRecord } from './query.bench.ts';

export interface DecodeBenchRow {
  format: string;
  /** Bytes of one record's value, on average. */
  valueBytes: number;
  recordsPerCpuSec: number;
  /** MB (10^6 bytes) of values decoded per CPU-second. */
  inputMBPerCpuSec: number;
  /** MB of the same records' JSON per CPU-second. */
  jsonMBPerCpuSec: number;
}

const STRING_FIELDS = ['id', 'created_timestamp', 'severity', 'name', 'app', 'object_type', 'activity_type', 'user', 'user_name', 'src_ip', 'dst_ip', 'device', 'browser', 'user_agent', 'policy_name', 'service', 'category', 'action_taken', 'tenant', 'request_id', 'resource', 'message'];

const AVRO_SCHEMA = {
  type: 'record',
  name: 'CloudSocEvent',
  namespace: 'bench',
  fields: [
    ...STRING_FIELDS.map((name) => ({ name, type: 'string' })),
    { name: 'location', type: { type: 'record', name: 'Location', fields: [{ name: 'country', type: 'string' }, { name: 'city', type: 'string' }] } },
    { name: 'threat_score', type: 'int' },
  ],
};

const PROTO_SCHEMA = `syntax = "proto3";
package bench;
message CloudSocEvent {
${STRING_FIELDS.map((name, i) => `  string ${name} = ${i + 1};`).join('\n')}
  message Location { string country = 1; string city = 2; }
  Location location = ${STRING_FIELDS.length + 1};
  int32 threat_score = ${STRING_FIELDS.length + 2};
}
`;

function framed(id: number, payload: Uint8Array, protobufIndex = false): Buffer {
  const head = Buffer.from([0, 0, 0, 0, 0, ...(protobufIndex ? [0] : [])]);
  head.writeUInt32BE(id, 1);
  return Buffer.concat([head, payload]);
}

function registryOf(schemas: CompiledSchema[]): SchemaRegistry {
  const byId = new Map(schemas.map((s) => [s.id, s]));
  return { lookup: (id: number) => byId.get(id)! } as unknown as SchemaRegistry;
}

function measure(decoder: RecordDecoder, pool: Buffer[], minMs: number): { records: number; cpuSec: number } {
  const meta = { topic: 'bench', partition: 0, offset: '0', timestamp: 0, key: null, headers: {} };
  const mask = pool.length - 1;
  let sink = 0;
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const d = decoder.decode(pool[i & mask]!, meta);
      if (d instanceof Promise || !d.ok) throw new Error('bench decode failed');
      sink += (d.fields as { threat_score: number }).threat_score;
    }
  };
  run(100_000);
  let batch = 50_000;
  let records = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    run(batch);
    records += batch;
    batch = Math.min(batch * 2, 1_000_000);
  }
  const cpu = process.cpuUsage(cpu0);
  if (sink < 0) throw new Error('unreachable');
  return { records, cpuSec: (cpu.user + cpu.system) / 1e6 };
}

export async function runDecodeBench(options: { minMs?: number } = {}): Promise<DecodeBenchRow[]> {
  const rnd = prng(7);
  const records = Array.from({ length: 4096 }, (_, i) => makeRecord(i, rnd));
  const avroType = avsc.Type.forSchema(AVRO_SCHEMA as avsc.Schema);
  const protoRoot = protobuf.parse(PROTO_SCHEMA, { keepCase: true }).root;
  const protoType = protoRoot.lookupType('bench.CloudSocEvent');
  const pools: Record<string, Buffer[]> = {
    json: records.map((r) => Buffer.from(JSON.stringify(r))),
    avro: records.map((r) => framed(1, avroType.toBuffer(r))),
    protobuf: records.map((r) => framed(2, protoType.encode(protoType.fromObject(r)).finish(), true)),
  };
  const registry = registryOf([
    { kind: 'avro', id: 1, reader: compileAvro(JSON.stringify(AVRO_SCHEMA), new AvroNames()) },
    { kind: 'protobuf', id: 2, schema: compileProtobuf(PROTO_SCHEMA, []) },
  ]);
  const jsonBytes = pools['json']!.reduce((a, b) => a + b.length, 0) / records.length;
  const rows: DecodeBenchRow[] = [];
  for (const format of ['json', 'avro', 'protobuf'] as const) {
    const decoder = valueDecoder(format, jsonDecoder, registry);
    const pool = pools[format]!;
    // Sanity: every format must give back the same record, or the comparison means nothing.
    const d = decoder.decode(pool[5]!, { topic: 'b', partition: 0, offset: '0', timestamp: 0, key: null, headers: {} });
    if (d instanceof Promise || !d.ok || !isDeepStrictEqual(d.fields, records[5])) throw new Error(`${format}: the decoded record differs from the one written`);
    const valueBytes = pool.reduce((a, b) => a + b.length, 0) / pool.length;
    const m = measure(decoder, pool, options.minMs ?? 2000);
    const perSec = m.records / m.cpuSec;
    rows.push({ format, valueBytes, recordsPerCpuSec: perSec, inputMBPerCpuSec: (perSec * valueBytes) / 1e6, jsonMBPerCpuSec: (perSec * jsonBytes) / 1e6 });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return rows;
}

export function formatDecode(rows: DecodeBenchRow[]): string {
  const num = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const table = [['format', 'value bytes', 'records/CPU-s', 'input MB/CPU-s', 'JSON-equivalent MB/CPU-s'], ...rows.map((r) => [r.format, num(r.valueBytes), num(r.recordsPerCpuSec), num(r.inputMBPerCpuSec, 1), num(r.jsonMBPerCpuSec, 1)])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

if (import.meta.main) {
  process.stdout.write(`${formatDecode(await runDecodeBench())}\nnode ${process.version}\n`);
}
