// Every metric name is written here once (and documented in docs/metrics.md); the shared delivery
// wrappers emit them, so each sink gets the same telemetry without writing any.
import client from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(registry = new client.Registry()) {
  client.collectDefaultMetrics({ register: registry, prefix: 'logstream_' });
  const c = <T extends string>(name: string, help: string, labelNames: readonly T[]) =>
    new client.Counter<T>({ name, help, labelNames, registers: [registry] });
  const g = <T extends string>(name: string, help: string, labelNames: readonly T[]) =>
    new client.Gauge<T>({ name, help, labelNames, registers: [registry] });
  const h = <T extends string>(name: string, help: string, labelNames: readonly T[], buckets: number[]) =>
    new client.Histogram<T>({ name, help, labelNames, buckets, registers: [registry] });

  return {
    registry,
    receivedEvents: c('logstream_source_received_events_total', 'Records read from Kafka.', ['route', 'topic'] as const),
    receivedBytes: c('logstream_source_received_bytes_total', 'Bytes of record values read from Kafka.', ['route', 'topic'] as const),
    rawEvents: c('logstream_decode_raw_events_total', 'Records that were not a JSON object and were shipped as {"_raw": ...}.', ['route', 'topic'] as const),
    filteredEvents: c('logstream_query_filtered_events_total', 'Records acknowledged without delivery: dropped by the query (reason where, sample or suppress), or a dead letter replayed for another route (reason replay).', ['route', 'reason'] as const),
    enrichmentReloads: c('logstream_enrichment_reloads_total', 'New versions of a lookup table or MaxMind database file read after start: in use (result ok), or refused with the previous version kept (result error; the log says why).', ['source', 'result'] as const),
    suppressStateFull: c('logstream_query_suppress_state_full_total', 'Records suppress let through because its key state was full (-max-keys) with nothing expired: it fails open, so a flood of distinct keys cannot hide a record.', ['route'] as const),
    suppressSummaries: c('logstream_query_suppress_summaries_total', 'Summary records suppress -summary emitted (each stands for the repeats of one key in one window).', ['route'] as const),
    fieldsTrimmed: c('logstream_query_fields_trimmed_total', 'Fields changed by trim-fields: text cut to -max-length (action truncated), empty fields removed (action empty_removed).', ['route', 'action'] as const),
    queryErrors: c('logstream_query_errors_total', 'Records whose query evaluation failed (dead-lettered).', ['route'] as const),
    sentEvents: c('logstream_sink_sent_events_total', 'Records delivered by a sink.', ['route', 'sink'] as const),
    sentBytes: c('logstream_sink_sent_bytes_total', 'Bytes delivered by a sink, measured before compression.', ['route', 'sink'] as const),
    sinkErrors: c('logstream_sink_errors_total', 'Failed send attempts, by delivery class.', ['route', 'sink', 'class', 'code'] as const),
    retries: c('logstream_sink_retries_total', 'Batches sent again after a transient error.', ['route', 'sink'] as const),
    batchDuration: h('logstream_sink_batch_duration_seconds', 'Time from first send attempt of a batch to its acknowledgement, retries included.', ['route', 'sink'] as const, [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]),
    batchRecords: h('logstream_sink_batch_records', 'Records per batch sent.', ['route', 'sink'] as const, [1, 10, 50, 100, 500, 1000, 5000, 10000]),
    freshness: h('logstream_sink_freshness_seconds', 'Kafka timestamp of the oldest record of a delivered batch to its acknowledgement by the sink.', ['route', 'sink'] as const, [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400]),
    truncated: c('logstream_sink_truncated_events_total', 'Records cut to fit the transport (UDP datagrams, RFC 3164 packets).', ['route', 'sink'] as const),
    deadLettered: c('logstream_dead_letter_events_total', 'Records written to the dead-letter topic.', ['route', 'sink', 'code'] as const),
    enrichmentRows: g('logstream_enrichment_rows', 'Rows of each lookup table in use (1 for a MaxMind database).', ['source'] as const),
    inflightRecords: g('logstream_inflight_records', 'Records read but not yet committed, per route.', ['route'] as const),
    inflightBytes: g('logstream_inflight_bytes', 'Bytes of records read but not yet committed, per route.', ['route'] as const),
    pausedPartitions: g('logstream_paused_partitions', 'Partitions paused because the route\'s in-flight limit is reached.', ['route'] as const),
    consumerLag: g('logstream_consumer_lag', 'High watermark minus the next offset to read, per partition.', ['route', 'topic', 'partition'] as const),
    assignedPartitions: g('logstream_assigned_partitions', 'Partitions this instance owns, per topic.', ['route', 'topic'] as const),
    committedOffset: g('logstream_committed_offset', 'Last offset committed to Kafka (the next offset to read).', ['route', 'topic', 'partition'] as const),
    commits: c('logstream_commits_total', 'Offset commits, by result.', ['route', 'result'] as const),
    rebalances: c('logstream_rebalances_total', 'Group rebalances this instance took part in.', ['route'] as const),
    schemaRegistryRequests: c('logstream_schema_registry_requests_total', 'Requests to the schema registry, by result (ok, not_found, error).', ['result'] as const),
    schemaRegistryUp: g('logstream_schema_registry_up', '1 while the schema registry answers, 0 while records whose schema is not cached wait for it.', [] as const),
    sinkHealthy: g('logstream_sink_healthy', '1 when the sink delivers, 0 while it fails or is halted.', ['route', 'sink'] as const),
    routeState: g('logstream_route_state', '1 for the state a route is in on this instance (running, paused, starting, stopped, failed), 0 for the others.', ['route', 'state'] as const),
    retentionSkipped: c('logstream_retention_skipped_records_total', 'Offsets the broker deleted (retention) before the route read them: records lost to the route.', ['route', 'topic', 'partition'] as const),
    oldestUnacked: g('logstream_oldest_unacknowledged_age_seconds', 'Age (from its Kafka timestamp) of the oldest record read and not yet committed, per route and topic (0 when nothing is waiting); compare with logstream_topic_retention_seconds.', ['route', 'topic'] as const),
    topicRetention: g('logstream_topic_retention_seconds', 'retention.ms of each source topic (-1: unlimited), read at start.', ['topic'] as const),
    webhookRequests: c('logstream_webhook_requests_total', 'Webhook calls, by product and HTTP status.', ['product', 'status'] as const),
    webhookRecords: c('logstream_webhook_records_total', 'Records returned by webhook calls whose response went out.', ['product'] as const),
    webhookBytes: c('logstream_webhook_bytes_total', 'Bytes of JSON lines returned by webhook calls, before compression.', ['product'] as const),
    webhookCursorResets: c('logstream_webhook_cursor_resets_total', 'Cursors reset because their key was not called for longer than WEBHOOK_CURSOR_EXPIRY.', ['product'] as const),
    webhookSkipped: c('logstream_webhook_skipped_records_total', 'Records never returned: skipped by a cursor reset, or deleted by retention before a call read them.', ['product'] as const),
    secretReloads: c('logstream_secret_reloads_total', 'New contents of files named by *_FILE secrets and HTTP_TLS_*, by variable and result: changed (in use from the next request or connection), or unreadable / empty / invalid (the previous value kept; the log says why, never the value).', ['variable', 'result'] as const),
    httpTlsRefused: c('logstream_http_tls_refused_total', 'TLS handshakes the HTTP server refused, by reason: plain_http (plain HTTP on the TLS port), protocol_version (below TLS 1.2), client_certificate (missing or not signed by HTTP_TLS_CLIENT_CA_FILE), handshake (anything else).', ['reason'] as const),
    httpTlsReloads: c('logstream_http_tls_reloads_total', 'Renewed HTTP server certificates: ok (new connections get it), failed (the files make no valid pair yet; the previous certificate stays).', ['result'] as const),
    webhookDuration: h('logstream_webhook_request_duration_seconds', 'Time to serve a webhook call.', ['product'] as const, [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]),
  };
}
