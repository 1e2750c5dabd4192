// Records written by independent implementations (fastavro; Google's protobuf runtime with protoc; see
// fixtures/make_fixtures.py) come out as the JSON computed there from the values written.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AvroNames, compileAvro, decimalText, isoTime } from '../../../src/source/decode/avro.ts';
import { decodeWith, textDecoder, valueDecoder, withKeys } from '../../../src/source/decode/formats.ts';
import { compileProtobuf } from '../../../src/source/decode/protobuf.ts';
import type { CompiledSchema, SchemaRegistry } from '../../../src/source/decode/registry.ts';
import { messageIndexes } from '../../../src/source/decode/wire-format.ts';
import { jsonDecoder } from '../../../src/source/kafka/decode.ts';
import type { Decoded } from '../../../src/source/kafka/interface.ts';
import { prng } from '../../support/prng.ts';

interface Case {
  name: string;
  schemaType: 'AVRO' | 'PROTOBUF' | 'JSON';
  schema: string;
  id: number;
  references?: Array<{ name: string; schema: string }>;
  value: string;
  expected: Record<string, unknown>;
}

const fixtures = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'records.json'), 'utf8')) as { cases: Case[] };

function compiled(c: Case): CompiledSchema {
  const meta = { id: c.id, subject: `${c.schemaType.toLowerCase()}-value`, version: 1 };
  if (c.schemaType === 'AVRO') {
    const names = new AvroNames();
    for (const r of c.references ?? []) compileAvro(r.schema, names);
    return { kind: 'avro', ...meta, reader: compileAvro(c.schema, names) };
  }
  if (c.schemaType === 'PROTOBUF') return { kind: 'protobuf', ...meta, schema: compileProtobuf(c.schema, (c.references ?? []).map((r) => ({ name: r.name, text: r.schema }))) };
  return { kind: 'json', ...meta };
}

/** A registry that has exactly these schemas, answering at once (the HTTP client is tested against a real registry). */
function registryOf(schemas: CompiledSchema[]): SchemaRegistry {
  const byId = new Map(schemas.map((s) => [s.id, s]));
  return { lookup: (id: number) => byId.get(id) ?? { kind: 'missing', id, message: `schema id ${id} is not in the registry (404, error code 40403)` } } as unknown as SchemaRegistry;
}

const ok = (d: Decoded | Promise<Decoded>): Extract<Decoded, { ok: true }> => {
  if (d instanceof Promise || !d.ok) throw new Error(`expected a decoded record, got ${JSON.stringify(d)}`);
  return d;
};
const fail = (d: Decoded | Promise<Decoded>): Extract<Decoded, { ok: false }> => {
  if (d instanceof Promise || d.ok) throw new Error(`expected a dead letter, got ${JSON.stringify(d)}`);
  return d;
};
const META = { topic: 't', partition: 0, offset: '0', timestamp: 0, key: null, headers: {} };

describe('schema-registry records written by independent implementations', () => {
  it('has the fixtures (9 cases: Avro, evolution, references, Protobuf indexes and descriptors, JSON Schema)', () => {
    expect(fixtures.cases.length).toBe(9);
  });
  for (const c of fixtures.cases) {
    it(c.name, () => {
      const s = compiled(c);
      const d = ok(decodeWith(s, Buffer.from(c.value, 'hex'), undefined, 'auto'));
      expect(d.fields).toEqual(c.expected);
      expect(JSON.parse(JSON.stringify(d.fields))).toEqual(c.expected);
      expect(d.converted).toBe(true);
      expect(d.schema).toEqual({ id: c.id, subject: `${c.schemaType.toLowerCase()}-value`, version: 1 });
    });
  }

  it('any truncation or byte change of a record is decoded or dead-lettered, never thrown', () => {
    const random = prng(20261204);
    const int = (n: number): number => Math.floor(random() * n);
    for (const c of fixtures.cases) {
      const s = compiled(c);
      const bytes = Buffer.from(c.value, 'hex');
      for (let cut = 5; cut < bytes.length; cut++) {
        const d = decodeWith(s, bytes.subarray(0, cut), undefined, 'auto');
        if (!d.ok) expect(d.code).toMatch(/^SCHEMA_MISMATCH$/);
      }
      for (let i = 0; i < 300; i++) {
        const m = Buffer.from(bytes);
        m[5 + int(m.length - 5)] = int(256);
        const d = decodeWith(s, m, undefined, 'auto');
        if (!d.ok) expect(['SCHEMA_MISMATCH', 'DECODE_FAILED']).toContain(d.code);
      }
    }
  });

  it('a truncated Avro record and one with bytes left over do not match their schema', () => {
    const c = fixtures.cases[0]!;
    const bytes = Buffer.from(c.value, 'hex');
    expect(fail(decodeWith(compiled(c), bytes.subarray(0, bytes.length - 3), undefined, 'avro')).message).toMatch(/does not match schema id 11 \(subject avro-value version 1\): .*(ends at byte|longer than the payload)/);
    expect(fail(decodeWith(compiled(c), Buffer.concat([bytes, Buffer.from([0])]), undefined, 'avro'))).toMatchObject({ code: 'SCHEMA_MISMATCH', message: expect.stringMatching(/1 byte\(s\) left after the value/) });
  });

  it('a message index that names no message does not match', () => {
    const c = fixtures.cases.find((x) => x.schemaType === 'PROTOBUF')!;
    const bytes = Buffer.from(c.value, 'hex');
    bytes[6] = 0x0e; // index 7: there are two top-level messages
    expect(fail(decodeWith(compiled(c), bytes, undefined, 'protobuf'))).toMatchObject({ code: 'SCHEMA_MISMATCH', message: expect.stringMatching(/message index 7 at depth 0 names no message/) });
  });
});

describe('KAFKA_VALUE_FORMAT', () => {
  const schemas = fixtures.cases.filter((c, i, all) => all.findIndex((x) => x.id === c.id) === i).map(compiled);
  const registry = registryOf(schemas);
  const avro = Buffer.from(fixtures.cases[0]!.value, 'hex');
  const proto = Buffer.from(fixtures.cases.find((x) => x.schemaType === 'PROTOBUF')!.value, 'hex');

  it('avro: a record that is not framed, a Protobuf schema and an unknown id are dead letters naming why', () => {
    const d = valueDecoder('avro', jsonDecoder, registry);
    expect(fail(d.decode(Buffer.from('{"a":1}'), META))).toMatchObject({ code: 'NOT_FRAMED', message: expect.stringMatching(/KAFKA_VALUE_FORMAT=avro/) });
    expect(fail(d.decode(proto, META))).toMatchObject({ code: 'SCHEMA_TYPE_MISMATCH', message: 'schema id 21 is a Protobuf schema, but KAFKA_VALUE_FORMAT is avro' });
    const unknown = Buffer.from(avro);
    unknown.writeUInt32BE(999, 1);
    expect(fail(d.decode(unknown, META))).toMatchObject({ code: 'SCHEMA_NOT_FOUND', message: 'schema id 999 is not in the registry (404, error code 40403)' });
    expect(fail(d.decode(null, META)).code).toBe('EMPTY_RECORD');
    expect(ok(d.decode(avro, META)).fields['user']).toBe('alice');
  });

  it('auto: framed records by their schema, whatever its type; anything else as json', () => {
    const d = valueDecoder('auto', jsonDecoder, registry);
    expect(ok(d.decode(avro, META)).fields['user']).toBe('alice');
    expect(ok(d.decode(proto, META)).fields['user']).toBe('bob');
    expect(ok(d.decode(Buffer.from('{"a":1}'), META))).toEqual({ ok: true, fields: { a: 1 }, raw: false });
    expect(ok(d.decode(Buffer.from('plain'), META))).toEqual({ ok: true, fields: { _raw: 'plain' }, raw: true });
  });

  it('text: always _raw, even JSON; not UTF-8 is a dead letter', () => {
    expect(ok(textDecoder.decode(Buffer.from('{"a":1}'), META))).toEqual({ ok: true, fields: { _raw: '{"a":1}' }, raw: true });
    expect(fail(textDecoder.decode(Buffer.from([0xff]), META)).code).toBe('INVALID_UTF8');
  });

  it('a schema the registry has not answered for makes only that decode wait', async () => {
    let answer!: (s: CompiledSchema) => void;
    const slow = { lookup: () => new Promise<CompiledSchema>((r) => (answer = r)) } as unknown as SchemaRegistry;
    const pending = valueDecoder('avro', jsonDecoder, slow).decode(avro, META);
    expect(pending).toBeInstanceOf(Promise);
    answer(schemas[0]!);
    expect(ok(await pending).fields['user']).toBe('alice');
  });

  it('KAFKA_KEY_FORMAT: a framed key becomes its JSON text (a string key its string); under auto an unframed key stays text; an unreadable key dead-letters the record', async () => {
    const keySchema = compileAvro('{"type":"record","name":"K","fields":[{"name":"tenant","type":"string"},{"name":"n","type":"int"}]}');
    const stringKey = compileAvro('"string"');
    const keys = registryOf([...schemas, { kind: 'avro', id: 41, reader: keySchema }, { kind: 'avro', id: 42, reader: stringKey }]);
    const frame = (id: number, payload: number[]): Buffer => Buffer.from([0, 0, 0, 0, id, ...payload]);
    const recordKey = frame(41, [0x08, ...Buffer.from('acme'), 0x06]); // {tenant: "acme", n: 3}
    const textKey = frame(42, [0x04, ...Buffer.from('db')]);
    const auto = withKeys('auto', valueDecoder('json', jsonDecoder, keys), keys);
    expect(ok(auto.decode(Buffer.from('{"a":1}'), META, recordKey))).toEqual({ ok: true, fields: { a: 1 }, raw: false, key: '{"tenant":"acme","n":3}' });
    expect(ok(auto.decode(Buffer.from('{"a":1}'), META, textKey)).key).toBe('db');
    expect(ok(auto.decode(Buffer.from('{"a":1}'), META, Buffer.from('plain-key'))).key).toBeUndefined();
    expect(ok(auto.decode(Buffer.from('{"a":1}'), META, null)).key).toBeUndefined();
    const strict = withKeys('avro', valueDecoder('avro', jsonDecoder, keys), keys);
    expect(ok(strict.decode(avro, META, recordKey))).toMatchObject({ fields: { user: 'alice' }, key: '{"tenant":"acme","n":3}', schema: { id: 11 } });
    expect(fail(strict.decode(avro, META, Buffer.from('plain-key')))).toEqual({ ok: false, code: 'KEY_NOT_FRAMED', message: 'the key: the key is not in the schema-registry wire format, as KAFKA_KEY_FORMAT=avro says it is' });
    expect(fail(strict.decode(avro, META, proto))).toMatchObject({ code: 'KEY_SCHEMA_TYPE_MISMATCH', message: 'the key: schema id 21 is a Protobuf schema, but KAFKA_KEY_FORMAT is avro' });
    // A value that cannot be read is the reason, whatever the key.
    expect(fail(strict.decode(Buffer.from('{}'), META, recordKey)).code).toBe('NOT_FRAMED');
    // A key whose schema is not cached waits, and only it.
    let answer!: (s: CompiledSchema) => void;
    const slow = { lookup: (id: number) => (id === 41 ? new Promise<CompiledSchema>((r) => (answer = r)) : keys.lookup(id)) } as unknown as SchemaRegistry;
    const pending = withKeys('avro', valueDecoder('avro', jsonDecoder, slow), slow).decode(avro, META, recordKey);
    expect(pending).toBeInstanceOf(Promise);
    answer({ kind: 'avro', id: 41, reader: keySchema });
    expect(ok(await pending).key).toBe('{"tenant":"acme","n":3}');
  });

  it('needs a registry for the schema-registry formats', () => {
    expect(() => valueDecoder('protobuf', jsonDecoder, undefined)).toThrow(/needs SCHEMA_REGISTRY_URL/);
    expect(() => withKeys('avro', jsonDecoder, undefined)).toThrow(/KAFKA_KEY_FORMAT=avro needs SCHEMA_REGISTRY_URL/);
    expect(withKeys('text', jsonDecoder, undefined)).toBe(jsonDecoder);
  });
});

describe('the pieces', () => {
  it('message indexes: [0] as one byte, a path as a count and zig-zag varints', () => {
    expect(messageIndexes(Buffer.from([0, 0, 0, 0, 1, 0x00, 0xaa]))).toEqual({ indexes: [0], payloadStart: 6 });
    expect(messageIndexes(Buffer.from([0, 0, 0, 0, 1, 0x04, 0x02, 0x00, 0xaa]))).toEqual({ indexes: [1, 0], payloadStart: 8 });
    expect(() => messageIndexes(Buffer.from([0, 0, 0, 0, 1, 0x04, 0x02]))).toThrow(/run past the end/);
  });

  it('decimals are exact text; timestamps ISO 8601 with their precision, before 1970 too', () => {
    expect(decimalText(Buffer.from([0xff, 0x85]), 2)).toBe('-1.23');
    expect(decimalText(Buffer.from([0x00, 0x05]), 3)).toBe('0.005');
    expect(decimalText(Buffer.from('0de0b6b3a7640000', 'hex'), 0)).toBe('1000000000000000000');
    expect(isoTime(-1, 1e3, 'Z')).toBe('1969-12-31T23:59:59.999Z');
    expect(isoTime('1764840615123456789', 1e9, 'Z')).toBe('2025-12-04T09:30:15.123456789Z');
    expect(isoTime(0, 1e6, '')).toBe('1970-01-01T00:00:00.000000');
  });

  it('a long beyond 2^53 is decimal text, exactly; within it a number', () => {
    const reader = compileAvro('"long"');
    const enc = (n: bigint): Buffer => {
      let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
      const out: number[] = [];
      do {
        const b = Number(z & 0x7fn);
        z >>= 7n;
        out.push(z ? b | 0x80 : b);
      } while (z);
      return Buffer.from(out);
    };
    for (const n of [0n, -1n, 1n, 2n ** 53n - 1n, -(2n ** 53n) + 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      const want = n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n.toString();
      expect(ok(decodeWith({ kind: 'avro', id: 1, reader }, Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), enc(n)]), undefined, 'avro')).fields).toEqual({ value: want });
    }
  });

  it('an invalid schema is refused with the reason', () => {
    expect(() => compileAvro('{"type":"record","name":"R","fields":[{"name":"a","type":"nosuch"}]}')).toThrow(/unknown type "nosuch"/);
    expect(() => compileAvro('{not json')).toThrow(/not JSON/);
    expect(() => compileProtobuf('syntax = "proto3"; message M { Missing m = 1; }', [])).toThrow(/cannot be used/);
  });

  it('a recursive Avro type and a map key __proto__ stay plain data', () => {
    const reader = compileAvro('{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]},{"name":"m","type":{"type":"map","values":"int"}}]}');
    // v=1, next=branch 1 → {v=2, next=null, m={}}, m={"__proto__": 5}
    const proto = Buffer.from('__proto__');
    const bytes = Buffer.from([0, 0, 0, 0, 1, 0x02, 0x02, 0x04, 0x00, 0x00, 0x02, proto.length * 2, ...proto, 0x0a, 0x00]);
    const d = ok(decodeWith({ kind: 'avro', id: 1, reader }, bytes, undefined, 'avro'));
    expect(d.fields).toEqual({ v: 1, next: { v: 2, next: null, m: {} }, m: JSON.parse('{"__proto__":5}') });
    expect(Object.getPrototypeOf(d.fields['m'])).toBe(Object.prototype);
  });
});
