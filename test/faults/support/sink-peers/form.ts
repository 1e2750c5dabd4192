/** form: the multipart form POST receiver in its own process (test/support/form-receiver), with a bearer
 *  token, at most 20 rows a POST, every POST checked strictly. */
import { randomBytes } from 'node:crypto';
import { FormReceiverProcess } from '../../../support/form-receiver/process.ts';
import type { SinkPeer, StartedSinkPeer } from './define.ts';

export const formPeer = {
  name: 'form',
  kind: 'form_post',
  settings: 'FORMPOST',
  async start(): Promise<StartedSinkPeer<FormReceiverProcess> & { readonly token: string }> {
    const token = `form-${randomBytes(12).toString('hex')}`;
    const form = await FormReceiverProcess.start(['--port', '0', '--auth-header', 'Authorization', '--auth-value', `Bearer ${token}`]);
    return {
      peer: form,
      port: form.port,
      token,
      env: ({ gatePort }) => ({ FORMPOST_URL: `http://127.0.0.1:${gatePort}/upload`, FORMPOST_PRODUCT: 'web', FORMPOST_AUTH_VALUE: `Bearer ${token}` }),
      secrets: () => [token],
      texts: async () => (await form.posts()).flatMap((p) => p.lines),
      close: async () => void (await form.stop()),
    };
  },
} as const satisfies SinkPeer<FormReceiverProcess>;
