/**
 * What the dashboard and alert checks compare against: the metric names in a PromQL expression, and
 * the names the real registry exports (createMetrics(), exactly what /metrics serves). Histogram
 * series (_bucket, _sum, _count) count as their base name. Used by dashboard.test.ts (the Grafana
 * dashboard, no helm) and alerts.integration.test.ts (the PrometheusRule as helm renders it).
 */
import client from 'prom-client';
import { createMetrics } from '../../src/telemetry/metrics.ts';

const KEYWORDS = new Set(['by', 'without', 'and', 'or', 'unless', 'bool', 'on', 'ignoring', 'offset', 'group_left', 'group_right', 'inf', 'nan', 'e']);

/** Metric names in a PromQL expression: identifiers that are not functions, keywords, labels, strings, ranges. */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (label values, Grafana $vars)
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  const names = new Set<string>();
  for (const m of s.matchAll(/(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] !== undefined) continue; // a function call
    if (KEYWORDS.has(m[1]!.toLowerCase())) continue;
    names.add(m[1]!);
  }
  return [...names];
}

export interface ExportedMetrics {
  /** The registry's /metrics text. */
  readonly text: string;
  /** Metric names in the text (from # TYPE lines and samples). */
  readonly names: ReadonlySet<string>;
  /** Whether a name (or, for _bucket/_sum/_count, its histogram or summary) is exported. */
  isExported(name: string): boolean;
  /** Label names a metric is declared with (its text has none before a sample exists). */
  labelsOf(name: string): string[];
}

/** The metrics of a fresh registry as logstream creates it. */
export async function exportedMetrics(): Promise<ExportedMetrics> {
  const { registry } = createMetrics(new client.Registry());
  const text = await registry.metrics();
  const all = registry.getMetricsAsArray();
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line) ?? /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) names.add(m[1]!);
  }
  return {
    text,
    names,
    isExported(name) {
      if (names.has(name)) return true;
      const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
      return base !== undefined && new RegExp(`^# TYPE ${base} (histogram|summary)$`, 'm').test(text);
    },
    labelsOf(name) {
      const metric = all.find((m) => m.name === name);
      return metric ? [...((metric as unknown as { labelNames?: string[] }).labelNames ?? [])] : [];
    },
  };
}
