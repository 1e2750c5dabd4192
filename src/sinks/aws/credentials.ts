// Credentials of the AWS sinks (S3, SQS): the SDK's default chain (environment, shared files, web
// identity / IRSA, container and instance roles), with one addition. Static keys in a shared credentials
// file (AWS_SHARED_CREDENTIALS_FILE, e.g. a mounted Kubernetes Secret) carry no expiry, so an SDK client
// keeps the first ones it read for its whole life and a rotated key would need a restart. That file is
// watched like the other mounted secrets (src/config/watched-file.ts): when it changes, the chain is
// asked again and the next request is signed with the new key.
import { readFileSync } from 'node:fs';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { watchedFiles } from '../../config/watched-file.ts';
import type { Env } from '../../config/vars.ts';

type AwsCredentials = Awaited<ReturnType<ReturnType<typeof fromNodeProviderChain>>>;
export type AwsCredentialProvider = () => Promise<AwsCredentials>;

/** The expiry given to keys from the file. An SDK client renews an identity within 5 minutes of its
 *  expiry, so with this one it asks the provider before each request; the provider answers from the
 *  chain's cache until the file changes (no file read per request). */
const HOLD_MS = 1000;

/**
 * A provider for the clients' `credentials` when keys come from AWS_SHARED_CREDENTIALS_FILE; undefined
 * otherwise (the clients then use the SDK's chain as it is). Keys in the environment come first in the
 * chain, so then the file is not followed either.
 */
export function followedAwsCredentials(env: Env): AwsCredentialProvider | undefined {
  const path = env['AWS_SHARED_CREDENTIALS_FILE']?.trim();
  if (!path || env['AWS_ACCESS_KEY_ID']?.trim()) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined; // the SDK's chain says what is missing when a request needs credentials
  }
  const profile = env['AWS_PROFILE']?.trim() || undefined;
  const init = { filepath: path, ignoreCache: true, ...(profile !== undefined ? { profile } : {}) };
  const file = watchedFiles.register('AWS_SHARED_CREDENTIALS_FILE', path, text);
  file.check((t) => (/aws_access_key_id/i.test(t) ? undefined : 'holds no aws_access_key_id'));
  let chain = fromNodeProviderChain(init);
  file.onChange(() => {
    chain = fromNodeProviderChain(init);
  });
  return async (): Promise<AwsCredentials> => {
    const c = await chain();
    // Keys with an expiry (a role assumed through the profile) are refreshed by the SDK as usual.
    return c.expiration !== undefined ? c : { ...c, expiration: new Date(Date.now() + HOLD_MS) };
  };
}
