// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by code area
// (a package under node_modules, a folder of src/, Node internals, GC, idle).
import { readFileSync } from 'node:fs';
import { formatTable } from './table.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  /** Share of the busy time (idle excluded). */
  pct: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  functions: SelfTime[];
  areas: SelfTime[];
}

function area(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const src = /\/(src|scripts|bench)\/(.*)$/.exec(url);
  if (src) {
    const parts = src[2]!.split('/');
    return `${src[1]}/${parts.length > 1 ? `${parts[0]}/` : parts[0]}`;
  }
  return url;
}

function shortUrl(url: string): string {
  const i = url.search(/\/(node_modules|src|scripts|bench)\//);
  return i >= 0 ? url.slice(i + 1) : url.replace(/^file:\/\//, '');
}

function rank(map: Map<string, number>, busyMs: number, top: number): SelfTime[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, pct: (100 * us) / 1000 / busyMs }));
}

export function summariseCpuProfile(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time between sample i-1 and sample i: attribute it to sample i-1.
  for (let i = 0; i < p.samples.length - 1; i++) {
    const id = p.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, p.timeDeltas[i + 1] ?? 0));
  }
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    totalUs += us;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = `${functionName || '(anonymous)'}${url ? ` ${shortUrl(url)}:${lineNumber + 1}` : ''}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const busyMs = (totalUs - idleUs) / 1000;
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, functions: rank(fns, busyMs, top), areas: rank(areas, busyMs, top) };
}

export function formatProfileSummary(s: ProfileSummary): string {
  const rows = (list: SelfTime[]) => list.map((f) => [f.name, f.ms, f.pct]);
  return [
    `profile: ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(s.idleMs / 1000).toFixed(1)} s idle; shares are of the busy time`,
    '',
    formatTable(['self time by area', 'ms', '%'], rows(s.areas)),
    '',
    formatTable(['self time by function', 'ms', '%'], rows(s.functions)),
  ].join('\n');
}
