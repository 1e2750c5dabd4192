/**
 * Looks for configured secrets in what a run printed (log files, /metrics, check-config output), in
 * every form they could leak in: as is, URL-encoded, base64 / base64url, hex, JSON-escaped, plus the
 * context forms a secret travels in (`Splunk <token>`, `Bearer <key>`, SASL PLAIN / Basic credentials
 * in base64) given as `extra`.
 */

export interface SecretSpec {
  /** What it is (printed instead of the value). */
  name: string;
  value: string;
  /** More strings that would betray it, e.g. an Authorization header value or a truncated head. */
  extra?: string[];
}

export interface ScanSource {
  name: string;
  text: string;
}

export interface SecretHit {
  secret: string;
  form: string;
  source: string;
  line: number;
}

/** Every form of `s` looked for, each with a label. Forms shorter than 8 characters are dropped. */
export function secretForms(s: SecretSpec): Array<{ form: string; text: string }> {
  const v = s.value;
  const forms = [
    { form: 'plain', text: v },
    { form: 'url-encoded', text: encodeURIComponent(v) },
    { form: 'form-encoded', text: new URLSearchParams({ x: v }).toString().slice(2) },
    { form: 'base64', text: Buffer.from(v).toString('base64') },
    { form: 'base64 (unpadded)', text: Buffer.from(v).toString('base64').replace(/=+$/, '') },
    { form: 'base64url', text: Buffer.from(v).toString('base64url') },
    { form: 'hex', text: Buffer.from(v).toString('hex') },
    { form: 'JSON-escaped', text: JSON.stringify(v).slice(1, -1) },
    ...(s.extra ?? []).map((text, i) => ({ form: `extra#${i + 1}`, text })),
  ];
  const seen = new Set<string>();
  return forms.filter((f) => f.text.length >= 8 && !seen.has(f.text) && (seen.add(f.text), true));
}

/** Where any form of any secret occurs (never the value itself: secret name, form, source, line). */
export function scanForSecrets(sources: readonly ScanSource[], secrets: readonly SecretSpec[]): SecretHit[] {
  const hits: SecretHit[] = [];
  const lowerCache = new Map<ScanSource, string>();
  for (const s of secrets) {
    for (const f of secretForms(s)) {
      // Hex and base64 of the same bytes can be written in either case by some encoders.
      const caseless = f.form === 'hex';
      const needle = caseless ? f.text.toLowerCase() : f.text;
      for (const src of sources) {
        let hay = src.text;
        if (caseless) {
          if (!lowerCache.has(src)) lowerCache.set(src, src.text.toLowerCase());
          hay = lowerCache.get(src)!;
        }
        const at = hay.indexOf(needle);
        if (at < 0) continue;
        hits.push({ secret: s.name, form: f.form, source: src.name, line: hay.slice(0, at).split('\n').length });
      }
    }
  }
  return hits;
}

export function describeHits(hits: readonly SecretHit[]): string {
  return hits.map((h) => `${h.secret} (${h.form}) in ${h.source}, line ${h.line}`).join('\n');
}
