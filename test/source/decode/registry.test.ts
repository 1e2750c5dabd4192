// The registry client's rules, against an HTTP server in this process that answers as a registry would
// in each case (the real registry, Apicurio, is in test/integration/schema-registry.integration.test.ts):
// what is retried and what is final, failover, one request per id, and no secret in any output.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../../src/config/secret.ts';
import { SchemaRegistry } from '../../../src/source/decode/registry.ts';
import type { SchemaRegistryConfig } from '../../../src/source/decode/registry-config.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

const PASSWORD = 'pw-never-printed-7c1d';
const AVRO = JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'string' }] });

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: Server[] = [];
const clients: SchemaRegistry[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(handler: Handler): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url!);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify(body));
};

function client(urls: string[], extra: Partial<SchemaRegistryConfig> = {}) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  const counts = { ok: 0, not_found: 0, error: 0, up: [] as boolean[] };
  const cfg: SchemaRegistryConfig = { urls, auth: { kind: 'basic', username: 'logstream', password: new Secret(PASSWORD) }, timeoutMs: 1000, cacheSize: 10, tls: { insecure: false }, ...extra };
  const c = new SchemaRegistry(cfg, logger, { request: (r) => counts[r]++, up: (u) => counts.up.push(u) });
  clients.push(c);
  return { c, lines, counts };
}

describe('SchemaRegistry client', () => {
  it('retries 401, 5xx and a 404 without a registry error code until the schema comes; no secret in any output', async () => {
    let n = 0;
    const basic = `Basic ${Buffer.from(`logstream:${PASSWORD}`).toString('base64')}`;
    const reg = await serve((req, res) => {
      expect(req.headers['authorization']).toBe(basic);
      if (req.url === '/schemas/ids/1/versions') return json(res, 404, { message: 'no such endpoint' });
      n++;
      if (n === 1) return json(res, 401, { error_code: 40101, message: 'unauthorized' });
      if (n === 2) return json(res, 503, {});
      if (n === 3) return res.writeHead(404).end('<html>not here</html>');
      json(res, 200, { schema: AVRO });
    });
    const { c, lines, counts } = client([reg.url]);
    const found = c.lookup(1);
    expect(found).toBeInstanceOf(Promise);
    await expect.poll(() => c.problem, { timeout: 5000 }).toMatch(/schema registry unreachable for \d+ s: .* answered 401 \(error code 40101\): check the registry credentials/);
    const s = await found;
    expect(s).toMatchObject({ kind: 'avro', id: 1 });
    expect(s).not.toHaveProperty('subject'); // an older registry without /versions: no subject
    expect(c.problem).toBeUndefined();
    expect(counts.up).toEqual([true, false, true]);
    expect(counts.error).toBe(3);
    const out = [...lines, String(c.problem), JSON.stringify(counts)].join('\n');
    expect(out).toMatch(/schema registry unreachable/);
    expect(out).not.toContain(PASSWORD);
    expect(out).not.toContain(basic.slice(6));
    // Cached: no more requests, and the same object at once (not a promise).
    const before = reg.requests.length;
    expect(c.lookup(1)).toBe(s);
    expect(reg.requests.length).toBe(before);
  });

  it('a 404 the registry means (40403) is final and kept a minute; several lookups of one id make one request', async () => {
    const reg = await serve((req, res) => {
      if (req.url === '/schemas/ids/7') return json(res, 404, { error_code: 40403, message: 'Schema not found' });
      if (req.url === '/schemas/ids/8/versions') return json(res, 200, [{ subject: 'auth-value', version: 3 }]);
      setTimeout(() => json(res, 200, { schema: AVRO }), 50);
    });
    const { c } = client([reg.url]);
    expect(await c.lookup(7)).toEqual({ kind: 'missing', id: 7, message: 'schema id 7 is not in the registry (404, error code 40403)' });
    expect(c.lookup(7)).toMatchObject({ kind: 'missing' });
    const [a, b] = await Promise.all([c.lookup(8), c.lookup(8)]);
    expect(a).toBe(b);
    expect(a).toMatchObject({ kind: 'avro', id: 8, subject: 'auth-value', version: 3 });
    expect(reg.requests.filter((u) => u === '/schemas/ids/8')).toHaveLength(1);
    expect(reg.requests.filter((u) => u === '/schemas/ids/7')).toHaveLength(1);
  });

  it('fails over to the next URL, and a schema that cannot be used is final', async () => {
    const dead = await serve((_req, res) => res.destroy());
    const reg = await serve((req, res) => {
      if (req.url === '/schemas/ids/5') return json(res, 200, { schema: '{"type":"record","name":"R","fields":[{"name":"a","type":"nope"}]}' });
      if (req.url === '/schemas/ids/6') return json(res, 200, { schema: 'x', schemaType: 'XML' });
      json(res, 200, []);
    });
    const { c, counts } = client([dead.url, reg.url], { auth: { kind: 'bearer', token: new Secret(PASSWORD) } });
    expect(await c.lookup(5)).toMatchObject({ kind: 'invalid', message: expect.stringMatching(/schema id 5: unknown type "nope"/) });
    expect(await c.lookup(6)).toMatchObject({ kind: 'invalid', message: expect.stringMatching(/schema type "XML" is not one logstream reads/) });
    expect(dead.requests.length).toBeGreaterThan(0);
    expect(counts.error).toBeGreaterThan(0);
  });
});
