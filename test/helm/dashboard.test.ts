/**
 * The Grafana dashboard (helm/logstream/dashboards/logstream.json) and the chart's PrometheusRule use
 * only metric names the code really exports: every name in their PromQL must appear in the text of
 * the real registry (createMetrics(), exactly what /metrics serves). Histogram series (_bucket, _sum,
 * _count) count as their base name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import client from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { CHART, FULL_VALUES, one, render } from './helm-support.ts';

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

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; refId: string; datasource?: { uid: string } }>;
}
interface Dashboard {
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string | { query: string }; datasource?: { uid: string } }> };
}

const dashboard = JSON.parse(readFileSync(join(CHART, 'dashboards', 'logstream.json'), 'utf8')) as Dashboard;
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

let exported: Set<string>;
let metricsText: string;
let registryMetrics: ReturnType<client.Registry['getMetricsAsArray']>;

beforeAll(async () => {
  const { registry } = createMetrics(new client.Registry());
  metricsText = await registry.metrics();
  registryMetrics = registry.getMetricsAsArray();
  exported = new Set<string>();
  for (const line of metricsText.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line) ?? /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) exported.add(m[1]!);
  }
  expect(exported.size).toBeGreaterThan(20);
});

/** Label names a metric is declared with (its text has none before a sample exists). */
function labelsOf(name: string): string[] {
  const metric = registryMetrics.find((m) => m.name === name);
  return metric ? [...((metric as unknown as { labelNames?: string[] }).labelNames ?? [])] : [];
}

function isExported(name: string): boolean {
  if (exported.has(name)) return true;
  const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  return base !== undefined && new RegExp(`^# TYPE ${base} (histogram|summary)$`, 'm').test(metricsText);
}

describe('metricNames (the PromQL scanner the checks rely on)', () => {
  it('finds metric names and skips functions, labels, strings and ranges', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (sink, le) (rate(a_bucket{job=~"$job",x="y z"}[$__rate_interval])))')).toEqual(['a_bucket']);
    expect(metricNames('sum(rate(a_total[5m])) / sum(b) > 0 and on (pod) c == bool 1')).toEqual(['a_total', 'b', 'c']);
    expect(metricNames('count(x == 0) or vector(0)')).toEqual(['x']);
  });
});

describe('Grafana dashboard', () => {
  it('is a dashboard with a Prometheus datasource template variable used by every panel', () => {
    expect(dashboard.uid).toBe('logstream');
    const ds = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(ds).toMatchObject({ name: 'datasource', query: 'prometheus' });
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) expect(t.datasource?.uid, p.title).toBe('${datasource}');
    }
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) expect(v.datasource?.uid, v.name).toBe('${datasource}');
  });

  it('uses only metric names the registry exports (/metrics)', () => {
    const used = new Set<string>();
    for (const { panel, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const n of names) {
        used.add(n);
        expect(isExported(n), `${panel}: ${n} is not in /metrics`).toBe(true);
      }
    }
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      const m = /label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(q);
      expect(m, q).not.toBeNull();
      expect(isExported(m![1]!), `variable ${v.name}: ${m![1]} is not in /metrics`).toBe(true);
    }
    // the panels the issue asks for
    for (const n of [
      'logstream_sink_sent_events_total', 'logstream_sink_sent_bytes_total', 'logstream_consumer_lag', 'logstream_inflight_records', 'logstream_inflight_bytes',
      'logstream_sink_retries_total', 'logstream_dead_letter_events_total', 'logstream_sink_batch_duration_seconds_bucket', 'logstream_assigned_partitions',
      'logstream_sink_healthy', 'logstream_commits_total', 'logstream_webhook_requests_total',
    ]) expect(used, n).toContain(n);
  });

  it('queries throughput per route and sink, lag per partition and owned partitions per instance', () => {
    const find = (metric: string) => exprs.filter((e) => e.expr.includes(metric)).map((e) => e.expr).join('\n');
    expect(find('logstream_sink_sent_events_total')).toMatch(/by \(route, sink\)/);
    expect(find('logstream_consumer_lag')).toMatch(/by \(route, topic, partition\)/);
    expect(find('logstream_assigned_partitions')).toMatch(/by \(route, pod, topic\)/);
    expect(find('logstream_sink_batch_duration_seconds_bucket')).toMatch(/histogram_quantile\(0\.99, sum by \(route, sink, le\)/);
  });

  it('has a route variable, and every series of a metric with a route label is filtered by it', () => {
    const route = dashboard.templating.list.find((v) => v.name === 'route');
    expect(route).toMatchObject({ type: 'query', datasource: { uid: '${datasource}' } });
    expect(typeof route!.query === 'string' ? route!.query : route!.query.query).toMatch(/^label_values\(logstream_route_state\{[^}]*\}, route\)$/);
    // which metrics have the label, from the registry itself
    const routed = new Set([...metricsText.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!).filter((n) => labelsOf(n).includes('route')));
    expect(routed.size).toBeGreaterThan(20);
    let checked = 0;
    for (const { panel, expr } of exprs) {
      for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)) {
        const base = m[1]!.replace(/_(bucket|sum|count)$/, '');
        if (!routed.has(m[1]!) && !routed.has(base)) continue;
        checked++;
        expect(m[2], `${panel}: ${m[1]}`).toContain('route=~"$route"');
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('has panels for records lost to retention, the oldest unacknowledged record against retention, route state and freshness p99', () => {
    const find = (metric: string) => exprs.filter((e) => e.expr.includes(metric)).map((e) => e.expr).join('\n');
    expect(find('logstream_retention_skipped_records_total')).toMatch(/sum by \(route, topic\) \(increase\(/);
    expect(find('logstream_oldest_unacknowledged_age_seconds')).toMatch(/max by \(route, topic\) \(logstream_oldest_unacknowledged_age_seconds\{[^}]*\}\) \/ on \(topic\) group_left max by \(topic\) \(logstream_topic_retention_seconds\{[^}]*\} > 0\)/);
    expect(find('logstream_route_state')).toMatch(/count by \(route, state\)/);
    expect(find('logstream_sink_freshness_seconds_bucket')).toMatch(/histogram_quantile\(0\.99, sum by \(route, sink, le\)/);
  });
});

describe('PrometheusRule', () => {
  /** Not logstream's: Prometheus' own scrape health, and kube-state-metrics' pod readiness (documented as needed). */
  const EXTERNAL = new Set(['up', 'kube_pod_status_ready']);

  it('uses only metric names the registry exports (or the documented external ones)', () => {
    const rule = one(render(['-f', FULL_VALUES]), 'PrometheusRule');
    const rules = (rule.spec.groups as Array<{ rules: Array<{ alert: string; expr: string }> }>).flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(7);
    const used = new Set<string>();
    for (const r of rules) {
      const names = metricNames(r.expr);
      expect(names.length, `${r.alert}: ${r.expr}`).toBeGreaterThan(0);
      for (const n of names) {
        used.add(n);
        expect(isExported(n) || EXTERNAL.has(n), `${r.alert}: ${n} is not in /metrics`).toBe(true);
      }
    }
    for (const n of ['logstream_consumer_lag', 'logstream_dead_letter_events_total', 'logstream_sink_errors_total', 'logstream_sink_healthy', 'logstream_assigned_partitions', 'kube_pod_status_ready']) {
      expect(used, n).toContain(n);
    }
  });
});
