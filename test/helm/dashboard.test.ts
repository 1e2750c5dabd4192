/**
 * The Grafana dashboard (helm/logstream/dashboards/logstream.json) uses only metric names the code
 * really exports: every name in its PromQL must appear in the text of the real registry
 * (createMetrics(), exactly what /metrics serves; test/helm/metric-names.ts). Reads the JSON file
 * only: no helm. The chart's PrometheusRule, which helm renders, is checked the same way in
 * alerts.integration.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportedMetrics, metricNames, type ExportedMetrics } from './metric-names.ts';

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

const dashboard = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'helm', 'logstream', 'dashboards', 'logstream.json'), 'utf8')) as Dashboard;
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

let metrics: ExportedMetrics;
const isExported = (name: string): boolean => metrics.isExported(name);

beforeAll(async () => {
  metrics = await exportedMetrics();
  expect(metrics.names.size).toBeGreaterThan(20);
});

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
    const routed = new Set([...metrics.text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!).filter((n) => metrics.labelsOf(n).includes('route')));
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
