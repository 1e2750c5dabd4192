/**
 * JSON functions. A `json` argument may be JSON text (parsed; invalid text
 * gives null, as in Presto) or an already-structured record value, since our
 * records keep their JSON types.
 */
import { QueryRuntimeError } from '../errors.ts';
import { evalJsonPath, JsonPathError, parseJsonPath, type PathStep } from '../json-path.ts';
import { setOwn } from '../fields.ts';
import { toRecordValue, type Value } from '../values.ts';
import { def, type ArgFail, type FunctionDef } from './registry.ts';

const INVALID = Symbol('invalid-json');

function asJson(v: Value): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return INVALID;
  }
}

function literalPath(lit: Value | undefined, fail: ArgFail): PathStep[] | undefined {
  if (typeof lit !== 'string') return undefined;
  try {
    return parseJsonPath(lit);
  } catch (e) {
    if (e instanceof JsonPathError) return fail(1, e.message, e.offset);
    throw e;
  }
}

function runtimePath(path: string): PathStep[] {
  try {
    return parseJsonPath(path);
  } catch (e) {
    if (e instanceof JsonPathError) throw new QueryRuntimeError(`bad JSON path '${path}': ${e.message}`);
    throw e;
  }
}

function extract(json: Value, steps: readonly PathStep[]): Value {
  const doc = asJson(json);
  if (doc === INVALID) return null;
  const v = evalJsonPath(doc, steps);
  return v === undefined ? null : v;
}

function extractScalar(json: Value, steps: readonly PathStep[]): string | null {
  const v = extract(json, steps);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

export const jsonFunctions: FunctionDef[] = [
  def({
    name: 'json_extract',
    family: 'json',
    signature: 'json_extract(json, path) → json',
    summary: 'The value at a JSONPath (`$.a.b`, `$.list[0]`, `$["dotted.key"]`), keeping its JSON type; null when absent or when the text is not JSON.',
    params: ['json', 'string'],
    returns: 'any',
    prepare: (lits, _env, fail) => {
      const steps = literalPath(lits[1], fail);
      return steps ? (json: Value) => extract(json, steps) : undefined;
    },
    impl: (json: Value, path: string) => extract(json, runtimePath(path)),
    examples: [
      { expr: "json_extract('{\"user\":{\"id\":7}}', '$.user.id')", result: 7 },
      { expr: "json_extract(body, '$.tags[1]')", input: { body: { tags: ['a', 'b'] } }, result: 'b' },
      { expr: "json_extract('{\"req.body\":{\"x\":1}}', '$[\"req.body\"]')", result: { x: 1 } },
      { expr: "json_extract('not json', '$.a')", result: null },
    ],
  }),
  def({
    name: 'json_extract_scalar',
    family: 'json',
    signature: 'json_extract_scalar(json, path) → varchar',
    summary: 'Like json_extract but returns text, and null when the value is an object or array.',
    params: ['json', 'string'],
    returns: 'string',
    prepare: (lits, _env, fail) => {
      const steps = literalPath(lits[1], fail);
      return steps ? (json: Value) => extractScalar(json, steps) : undefined;
    },
    impl: (json: Value, path: string) => extractScalar(json, runtimePath(path)),
    examples: [
      { expr: "json_extract_scalar('{\"status\":404}', '$.status')", result: '404' },
      { expr: "json_extract_scalar('{\"a\":{\"b\":1}}', '$.a')", result: null },
    ],
  }),
  def({
    name: 'json_parse',
    family: 'json',
    signature: 'json_parse(s) → json',
    summary: 'Parses JSON text into a value; text that is not JSON is a runtime error.',
    params: ['string'],
    returns: 'any',
    impl: (s: string) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        throw new QueryRuntimeError('json_parse: not valid JSON');
      }
    },
    examples: [{ expr: "json_parse('[1,2]')", result: [1, 2] }],
  }),
  def({
    name: 'json_format',
    family: 'json',
    signature: 'json_format(v) → varchar',
    summary: 'Serialises a value as compact JSON text.',
    params: ['any'],
    returns: 'string',
    impl: (v: Value) => JSON.stringify(v instanceof Date ? v.toISOString() : v),
    examples: [
      { expr: 'json_format(obj)', input: { obj: { a: [1, true] } }, result: '{"a":[1,true]}' },
      { expr: "json_format('x')", result: '"x"' },
    ],
  }),
  def({
    name: 'json_object',
    family: 'json',
    signature: 'json_object(key1, value1[, key2, value2, ...]) → json',
    summary:
      'Builds an object from key/value pairs (keys are text literals). A null value leaves its key out, so a missing field adds nothing; values keep their types (a timestamp becomes ISO 8601 text). The safe way to build nested output such as OCSF objects: no text is pasted into JSON.',
    params: ['string', 'any'],
    minArgs: 2,
    rest: 'any',
    nulls: 'pass',
    returns: 'json',
    impl: () => null,
    prepare: (literals, _env, fail) => {
      if (literals.length % 2 !== 0) return fail(literals.length - 1, 'needs key/value pairs: the last key has no value');
      const keys: string[] = [];
      for (let i = 0; i < literals.length; i += 2) {
        const k = literals[i];
        if (typeof k !== 'string' || k === '') return fail(i, 'each key must be a text literal');
        if (keys.includes(k)) return fail(i, `key '${k}' appears twice`);
        keys.push(k);
      }
      return (...args: Value[]) => {
        const out: Record<string, unknown> = {};
        for (let i = 0; i < keys.length; i++) {
          const v = args[2 * i + 1];
          if (v === null || v === undefined) continue;
          setOwn(out, keys[i] as string, toRecordValue(v));
        }
        return out;
      };
    },
    examples: [
      { expr: "json_object('ip', src, 'port', 443)", input: { src: '10.0.0.1' }, result: { ip: '10.0.0.1', port: 443 } },
      { expr: "json_object('name', user, 'uid', uid)", input: { user: 'alice' }, result: { name: 'alice' } },
      { expr: "json_object('user', json_object('name', 'a\"b'))", result: { user: { name: 'a"b' } } },
    ],
  }),
  def({
    name: 'json_array',
    family: 'json',
    signature: 'json_array(v1[, v2, ...]) → json',
    summary: 'Builds an array of the values that are not null (in order); values keep their types.',
    params: ['any'],
    minArgs: 1,
    rest: 'any',
    nulls: 'pass',
    returns: 'json',
    impl: (...args: Value[]) => args.filter((v) => v !== null && v !== undefined).map((v) => toRecordValue(v)),
    examples: [
      { expr: "json_array(json_object('type_id', 2, 'value', ip), json_object('type_id', 5, 'value', email))", input: { ip: '10.0.0.1' }, result: [{ type_id: 2, value: '10.0.0.1' }, { type_id: 5 }] },
      { expr: 'json_array(a, b, 3)', input: { b: 'x' }, result: ['x', 3] },
    ],
  }),
  def({
    name: 'json_array_length',
    family: 'json',
    signature: 'json_array_length(json) → bigint',
    summary: 'Length of a JSON array; null when the value is not an array.',
    params: ['json'],
    returns: 'number',
    impl: (json: Value) => {
      const doc = asJson(json);
      return Array.isArray(doc) ? doc.length : null;
    },
    examples: [
      { expr: "json_array_length('[1,2,3]')", result: 3 },
      { expr: 'json_array_length(tags)', input: { tags: ['x'] }, result: 1 },
    ],
  }),
];
