// Syslog sink settings (SYSLOG_*, and CEF_* for the CEF formats): message format and header values,
// each a constant or taken from a record field with the constant as default, and the transport.
import { ConfigError } from '../../core/errors.ts';
import { parseVars, v, type Env } from '../../config/vars.ts';
import pkg from '../../../package.json' with { type: 'json' };
import { FACILITIES, SEVERITIES, parseFacility, syslogSeverity } from './severity.ts';
import { parseTemplate, type Template } from './template.ts';
import { readTlsFiles, type TlsFiles } from '../../config/tls-files.ts';

export const SYSLOG_FORMATS = ['rfc5424', 'rfc3164', 'cef-5424', 'cef-3164'] as const;
export type SyslogFormat = (typeof SYSLOG_FORMATS)[number];
export const SYSLOG_FRAMINGS = ['octet-counting', 'lf'] as const;
export type SyslogFraming = (typeof SYSLOG_FRAMINGS)[number];

const DEFAULT_PORT = { tls: 6514, tcp: 514, udp: 514 } as const;
export type SyslogProtocol = keyof typeof DEFAULT_PORT;

/** SD-NAME (RFC 5424 §6.3.2): 1–32 printable US-ASCII characters except '=', SP, ']' and '"'. */
const SD_NAME = /^[!#-<>-\\^-~]{1,32}$/;
/** A private SD-ID, `name@PEN` (§7.2.2): a name without '@', and an enterprise number. */
const PRIVATE_SD_ID = /^[^@]+@\d+(\.\d+)*$/;
const CEF_KEY = /^[A-Za-z0-9]+$/;

/** `[name=]field`: a record field, optionally sent under another name. */
function mapping(item: string): { name: string; field: string } {
  const eq = item.indexOf('=');
  return eq < 0 ? { name: item, field: item } : { name: item.slice(0, eq).trim(), field: item.slice(eq + 1).trim() };
}

const sdParamItem = (item: string): string | undefined => {
  const { name, field } = mapping(item);
  if (field === '') return `${JSON.stringify(item)} names no record field`;
  if (!SD_NAME.test(name)) return `${JSON.stringify(name)} is not a PARAM-NAME (1–32 printable ASCII characters, no '=', space, ']' or '"'; write name=field to rename)`;
  return undefined;
};

const cefExtensionItem = (item: string): string | undefined => {
  const { name, field } = mapping(item);
  if (field === '') return `${JSON.stringify(item)} names no record field`;
  if (!CEF_KEY.test(name)) return `${JSON.stringify(name)} is not a CEF key (letters and digits only)`;
  return undefined;
};

const facilityPattern = new RegExp(`^(${Object.keys(FACILITIES).join('|')}|1?\\d|2[0-3])$`, 'i');
const severityPattern = new RegExp(`^(${Object.keys(SEVERITIES).join('|')}|[0-7])$`, 'i');

export const syslogVars = {
  SYSLOG_URL: v.string({ doc: 'Receiver: `tls://host:6514` (RFC 5425), `tcp://host:514` (RFC 6587) or `udp://host:514` (RFC 5426); the port defaults to these.', required: true }),
  SYSLOG_FORMAT: v.oneOf(SYSLOG_FORMATS, { doc: '`rfc5424`, `rfc3164` (BSD), `cef-5424` or `cef-3164` (an ArcSight CEF line as the message of an RFC 5424 / 3164 line).', default: 'rfc5424' }),
  SYSLOG_FRAMING: v.oneOf(SYSLOG_FRAMINGS, { doc: 'On tcp/tls: `octet-counting` (`LEN SP MSG`, any bytes) or `lf` (a line per message; CR and LF inside it are sent as `\\r` and `\\n`). Not used on udp.', default: 'octet-counting' }),
  SYSLOG_UDP_MAX_BYTES: v.int({ doc: 'Datagram size at most (udp); longer messages are cut at a UTF-8 character boundary.', default: 2048, min: 480, max: 65507 }),
  SYSLOG_FACILITY: v.string({ doc: 'Facility: a name (`local0`…`local7`, `auth`, `authpriv`, `daemon`, `user`, …) or a number 0–23.', default: 'local0', pattern: facilityPattern, patternText: 'a facility name (local0…local7, kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, audit, alert, clock) or a number 0–23' }),
  SYSLOG_SEVERITY_FIELD: v.string({ doc: 'Record field holding the severity: a number 0–7 or a name (emergency, alert, critical, error, warning, notice, informational, debug and their short forms; high → error, medium → warning, low → notice).', default: 'severity' }),
  SYSLOG_SEVERITY_DEFAULT: v.string({ doc: 'Severity of records whose severity field is missing or unreadable (name or 0–7).', default: 'informational', pattern: severityPattern, patternText: 'a severity name (emergency, alert, critical, error, warning, notice, informational, debug, …) or a number 0–7' }),
  SYSLOG_HOSTNAME: v.optionalString({ doc: 'HOSTNAME (constant, or the default when SYSLOG_HOSTNAME_FIELD is missing in a record). Unset: `-` (the origin of a relayed record is not this host).' }),
  SYSLOG_HOSTNAME_FIELD: v.optionalString({ doc: 'Record field holding the HOSTNAME.' }),
  SYSLOG_APP_NAME: v.string({ doc: 'APP-NAME (RFC 3164: the TAG) (constant or default).', default: 'logstream' }),
  SYSLOG_APP_NAME_FIELD: v.optionalString({ doc: 'Record field holding the APP-NAME.' }),
  SYSLOG_PROCID: v.optionalString({ doc: 'PROCID (constant or default; RFC 5424 only). Unset: `-`.' }),
  SYSLOG_PROCID_FIELD: v.optionalString({ doc: 'Record field holding the PROCID.' }),
  SYSLOG_MSGID: v.optionalString({ doc: 'MSGID (constant or default; RFC 5424 only). Unset: `-`.' }),
  SYSLOG_MSGID_FIELD: v.optionalString({ doc: 'Record field holding the MSGID.' }),
  SYSLOG_TIME_FIELD: v.optionalString({ doc: 'Record field holding the event time: epoch seconds or milliseconds (number or numeric text) or ISO 8601 text; otherwise the Kafka timestamp is used. Sent in UTC.' }),
  SYSLOG_SD_ID: v.optionalString({ doc: 'SD-ID of the structured data element carrying SYSLOG_SD_FIELDS: `name@PEN` (your IANA private enterprise number), e.g. `logstream@32473`.' }),
  SYSLOG_SD_FIELDS: v.list({ doc: 'Record fields sent as SD-PARAMs (RFC 5424 only), comma-separated; `name=field` sends a field under another name. Empty: no structured data (`-`).', default: [], item: sdParamItem }),
  SYSLOG_MSG_TEMPLATE: v.optionalString({ doc: 'The MSG: text with `{field}` placeholders, `{.}` the whole record as JSON, `{{`/`}}` literal braces. Default: the record as JSON (a record that is only `_raw` text: that text). Not used by the CEF formats.' }),
  SYSLOG_BOM: v.bool({ doc: 'Start the RFC 5424 MSG with the UTF-8 byte order mark, which tells the receiver it is UTF-8 (RFC 5424 §6.4).', default: false }),
  SYSLOG_TLS_CA_FILE: v.optionalString({ doc: 'PEM file of CA certificates to trust (instead of the system CAs).' }),
  SYSLOG_TLS_CERT_FILE: v.optionalString({ doc: 'PEM client certificate (mutual TLS, as RFC 5425 receivers often require).' }),
  SYSLOG_TLS_KEY_FILE: v.optionalString({ doc: 'PEM client private key (mutual TLS).' }),
  SYSLOG_TLS_SERVERNAME: v.optionalString({ doc: 'Name to send (SNI) and to verify the certificate against, when it is not the URL\'s host.' }),
  SYSLOG_RATE: v.number({ doc: 'Records per second at most (backpressure: the partition slows down, nothing is dropped); 0 = unlimited.', default: 0, min: 0 }),
  SYSLOG_CONFIRM_DELAY: v.duration({ doc: 'tcp/tls: a written batch counts as delivered only if the connection is still up this long after the write; if it breaks sooner the batch is sent again (syslog has no acknowledgement). Records waiting here count against INFLIGHT_MAX_RECORDS.', default: 250, min: 0 }),
  CEF_VENDOR: v.string({ doc: 'CEF Device Vendor.', default: 'logstream' }),
  CEF_PRODUCT: v.string({ doc: 'CEF Device Product.', default: 'logstream' }),
  CEF_VERSION: v.string({ doc: 'CEF Device Version.', default: pkg.version }),
  CEF_SIGNATURE: v.string({ doc: 'CEF Device Event Class ID (constant, or the default when CEF_SIGNATURE_FIELD is missing in a record).', default: 'logstream' }),
  CEF_SIGNATURE_FIELD: v.optionalString({ doc: 'Record field holding the Device Event Class ID.' }),
  CEF_NAME: v.string({ doc: 'CEF Name (constant or default).', default: 'logstream event' }),
  CEF_NAME_FIELD: v.optionalString({ doc: 'Record field holding the CEF Name.' }),
  CEF_SEVERITY_FIELD: v.optionalString({ doc: 'Record field holding the CEF Severity: 0–10, Low, Medium, High, Very-High or a syslog severity name. Unset or unreadable: from the syslog severity (critical 9, high/error 8, medium/warning 5, low/notice 3, info 1, debug 0).' }),
  CEF_EXTENSION: v.list({ doc: 'CEF extension as `key=field` pairs, e.g. `src=sourceIP,suser=user,act=activity` (`field` alone: the key is the field name). Missing fields are left out.', default: [], item: cefExtensionItem }),
};

export interface ValueSource {
  readonly constant: string | undefined;
  readonly field: string | undefined;
}

export interface FieldMapping {
  /** The SD PARAM-NAME or CEF key. */
  readonly name: string;
  readonly field: string;
}

export interface CefConfig {
  vendor: string;
  product: string;
  version: string;
  signature: ValueSource;
  name: ValueSource;
  severityField: string | undefined;
  extension: FieldMapping[];
}

export interface SyslogConfig {
  format: SyslogFormat;
  facility: number;
  severityField: string;
  severityDefault: number;
  hostname: ValueSource;
  appName: ValueSource;
  procId: ValueSource;
  msgId: ValueSource;
  timeField: string | undefined;
  /** Undefined: no structured data (`-`). */
  sd: { id: string; params: FieldMapping[] } | undefined;
  /** Undefined: the record as JSON. */
  template: Template | undefined;
  bom: boolean;
  cef: CefConfig;
  transport: {
    protocol: SyslogProtocol;
    host: string;
    port: number;
    framing: SyslogFraming;
    udpMaxBytes: number;
    tls: TlsFiles & { servername?: string };
    /** Records per second; 0 = unlimited. */
    rate: number;
    confirmDelayMs: number;
  };
}

/** `tls://host:port` and friends; an error text when it is not one. */
export function parseSyslogUrl(s: string): { protocol: SyslogProtocol; host: string; port: number } | string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return `${JSON.stringify(s)} is not a URL (tls://host:6514, tcp://host:514 or udp://host:514)`;
  }
  const protocol = u.protocol.slice(0, -1);
  if (protocol !== 'tls' && protocol !== 'tcp' && protocol !== 'udp') return `${JSON.stringify(s)}: the scheme must be tls://, tcp:// or udp://`;
  if (u.username || u.password) return `${JSON.stringify(s)} must not carry credentials`;
  if (u.hostname === '') return `${JSON.stringify(s)} names no host`;
  if ((u.pathname !== '' && u.pathname !== '/') || u.search || u.hash) return `${JSON.stringify(s)}: a syslog URL is only scheme://host:port`;
  const port = u.port === '' ? DEFAULT_PORT[protocol] : Number(u.port);
  if (port === 0) return `${JSON.stringify(s)}: port 0`;
  return { protocol, host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

export function parseSyslogConfig(env: Env): SyslogConfig {
  const p = parseVars(syslogVars, env);
  const problems: string[] = [];

  const url = parseSyslogUrl(p.SYSLOG_URL);
  if (typeof url === 'string') problems.push(`SYSLOG_URL: ${url}`);

  const sdParams = p.SYSLOG_SD_FIELDS.map(mapping);
  if (p.SYSLOG_SD_ID !== undefined) {
    if (!SD_NAME.test(p.SYSLOG_SD_ID) || !PRIVATE_SD_ID.test(p.SYSLOG_SD_ID)) problems.push(`SYSLOG_SD_ID: must be name@PEN (your private enterprise number), at most 32 printable ASCII characters without '=', space, ']' or '"', got ${JSON.stringify(p.SYSLOG_SD_ID)}`);
  } else if (sdParams.length > 0) problems.push('SYSLOG_SD_ID: SYSLOG_SD_FIELDS needs an SD-ID for its element (e.g. logstream@32473)');
  if (sdParams.length > 0 && p.SYSLOG_FORMAT.endsWith('3164')) problems.push(`SYSLOG_SD_FIELDS: RFC 3164 has no structured data (SYSLOG_FORMAT=${p.SYSLOG_FORMAT})`);

  let template: Template | undefined;
  if (p.SYSLOG_MSG_TEMPLATE !== undefined) {
    const t = parseTemplate(p.SYSLOG_MSG_TEMPLATE);
    if (typeof t === 'string') problems.push(`SYSLOG_MSG_TEMPLATE: ${t}`);
    else template = t;
  }

  const isTls = typeof url !== 'string' && url.protocol === 'tls';
  for (const name of ['SYSLOG_TLS_CA_FILE', 'SYSLOG_TLS_CERT_FILE', 'SYSLOG_TLS_KEY_FILE', 'SYSLOG_TLS_SERVERNAME'] as const) {
    if (p[name] !== undefined && typeof url !== 'string' && !isTls) problems.push(`${name}: only for tls:// URLs (SYSLOG_URL is ${url.protocol}://)`);
  }
  if ((p.SYSLOG_TLS_CERT_FILE === undefined) !== (p.SYSLOG_TLS_KEY_FILE === undefined)) problems.push('SYSLOG_TLS_CERT_FILE: a client certificate needs SYSLOG_TLS_KEY_FILE too (and the reverse)');
  // Followed while running: the next connection uses renewed files (src/config/tls-files.ts).
  const tls: SyslogConfig['transport']['tls'] = readTlsFiles(
    { ca: 'SYSLOG_TLS_CA_FILE', cert: 'SYSLOG_TLS_CERT_FILE', key: 'SYSLOG_TLS_KEY_FILE' },
    { ca: p.SYSLOG_TLS_CA_FILE, cert: p.SYSLOG_TLS_CERT_FILE, key: p.SYSLOG_TLS_KEY_FILE },
    problems,
  );
  if (p.SYSLOG_TLS_SERVERNAME !== undefined) tls.servername = p.SYSLOG_TLS_SERVERNAME;

  if (problems.length > 0 || typeof url === 'string') throw new ConfigError(problems);
  return {
    format: p.SYSLOG_FORMAT,
    // Both were checked against the name tables by their patterns.
    facility: parseFacility(p.SYSLOG_FACILITY.toLowerCase())!,
    severityField: p.SYSLOG_SEVERITY_FIELD,
    severityDefault: syslogSeverity(p.SYSLOG_SEVERITY_DEFAULT)!,
    hostname: { constant: p.SYSLOG_HOSTNAME, field: p.SYSLOG_HOSTNAME_FIELD },
    appName: { constant: p.SYSLOG_APP_NAME, field: p.SYSLOG_APP_NAME_FIELD },
    procId: { constant: p.SYSLOG_PROCID, field: p.SYSLOG_PROCID_FIELD },
    msgId: { constant: p.SYSLOG_MSGID, field: p.SYSLOG_MSGID_FIELD },
    timeField: p.SYSLOG_TIME_FIELD,
    sd: p.SYSLOG_SD_ID !== undefined && sdParams.length > 0 ? { id: p.SYSLOG_SD_ID, params: sdParams } : undefined,
    template,
    bom: p.SYSLOG_BOM,
    cef: {
      vendor: p.CEF_VENDOR,
      product: p.CEF_PRODUCT,
      version: p.CEF_VERSION,
      signature: { constant: p.CEF_SIGNATURE, field: p.CEF_SIGNATURE_FIELD },
      name: { constant: p.CEF_NAME, field: p.CEF_NAME_FIELD },
      severityField: p.CEF_SEVERITY_FIELD,
      extension: p.CEF_EXTENSION.map(mapping),
    },
    transport: {
      ...url,
      framing: p.SYSLOG_FRAMING,
      udpMaxBytes: p.SYSLOG_UDP_MAX_BYTES,
      tls,
      rate: p.SYSLOG_RATE,
      confirmDelayMs: p.SYSLOG_CONFIRM_DELAY,
    },
  };
}
