import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { loadConfig } from '../../src/app-config.ts';
import { parseWebhookConfig } from '../../src/webhook/config.ts';
import { newKey } from '../../src/webhook/keys.ts';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('WEBHOOK_* configuration', () => {
  it('is off without WEBHOOK_PRODUCTS', () => {
    expect(parseWebhookConfig({})).toBeUndefined();
  });

  it('parses products, key hashes and the seed defaults', () => {
    const a = newKey();
    const b = newKey();
    const cfg = parseWebhookConfig({ WEBHOOK_PRODUCTS: 'web=logs-web, email=logs-email', WEBHOOK_KEYS: `web=${a.hash}\nemail=${b.hash.toUpperCase().replace('SHA256', 'sha256')}` })!;
    expect([...cfg.products]).toEqual([['web', 'logs-web'], ['email', 'logs-email']]);
    expect(cfg.keys).toEqual([{ product: 'web', hash: a.hash }, { product: 'email', hash: b.hash }]);
    expect(cfg.firstWindowMs).toBe(600_000);
    expect(cfg.cursorExpiryMs).toBe(86_400_000);
    expect(cfg.resetWindowMs).toBe(300_000);
  });

  it('names the variable and never echoes a key pasted instead of its hash', () => {
    const k = newKey();
    const p = problems(() => parseWebhookConfig({ WEBHOOK_PRODUCTS: 'web=t', WEBHOOK_KEYS: `web=${k.key}` }));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^WEBHOOK_KEYS: entry 1 is not product=sha256/);
    expect(p.join()).not.toContain(k.key);
  });

  it('reports bad products, unknown products in keys, missing keys', () => {
    const k = newKey();
    expect(problems(() => parseWebhookConfig({ WEBHOOK_PRODUCTS: 'Web Site=t,web=' }))).toEqual([
      expect.stringMatching(/^WEBHOOK_PRODUCTS: "Web Site=t" must be product=topic/),
      expect.stringMatching(/^WEBHOOK_PRODUCTS: "web=" must be product=topic/),
      expect.stringMatching(/^WEBHOOK_KEYS: is required/),
    ]);
    expect(problems(() => parseWebhookConfig({ WEBHOOK_PRODUCTS: 'web=t', WEBHOOK_KEYS: `mfa=${k.hash}` }))).toEqual([
      expect.stringMatching(/^WEBHOOK_KEYS: entry 1 names product "mfa", which WEBHOOK_PRODUCTS does not list/),
    ]);
  });

  it('a webhook-only instance needs neither SINKS nor KAFKA_TOPICS; without either SINKS is required', () => {
    const k = newKey();
    const cfg = loadConfig({ KAFKA_BROKERS: 'localhost:9092', WEBHOOK_PRODUCTS: 'web=t', WEBHOOK_KEYS: `web=${k.hash}` });
    expect(cfg.routes).toEqual([]);
    expect(cfg.kafka.topics).toEqual([]);
    expect(cfg.webhook?.products.get('web')).toBe('t');
    expect(problems(() => loadConfig({ KAFKA_BROKERS: 'localhost:9092', KAFKA_TOPICS: 'x' }))).toEqual([expect.stringMatching(/^SINKS: is required/)]);
    expect(problems(() => loadConfig({ KAFKA_BROKERS: 'localhost:9092', SINKS: 'stdout' }))).toEqual([expect.stringMatching(/^KAFKA_TOPICS: is required/)]);
  });
});
