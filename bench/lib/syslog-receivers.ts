// The two syslog-over-TLS receivers of the benchmark behind one interface:
//   discard  bench/lib/syslog-discard-server.ts in its own process: counts octet-counted frames and
//            throws them away (logstream's cost alone);
//   rsyslog  a real rsyslogd 8.2302 (test/support/rsyslog.ts, RsyslogPeer) writing one JSON line per
//            message; its output is counted by newlines, incrementally, never parsed (1 M messages
//            are ~3 GB of JSON).
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { RsyslogPeer } from '../../test/support/rsyslog.ts';
import { SyslogDiscardProcess } from './syslog-discard.ts';

export type SyslogReceiverKind = 'discard' | 'rsyslog';

export interface SyslogReceiverCounts {
  /** Complete messages received (discard: frames; rsyslog: lines in its output file). */
  messages: number;
  /** discard: sum of MSG-LEN (the syslog messages as sent, framing excluded); rsyslog: bytes of
   *  its JSON output file (its own format, larger than what was sent). */
  bytes: number;
  /** TLS connections accepted (discard only: rsyslog does not report them). */
  connections: number | undefined;
}

export interface SyslogReceiverStop {
  exit: string;
  problems: string[];
  /** Receiver's own diagnostics worth showing (stderr, or rsyslog's internal log minus the usual). */
  log: string;
}

export interface SyslogReceiver {
  readonly kind: SyslogReceiverKind;
  /** SYSLOG_URL for logstream. */
  readonly url: string;
  /** SYSLOG_TLS_CA_FILE for logstream. */
  readonly caFile: string;
  readonly pid: number;
  counts(): Promise<SyslogReceiverCounts>;
  /** Trouble the receiver itself saw (bad framing, failed handshakes, ...). */
  issues(): Promise<string[]>;
  stop(): Promise<SyslogReceiverStop>;
}

/** Newlines in a growing file, counted from where the last call stopped. */
export class IncrementalLineCounter {
  readonly #file: string;
  readonly #buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  #pos = 0;
  #lines = 0;

  constructor(file: string) {
    this.#file = file;
  }

  /** Lines (newline-terminated) in the file now; only the bytes appended since the last call are read. */
  count(): number {
    if (!existsSync(this.#file)) return this.#lines;
    const size = statSync(this.#file).size;
    if (size <= this.#pos) return this.#lines;
    const fd = openSync(this.#file, 'r');
    try {
      while (this.#pos < size) {
        const n = readSync(fd, this.#buf, 0, Math.min(this.#buf.length, size - this.#pos), this.#pos);
        if (n === 0) break;
        const chunk = n === this.#buf.length ? this.#buf : this.#buf.subarray(0, n);
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.#lines++;
        this.#pos += n;
      }
    } finally {
      closeSync(fd);
    }
    return this.#lines;
  }

  get bytes(): number {
    return this.#pos;
  }
}

async function startDiscard(): Promise<SyslogReceiver> {
  const p = await SyslogDiscardProcess.start();
  const issues = (s: Awaited<ReturnType<SyslogDiscardProcess['stats']>>): string[] => {
    const out: string[] = [];
    if (s.framingErrors > 0) out.push(`discard receiver: ${s.framingErrors} connection(s) with broken octet-count framing`);
    if (s.notSyslog > 0) out.push(`discard receiver: ${s.notSyslog} message(s) not starting with '<PRI>'`);
    if (s.truncatedFrames > 0) out.push(`discard receiver: ${s.truncatedFrames} connection(s) closed in the middle of a frame`);
    if (s.tlsErrors > 0) out.push(`discard receiver: ${s.tlsErrors} failed TLS handshake(s)`);
    return out;
  };
  return {
    kind: 'discard',
    url: p.url,
    caFile: p.caFile,
    pid: p.proc.pid!,
    async counts() {
      const s = await p.stats();
      return { messages: s.messages, bytes: s.messageBytes, connections: s.connections };
    },
    async issues() {
      return issues(await p.stats());
    },
    async stop() {
      const r = await p.stop();
      const problems: string[] = [];
      if (r.killed) problems.push('discard receiver did not exit after SIGTERM; killed');
      else if (r.code !== 0) problems.push(`discard receiver exit ${r.code ?? r.signal} (expected 0 after SIGTERM)`);
      if (!r.finalStats) problems.push('discard receiver printed no final counters');
      return { exit: r.killed ? 'killed' : String(r.code ?? r.signal), problems, log: p.stderr.trim() };
    },
  };
}

/** rsyslog's internal log lines that say nothing unusual (start, stop, the probes' connections). */
const USUAL_RSYSLOG_LINE = /\[origin software="rsyslogd".*\] (start|exiting on signal 15)|imtcp: .*(connection|session).*(closed|accepted)|^\s*$/;

async function startRsyslog(dir: string): Promise<SyslogReceiver> {
  const peer = await RsyslogPeer.start({ dir });
  const pid = peer.pid!;
  const lines = new IncrementalLineCounter(peer.outputFile);
  return {
    kind: 'rsyslog',
    url: `tls://127.0.0.1:${peer.tlsPort}`,
    caFile: peer.caFile,
    pid,
    async counts() {
      return { messages: lines.count(), bytes: lines.bytes, connections: undefined };
    },
    async issues() {
      return peer.running ? [] : ['rsyslogd is not running'];
    },
    async stop() {
      const problems: string[] = [];
      const wasRunning = peer.running;
      if (!wasRunning) problems.push('rsyslogd had exited before the end of the run');
      // RsyslogPeer.stop() reads the whole output file into memory (to end a partial last line),
      // which fails above 2 GiB: delete it first (rsyslogd writes on into the unlinked file).
      await rm(peer.outputFile, { force: true });
      await peer.stop();
      const log = peer
        .log()
        .split('\n')
        .filter((l) => !USUAL_RSYSLOG_LINE.test(l))
        .slice(-40)
        .join('\n');
      return { exit: wasRunning ? 'stopped' : 'exited early', problems, log };
    },
  };
}

/** Starts a receiver; `dir` is rsyslog's work dir (config, certs, output), removed by the caller. */
export async function startSyslogReceiver(kind: SyslogReceiverKind, dir: string): Promise<SyslogReceiver> {
  return kind === 'discard' ? startDiscard() : startRsyslog(dir);
}
