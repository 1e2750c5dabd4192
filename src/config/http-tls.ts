// TLS settings of an HTTP client (<PREFIX>_TLS_*; the HTTP sinks and the schema registry): trusted CAs,
// a client certificate for mutual TLS, and an explicit, loud opt-out of verification. Files are read at
// load, so a wrong path fails at start, and then watched (src/config/watched-file.ts): a renewed CA or
// client certificate is used for the next connection, open ones go on.
import { buildConnector } from 'undici';
import { readTlsFiles, type TlsFiles } from './tls-files.ts';
import { Secret } from './secret.ts';
import { v, type VarSpec } from './vars.ts';

type FileVar<P extends string> = `${P}_TLS_CA_FILE` | `${P}_TLS_CERT_FILE` | `${P}_TLS_KEY_FILE`;
export type HttpTlsVarSpecs<P extends string> = Record<FileVar<P>, VarSpec<string | undefined>> & Record<`${P}_TLS_INSECURE`, VarSpec<boolean>>;
export type HttpTlsValues<P extends string> = Record<FileVar<P>, string | undefined> & Record<`${P}_TLS_INSECURE`, boolean>;

export interface HttpTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  /** The client key as PEM text; a Secret so that check-config and logs never print it. */
  readonly key?: Secret;
  readonly insecure: boolean;
  /** The files behind ca, cert and key: a connector follows them (absent when built in code). */
  readonly files?: TlsFiles;
}

/** The four TLS variables under `prefix`, in the order they are documented. */
export function httpTlsVars<P extends string>(prefix: P): HttpTlsVarSpecs<P> {
  return {
    [`${prefix}_TLS_CA_FILE`]: v.optionalString({ doc: 'PEM file of CA certificates to trust (instead of the system CAs).' }),
    [`${prefix}_TLS_CERT_FILE`]: v.optionalString({ doc: 'PEM client certificate (mutual TLS).' }),
    [`${prefix}_TLS_KEY_FILE`]: v.optionalString({ doc: 'PEM client private key (mutual TLS).' }),
    [`${prefix}_TLS_INSECURE`]: v.bool({ doc: 'Skip certificate verification (logs a warning at start; never for production).', default: false }),
  } as HttpTlsVarSpecs<P>;
}

/** Reads the configured files; problems (each naming its variable) are appended to `problems`.
 *  `p` is the parsed variables of a group that includes httpTlsVars(prefix). */
export function parseHttpTls<P extends string>(prefix: P, p: HttpTlsValues<P>, problems: string[]): HttpTls {
  const values = p as Readonly<Record<string, string | boolean | undefined>>;
  const name = (part: string): string => `${prefix}_TLS_${part}_FILE`;
  const file = (part: string): string | undefined => values[name(part)] as string | undefined;
  if ((file('CERT') === undefined) !== (file('KEY') === undefined)) problems.push(`${prefix}_TLS_CERT_FILE: a client certificate needs ${prefix}_TLS_KEY_FILE too (and the reverse)`);
  const files = readTlsFiles({ ca: name('CA'), cert: name('CERT'), key: name('KEY') }, { ca: file('CA'), cert: file('CERT'), key: file('KEY') }, problems);
  // ca and cert are the files' current content (enumerable accessors: check-config prints their size);
  // the key is a Secret; `files` is not printed.
  const tls = { insecure: values[`${prefix}_TLS_INSECURE`] === true } as { -readonly [K in keyof HttpTls]: HttpTls[K] };
  if (files.ca) Object.defineProperty(tls, 'ca', { get: () => files.ca, enumerable: true });
  if (files.cert) Object.defineProperty(tls, 'cert', { get: () => files.cert, enumerable: true });
  if (files.key) Object.defineProperty(tls, 'key', { get: () => new Secret(files.key!.toString('utf8')), enumerable: true });
  Object.defineProperty(tls, 'files', { value: files, enumerable: false });
  return tls;
}

/** The `connect` options of an undici Pool / Agent for these settings. */
export function tlsConnectOptions(tls: HttpTls): { ca?: Buffer; cert?: Buffer; key?: string; rejectUnauthorized: boolean } {
  return {
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key.reveal() } : {}),
    rejectUnauthorized: !tls.insecure,
  };
}

/**
 * undici's connector for these settings, and the TLS error undici loses. A TLS alert that arrives
 * after the handshake — with TLS 1.3 that is how a server refuses a missing or unacceptable client
 * certificate (alert 116, "certificate required") — errors the socket, but the end of stream that
 * follows makes undici fail the request with "other side closed" (UND_ERR_SOCKET) instead, so the
 * cause would be named nowhere. `explain` gives back the socket's own TLS error for such a failure.
 */
export class HttpTlsConnector {
  readonly connect: buildConnector.connector;
  /** "localPort:remotePort" → the TLS error its socket had (kept for a short while). */
  readonly #seen = new Map<string, Error>();
  #base: buildConnector.connector;
  readonly #unwatch: (() => void) | undefined;

  constructor(tls: HttpTls) {
    this.#base = buildConnector(tlsConnectOptions(tls));
    // A renewed CA, certificate or key: new connections use it once the files make a valid context.
    this.#unwatch = tls.files?.onChange(() => {
      this.#base = buildConnector(tlsConnectOptions(tls));
    });
    this.connect = (opts, callback) =>
      this.#base(opts, (...args: Parameters<buildConnector.Callback>) => {
        const socket = args[1];
        if (socket) {
          const id = `${socket.localPort}:${socket.remotePort}`;
          socket.once('error', (e: NodeJS.ErrnoException) => {
            if (!e.code?.startsWith('ERR_SSL')) return;
            this.#seen.set(id, e);
            setTimeout(() => this.#seen.delete(id), 10_000).unref();
          });
        }
        callback(...args);
      });
  }

  /** Stops following the files (the client is closed). */
  close(): void {
    this.#unwatch?.();
  }

  /** `err`, or the TLS error behind it when it is undici's "other side closed" of such a socket. */
  explain(err: unknown): unknown {
    const e = err as { code?: unknown; socket?: { localPort?: unknown; remotePort?: unknown } } | undefined;
    if (e?.code !== 'UND_ERR_SOCKET' || !e.socket) return err;
    return this.#seen.get(`${String(e.socket.localPort)}:${String(e.socket.remotePort)}`) ?? err;
  }
}
