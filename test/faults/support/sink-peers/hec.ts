/** hec: the Splunk HEC test receiver in its own process (test/support/hec), every event recorded. */
import { randomBytes } from 'node:crypto';
import { HecProcess } from '../../../support/hec/process.ts';
import { thrice, type Row, type SinkPeer, type StartedSinkPeer } from './define.ts';

export const hecPeer = {
  name: 'hec',
  kind: 'splunk_hec',
  settings: 'HEC',
  async start(): Promise<StartedSinkPeer<HecProcess> & { readonly token: string }> {
    const token = `hec-${randomBytes(12).toString('hex')}`;
    const hec = await HecProcess.start(['--port', '0', '--host', '127.0.0.1', '--token', token]);
    return {
      peer: hec,
      port: hec.port,
      token,
      env: ({ gatePort }) => ({ HEC_URLS: `http://127.0.0.1:${gatePort}`, HEC_TOKEN: token }),
      secrets: () => [token],
      async texts() {
        const out: string[] = [];
        for (let offset = 0; ; ) {
          const page = await thrice(() => hec.events(offset, 1000));
          for (const e of page.events) out.push(typeof e.event === 'string' ? e.event : JSON.stringify(e.event));
          offset += page.events.length;
          if (page.events.length === 0 || offset >= page.total) break;
        }
        return out;
      },
      async rows(_key, run) {
        const out: Row[] = [];
        for (let offset = 0; ; ) {
          // Pages of 10 000 (a loaded machine can cut a response of hundreds of MB), each tried 3 times.
          const page = await thrice(() => hec.events(offset, 10_000));
          for (const e of page.events) if (e.event && typeof e.event === 'object') out.push(e.event as Row);
          offset += page.events.length;
          if (page.events.length === 0 || offset >= page.total) break;
        }
        return out.filter((r) => r.run === run);
      },
      close: async () => void (await hec.stop()),
    };
  },
} as const satisfies SinkPeer<HecProcess>;
