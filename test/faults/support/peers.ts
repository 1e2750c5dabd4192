/**
 * The receivers a fault scenario ships to, each a real peer behind a TcpGate (so "the sink is down" is
 * the same for all five: connections refused and open ones cut, while what the peer already holds can
 * still be read directly):
 *   hec     the Splunk HEC test receiver in its own process (test/support/hec), every event recorded;
 *   syslog  a real rsyslogd, RFC 5425 TLS input (test/support/rsyslog.ts);
 *   sqs     ElasticMQ (Maven Central), one queue per scenario;
 *   s3      MinIO (Go module proxy), one prefix per scenario;
 *   form    the multipart form POST receiver in its own process (test/support/form-receiver), with a
 *           bearer token, at most 20 rows a POST, every POST checked strictly.
 * Started once per test file; every scenario has its own run id, queue and prefix.
 */
import { randomBytes } from 'node:crypto';
import { HecProcess } from '../../support/hec/process.ts';
import { RsyslogPeer } from '../../support/rsyslog.ts';
import { ElasticMqPeer } from '../../support/elasticmq.ts';
import { MinioPeer } from '../../support/minio.ts';
import { TcpGate } from '../../support/tcp-gate.ts';
import { FormReceiverProcess } from '../../support/form-receiver/process.ts';
import { sleep } from '../../support/instance.ts';

export type SinkName = 'hec' | 'syslog' | 'sqs' | 's3' | 'form';
export const ALL_SINKS: readonly SinkName[] = ['hec', 'syslog', 'sqs', 's3', 'form'];

/** The SINKS name of each, which is also the `logstream.sink` header of its dead letters. */
export const SINK_KIND: Record<SinkName, string> = { hec: 'splunk_hec', syslog: 'syslog', sqs: 'sqs', s3: 's3', form: 'form_post' };

type Row = Record<string, unknown>;

export class FaultPeers {
  readonly sinks: readonly SinkName[];
  readonly hecToken = `hec-${randomBytes(12).toString('hex')}`;
  readonly formToken = `form-${randomBytes(12).toString('hex')}`;
  form: FormReceiverProcess | undefined;
  hec: HecProcess | undefined;
  syslog: RsyslogPeer | undefined;
  sqs: ElasticMqPeer | undefined;
  s3: MinioPeer | undefined;
  readonly bucket = `faults-${randomBytes(4).toString('hex')}`;
  readonly gates = new Map<SinkName, TcpGate>();
  readonly #shut = new Set<SinkName>();

  private constructor(sinks: readonly SinkName[]) {
    this.sinks = sinks;
  }

  static async start(sinks: readonly SinkName[] = ALL_SINKS): Promise<FaultPeers> {
    const p = new FaultPeers(sinks);
    try {
      await Promise.all(sinks.map((s) => p.#startOne(s)));
    } catch (err) {
      await p.close();
      throw err;
    }
    return p;
  }

  async #startOne(s: SinkName): Promise<void> {
    let port: number;
    if (s === 'hec') {
      this.hec = await HecProcess.start(['--port', '0', '--host', '127.0.0.1', '--token', this.hecToken]);
      port = this.hec.port;
    } else if (s === 'syslog') {
      this.syslog = await RsyslogPeer.start();
      port = this.syslog.tlsPort;
    } else if (s === 'form') {
      this.form = await FormReceiverProcess.start(['--port', '0', '--auth-header', 'Authorization', '--auth-value', `Bearer ${this.formToken}`]);
      port = this.form.port;
    } else if (s === 'sqs') {
      this.sqs = await ElasticMqPeer.start();
      port = this.sqs.port;
    } else {
      this.s3 = await MinioPeer.start();
      await this.s3.createBucket(this.bucket);
      port = Number(new URL(this.s3.endpoint).port);
    }
    this.gates.set(s, await TcpGate.open(port));
  }

  #gatePort(s: SinkName): number {
    return this.gates.get(s)!.port;
  }

  /** Prepares per-scenario state (the SQS queue) for `key`. */
  async prepare(key: string, sinks: readonly SinkName[]): Promise<void> {
    if (sinks.includes('sqs')) await this.sqs!.createQueue(key);
  }

  /** The environment that makes an instance ship to `sinks` (all through their gates), for scenario `key`. */
  env(key: string, sinks: readonly SinkName[]): Record<string, string> {
    const env: Record<string, string> = { SINKS: sinks.map((s) => SINK_KIND[s]).join(',') };
    for (const s of sinks) {
      const kind = SINK_KIND[s].toUpperCase().replace('SPLUNK_', '').replace('_', '');
      env[`${kind}_RETRY_MAX`] = '2s';
      if (s === 'hec') Object.assign(env, { HEC_URLS: `http://127.0.0.1:${this.#gatePort('hec')}`, HEC_TOKEN: this.hecToken });
      if (s === 'form') Object.assign(env, { FORMPOST_URL: `http://127.0.0.1:${this.#gatePort('form')}/upload`, FORMPOST_PRODUCT: 'web', FORMPOST_AUTH_VALUE: `Bearer ${this.formToken}` });
      if (s === 'syslog') Object.assign(env, { SYSLOG_URL: `tls://127.0.0.1:${this.#gatePort('syslog')}`, SYSLOG_TLS_CA_FILE: this.syslog!.caFile });
      if (s === 's3') {
        const e = this.s3!.env(this.bucket, key);
        delete e['SINKS'];
        Object.assign(env, e, { S3_ENDPOINT: `http://127.0.0.1:${this.#gatePort('s3')}` });
      }
      if (s === 'sqs') {
        const e = this.sqs!.env(key, `http://127.0.0.1:${this.#gatePort('sqs')}`);
        delete e['SINKS'];
        // ElasticMQ does not check signatures: with S3 in the same instance, both sign with MinIO's keys.
        if (sinks.includes('s3')) {
          delete e['AWS_ACCESS_KEY_ID'];
          delete e['AWS_SECRET_ACCESS_KEY'];
        }
        Object.assign(env, e);
      }
    }
    return env;
  }

  /** Values that must never appear in a log line or in /metrics. */
  secrets(): string[] {
    const out = [this.hecToken, this.formToken];
    if (this.s3) out.push(this.s3.secretAccessKey);
    return out;
  }

  /** Takes the sinks down (connections refused, open ones cut) or brings them back. */
  async shut(sinks: readonly SinkName[]): Promise<void> {
    for (const s of sinks) this.#shut.add(s);
    await Promise.all(sinks.map((s) => this.gates.get(s)!.shut()));
  }
  /** Listens again on the same ports (sinks that are not shut are left as they are); a port another
   *  process holds for a moment (a free-port probe) is tried again, every second for a minute. */
  async reopen(sinks: readonly SinkName[]): Promise<void> {
    await Promise.all(
      sinks.filter((s) => this.#shut.has(s)).map(async (s) => {
        for (let attempt = 1; ; attempt++) {
          try {
            await this.gates.get(s)!.reopen();
            this.#shut.delete(s);
            return;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 60) throw err;
            await sleep(1000);
          }
        }
      }),
    );
  }

  /** Everything `sink` holds of run `run` (records parsed back to objects). `expected` distinct ids
   *  tells SQS how long to keep receiving, and syslog how long to wait for rsyslog's queue. */
  async rows(sink: SinkName, key: string, run: string, expected: number): Promise<Row[]> {
    const ofRun = (rows: Row[]): Row[] => rows.filter((r) => r.run === run);
    if (sink === 'hec') {
      const out: Row[] = [];
      for (let offset = 0; ; ) {
        // Pages of 10 000 (a loaded machine can cut a response of hundreds of MB), each tried 3 times.
        const page = await thrice(() => this.hec!.events(offset, 10_000));
        for (const e of page.events) if (e.event && typeof e.event === 'object') out.push(e.event as Row);
        offset += page.events.length;
        if (page.events.length === 0 || offset >= page.total) break;
      }
      return ofRun(out);
    }
    if (sink === 'syslog') {
      // rsyslog writes its queue out asynchronously: wait until it holds the expected ids and is quiet.
      let last = -1;
      let rows: Row[] = [];
      for (let quiet = 0, t = 0; t < 120 && quiet < 3; t++) {
        rows = ofRun(this.syslog!.messages().flatMap((m) => parseOrNothing(m.msg)));
        if (rows.length === last && new Set(rows.map((r) => r.id)).size >= expected) quiet++;
        else quiet = 0;
        last = rows.length;
        await sleep(500);
      }
      return rows;
    }
    if (sink === 'sqs') return ofRun((await this.#sqsBodies(key, expected)).flatMap(parseOrNothing));
    if (sink === 'form') return ofRun((await this.form!.posts()).flatMap((p) => p.lines.flatMap(parseOrNothing)));
    const objs = await this.#s3Objects(key);
    return ofRun(objs.flatMap((o) => o.text.split('\n').filter((l) => l !== '').flatMap(parseOrNothing)));
  }

  /** Everything `sink` holds for scenario `key`, as text (a HEC event object as its JSON), for finding
   *  records that are not ledger JSON. */
  async texts(sink: SinkName, key: string, expected: number): Promise<string[]> {
    if (sink === 'hec') {
      const out: string[] = [];
      for (let offset = 0; ; ) {
        const page = await thrice(() => this.hec!.events(offset, 1000));
        for (const e of page.events) out.push(typeof e.event === 'string' ? e.event : JSON.stringify(e.event));
        offset += page.events.length;
        if (page.events.length === 0 || offset >= page.total) break;
      }
      return out;
    }
    if (sink === 'syslog') return this.syslog!.messages().map((m) => m.msg);
    if (sink === 'sqs') return this.#sqsBodies(key, expected);
    if (sink === 'form') return (await this.form!.posts()).flatMap((p) => p.lines);
    const objs = await this.#s3Objects(key);
    return objs.flatMap((o) => o.text.split('\n').filter((l) => l !== ''));
  }

  /** Every object under scenario `key`'s prefix, read back. */
  async #s3Objects(key: string): Promise<Array<{ text: string }>> {
    const listed = await thrice(() => this.s3!.list(this.bucket, `${key}/`));
    return thrice(() => this.s3!.readAll(this.bucket, listed.map((o) => o.key)));
  }

  readonly #sqsDrained = new Map<string, string[]>();

  /** The bodies in scenario `key`'s queue: received once (receiving hides them), then remembered. */
  async #sqsBodies(key: string, expected: number): Promise<string[]> {
    let bodies = this.#sqsDrained.get(key);
    if (!bodies) {
      bodies = (await this.sqs!.drain(key, { expected, quietMs: 3000, timeoutMs: 300_000 })).map((m) => m.body);
      this.#sqsDrained.set(key, bodies);
    }
    return bodies;
  }

  async close(): Promise<void> {
    await Promise.all([...this.gates.values()].map((g) => g.shut().catch(() => undefined)));
    await Promise.all([
      this.hec?.stop().catch(() => undefined),
      this.form?.stop().catch(() => undefined),
      this.syslog?.stop().catch(() => undefined),
      this.sqs?.close().catch(() => undefined),
      this.s3?.close().catch(() => undefined),
    ]);
  }
}

/** `f`, tried up to 3 times a second apart (the test's own reads of a peer, on a loaded machine). */
async function thrice<T>(f: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(1000);
    }
  }
}

function parseOrNothing(text: string): Row[] {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? [v as Row] : [];
  } catch {
    return [];
  }
}
