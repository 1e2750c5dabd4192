// Process and machine facts read from /proc and node:os (Linux only): CPU seconds, RSS and peak RSS
// of a live process, and the description of the machine a benchmark ran on.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';

let clockTicks: number | undefined;

/** sysconf(_SC_CLK_TCK): the unit of utime/stime in /proc/<pid>/stat (100 on every usual Linux). */
function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface CpuTimes {
  userS: number;
  sysS: number;
}

/** utime and stime of a live process (its own threads, not its children), in seconds. */
export function readProcessCpu(pid: number): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": [0] is field 3 (state), so utime (field 14) is [11] and stime [12].
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tck = clkTck();
  return { userS: Number(fields[11]) / tck, sysS: Number(fields[12]) / tck };
}

/** VmHWM (peak resident set size) of a live process, in bytes. */
export function readPeakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** VmRSS (current resident set size) of a live process, in bytes. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  kafka: string;
  kcat: string;
}

function kcatVersion(): string {
  try {
    const out = execFileSync('kcat', ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const m = /Version\s+(\S+).*?(librdkafka\s+\S+)/.exec(out);
    return m ? `${m[1]} (${m[2]})` : 'unknown';
  } catch {
    return 'not installed';
  }
}

export function machineInfo(kafkaVersion: string): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `Linux ${release()}`,
    node: process.version,
    kafka: kafkaVersion,
    kcat: kcatVersion(),
  };
}
