/**
 * Splunk HTTP Event Collector reply codes: HTTP status, HEC `code` and `text`.
 *
 * Source: the status-code table of Splunk's "Troubleshoot HTTP Event Collector" page (codes 0-20),
 * cross-checked against two independent copies of that table (the SplunkAdmins app's
 * hec_reply_code_lookup.csv, and the table quoted in Splunk's own Java HEC client, cloudfwd).
 * The `text` values are the exact strings Splunk puts in the reply body.
 */

export interface HecReplyCode {
  readonly status: number;
  readonly code: number;
  readonly text: string;
}

function c(status: number, code: number, text: string): HecReplyCode {
  return { status, code, text };
}

export const HEC = {
  success: c(200, 0, 'Success'),
  tokenDisabled: c(403, 1, 'Token disabled'),
  tokenRequired: c(401, 2, 'Token is required'),
  invalidAuthorization: c(401, 3, 'Invalid authorization'),
  invalidToken: c(403, 4, 'Invalid token'),
  noData: c(400, 5, 'No data'),
  invalidDataFormat: c(400, 6, 'Invalid data format'),
  incorrectIndex: c(400, 7, 'Incorrect index'),
  internalError: c(500, 8, 'Internal server error'),
  serverBusy: c(503, 9, 'Server is busy'),
  channelMissing: c(400, 10, 'Data channel is missing'),
  invalidChannel: c(400, 11, 'Invalid data channel'),
  eventRequired: c(400, 12, 'Event field is required'),
  eventBlank: c(400, 13, 'Event field cannot be blank'),
  ackDisabled: c(400, 14, 'ACK is disabled'),
  indexedFieldsError: c(400, 15, 'Error in handling indexed fields'),
  queryStringAuthDisabled: c(400, 16, 'Query string authorization is not enabled'),
  healthy: c(200, 17, 'HEC is healthy'),
  unhealthyQueuesFull: c(503, 18, 'HEC is unhealthy, queues are full'),
  unhealthyAckUnavailable: c(503, 19, 'HEC is unhealthy, ack service unavailable'),
  unhealthyBoth: c(503, 20, 'HEC is unhealthy, queues are full, ack service unavailable'),
} as const;

export type HecReplyName = keyof typeof HEC;

/** Health replies by code, for `setMode('unhealthy', { healthCode })`. */
export const UNHEALTHY_BY_CODE: Readonly<Record<18 | 19 | 20, HecReplyCode>> = {
  18: HEC.unhealthyQueuesFull,
  19: HEC.unhealthyAckUnavailable,
  20: HEC.unhealthyBoth,
};

/**
 * Unknown path (404) and wrong method on a known path (405). Not in the HEC table: this is the body
 * splunkd's HTTP layer was observed to send (a public interoperability record against a Splunk
 * Enterprise container); a sender must not rely on it beyond the HTTP status.
 */
export const NOT_FOUND_BODY = { text: 'The requested URL was not found on this server.', code: 404 } as const;

/**
 * The 413 body. Splunk rejects an over-long request in its HTTP layer, before HEC, so the body is not
 * a HEC JSON reply. Our reading (not in the docs): an HTML page naming both lengths, like splunkd's
 * other HTTP-layer errors. Senders must key on the HTTP status alone.
 */
export function tooLargeBody(length: number, max: number): string {
  const msg = `Content-Length of ${length} too large (maximum is ${max})`;
  return `<!doctype html><html><head><meta http-equiv="content-type" content="text/html; charset=UTF-8"><title>413 ${msg}</title></head><body><h1>${msg}</h1><p>The request your client sent was too large.</p></body></html>`;
}

/** A channel identifier must be a GUID ("Format events for HTTP Event Collector"). */
export const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
