// The configuration reference, generated from the variable specs so README cannot drift from the code.
import { appVars } from './app-config.ts';
import type { VarSpecs } from './config/vars.ts';
import { deliveryVars, DELIVERY_DEFAULTS } from './delivery/config.ts';
import { kafkaVars } from './source/kafka/config.ts';
import { SINKS } from './sinks/index.ts';
import { webhookVars } from './webhook/config.ts';

function rows(specs: VarSpecs): string[] {
  return Object.entries(specs).map(([name, s]) => {
    const def = s.required ? '**required**' : s.defaultText === '' ? '' : `\`${s.defaultText}\``;
    const doc = s.secret ? `${s.doc} Secret: may be given as \`${name}_FILE\` (a path).` : s.doc;
    return `| \`${name}\` | ${def} | ${doc.replace(/\|/g, '\\|')} |`;
  });
}

const header = ['| variable | default | meaning |', '| --- | --- | --- |'];

export function configReference(): string {
  const out: string[] = [];
  out.push('### Kafka source', '', ...header, ...rows(kafkaVars), '');
  out.push('### Pipeline, HTTP, logging', '', ...header, ...rows(appVars), '');
  for (const sink of SINKS) {
    if (Object.keys(sink.vars).length === 0) continue;
    out.push(`### Sink \`${sink.type}\``, '', sink.summary, '', ...header, ...rows(sink.vars), '');
  }
  out.push('### Webhook (pull)', '', 'GET /v1/logstream/{product} on the HTTP server: JSON lines since the key\'s cursor (see "Webhook" above).', '', ...header, ...rows(webhookVars), '');
  out.push(
    '### Shared delivery settings (every sink, under its prefix)',
    '',
    'Each sink reads these with its own prefix (`FILE_BATCH_MAX_RECORDS`, `STDOUT_CONCURRENCY`, …). Defaults differ per sink; shown here with the prefix `<SINK>` and the generic defaults.',
    '',
    ...header,
    ...rows(deliveryVars('<SINK>', DELIVERY_DEFAULTS)),
    '',
  );
  return out.join('\n');
}
