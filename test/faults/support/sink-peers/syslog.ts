/** syslog: a real rsyslogd, RFC 5425 TLS input (test/support/rsyslog.ts). */
import { RsyslogPeer } from '../../../support/rsyslog.ts';
import { sleep } from '../../../support/instance.ts';
import { parseOrNothing, type Row, type SinkPeer, type StartedSinkPeer } from './define.ts';

export const syslogPeer = {
  name: 'syslog',
  kind: 'syslog',
  settings: 'SYSLOG',
  async start(): Promise<StartedSinkPeer<RsyslogPeer>> {
    const syslog = await RsyslogPeer.start();
    return {
      peer: syslog,
      port: syslog.tlsPort,
      env: ({ gatePort }) => ({ SYSLOG_URL: `tls://127.0.0.1:${gatePort}`, SYSLOG_TLS_CA_FILE: syslog.caFile }),
      secrets: () => [],
      texts: async () => syslog.messages().map((m) => m.msg),
      async rows(_key, run, expected) {
        // rsyslog writes its queue out asynchronously: wait until it holds the expected ids and is quiet.
        let last = -1;
        let rows: Row[] = [];
        for (let quiet = 0, t = 0; t < 120 && quiet < 3; t++) {
          rows = syslog.messages().flatMap((m) => parseOrNothing(m.msg)).filter((r) => r.run === run);
          if (rows.length === last && new Set(rows.map((r) => r.id)).size >= expected) quiet++;
          else quiet = 0;
          last = rows.length;
          await sleep(500);
        }
        return rows;
      },
      close: () => syslog.stop(),
    };
  },
} as const satisfies SinkPeer<RsyslogPeer>;
