// The pull webhook's query (the unprefixed QUERY). It serves several readers at different positions,
// so with the webhook on, instructions that keep state across records are refused at start.
import { compileQuery, type CompiledQuery, type CompileOptions } from '../query/index.ts';

export function compileWebhookQuery(text: string, webhookOn: boolean, options: CompileOptions): CompiledQuery {
  return compileQuery(text, { ...options, stateless: webhookOn });
}
