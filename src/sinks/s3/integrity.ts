// Integrity of what is stored, per PUT and per part: the payload's SHA-256 goes into the signature
// (x-amz-content-sha256, computed once here instead of again by the SDK; S3 refuses a body that does
// not match it), and the checksum S3 keeps with the object (S3_CHECKSUM: x-amz-checksum-sha256, or
// Content-MD5 for stores without flexible checksums).
import type { Digests } from './encoder.ts';

export interface IntegrityInput {
  ChecksumSHA256?: string;
  ContentMD5?: string;
}

export function integrityInput(d: Digests): IntegrityInput {
  return d.md5 !== undefined ? { ContentMD5: d.md5.toString('base64') } : { ChecksumSHA256: d.sha256.toString('base64') };
}

interface HttpRequestLike {
  headers?: Record<string, string>;
}

/** Any SDK command: only its own middleware stack is touched, not the client's. */
interface CommandLike {
  middlewareStack: { add(mw: unknown, opts: { step: 'build'; name: string; override: boolean }): void };
}

/** Makes the SigV4 signer use `sha256` as the payload hash instead of hashing the body again. */
export function signedPayload<C extends CommandLike>(command: C, sha256: Buffer): C {
  const hex = sha256.toString('hex');
  command.middlewareStack.add(
    (next: (args: { request: unknown }) => Promise<unknown>) => async (args: { request: unknown }) => {
      const req = args.request as HttpRequestLike;
      if (req.headers) req.headers['x-amz-content-sha256'] = hex;
      return next(args);
    },
    { step: 'build', name: 'logstreamSignedPayload', override: true },
  );
  return command;
}
