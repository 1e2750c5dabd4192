// Checks of configured http(s) URLs, shared by the HTTP sinks.

/**
 * Why `s` is not a usable http(s) URL, or undefined. `credentialsVar` names the variable that holds
 * credentials instead (user:password@ in a URL would end up in logs and proxies).
 * With `quote: false` the value itself is never repeated (for URLs that are secrets).
 */
export function httpUrlProblem(s: string, credentialsVar: string, opts: { quote?: boolean } = {}): string | undefined {
  const shown = opts.quote === false ? 'the value' : JSON.stringify(s);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return `${shown} is not a URL`;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `${opts.quote === false ? `the value (${u.protocol})` : shown} is not an http(s) URL`;
  if (u.username || u.password) return `${JSON.stringify(u.origin)} must not carry credentials (use ${credentialsVar})`;
  return undefined;
}
