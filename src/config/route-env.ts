// Routes in the environment: `ROUTES=archive,siem` names them, and every per-route setting X is read
// as ROUTE_<NAME>_X, falling back to the unprefixed X. This module knows names and prefixes only (which
// variables are per-route is the caller's list); it gives each route its own view of the environment
// and finds the variables that no part of logstream reads.
import type { Env } from './vars.ts';

/** A route name: lower-case letters, digits and '-', starting with a letter or digit. */
export const ROUTE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** The route of a deployment without ROUTES, configured by the unprefixed variables. */
export const DEFAULT_ROUTE = 'default';

const present = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/** ROUTE_<NAME>_ for a route name (upper-cased, '-' → '_'). */
export function routePrefix(name: string): string {
  return `ROUTE_${name.toUpperCase().replace(/-/g, '_')}_`;
}

/**
 * The environment route `name` sees: for each per-route variable X, ROUTE_<NAME>_X when the route sets
 * it, else X. A variable and its `_FILE` form (a secret, or QUERY / QUERY_FILE) move together: a route
 * that sets either gets neither of the global pair, so ROUTE_SIEM_HEC_TOKEN_FILE replaces a global
 * HEC_TOKEN instead of clashing with it.
 * Returns the view and, for each variable taken from the route, the name the user wrote.
 */
export function routeView(env: Env, name: string, perRoute: ReadonlySet<string>): { env: Env; origin: Map<string, string> } {
  const prefix = routePrefix(name);
  const out: Env = { ...env };
  const origin = new Map<string, string>();
  const done = new Set<string>();
  for (const x of perRoute) {
    if (done.has(x)) continue;
    const pair = pairOf(x, perRoute);
    for (const p of pair) done.add(p);
    if (!pair.some((p) => present(env[prefix + p]))) continue;
    for (const p of pair) {
      out[p] = env[prefix + p];
      if (present(env[prefix + p])) origin.set(p, prefix + p);
    }
  }
  return { env: out, origin };
}

/** X and X_FILE when both are per-route names (the two ways of giving one value). */
function pairOf(x: string, perRoute: ReadonlySet<string>): string[] {
  if (x.endsWith('_FILE') && perRoute.has(x.slice(0, -5))) return [x.slice(0, -5), x];
  if (perRoute.has(`${x}_FILE`)) return [x, `${x}_FILE`];
  return [x];
}

/**
 * Rewrites problems found in a route's view so they name what the user wrote: `ROUTE_SIEM_HEC_URLS: …`
 * for a value the route set, `HEC_URLS (route siem): …` for a per-route one it inherited. Problems of
 * shared variables stay as they are (the same for every route, reported once).
 */
export function nameProblems(problems: readonly string[], route: string, origin: ReadonlyMap<string, string>, perRoute: ReadonlySet<string>): string[] {
  return problems.map((p) => {
    const m = /^([A-Z][A-Z0-9_]*)(:| and )/.exec(p);
    if (!m) return p.startsWith('ROUTE_') ? p : `route ${route}: ${p}`;
    const name = m[1]!;
    const from = origin.get(name);
    if (from) return `${from}${p.slice(name.length)}`;
    return perRoute.has(name) ? `${name} (route ${route})${p.slice(name.length)}` : p;
  });
}

/** Kubernetes' service-link variables (a Service named kafka gives KAFKA_PORT, KAFKA_SERVICE_HOST, …). */
const SERVICE_LINK = /_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT|PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)$/;
/** Variables of other programs that share a prefix with ours. */
const FOREIGN = new Set(['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'HTTP_PROXY_REQUEST_FULLURI']);

export interface UnknownVariables {
  /** ROUTE_… variables that name no route or no per-route variable: configuration errors. */
  errors: string[];
  /** Other variables with one of logstream's prefixes that nothing reads (a typo, an old name). */
  warnings: string[];
}

/**
 * Checks every variable that looks like logstream's. `known`: every variable some part reads (with
 * `_FILE` forms); `perRoute`: those a route may set; `prefixes`: the first words of logstream's names.
 */
export function unknownVariables(env: Env, routes: readonly string[] | undefined, known: ReadonlySet<string>, perRoute: ReadonlySet<string>, prefixes: readonly string[]): UnknownVariables {
  const errors: string[] = [];
  const warnings: string[] = [];
  const byPrefix = (routes ?? []).map((r) => ({ route: r, prefix: routePrefix(r) }));
  for (const name of Object.keys(env).sort()) {
    if (env[name] === undefined) continue;
    if (name.startsWith('ROUTE_')) {
      if (!routes) {
        errors.push(`${name}: ROUTES is not set, so no route reads it (set ROUTES, or use the unprefixed variable)`);
        continue;
      }
      const owners = byPrefix.filter((r) => name.startsWith(r.prefix) && name.length > r.prefix.length);
      const fits = owners.filter((r) => perRoute.has(name.slice(r.prefix.length)));
      if (fits.length > 1) errors.push(`${name}: ambiguous between routes ${fits.map((r) => r.route).join(' and ')}`);
      else if (fits.length === 1) continue;
      else if (owners.length > 0) {
        const r = owners[0]!;
        const rest = name.slice(r.prefix.length);
        errors.push(`${name}: ${rest} is not a per-route variable (route ${r.route}); a typo would silently fall back to the global value${near(rest, perRoute)}`);
      } else errors.push(`${name}: names no route in ROUTES (${routes.join(', ')})`);
      continue;
    }
    if (known.has(name) || FOREIGN.has(name) || SERVICE_LINK.test(name)) continue;
    if (prefixes.some((p) => name === p || name.startsWith(`${p}_`))) warnings.push(`${name}: not a logstream variable; it is ignored${near(name, known)}`);
  }
  return { errors, warnings };
}

/** ", did you mean X?" for the closest known name within two edits. */
function near(name: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    if (Math.abs(k.length - name.length) >= bestD) continue;
    const d = editDistance(name, k, bestD);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best ? `; did you mean ${best}?` : '';
}

function editDistance(a: string, b: string, cap: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= cap) return cap;
    prev = cur;
  }
  return prev[b.length]!;
}
