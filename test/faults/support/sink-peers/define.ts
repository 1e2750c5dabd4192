/**
 * What a sink peer of the fault suite is: a real receiver a logstream instance ships to, started once per
 * test file and fronted by a TcpGate (FaultPeers opens and shuts the gate; the definition only says which
 * port it fronts). One definition per sink lives beside this file; index.ts lists them.
 */
import { sleep } from '../../../support/instance.ts';

export type Row = Record<string, unknown>;

/** What a definition is told when it writes the settings of one instance (for one scenario). */
export interface SinkEnvContext {
  /** The scenario's key (its SQS queue, its S3 prefix). */
  readonly key: string;
  /** The port of this peer's TcpGate: the instance ships there, never to the peer directly. */
  readonly gatePort: number;
  /** Every sink the instance ships to (this one included), by the names of the registry. */
  readonly sinks: readonly string[];
}

/** A started peer: the handle the scenarios reach and what FaultPeers asks of it. */
export interface StartedSinkPeer<P> {
  /** The peer itself, as the scenarios reach it (`fault().hec!.control(…)`, `peers.syslog!.mtlsPort`). */
  readonly peer: P;
  /** The port its TcpGate fronts. */
  readonly port: number;
  /** Per-scenario state made before the instances start (the SQS queue). */
  prepare?(key: string): Promise<void>;
  /** The sink's own settings for an instance that ships to it through the gate (SINKS and
   *  `<settings>_RETRY_MAX` are written by FaultPeers). */
  env(c: SinkEnvContext): Record<string, string>;
  /** Values of it that must never appear in a log line or in /metrics. */
  secrets(): string[];
  /** Everything it holds for scenario `key`, as text, one record each; `expected` distinct ids tells
   *  a peer that must wait or keep receiving how long to. */
  texts(key: string, expected: number): Promise<string[]>;
  /** The records of run `run` parsed back to objects; without it, the texts that parse as JSON objects,
   *  those of the run. */
  rows?(key: string, run: string, expected: number): Promise<Row[]>;
  /** Stops it (its gate is already shut). */
  close(): Promise<void>;
}

/** One sink peer of the registry. */
export interface SinkPeer<P = unknown> {
  /** The name the scenarios use: FaultPeers.start(['hec']), fault().hec, peers.rows('hec', …). */
  readonly name: string;
  /** Its SINKS name, also the `logstream.sink` header of its dead letters. */
  readonly kind: string;
  /** The prefix of its instance settings (HEC → HEC_RETRY_MAX). */
  readonly settings: string;
  /** Starts it (once per test file). */
  start(): Promise<StartedSinkPeer<P>>;
}

/** `f`, tried up to 3 times a second apart (the test's own reads of a peer, on a loaded machine). */
export async function thrice<T>(f: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(1000);
    }
  }
}

export function parseOrNothing(text: string): Row[] {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? [v as Row] : [];
  } catch {
    return [];
  }
}

/** `env` without its SINKS (a peer helper's env() names only its own sink; FaultPeers writes SINKS). */
export function withoutSinks(env: Record<string, string>): Record<string, string> {
  const { SINKS: _, ...rest } = env;
  return rest;
}
