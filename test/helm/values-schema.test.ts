/**
 * The chart's values.schema.json against the code, without helm: a route may set exactly the
 * variables loadConfig reads per route, and secretFileRefs exactly those of them with a _FILE form.
 * (That helm applies the schema — bad values fail the render — is chart.integration.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PER_ROUTE_VARS } from '../../src/app-config.ts';
import { configReference } from '../../src/config-reference.ts';

const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'helm', 'logstream', 'values.schema.json'), 'utf8'));
/** Variable names logstream documents (the generated tables). */
const KNOWN = new Set([...configReference().matchAll(/^\| `([A-Z][A-Z0-9_]*)`/gm)].map((m) => m[1]!));

describe('values.schema.json for routes, against the code', () => {
  const routeVariable = new RegExp(schema.definitions.routeVariable.pattern as string);

  it('accepts as a route variable exactly the variables loadConfig reads per route', () => {
    expect([...PER_ROUTE_VARS].filter((v) => !routeVariable.test(v))).toEqual([]);
    const shared = [...KNOWN].filter((v) => !PER_ROUTE_VARS.has(v));
    expect(shared.length).toBeGreaterThan(10);
    expect(shared.filter((v) => routeVariable.test(v))).toEqual([]);
  });

  it('offers secretFileRefs for exactly the per-route variables that have a _FILE form', () => {
    const withFile = [...PER_ROUTE_VARS].filter((v) => PER_ROUTE_VARS.has(`${v}_FILE`));
    expect([...schema.definitions.route.properties.secretFileRefs.propertyNames.enum].sort()).toEqual(withFile.sort());
  });
});
