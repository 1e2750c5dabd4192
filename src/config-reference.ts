// The configuration reference, generated from the variable specs so the docs cannot drift from the
// code: docs/configuration.md holds all of it, and each docs/sinks/ page its own sink's part.
import { appVars } from './app-config.ts';
import type { VarSpecs } from './config/vars.ts';
import { deliveryVars, DELIVERY_DEFAULTS } from './delivery/config.ts';
import { enrichVars, LOOKUP_TABLE_VARS } from './enrich/config.ts';
import { schemaRegistryVars } from './source/decode/registry-config.ts';
import { kafkaVars } from './source/kafka/config.ts';
import { SINKS } from './sinks/index.ts';
import { webhookVars } from './webhook/config.ts';

function rows(specs: VarSpecs): string[] {
  return Object.entries(specs).map(([name, s]) => {
    const def = s.required ? '**required**' : s.defaultText === '' ? '' : `\`${s.defaultText}\``;
    const doc = s.secret ? `${s.doc} Secret: may be given as \`${name}_FILE\` (a path), which is re-read while running (docs/operations.md, "Secrets and certificates that rotate").` : s.doc;
    return `| \`${name}\` | ${def} | ${doc.replace(/\|/g, '\\|')} |`;
  });
}

const header = ['| variable | default | meaning |', '| --- | --- | --- |'];

/** The docs/sinks/ page of a sink: stdout and stderr differ only in the stream, so they share one. */
export function sinkPage(type: string): string {
  return type === 'stderr' ? 'stdout' : type;
}

/** The shared delivery settings as this sink reads them: its prefix and its own defaults. */
function sinkDeliveryVars(sink: (typeof SINKS)[number]): VarSpecs {
  return deliveryVars(sink.envPrefix, { ...DELIVERY_DEFAULTS, ...sink.deliveryDefaults });
}

/** One row per sink: their delivery defaults differ, and users compare them side by side. */
function deliveryDefaultsTable(): string[] {
  const suffixes = Object.keys(deliveryVars('', DELIVERY_DEFAULTS)).map((k) => k.slice(1));
  const out = [`| sink | ${suffixes.map((s) => `\`_${s}\``).join(' | ')} |`, `| --- |${suffixes.map(() => ' ---: |').join('')}`];
  for (const sink of SINKS) {
    const specs = Object.values(sinkDeliveryVars(sink));
    out.push(`| \`${sink.type}\` (\`${sink.envPrefix}\`) | ${specs.map((s) => `\`${s.defaultText}\``).join(' | ')} |`);
  }
  return out;
}

/** The whole reference, for docs/configuration.md (and the chart test's list of known variables). */
export function configReference(): string {
  const out: string[] = [];
  out.push('### Kafka source', '', 'How to connect to each service, and the access rights logstream needs: [kafka.md](kafka.md).', '', ...header, ...rows(kafkaVars), '');
  out.push('### Schema registry', '', 'For `KAFKA_VALUE_FORMAT` avro, protobuf, json-schema and auto: how values are read, what each type becomes, and what happens when the registry fails: [schema-registry.md](schema-registry.md).', '', ...header, ...rows(schemaRegistryVars), '');
  out.push('### Pipeline, HTTP, logging', '', ...header, ...rows(appVars), '');
  out.push(
    '### Enrichment: lookup tables and MaxMind databases',
    '',
    'For `lookup()`, the `lookup` instruction and `geoip()` in queries ([query.md](query.md#enrichment-lookup-tables-and-geoip)). Any number of tables, each named by its variables: `LOOKUP_ASSETS_FILE` defines the table `assets`.',
    '',
    ...header,
    ...rows(enrichVars),
    ...Object.entries(LOOKUP_TABLE_VARS).map(([suffix, doc]) => `| \`LOOKUP_<NAME>_${suffix}\` | ${suffix === 'FILE' ? '' : suffix === 'MATCH' ? '`exact`' : ''} | ${doc} |`),
    '',
  );
  for (const sink of SINKS) {
    if (Object.keys(sink.vars).length === 0) continue;
    const page = `sinks/${sinkPage(sink.type)}.md`;
    out.push(`### Sink \`${sink.type}\``, '', `${sink.summary} How it behaves, and its delivery defaults: [${page}](${page}).`, '', ...header, ...rows(sink.vars), '');
  }
  out.push('### Webhook (pull)', '', "GET /v1/logstream/{product} on the HTTP server: JSON lines since the key's cursor ([webhook.md](webhook.md)).", '', ...header, ...rows(webhookVars), '');
  out.push(
    '### Shared delivery settings (every sink, under its prefix)',
    '',
    'Each sink reads these with its own prefix (`FILE_BATCH_MAX_RECORDS`, `STDOUT_CONCURRENCY`, …). Shown here with the prefix `<SINK>` and the generic defaults; each sink overrides some of them (next table).',
    '',
    ...header,
    ...rows(deliveryVars('<SINK>', DELIVERY_DEFAULTS)),
    '',
    "Each sink's defaults:",
    '',
    ...deliveryDefaultsTable(),
    '',
  );
  return out.join('\n');
}

/** The options of the sinks documented on docs/sinks/<page>.md: their own variables, then delivery. */
export function sinkReference(page: string): string {
  const sinks = SINKS.filter((s) => sinkPage(s.type) === page);
  if (sinks.length === 0) throw new Error(`no sink is documented on docs/sinks/${page}.md`);
  const out: string[] = [];
  for (const sink of sinks) {
    const own = Object.keys(sink.vars).length > 0 ? [...header, ...rows(sink.vars)] : [`\`${sink.type}\` has no variables of its own.`];
    out.push(`### \`${sink.type}\` variables`, '', ...own, '');
    out.push(
      `### \`${sink.type}\` delivery settings`,
      '',
      `The shared delivery settings ([configuration.md](../configuration.md#shared-delivery-settings-every-sink-under-its-prefix)) as \`${sink.type}\` reads them, with its own defaults.`,
      '',
      ...header,
      ...rows(sinkDeliveryVars(sink)),
      '',
    );
  }
  return out.join('\n');
}
