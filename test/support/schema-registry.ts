/**
 * The schema registry side of the schema-registry format tests: a real registry (Apicurio Registry, built
 * and started by scripts/schema-registry.ts) and records produced into Kafka by confluent-kafka's own
 * Python serializers (registry-producer/produce.py), which register their schemas and frame the records
 * themselves, independently of logstream's decoders.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureProducerPython, startSchemaRegistry, type SchemaRegistryServer } from '../../scripts/schema-registry.ts';

export { startSchemaRegistry, type SchemaRegistryServer };

export type ProducerCase = 'avro-v1' | 'avro-v2' | 'protobuf' | 'json-schema';

/** What produce.py wrote, in order: each record's case and the JSON logstream must make of it. */
export interface Produced {
  case: ProducerCase;
  expected: Record<string, unknown>;
  /** The key's JSON text, as KAFKA_KEY_FORMAT makes it, when the record has a key. */
  key?: string;
}

/** Produces the cases' records to partition 0 of `topic`, registering their schemas in the registry. */
export async function produceWithRegistry(bootstrap: string, registryUrl: string, topic: string, cases: ProducerCase[]): Promise<Produced[]> {
  const python = await ensureProducerPython();
  const script = join(import.meta.dirname, 'registry-producer', 'produce.py');
  const { stdout } = await promisify(execFile)(python, [script, bootstrap, registryUrl, topic, ...cases], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Produced);
}

/** Registers a schema under `subject` over the registry's REST API; returns its id. */
export async function registerSchema(registryUrl: string, subject: string, schema: string, schemaType?: 'AVRO' | 'PROTOBUF' | 'JSON'): Promise<number> {
  const res = await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema, ...(schemaType ? { schemaType } : {}) }),
  });
  if (res.status !== 200) throw new Error(`registering ${subject}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: number }).id;
}

/** The wire format: magic byte 0, the schema id, the payload (Avro or JSON). */
export function framed(id: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(id, 1);
  return Buffer.concat([head, payload]);
}
