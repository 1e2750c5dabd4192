/**
 * The receivers a fault scenario ships to, each a real peer behind a TcpGate (so "the sink is down" is
 * the same for all of them: connections refused and open ones cut, while what the peer already holds can
 * still be read directly). Which peers there are, and everything particular to each (how it starts, its
 * settings, its secrets, how its records are read back), is the registry in sink-peers/ (index.ts);
 * FaultPeers only runs them: start, gates, per-scenario preparation, env, shut/reopen, read-back, close.
 * Started once per test file; every scenario has its own run id, queue and prefix.
 */
import { TcpGate } from '../../support/tcp-gate.ts';
import { sleep } from '../../support/instance.ts';
import { parseOrNothing, type Row, type StartedSinkPeer } from './sink-peers/define.ts';
import { ALL_SINKS, SINK_KIND, SINK_PEERS, sinkPeer, type PeerOf, type SinkName, type StartedPeerOf } from './sink-peers/index.ts';

export { ALL_SINKS, SINK_KIND, type PeerOf, type SinkName };

/** `peers.hec`, `peers.syslog`…: each sink's peer while it runs (undefined for a sink not started). */
type PeerAccessors = { readonly [N in SinkName]?: PeerOf<N> };

// The accessors are getters FaultPeers puts on its prototype, one per registry entry (below).
export interface FaultPeers extends PeerAccessors {}

export class FaultPeers {
  static {
    for (const { name } of SINK_PEERS) {
      Object.defineProperty(FaultPeers.prototype, name, {
        get(this: FaultPeers) {
          return this.#started.get(name)?.peer;
        },
        configurable: true,
      });
    }
  }

  readonly sinks: readonly SinkName[];
  readonly gates = new Map<SinkName, TcpGate>();
  readonly #started = new Map<SinkName, StartedSinkPeer<unknown>>();
  readonly #shut = new Set<SinkName>();

  private constructor(sinks: readonly SinkName[]) {
    this.sinks = sinks;
  }

  static async start(sinks: readonly SinkName[] = ALL_SINKS): Promise<FaultPeers> {
    const p = new FaultPeers(sinks);
    const started = await Promise.allSettled(sinks.map((s) => p.#startOne(s)));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      await p.close();
      throw failed.reason;
    }
    return p;
  }

  async #startOne(s: SinkName): Promise<void> {
    const started = await sinkPeer(s).start();
    this.#started.set(s, started);
    this.gates.set(s, await TcpGate.open(started.port));
  }

  #peer<N extends SinkName>(s: N): StartedPeerOf<N> {
    const started = this.#started.get(s);
    if (!started) throw new Error(`sink peer '${s}' is not started (these peers: ${this.sinks.join(', ')})`);
    return started as StartedPeerOf<N>;
  }

  /** The HEC receiver's token (the secrets scenario checks it never shows). */
  get hecToken(): string {
    return this.#peer('hec').token;
  }

  /** Prepares per-scenario state (the SQS queue) for `key`. */
  async prepare(key: string, sinks: readonly SinkName[]): Promise<void> {
    for (const s of sinks) await this.#peer(s).prepare?.(key);
  }

  /** The environment that makes an instance ship to `sinks` (all through their gates), for scenario `key`. */
  env(key: string, sinks: readonly SinkName[]): Record<string, string> {
    const env: Record<string, string> = { SINKS: sinks.map((s) => SINK_KIND[s]).join(',') };
    for (const s of sinks) {
      env[`${sinkPeer(s).settings}_RETRY_MAX`] = '2s';
      Object.assign(env, this.#peer(s).env({ key, gatePort: this.gates.get(s)!.port, sinks }));
    }
    return env;
  }

  /** Values that must never appear in a log line or in /metrics. */
  secrets(): string[] {
    return [...this.#started.values()].flatMap((p) => p.secrets());
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
    const p = this.#peer(sink);
    if (p.rows) return p.rows(key, run, expected);
    return (await p.texts(key, expected)).flatMap(parseOrNothing).filter((r) => r.run === run);
  }

  /** Everything `sink` holds for scenario `key`, as text (a HEC event object as its JSON), for finding
   *  records that are not ledger JSON. */
  texts(sink: SinkName, key: string, expected: number): Promise<string[]> {
    return this.#peer(sink).texts(key, expected);
  }

  async close(): Promise<void> {
    await Promise.all([...this.gates.values()].map((g) => g.shut().catch(() => undefined)));
    await Promise.all([...this.#started.values()].map((p) => p.close().catch(() => undefined)));
  }
}
