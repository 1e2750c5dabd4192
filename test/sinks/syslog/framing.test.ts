import { describe, expect, it } from 'vitest';
import { cutUtf8, frameDatagram, frameLf, frameOctetCounting, frameStream } from '../../../src/sinks/syslog/framing.ts';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('octet counting (RFC 5425, RFC 6587 §3.4.1)', () => {
  it('prefixes the length in bytes, not characters, and leaves the message as is', () => {
    expect(frameOctetCounting(b('<134>1 - - - - - - hi')).toString()).toBe('21 <134>1 - - - - - - hi');
    const msg = b('é€😀\nx'); // 2 + 3 + 4 + 1 + 1 = 11 bytes; 6 UTF-16 units, 5 characters
    expect(frameOctetCounting(msg).toString('hex')).toBe(b('11 ').toString('hex') + msg.toString('hex'));
    expect(frameStream(msg, 'octet-counting').equals(frameOctetCounting(msg))).toBe(true);
  });
});

describe('LF framing (RFC 6587 §3.4.2)', () => {
  it('ends the message with LF and writes CR and LF inside it as \\r and \\n', () => {
    expect(frameLf(b('a\nb\r\nc\rd\te')).toString()).toBe('a\\nb\\r\\nc\\rd\te\n');
    expect(frameLf(b('plain')).toString('hex')).toBe(b('plain\n').toString('hex'));
    expect(frameLf(b('')).toString()).toBe('\n');
    expect(frameStream(b('ü\n'), 'lf').toString('hex')).toBe('c3bc5c6e0a');
  });
});

describe('UTF-8 cut and UDP datagrams (RFC 5426)', () => {
  it.each([
    // text, limit, expected text, truncated
    ['abc', 3, 'abc', false],
    ['abcd', 3, 'abc', true],
    ['aé', 2, 'a', true], // é = 2 bytes
    ['aé', 3, 'aé', false],
    ['a€', 3, 'a', true], // € = 3 bytes
    ['a€', 2, 'a', true],
    ['a😀', 4, 'a', true], // 😀 = 4 bytes
    ['a😀b', 5, 'a😀', true],
    ['😀', 3, '', true],
    ['日本', 5, '日', true],
  ])('%j cut to %i bytes → %j', (text, max, out, truncated) => {
    const r = cutUtf8(b(text), max);
    expect(r.bytes.toString('utf8')).toBe(out);
    expect(r.truncated).toBe(truncated);
  });

  it('sends one datagram per message, cut at the limit, and says so', () => {
    const long = b(`<134>1 - - - - - - ${'ü'.repeat(2000)}`);
    const d = frameDatagram(long, 2048);
    expect(d.truncated).toBe(true);
    expect(d.datagram.length).toBe(2047); // 20 ASCII bytes + 1013 × 2; one more "ü" would make 2049
    expect(d.datagram.toString('utf8')).not.toContain('\ufffd');
    const short = frameDatagram(b('<134>1 - - - - - - x'), 2048);
    expect(short).toEqual({ datagram: b('<134>1 - - - - - - x'), truncated: false });
  });
});
