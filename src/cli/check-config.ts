// `logstream check-config`: validates the environment and prints the resolved configuration, secrets masked.
import { loadConfig } from '../config/app-config.ts';
import { compileQuery } from '../query/index.ts';

export function checkConfigCommand(env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): void {
  const cfg = loadConfig(env);
  compileQuery(cfg.query);
  const printable = {
    ...cfg,
    sinks: cfg.sinks.map((s) => ({ type: s.definition.type, config: s.config, delivery: s.delivery })),
    webhook: cfg.webhook && {
      ...cfg.webhook,
      products: Object.fromEntries(cfg.webhook.products),
      keys: cfg.webhook.keys.map((k) => ({ product: k.product, keyId: k.hash.slice('sha256:'.length, 'sha256:'.length + 12) })),
    },
  };
  out.write(`${JSON.stringify(printable, hideFileContents, 2)}\n`);
}

/** Files read at load (CA, certificates, private keys) print as their size, never their bytes. */
function hideFileContents(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (Buffer.isBuffer(raw)) return `<${raw.length} bytes read>`;
  return value;
}
