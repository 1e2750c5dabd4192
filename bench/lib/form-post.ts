// The form POST part of the throughput benchmark: the busboy receiver of test/support/form-receiver
// in its own process (--count-only: it still parses and checks every body strictly, only keeps
// counters), its counters checked after the run, and the report table.
import { FormReceiverProcess } from '../../test/support/form-receiver/process.ts';
import type { FormStats } from '../../test/support/form-receiver/receiver.ts';
import { readPeakRssBytes, readProcessCpu, type CpuTimes } from './proc.ts';
import { stopReceiver } from './stop-receiver.ts';
import { fmt, formatTable } from './table.ts';

const MB = 1e6;

export interface FormPostRunInfo {
  /** Accepted POSTs, rows in them, and the largest number of rows in one. */
  posts: number;
  rows: number;
  maxRows: number;
  /** Request bodies as received (multipart framing included). */
  bytesReceived: number;
  byStatus: Record<string, number>;
  invalid: number;
  invalidReasons: string[];
  /** Receiver CPU (user+sys) from just before logstream was spawned until it exited. */
  receiverCpuS: number;
  receiverPeakRssMb: number;
  receiverExit: string;
  sinkRetries: number;
  sinkErrors: number;
}

export interface FormPostReceiver {
  readonly url: string;
  readonly outputStarted: () => Promise<boolean>;
  /** After logstream has exited: the receiver's counters and cost, and what is wrong with them. */
  finish(expected: number, metrics: Record<string, number>): Promise<{ info: FormPostRunInfo; problems: string[] }>;
  /** Stops the receiver (SIGTERM, SIGKILL after 15 s); problems with its exit. */
  stop(info: FormPostRunInfo | undefined): Promise<string[]>;
}

/** Starts one receiver process for one run, so its counters and CPU time are that run's alone. */
export async function startFormPostReceiver(): Promise<FormPostReceiver> {
  const proc = await FormReceiverProcess.start(['--port', '0', '--host', '127.0.0.1', '--count-only']);
  const pid = proc.proc.pid!;
  const cpuBefore: CpuTimes = readProcessCpu(pid);
  return {
    url: proc.url,
    outputStarted: async () => (await proc.stats()).rowsAccepted > 0,
    async finish(expected, metrics) {
      const cpu = readProcessCpu(pid);
      const s: FormStats = await proc.stats();
      const info: FormPostRunInfo = {
        posts: s.accepted,
        rows: s.rowsAccepted,
        maxRows: s.maxRows,
        bytesReceived: s.bytesReceived,
        byStatus: s.byStatus,
        invalid: s.invalid,
        invalidReasons: s.invalidReasons,
        receiverCpuS: cpu.userS + cpu.sysS - cpuBefore.userS - cpuBefore.sysS,
        receiverPeakRssMb: readPeakRssBytes(pid) / MB,
        receiverExit: '',
        sinkRetries: metrics['logstream_sink_retries_total'] ?? Number.NaN,
        sinkErrors: metrics['logstream_sink_errors_total'] ?? Number.NaN,
      };
      return { info, problems: formPostProblems(s, expected) };
    },
    async stop(info) {
      const { exit, problems } = await stopReceiver(proc, 'form receiver');
      if (info) info.receiverExit = String(exit.code ?? exit.signal);
      return problems;
    },
  };
}

/** Every record in exactly one accepted POST, no POST over 20 rows, only 200 replies, no invalid body. */
export function formPostProblems(s: FormStats, expected: number): string[] {
  const problems: string[] = [];
  if (s.rowsAccepted !== expected) problems.push(`form receiver accepted ${s.rowsAccepted} rows, expected ${expected} (${s.rowsAccepted < expected ? 'records LOST' : 'duplicates'})`);
  if (s.maxRows > 20) problems.push(`a POST held ${s.maxRows} rows (more than 20)`);
  if (s.invalid > 0) problems.push(`form receiver refused ${s.invalid} invalid bodies: ${s.invalidReasons.slice(0, 3).join('; ')}`);
  const bad = Object.entries(s.byStatus).filter(([status, n]) => status !== '200' && n > 0);
  if (bad.length > 0) problems.push(`form receiver answered non-200: ${bad.map(([status, n]) => `${n} × ${status}`).join(', ')}`);
  return problems;
}

/** The receiver table of the report. */
export function formatFormPostRuns(runs: ReadonlyArray<{ name: string; formPost?: FormPostRunInfo }>): string[] {
  const rows = runs.filter((x) => x.formPost);
  if (rows.length === 0) return [];
  return [
    '',
    formatTable(
      ['form POST receiver', 'POSTs', 'rows', 'rows/POST', 'max rows', 'MB received', 'non-200', 'invalid', 'recv CPU s', 'recv RSS MB', 'retries', 'sink errors'],
      rows.map((x) => {
        const f = x.formPost!;
        const non200 = Object.entries(f.byStatus).reduce((n, [status, k]) => n + (status === '200' ? 0 : k), 0);
        return [x.name, fmt(f.posts, 0), fmt(f.rows, 0), fmt(f.rows / Math.max(1, f.posts), 1), fmt(f.maxRows, 0), fmt(f.bytesReceived / MB, 1), fmt(non200, 0), fmt(f.invalid, 0), fmt(f.receiverCpuS, 1), fmt(f.receiverPeakRssMb, 0), fmt(f.sinkRetries, 0), fmt(f.sinkErrors, 0)];
      }),
    ),
    'The receiver (test/support/form-receiver, --count-only) is its own Node process: busboy plus a structural reading of every body, every line JSON.parsed; MB received = multipart bodies.',
    'Throughput is bounded by round trips: at most one POST of at most 20 rows per partition in flight (order), so rows/s ≈ partitions × 20 / round-trip time.',
  ];
}
