// docs/metrics.md documents every metric logstream registers (the process metrics prom-client adds
// under the same prefix are listed there as one group, not one by one).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/telemetry/metrics.ts';

describe('docs/metrics.md', () => {
  it('has a row for every logstream metric, with its type', async () => {
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const m = createMetrics();
    const own = (await m.registry.getMetricsAsJSON()).filter((x) => !/^logstream_(process_|nodejs_)/.test(x.name));
    expect(own.length).toBeGreaterThan(20);
    const missing = own.filter((x) => {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${x.name}\` |`));
      if (!row) return true;
      return row.split('|').map((c) => c.trim())[2] !== String(x.type);
    });
    expect(missing.map((x) => `${x.name} (${x.type})`)).toEqual([]);
  });
});
