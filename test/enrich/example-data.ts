// The enrichment data the function examples (src/query/functions/enrich.ts) and docs/query.md's
// examples are written against: a real Enrichment over the committed fixtures (assets.csv, and
// MaxMind-format databases written by fixtures/make_mmdb.py).
import { join } from 'node:path';
import { Enrichment } from '../../src/enrich/enrichment.ts';
import type { CompileOptions } from '../../src/query/index.ts';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

export function exampleEnrichment(): Enrichment {
  return new Enrichment({
    lookups: [{ name: 'assets', file: join(FIXTURES, 'assets.csv'), format: 'csv', key: undefined, match: 'cidr' }],
    reloadIntervalMs: 10_000,
    geoipDbFile: join(FIXTURES, 'city.mmdb'),
    asnDbFile: join(FIXTURES, 'asn.mmdb'),
  });
}

export function exampleCompileOptions(): CompileOptions {
  const e = exampleEnrichment();
  return { lookups: e, geoip: e.geo };
}
