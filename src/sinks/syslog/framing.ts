// How encoded syslog messages travel: octet counting (RFC 5425 over TLS, RFC 6587 §3.4.1 over TCP),
// LF-terminated lines (RFC 6587 §3.4.2, non-transparent), and one UDP datagram per message (RFC 5426).
import type { SyslogFraming } from './config.ts';

/** `MSG-LEN SP SYSLOG-MSG`, MSG-LEN the message's length in bytes (octets, not characters). The
 *  message travels as is: octet counting is transparent, so newlines inside it are harmless. */
export function frameOctetCounting(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
}

const LF = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;

/**
 * The message and a trailing LF. A receiver ends the message at the first LF, so CR and LF inside it
 * are written as the two characters `\r` and `\n` (the convention of JSON and CEF, which the default
 * message already uses, and readable by a person) rather than dropped or turned into spaces. A
 * literal backslash is not doubled: the message is not otherwise escaped, so `\n` in it stays
 * ambiguous, which is the cost of staying compatible with plain line receivers. Working on bytes is
 * safe: in UTF-8, 0x0A and 0x0D only ever stand for themselves.
 */
export function frameLf(message: Buffer): Buffer {
  let extra = 0;
  for (const b of message) if (b === LF || b === CR) extra++;
  const out = Buffer.allocUnsafe(message.length + extra + 1);
  let j = 0;
  for (const b of message) {
    if (b === LF || b === CR) {
      out[j++] = BACKSLASH;
      out[j++] = b === LF ? 0x6e : 0x72; // 'n' : 'r'
    } else out[j++] = b;
  }
  out[j] = LF;
  return out;
}

/** The bytes of one message on a TCP or TLS stream. */
export function frameStream(message: Buffer, framing: SyslogFraming): Buffer {
  return framing === 'lf' ? frameLf(message) : frameOctetCounting(message);
}

/**
 * The first `maxBytes` bytes of UTF-8 text, moved back to a character boundary so that no character
 * is split (a receiver would otherwise see a broken character at the end).
 */
export function cutUtf8(bytes: Buffer, maxBytes: number): { bytes: Buffer; truncated: boolean } {
  if (bytes.length <= maxBytes) return { bytes, truncated: false };
  let end = Math.max(0, maxBytes);
  // bytes[end] is the first byte left out; while it continues a character (10xxxxxx), that
  // character began before `end` and must be left out whole. A UTF-8 character is at most 4 bytes.
  for (let back = 0; back < 3 && end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80; back++) end--;
  return { bytes: bytes.subarray(0, end), truncated: true };
}

/** One UDP datagram per message (RFC 5426 §3.1): cut to the datagram limit, saying whether it was. */
export function frameDatagram(message: Buffer, maxBytes: number): { datagram: Buffer; truncated: boolean } {
  const { bytes, truncated } = cutUtf8(message, maxBytes);
  return { datagram: bytes, truncated };
}
