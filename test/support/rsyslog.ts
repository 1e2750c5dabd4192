/**
 * A real rsyslog receiver for the syslog sink's tests: `rsyslogd -n` (8.2302 from Debian: packages
 * rsyslog, rsyslog-openssl, rsyslog-gnutls) as a child process with a generated config and a
 * throw-away PKI, listening on 127.0.0.1 only:
 *
 *   tlsPort   imtcp, TLS (RFC 5425), server cert only (authMode anon: no client cert asked for)
 *   mtlsPort  imtcp, TLS, client cert REQUIRED and verified against the test CA (x509/certvalid)
 *   tcpPort   imtcp, plain; octet counting and LF framing both accepted
 *   udpPort   imudp
 *
 * TLS is per input (imtcp `streamDriver.*`, supported since 8.2106, verified on 8.2302) with the
 * OpenSSL driver lmnsd_ossl by default (`driver: 'gtls'` for lmnsd_gtls), minimum TLS 1.2.
 * Every message goes, as one JSON object per line, to `<dir>/messages.jsonl`; `messages()` parses
 * that file. rsyslog's own messages (start, stop, TLS errors) go to `<dir>/rsyslogd.log`.
 *
 * What rsyslog 8.2302 keeps (checked by test/rsyslog-peer/rsyslog-peer.integration.test.ts):
 *  - `msg` is %msg% verbatim, not normalised. RFC 5424: exactly the bytes after the SP that ends
 *    STRUCTURED-DATA (no leading space added or removed; a UTF-8 BOM is kept as U+FEFF).
 *    RFC 3164: everything after "TAG:", so it normally starts with a space (" hello"); a 3164 CEF
 *    line "<134>Jan 02 03:04:05 host CEF:0|V|P|..." is parsed with TAG "CEF:", appname "CEF" and
 *    msg "0|V|P|..." — compare CEF over 3164 against `rawmsg`.
 *  - Control characters survive (parser.escapeControlCharactersOnReceive="off"): \t, \n, \r,
 *    0x01-0x1f and 0x7f arrive as sent, except NUL which rsyslog always turns into the 4
 *    characters "#000". ONE trailing LF of a message is dropped (parser.dropTrailingLFOnReception,
 *    default on: octet-counted frames and UDP datagrams too); a second one, or a trailing CR or
 *    space, stays. With LF framing on plain TCP an LF inside a message of course ends the frame.
 *  - `"`, `\`, `]`, and non-ASCII UTF-8 (incl. astral characters) arrive unchanged in MSG.
 *  - `structuredData` is the SD text exactly as sent: escapes (\" \\ \]) are NOT undone, raw LF/tab
 *    and UTF-8 inside PARAM-VALUEs are kept. rsyslog's SD parser is lenient (it accepts e.g. an
 *    unescaped `"` inside a value), so assert the exact text. `sdParams` is the same SD parsed and
 *    UN-escaped by rsyslog's mmpstrucdata (\" -> ", \\ -> \, \] -> ], other backslashes kept);
 *    undefined when SD is "-" or mmpstrucdata could not parse it (e.g. an unescaped `"`).
 *    A repeated SD-ID keeps only the last element there.
 *  - `timereported` is RFC 3339 as sent (fraction and offset kept: "...05.123Z", "+01:00"); for a
 *    NILVALUE timestamp it is the time of reception. RFC 3164 has neither year nor zone: rsyslog
 *    runs with TZ=UTC here and guesses the year (usually the current one).
 *  - Invalid UTF-8 is written raw and becomes U+FFFD when this file reads the output.
 *  - Something that is not syslog at all (e.g. the rest of an LF-split frame) is still recorded,
 *    parsed as best rsyslog can (its first word may become the hostname); rawmsg has it verbatim.
 *
 * mTLS without a client certificate (lmnsd_ossl): with TLS 1.3 the client's handshake completes
 * ('secureConnect'), then the server sends alert 116 (certificate required) and closes: the client
 * gets ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED (rarely ECONNRESET instead, when its write hits
 * the already closed socket before the alert is read) and the message never arrives. With TLS 1.2 the
 * handshake itself fails (ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE). A cert from another CA gets
 * ERR_SSL_TLSV1_ALERT_UNKNOWN_CA. With lmnsd_gtls the handshake completes in all these cases and
 * rsyslog then drops the connection (ECONNRESET/EPIPE); the message never arrives either.
 *
 * Nothing outside `dir` is written and no system rsyslog config is read: `-f` points at the
 * generated config (never /etc/rsyslog.conf), `-i` at a pid file in `dir`, workDirectory is in
 * `dir`, internal messages are processed by the config (processInternalMessages) instead of going
 * to the journal; openssl gets its own openssl.cnf. rsyslogd runs with TZ=UTC. Works as non-root.
 * If the test process exits without stop(), running rsyslogd children are SIGKILLed on 'exit'.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { makeTestPki, type TestPki } from './pki.ts';

const execFileP = promisify(execFile);

export const RSYSLOGD = process.env.RSYSLOGD ?? '/usr/sbin/rsyslogd';

export type RsyslogInput = 'tls' | 'mtls' | 'tcp' | 'udp';
const INPUTS: readonly RsyslogInput[] = ['tls', 'mtls', 'tcp', 'udp'];

export interface RsyslogPeerOptions {
  /** Work dir (config, certs, output, logs). Default: a fresh temp dir. An output file already
   *  there (messages.jsonl) is appended to, and messages() includes what it held. */
  dir?: string;
  /** rsyslog TLS driver: 'ossl' (lmnsd_ossl, default) or 'gtls' (lmnsd_gtls). */
  driver?: 'ossl' | 'gtls';
  /** How long start()/restart() wait for all four listeners (default 20 s). */
  startTimeoutMs?: number;
}

export interface ParsedSyslog {
  input: RsyslogInput;
  pri: number;
  facility: number;
  severity: number;
  /** %timereported:::date-rfc3339% */
  timereported: string;
  hostname: string;
  appname: string;
  procid: string;
  msgid: string;
  /** %structured-data%: the SD text as sent ("-" for none), escapes not undone. */
  structuredData: string;
  /** %msg% verbatim (RFC 3164: starts with the space after "TAG:"); see the module comment. */
  msg: string;
  /** %rawmsg%: the whole message as received, without framing and without one trailing LF. */
  rawmsg?: string;
  /** SD parsed and unescaped by mmpstrucdata: { sdId: { param: value } }; undefined if none/unparsable. */
  sdParams?: Record<string, Record<string, string>>;
}

interface RawRecord {
  input: string;
  pri: number;
  facility: number;
  severity: number;
  timereported: string;
  hostname: string;
  appname: string;
  procid: string;
  msgid: string;
  structuredData: string;
  msg: string;
  rawmsg: string;
  sd: string;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** rsyslogd processes still running, SIGKILLed if the test process exits without stop(). */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(proc: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of live) {
        try {
          p.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A RainerScript string constant. Work dirs with exotic characters are refused rather than escaped. */
function q(s: string): string {
  if (!/^[A-Za-z0-9_./+@:,=-]*$/.test(s)) throw new Error(`RsyslogPeer: unsupported character in ${JSON.stringify(s)}`);
  return `"${s}"`;
}



/** Free ports on 127.0.0.1: listen on 0 (all at once, so they differ), read, close. */
async function freePorts(): Promise<{ tcp: number[]; udp: number }> {
  const servers = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise<net.Server>((res, rej) => {
          const s = net.createServer();
          s.once('error', rej);
          s.listen(0, '127.0.0.1', () => res(s));
        }),
    ),
  );
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((res, rej) => {
    sock.once('error', rej);
    sock.bind(0, '127.0.0.1', () => res());
  });
  const tcp = servers.map((s) => (s.address() as net.AddressInfo).port);
  const udp = sock.address().port;
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await new Promise<void>((r) => sock.close(() => r()));
  return { tcp, udp };
}

class PortInUseError extends Error {}

/** One line of the output file, or undefined for the head of a record cut short by kill()
 *  (see #terminatePartialLines). */
function parseRecord(line: string): ParsedSyslog | undefined {
  let r: RawRecord;
  try {
    r = JSON.parse(line) as RawRecord;
  } catch {
    return undefined;
  }
  let sdParams: Record<string, Record<string, string>> | undefined;
  if (r.sd) {
    try {
      sdParams = JSON.parse(r.sd) as Record<string, Record<string, string>>;
    } catch {
      sdParams = undefined;
    }
  }
  return {
    input: r.input as RsyslogInput,
    pri: r.pri,
    facility: r.facility,
    severity: r.severity,
    timereported: r.timereported,
    hostname: r.hostname,
    appname: r.appname,
    procid: r.procid,
    msgid: r.msgid,
    structuredData: r.structuredData,
    msg: r.msg,
    rawmsg: r.rawmsg,
    ...(sdParams ? { sdParams } : {}),
  };
}

export class RsyslogPeer {
  readonly dir: string;
  readonly driver: 'ossl' | 'gtls';
  readonly tlsPort: number;
  readonly mtlsPort: number;
  readonly tcpPort: number;
  readonly udpPort: number;
  /** The current CA and client certificate (reissue() changes them). */
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  readonly serverName = 'localhost';
  /** The generated rsyslog config. */
  readonly configFile: string;
  /** One JSON object per received message (rsyslog's output). */
  readonly outputFile: string;
  /** rsyslog's internal messages (start/stop, TLS and config errors). */
  readonly logFile: string;
  /** Milliseconds the last start()/restart() took until every listener had delivered a probe. */
  startupMs = 0;

  readonly #pidFile: string;
  readonly #probeFile: string;
  readonly #probeMsgid: string;
  readonly #startTimeoutMs: number;
  #proc: ChildProcess | undefined;
  #exited: Promise<Exit> | undefined;
  #starts = 0;
  #stderr = '';
  #readPos = 0;
  #parsed: ParsedSyslog[] = [];

  private constructor(dir: string, driver: 'ossl' | 'gtls', ports: { tcp: number[]; udp: number }, pki: TestPki, startTimeoutMs: number) {
    this.dir = dir;
    this.driver = driver;
    [this.tlsPort, this.mtlsPort, this.tcpPort] = ports.tcp as [number, number, number];
    this.udpPort = ports.udp;
    this.caFile = pki.caFile;
    this.clientCertFile = pki.clientCertFile;
    this.clientKeyFile = pki.clientKeyFile;
    this.configFile = join(dir, 'rsyslog.conf');
    this.outputFile = join(dir, 'messages.jsonl');
    this.logFile = join(dir, 'rsyslogd.log');
    this.#pidFile = join(dir, 'rsyslogd.pid');
    this.#probeFile = join(dir, 'probes.log');
    this.#probeMsgid = `probe${randomBytes(8).toString('hex')}`;
    this.#startTimeoutMs = startTimeoutMs;
    mkdirSync(join(dir, 'work'), { recursive: true });
    writeFileSync(this.configFile, this.#config(pki));
  }

  static async start(opts: RsyslogPeerOptions = {}): Promise<RsyslogPeer> {
    if (!existsSync(RSYSLOGD)) throw new Error(`RsyslogPeer: ${RSYSLOGD} not found (apt-get install -y rsyslog rsyslog-openssl rsyslog-gnutls)`);
    const dir = resolve(opts.dir ?? mkdtempSync(join(tmpdir(), 'rsyslog-peer-')));
    mkdirSync(dir, { recursive: true });
    const pki = await makeTestPki(join(dir, 'tls'), 'rsyslog-peer');
    for (let attempt = 1; ; attempt++) {
      const peer = new RsyslogPeer(dir, opts.driver ?? 'ossl', await freePorts(), pki, opts.startTimeoutMs ?? 20_000);
      // A config error makes rsyslogd log and carry on without the faulty part; -N1 fails instead.
      try {
        await execFileP(RSYSLOGD, ['-N1', '-f', peer.configFile], { cwd: dir, env: peer.#env() });
      } catch (e) {
        const err = e as Error & { stderr?: string; stdout?: string };
        throw new Error(`RsyslogPeer: config check failed (${peer.configFile}):\n${err.stderr ?? ''}${err.stdout ?? ''}`);
      }
      try {
        await peer.#launch();
        return peer;
      } catch (e) {
        // someone took a port between freePorts() and rsyslogd's bind: pick others
        if (!(e instanceof PortInUseError) || attempt >= 3) throw e;
      }
    }
  }

  #env(): Record<string, string> {
    return { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', LANG: 'C.UTF-8' };
  }

  #config(pki: TestPki): string {
    const tlsInput = (name: 'tls' | 'mtls', port: number) => {
      const auth = name === 'mtls' ? 'x509/certvalid' : 'anon';
      const prio = this.driver === 'ossl' ? 'MinProtocol=TLSv1.2' : 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2';
      return `input(type="imtcp" name="${name}" address="127.0.0.1" port="${port}" ruleset="peer"
      streamDriver.name="${this.driver}" streamDriver.mode="1" streamDriver.authMode="${auth}"
      streamDriver.CAFile=${q(pki.caFile)} streamDriver.CertFile=${q(pki.serverCertFile)} streamDriver.KeyFile=${q(pki.serverKeyFile)}
      gnutlsPriorityString="${prio}")`;
    };
    return `# generated by test/support/rsyslog.ts — run as: rsyslogd -n -f ${this.configFile} -i ${this.#pidFile}
global(
  workDirectory=${q(join(this.dir, 'work'))}
  maxMessageSize="128k"
  processInternalMessages="on"
  net.enableDNS="off"
  localHostName="rsyslog-peer"
  parser.escapeControlCharactersOnReceive="off"
)
module(load="imtcp")
module(load="imudp")
module(load="mmpstrucdata")

template(name="peerJson" type="list" option.jsonf="on") {
  property(outname="input" name="inputname" format="jsonf")
  property(outname="pri" name="pri" format="jsonf" datatype="number")
  property(outname="facility" name="syslogfacility" format="jsonf" datatype="number")
  property(outname="severity" name="syslogseverity" format="jsonf" datatype="number")
  property(outname="timereported" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="appname" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="structuredData" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="rawmsg" name="rawmsg" format="jsonf")
  property(outname="sd" name="$!rfc5424-sd" format="jsonf")
}
template(name="peerProbe" type="string" string="%inputname% %msg%\\n")

ruleset(name="peer") {
  # start-up probes from test/support/rsyslog.ts, kept out of the messages
  if $app-name == "rsyslog-peer" and $msgid == "${this.#probeMsgid}" then {
    action(type="omfile" file=${q(this.#probeFile)} template="peerProbe")
    stop
  }
  action(type="mmpstrucdata" sd_name.lowercase="off")
  action(type="omfile" file=${q(this.outputFile)} template="peerJson")
}

${tlsInput('tls', this.tlsPort)}
${tlsInput('mtls', this.mtlsPort)}
input(type="imtcp" name="tcp" address="127.0.0.1" port="${this.tcpPort}" ruleset="peer")
input(type="imudp" name="udp" address="127.0.0.1" port="${this.udpPort}" ruleset="peer")

# rsyslog's own messages (default ruleset)
action(type="omfile" file=${q(this.logFile)} template="RSYSLOG_FileFormat")
`;
  }

  get running(): boolean {
    return this.#proc !== undefined && this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.#proc?.pid : undefined;
  }

  async #launch(): Promise<void> {
    const t0 = performance.now();
    const n = ++this.#starts;
    rmSync(this.#pidFile, { force: true }); // a stale one (after SIGKILL) may name a live pid
    this.#terminatePartialLines();
    const proc = spawn(RSYSLOGD, ['-n', '-f', this.configFile, '-i', this.#pidFile], { cwd: this.dir, env: this.#env(), stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(proc);
    this.#stderr = '';
    const onOut = (c: Buffer) => {
      this.#stderr = (this.#stderr + c.toString('utf8')).slice(-16_384);
    };
    proc.stdout!.on('data', onOut);
    proc.stderr!.on('data', onOut);
    this.#proc = proc;
    this.#exited = new Promise<Exit>((res) => proc.once('exit', (code, signal) => res({ code, signal })));
    let exit: Exit | undefined;
    void this.#exited.then((e) => (exit = e));
    let spawnError: Error | undefined;
    proc.once('error', (e) => (spawnError = e));

    const pending = new Set<RsyslogInput>(INPUTS);
    const deadline = Date.now() + this.#startTimeoutMs;
    while (pending.size > 0) {
      if (spawnError) {
        this.#proc = undefined;
        throw new Error(`RsyslogPeer: cannot run ${RSYSLOGD}: ${spawnError.message}`);
      }
      if (exit) throw new Error(`RsyslogPeer: rsyslogd exited (${exit.code ?? exit.signal}) during start-up\n${this.diagnostics()}`);
      // rsyslogd logs a listener it cannot bind and runs on without it
      if (/Could not create (tcp|udp) listener/.test(this.#stderr)) {
        await this.#terminate('SIGKILL');
        throw new PortInUseError(`RsyslogPeer: a port is taken (tls ${this.tlsPort}, mtls ${this.mtlsPort}, tcp ${this.tcpPort}, udp ${this.udpPort})\n${this.diagnostics()}`);
      }
      if (Date.now() > deadline) {
        await this.#terminate('SIGKILL');
        throw new Error(`RsyslogPeer: listeners ${[...pending].join(', ')} not ready after ${this.#startTimeoutMs} ms\n${this.diagnostics()}`);
      }
      await Promise.all([...pending].map((input) => this.#probe(input, `start-${n}`)));
      for (let i = 0; i < 10 && pending.size > 0; i++) {
        await sleep(10);
        for (const input of this.#probesSeen(`start-${n}`)) pending.delete(input);
      }
    }
    this.startupMs = Math.round(performance.now() - t0);
  }

  #probesSeen(tag: string): Set<RsyslogInput> {
    const seen = new Set<RsyslogInput>();
    if (!existsSync(this.#probeFile)) return seen;
    for (const line of readFileSync(this.#probeFile, 'utf8').split('\n')) {
      const [input, msg] = line.split(' ');
      if (msg === tag && INPUTS.includes(input as RsyslogInput)) seen.add(input as RsyslogInput);
    }
    return seen;
  }

  /** One probe message over one listener; errors (not listening yet) are swallowed. */
  #probe(input: RsyslogInput, tag: string): Promise<void> {
    const m = Buffer.from(`<14>1 - rsyslog-peer rsyslog-peer - ${this.#probeMsgid} - ${tag}`);
    const frame = Buffer.concat([Buffer.from(`${m.length} `), m]);
    return new Promise<void>((res) => {
      if (input === 'udp') {
        const s = dgram.createSocket('udp4');
        s.once('error', () => s.close(() => res()));
        s.send(m, this.udpPort, '127.0.0.1', () => s.close(() => res()));
        return;
      }
      const s =
        input === 'tcp'
          ? net.connect(this.tcpPort, '127.0.0.1', () => s.end(frame))
          : tls.connect(
              {
                host: '127.0.0.1',
                port: input === 'tls' ? this.tlsPort : this.mtlsPort,
                servername: this.serverName,
                ca: readFileSync(this.caFile),
                ...(input === 'mtls' ? { cert: readFileSync(this.clientCertFile), key: readFileSync(this.clientKeyFile) } : {}),
              },
              () => s.end(frame),
            );
      const timer = setTimeout(() => s.destroy(), 1_000);
      s.on('error', () => {});
      s.resume();
      s.once('close', () => {
        clearTimeout(timer);
        res();
      });
    });
  }

  /** rsyslogd's stderr/stdout and the tail of its internal log, for error messages. */
  diagnostics(): string {
    const log = existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').split('\n').slice(-40).join('\n') : '(no log)';
    return `--- rsyslogd stderr ---\n${this.#stderr || '(empty)'}\n--- ${this.logFile} (tail) ---\n${log}`;
  }

  /** rsyslog's internal log so far (TLS errors appear here). */
  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** Every message written since start (or since clear()), in the order rsyslog processed them.
   *  The output file is read incrementally (only complete lines), so polling a large one is cheap. */
  messages(): ParsedSyslog[] {
    this.#readNew();
    return this.#parsed.slice();
  }

  /** Parses the complete lines appended to the output file since the last call. */
  #readNew(): void {
    if (!existsSync(this.outputFile)) return;
    const size = statSync(this.outputFile).size;
    if (size <= this.#readPos) return;
    const buf = Buffer.alloc(size - this.#readPos);
    const fd = openSync(this.outputFile, 'r');
    let got = 0;
    try {
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, this.#readPos + got);
        if (n === 0) break;
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    const end = buf.subarray(0, got).lastIndexOf(0x0a) + 1; // a record still being written waits
    if (end === 0) return;
    this.#readPos += end;
    for (const line of buf.subarray(0, end - 1).toString('utf8').split('\n')) {
      const m = parseRecord(line);
      if (m) this.#parsed.push(m);
    }
  }

  /** From now on messages() returns only what arrives later (the file itself is kept). */
  clear(): void {
    this.#readNew();
    this.#parsed = [];
  }

  /** Resolves with messages() once it holds at least `n` messages. */
  async waitForMessages(n: number, timeoutMs = 10_000): Promise<ParsedSyslog[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = this.messages();
      if (got.length >= n) return got;
      if (Date.now() > deadline) {
        throw new Error(`RsyslogPeer: ${got.length} of ${n} messages after ${timeoutMs} ms (rsyslogd ${this.running ? 'running' : 'not running'})\n${this.diagnostics()}`);
      }
      await sleep(25);
    }
  }

  async #terminate(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const proc = this.#proc;
    if (!proc || !this.#exited) return;
    if (this.running) {
      proc.kill(signal);
      if (signal === 'SIGTERM') {
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await this.#exited;
        clearTimeout(timer);
      }
    }
    await this.#exited;
    this.#proc = undefined;
    this.#exited = undefined;
    this.#terminatePartialLines();
  }

  /** omfile may write one record in several write(2)s: a record cut short by SIGKILL is ended with
   *  a LF, so that it stays one unparsable line (skipped by messages()) instead of swallowing the
   *  first record of the next run. */
  #terminatePartialLines(): void {
    for (const f of [this.outputFile, this.#probeFile]) {
      const size = existsSync(f) ? statSync(f).size : 0;
      if (size === 0) continue;
      // Read only the last byte: the output of a long run can be larger than a Buffer may be.
      const last = Buffer.alloc(1);
      const fd = openSync(f, 'r');
      try {
        readSync(fd, last, 0, 1, size - 1);
      } finally {
        closeSync(fd);
      }
      if (last[0] !== 0x0a) appendFileSync(f, '\n');
    }
  }

  /** SIGKILL (a crash mid-stream); messages still in rsyslog's in-memory queue are lost. */
  async kill(): Promise<void> {
    await this.#terminate('SIGKILL');
  }

  /** Starts rsyslogd again (stopping it first if running): same ports and config, output appended. */
  async restart(): Promise<void> {
    await this.#terminate('SIGTERM');
    await this.#launch();
  }

  /** A new CA with a server and a client certificate, as a CA rotation brings (not in use yet). */
  async newPki(label: string): Promise<TestPki> {
    return makeTestPki(join(this.dir, `tls-${label}`), label);
  }

  /** Restarts with `pki`: the TLS listeners serve its server certificate and trust its CA. */
  async reissue(pki: TestPki): Promise<void> {
    this.caFile = pki.caFile;
    this.clientCertFile = pki.clientCertFile;
    this.clientKeyFile = pki.clientKeyFile;
    writeFileSync(this.configFile, this.#config(pki));
    await this.restart();
  }

  /** SIGTERM (rsyslog drains its queue and exits) and wait; SIGKILL after 10 s. */
  async stop(): Promise<void> {
    await this.#terminate('SIGTERM');
  }
}
