/**
 * The chart's PrometheusRule (as `helm template` renders it with ci/full-values.yaml) uses only metric
 * names the code really exports (test/helm/metric-names.ts), or the documented external ones. Needs
 * the helm binary: `node scripts/helm.ts fetch`. The Grafana dashboard is checked without helm in
 * dashboard.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FULL_VALUES, one, render } from './helm-support.ts';
import { exportedMetrics, metricNames, type ExportedMetrics } from './metric-names.ts';

let metrics: ExportedMetrics;
beforeAll(async () => {
  metrics = await exportedMetrics();
  expect(metrics.names.size).toBeGreaterThan(20);
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
        expect(metrics.isExported(n) || EXTERNAL.has(n), `${r.alert}: ${n} is not in /metrics`).toBe(true);
      }
    }
    for (const n of ['logstream_consumer_lag', 'logstream_dead_letter_events_total', 'logstream_sink_errors_total', 'logstream_sink_healthy', 'logstream_assigned_partitions', 'kube_pod_status_ready']) {
      expect(used, n).toContain(n);
    }
  });
});
