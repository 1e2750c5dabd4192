// TLS on logstream's own HTTP server (HTTP_TLS_*): the certificate and key (PEM), optionally a CA whose
// client certificates are required (mutual TLS for webhook callers); TLS 1.2 at least. The files are
// watched (src/config/watched-file.ts): when cert-manager renews them, new connections get the new
// certificate and open ones go on. A renewal that does not make a valid pair (the key not yet written,
// a truncated file) keeps the previous certificate until it does.
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { readConfiguredFile } from '../config/files.ts';
import { v } from '../config/vars.ts';
import { watchedFiles, type WatchedFile } from '../config/watched-file.ts';

export const serverTlsVars = {
  HTTP_TLS_CERT_FILE: v.optionalString({ doc: 'PEM certificate (chain) of the HTTP server: with HTTP_TLS_KEY_FILE, the server speaks HTTPS only (TLS 1.2 or 1.3; plain HTTP on the port is refused). Re-read when the file changes (cert-manager renewals): new connections get the new certificate, open ones go on.' }),
  HTTP_TLS_KEY_FILE: v.optionalString({ doc: 'PEM private key of HTTP_TLS_CERT_FILE (re-read with it).' }),
  HTTP_TLS_CLIENT_CA_FILE: v.optionalString({ doc: 'PEM CA certificates: callers must present a client certificate signed by one of them (mutual TLS, e.g. for webhook callers). Needs HTTP_TLS_CERT_FILE.' }),
};

export interface ServerTls {
  readonly cert: WatchedFile;
  readonly key: WatchedFile;
  readonly clientCa: WatchedFile | undefined;
}

export const MIN_TLS_VERSION = 'TLSv1.2';

/** The TLS options of the files' current content. */
export function serverTlsOptions(t: ServerTls): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
  const ca = t.clientCa?.value;
  return { cert: t.cert.value, key: t.key.value, ...(ca !== undefined ? { ca } : {}), minVersion: MIN_TLS_VERSION, requestCert: ca !== undefined, rejectUnauthorized: ca !== undefined };
}

/** Why these files make no TLS context (OpenSSL's reason, never the key), or undefined. */
export function serverTlsProblem(t: ServerTls): string | undefined {
  try {
    createSecureContext(serverTlsOptions(t));
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return `${e.code ?? 'error'}: ${e.message ?? String(err)}`;
  }
}

/** Reads and checks HTTP_TLS_*; undefined when TLS is off. Problems name their variable. */
export function parseServerTls(p: { HTTP_TLS_CERT_FILE: string | undefined; HTTP_TLS_KEY_FILE: string | undefined; HTTP_TLS_CLIENT_CA_FILE: string | undefined }, problems: string[]): ServerTls | undefined {
  const { HTTP_TLS_CERT_FILE: certFile, HTTP_TLS_KEY_FILE: keyFile, HTTP_TLS_CLIENT_CA_FILE: caFile } = p;
  if (certFile === undefined && keyFile === undefined) {
    if (caFile !== undefined) problems.push('HTTP_TLS_CLIENT_CA_FILE: needs HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE (client certificates are asked for over TLS)');
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    problems.push(`${certFile === undefined ? 'HTTP_TLS_CERT_FILE' : 'HTTP_TLS_KEY_FILE'}: needed with ${certFile === undefined ? 'HTTP_TLS_KEY_FILE' : 'HTTP_TLS_CERT_FILE'}`);
    return undefined;
  }
  const cert = readConfiguredFile('HTTP_TLS_CERT_FILE', certFile, problems);
  const key = readConfiguredFile('HTTP_TLS_KEY_FILE', keyFile, problems);
  const ca = readConfiguredFile('HTTP_TLS_CLIENT_CA_FILE', caFile, problems);
  if (cert === undefined || key === undefined || (caFile !== undefined && ca === undefined)) return undefined;
  const t: ServerTls = {
    cert: watchedFiles.register('HTTP_TLS_CERT_FILE', certFile, cert.toString('utf8')),
    key: watchedFiles.register('HTTP_TLS_KEY_FILE', keyFile, key.toString('utf8')),
    clientCa: caFile === undefined || ca === undefined ? undefined : watchedFiles.register('HTTP_TLS_CLIENT_CA_FILE', caFile, ca.toString('utf8')),
  };
  const why = serverTlsProblem(t);
  if (why !== undefined) problems.push(`HTTP_TLS_CERT_FILE: with HTTP_TLS_KEY_FILE${caFile ? ' and HTTP_TLS_CLIENT_CA_FILE' : ''} it makes no TLS context (${why})`);
  return why === undefined ? t : undefined;
}
