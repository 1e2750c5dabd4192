// Which version of a test peer to fetch or build: the one asked for, else the environment's override
// (LOGSTREAM_<NAME>_VERSION), else the script's default; checked against `pattern` so that it can name
// a cache folder and a Maven or Go module version safely.
export function peerVersion(o: { what: string; envVar: string; fallback: string; pattern?: RegExp }, version?: string): string {
  const v = version ?? process.env[o.envVar] ?? o.fallback;
  if (!(o.pattern ?? /^[0-9A-Za-z.+_-]+$/).test(v)) throw new Error(`invalid ${o.what} version ${JSON.stringify(v)}`);
  return v;
}

/** Go module versions start with v. */
export const GO_MODULE_VERSION = /^v[0-9A-Za-z.+_-]+$/;
