// Kafka records in the schema registry's wire format, written by confluent-kafka's own Python serializers
// (which register the schemas in a real registry, Apicurio Registry, and frame the records themselves),
// come out of the file and HEC sinks as the JSON computed by the producer from the values it wrote; the
// query filters on decoded fields and reads the schema metadata; an Avro key is read as its JSON text. Then the failure classes: an unknown
// schema id, a payload that does not match its schema, a value that is not framed (dead letters with
// the reason and the original bytes), and a registry that cannot be reached (backpressure: nothing
// dead-lettered, the partitions whose schemas are cached go on, /readyz and the metric say why).
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { committedOffsets, createTopic, kafkaBootstrap, produceJson, readTopic, uniqueName } from '../support/kafka.ts';
import { instanceEnv, outputs, type GroupSetup } from '../support/group.ts';
import { HecReceiver } from '../support/hec/receiver.ts';
import { Instance, tmpDir, waitUntil } from '../support/instance.ts';
import { framed, produceWithRegistry, registerSchema, startSchemaRegistry, type SchemaRegistryServer } from '../support/schema-registry.ts';
import { TcpGate } from '../support/tcp-gate.ts';
import { CCOMPAT_PATH } from '../../scripts/schema-registry.ts';

const TOKEN = '6f1c1c4e-0000-4000-8000-logstream-sreg';
let registry: SchemaRegistryServer;
const running: Instance[] = [];
const receivers: HecReceiver[] = [];
const gates: TcpGate[] = [];

beforeAll(async () => {
  registry = await startSchemaRegistry();
}, 240_000);
afterAll(async () => {
  await registry?.stop();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop(5000)));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await Promise.all(gates.splice(0).map((g) => g.shut()));
});

function start(name: string, env: Record<string, string>): Instance {
  const i = new Instance(name, env);
  running.push(i);
  return i;
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const header = (h: Record<string, Buffer | string | undefined>, k: string): string | undefined => h[k]?.toString();

describe('schema-registry formats (real broker, Apicurio Registry, records by confluent-kafka)', () => {
  it('Avro (two versions of one schema), Protobuf and JSON Schema records and plain JSON in one topic come out of the file and HEC sinks as the producer computed; the query filters on decoded fields', async () => {
    const bootstrap = kafkaBootstrap();
    const topic = uniqueName('sreg-all');
    await createTopic(bootstrap, topic, 1);
    const produced = await produceWithRegistry(bootstrap, registry.url, topic, ['avro-v1', 'avro-v2', 'protobuf', 'json-schema']);
    await produceJson(bootstrap, topic, [{ value: { user: 'plain-json', n: 1 }, partition: 0 }]);
    expect(produced.map((p) => p.case)).toEqual(['avro-v1', 'avro-v1', 'avro-v1', 'avro-v2', 'avro-v2', 'avro-v2', 'protobuf', 'protobuf', 'protobuf', 'json-schema', 'json-schema']);

    const hec = new HecReceiver({ tokens: [TOKEN] });
    await hec.start();
    receivers.push(hec);
    const s: GroupSetup = { bootstrap, topic, group: uniqueName('sreg-g'), dir: tmpDir('sreg'), dlqTopic: uniqueName('sreg-dlq') };
    const inst = start('sreg', {
      ...instanceEnv(s, 'sreg'),
      KAFKA_VALUE_FORMAT: 'auto',
      // The first URL refuses connections: every lookup fails over to the second.
      SCHEMA_REGISTRY_URL: `http://127.0.0.1:${await closedPort()}${CCOMPAT_PATH},${registry.url}`,
      SINKS: 'file,splunk_hec',
      HEC_URLS: hec.url,
      HEC_TOKEN: TOKEN,
      KAFKA_KEY_FORMAT: 'auto',
      HEC_FIELDS: 'subject=__schema_subject__,schema_version=__schema_version__,kafka_key=__key__',
      // Filters on a decoded Avro enum and a decoded Protobuf field; keeps everything else.
      QUERY: "* | where outcome is null or outcome != 'SUCCESS'",
    });
    await waitUntil('all 12 offsets committed', async () => (await committedOffsets(bootstrap, s.group, topic)).get(0) === 12n, 120_000, 500);

    const kept = [...produced.map((p) => p.expected), { user: 'plain-json', n: 1 }].filter((r) => r['outcome'] === undefined || r['outcome'] !== 'SUCCESS');
    expect(kept.length).toBe(9); // the SUCCESS records of avro v1, v2 and protobuf are filtered
    expect(outputs(s, ['sreg'])).toEqual(kept);
    await waitUntil('HEC has all 9', () => hec.events.length >= 9, 30_000);
    expect(hec.events.map((e) => e.event)).toEqual(kept);
    // The subject and version each record was written with (Apicurio names subjects by record here).
    const meta = hec.events.map((e) => e.fields as Record<string, unknown> | undefined);
    // avro-v2's records have an Avro record key (KAFKA_KEY_FORMAT=auto): its JSON text.
    const keys = produced.filter((p) => p.expected['outcome'] !== 'SUCCESS').map((p) => p.key);
    expect(keys.slice(2, 4)).toEqual(['{"tenant":"acme","n":0}', '{"tenant":"acme","n":2}']);
    expect(meta.slice(0, 4)).toEqual([
      { subject: 'sec.it.Login', schema_version: '1' },
      { subject: 'sec.it.Login', schema_version: '1' },
      { subject: 'sec.it.Login', schema_version: '2', kafka_key: keys[2] },
      { subject: 'sec.it.Login', schema_version: '2', kafka_key: keys[3] },
    ]);
    expect(meta[4]).toEqual({ subject: 'sec.events.LoginEvent', schema_version: '1' });
    expect(meta[6]).toEqual({ subject: 'Alert', schema_version: '1' });
    expect(meta[8]).toBeUndefined(); // plain JSON: no schema
    expect(await inst.metricSum('logstream_dead_letter_events_total')).toBe(0);
    expect(await inst.metricSum('logstream_schema_registry_up')).toBe(1);
    // The refused first URL was tried and failed over from (the registry is reported up again).
    expect(Number(/^logstream_schema_registry_requests_total\{result="error"\} (\d+)/m.exec(await inst.metrics())?.[1])).toBeGreaterThan(0);
  }, 240_000);

  it('dead-letters an unknown schema id, a payload that does not match its schema and an unframed value with the reason and the original bytes; commits past them', async () => {
    const bootstrap = kafkaBootstrap();
    const topic = uniqueName('sreg-bad');
    await createTopic(bootstrap, topic, 1);
    const schema = JSON.stringify({ type: 'record', name: 'Ping', namespace: 'sec.bad', fields: [{ name: 'host', type: 'string' }, { name: 'n', type: 'int' }] });
    const id = await registerSchema(registry.url, uniqueName('ping'), schema);
    const good = framed(id, Buffer.from([0x06, 0x61, 0x62, 0x63, 0x04])); // {host: "abc", n: 2}
    const truncated = framed(id, Buffer.from([0x06, 0x61, 0x62])); // the string runs past the end
    const unknown = framed(987_654, Buffer.from([0x00]));
    const plain = Buffer.from('{"host":"json"}');
    await produceJson(bootstrap, topic, [good, truncated, unknown, plain, good].map((value) => ({ value, partition: 0 })));
    const s: GroupSetup = { bootstrap, topic, group: uniqueName('sreg-bad-g'), dir: tmpDir('sreg-bad'), dlqTopic: uniqueName('sreg-bad-dlq') };
    const inst = start('bad', { ...instanceEnv(s, 'bad'), KAFKA_VALUE_FORMAT: 'avro', SCHEMA_REGISTRY_URL: registry.url });
    await waitUntil('all 5 offsets committed', async () => (await committedOffsets(bootstrap, s.group, topic)).get(0) === 5n, 120_000, 500);
    expect(outputs(s, ['bad'])).toEqual([{ host: 'abc', n: 2 }, { host: 'abc', n: 2 }]);
    const dead = await readTopic(bootstrap, s.dlqTopic, { expected: 3, timeoutMs: 30_000 });
    expect(dead.map((d) => [header(d.headers, 'logstream.source.offset'), header(d.headers, 'logstream.error.code')])).toEqual([
      ['1', 'SCHEMA_MISMATCH'],
      ['2', 'SCHEMA_NOT_FOUND'],
      ['3', 'NOT_FRAMED'],
    ]);
    expect(header(dead[0]!.headers, 'logstream.error.message')).toMatch(new RegExp(`does not match schema id ${id} \\(subject ping-.* version 1\\): .*longer than the payload`));
    expect(header(dead[1]!.headers, 'logstream.error.message')).toBe('schema id 987654 is not in the registry (404, error code 40403)');
    expect(header(dead[2]!.headers, 'logstream.error.message')).toMatch(/not in the schema-registry wire format .* KAFKA_VALUE_FORMAT=avro/);
    expect(Buffer.compare(dead[0]!.value!, truncated)).toBe(0);
    expect(Buffer.compare(dead[1]!.value!, unknown)).toBe(0);
    expect(Buffer.compare(dead[2]!.value!, plain)).toBe(0);
    expect(header(dead[0]!.headers, 'logstream.sink')).toBe('decode');
    expect(await inst.metricSum('logstream_schema_registry_requests_total')).toBeGreaterThan(0);
  }, 180_000);

  it.each(['platformatic', 'kafkajs'])('a registry that cannot be reached holds back only the partition whose record needs an uncached schema: nothing is dead-lettered, the others go on, /readyz and the metric say why; then all is delivered (KAFKA_CLIENT=%s)', async (client) => {
    const bootstrap = kafkaBootstrap();
    const topic = uniqueName('sreg-down');
    await createTopic(bootstrap, topic, 2);
    const gate = await TcpGate.open(registry.port);
    gates.push(gate);
    const schemaA = JSON.stringify({ type: 'record', name: 'A', namespace: 'sec.down', fields: [{ name: 'p', type: 'int' }, { name: 'i', type: 'int' }] });
    const schemaB = JSON.stringify({ type: 'record', name: 'B', namespace: 'sec.down', fields: [{ name: 'p', type: 'int' }, { name: 'i', type: 'int' }, { name: 'b', type: 'boolean' }] });
    const idA = await registerSchema(registry.url, uniqueName('down-a'), schemaA);
    const idB = await registerSchema(registry.url, uniqueName('down-b'), schemaB);
    const zz = (n: number): number => (n << 1) ^ (n >> 31); // zig-zag, small ints: one byte
    const recA = (p: number, i: number): Buffer => framed(idA, Buffer.from([zz(p), zz(i)]));
    const recB = (p: number, i: number): Buffer => framed(idB, Buffer.from([zz(p), zz(i), 1]));
    const s: GroupSetup = { bootstrap, topic, group: uniqueName('sreg-down-g'), dir: tmpDir('sreg-down'), dlqTopic: uniqueName('sreg-down-dlq') };
    const inst = start('down', { ...instanceEnv(s, 'down'), KAFKA_CLIENT: client, KAFKA_VALUE_FORMAT: 'avro', SCHEMA_REGISTRY_URL: `${gate.endpoint}${CCOMPAT_PATH}`, SCHEMA_REGISTRY_TIMEOUT: '2s' });
    // Schema A becomes cached on both partitions.
    await produceJson(bootstrap, topic, [{ value: recA(0, 0), partition: 0 }, { value: recA(1, 0), partition: 1 }]);
    await waitUntil('both first records delivered', () => outputs(s, ['down']).length === 2, 90_000, 250);

    await gate.shut();
    // Partition 1 now needs schema B, which is not cached; partition 0 goes on with schema A.
    await produceJson(bootstrap, topic, [{ value: recB(1, 1), partition: 1 }, { value: recA(1, 2), partition: 1 }]);
    await produceJson(bootstrap, topic, [1, 2, 3].map((i) => ({ value: recA(0, i), partition: 0 })));
    await waitUntil('partition 0 delivered while the registry is down', () => outputs(s, ['down']).filter((r) => r['p'] === 0).length === 4, 60_000, 250);
    await waitUntil('the registry reported down', async () => (await inst.metricSum('logstream_schema_registry_up')) === 0, 30_000, 250);
    const ready = await (await fetch(`http://127.0.0.1:${await inst.httpPort()}/readyz`)).json() as { ready: boolean; reasons: string[] };
    expect(ready.ready).toBe(false);
    expect(ready.reasons.join(' ')).toMatch(/schema registry unreachable for \d+ s: .*ECONNREFUSED/);
    expect(outputs(s, ['down']).filter((r) => r['p'] === 1)).toEqual([{ p: 1, i: 0 }]);
    // Partition 1 is committed up to the record that waits, and stays there.
    await waitUntil('partition 1 committed up to the waiting record', async () => (await committedOffsets(bootstrap, s.group, topic)).get(1) === 1n, 30_000, 250);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await committedOffsets(bootstrap, s.group, topic)).get(1)).toBe(1n);
    expect(outputs(s, ['down']).filter((r) => r['p'] === 1)).toEqual([{ p: 1, i: 0 }]);
    expect(await inst.metricSum('logstream_dead_letter_events_total')).toBe(0);

    await gate.reopen();
    await waitUntil('partition 1 delivered once the registry answers', async () => (await committedOffsets(bootstrap, s.group, topic)).get(1) === 3n, 60_000, 250);
    expect(outputs(s, ['down']).filter((r) => r['p'] === 1)).toEqual([{ p: 1, i: 0 }, { p: 1, i: 1, b: true }, { p: 1, i: 2 }]);
    expect(await inst.metricSum('logstream_schema_registry_up')).toBe(1);
    expect(await inst.metricSum('logstream_dead_letter_events_total')).toBe(0);
    const metrics = await inst.metrics();
    expect(Number(/^logstream_schema_registry_requests_total\{result="error"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  }, 240_000);
});
