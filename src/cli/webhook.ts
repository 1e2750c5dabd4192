// `logstream webhook new-key [product]`: prints a fresh secret key (give it to the caller) and the
// hash to configure in WEBHOOK_KEYS. The key is shown once and is stored nowhere.
import { newKey } from '../webhook/keys.ts';

export function webhookCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  const [sub, product = '<product>'] = args;
  if (sub !== 'new-key' || args.length > 2) {
    err.write('usage: logstream webhook new-key [product]\n');
    return 2;
  }
  const { key, hash } = newKey();
  out.write(
    [
      `key:  ${key}`,
      `hash: ${hash}`,
      '',
      'Give the key to the caller (Authorization: Bearer <key>, or ?key=<key>); it is not stored anywhere.',
      `Configure only the hash:  WEBHOOK_KEYS=${product}=${hash}`,
      '',
    ].join('\n'),
  );
  return 0;
}
