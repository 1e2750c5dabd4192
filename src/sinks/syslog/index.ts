// syslog sink: RFC 5424 / RFC 3164 / CEF over TLS (RFC 5425), TCP (RFC 6587) or UDP (RFC 5426).
// Written on node:tls/net/dgram rather than the syslog-client package, whose 1.1.1 release has no
// TLS, fixes STRUCTURED-DATA to `-`, frames TCP with newlines only and ignores socket backpressure.
import { RateLimit } from '../../delivery/rate-limit.ts';
import type { SinkDefinition } from '../../delivery/sink.ts';
import { parseSyslogConfig, syslogVars, type SyslogConfig } from './config.ts';
import { encodeSyslog } from './encoder.ts';
import { frameDatagram, frameStream } from './framing.ts';
import { DatagramTransport, StreamTransport } from './transport.ts';

export const syslogSink: SinkDefinition<SyslogConfig> = {
  type: 'syslog',
  envPrefix: 'SYSLOG',
  summary: 'Syslog: RFC 5424, RFC 3164 or CEF over TLS, TCP or UDP, with an optional rate limit.',
  vars: syslogVars,
  parseConfig: parseSyslogConfig,
  // maxRecordBytes: syslog has no acknowledgement, so a frame larger than the receiver takes is not
  // refused but cut, and the rest of the stream misread (rsyslog's maxMessageSize defaults to 8 KiB):
  // dead-letter what is over the 8192 octets RFC 5425 says receivers SHOULD take, unless raised.
  deliveryDefaults: { batchMaxRecords: 500, batchMaxBytes: 1024 * 1024, batchMaxWaitMs: 100, concurrency: 4, maxRecordBytes: 8192 },
  create(cfg, ctx) {
    const t = cfg.transport;
    const rate = new RateLimit(t.rate);
    if (t.protocol === 'udp') {
      const udp = new DatagramTransport(cfg);
      return {
        encode(record) {
          const { datagram, truncated } = frameDatagram(encodeSyslog(record, cfg), t.udpMaxBytes);
          if (truncated) ctx.countTruncated();
          return datagram;
        },
        async send(batch, signal) {
          await rate.take(batch.items.length, signal);
          await udp.send(batch);
        },
        stop: () => udp.close(),
      };
    }
    const stream = new StreamTransport(cfg, ctx.logger);
    return {
      encode: (record) => frameStream(encodeSyslog(record, cfg), t.framing),
      async send(batch, signal) {
        await rate.take(batch.items.length, signal);
        return stream.send(batch, signal);
      },
      stop: () => stream.close(),
    };
  },
};
