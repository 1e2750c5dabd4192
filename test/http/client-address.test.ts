// The client address of a request: X-Forwarded-For only from HTTP_TRUSTED_PROXIES, read from the right
// up to the first hop that is not a trusted proxy.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, trustedProxies, trustedProxyProblem } from '../../src/http/client-address.ts';

const req = (peer: string, xff?: string | string[]): IncomingMessage => ({ socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

describe('clientAddress', () => {
  const proxies = trustedProxies(['10.0.0.0/8', 'fd00::/8', '192.0.2.7']);

  it('believes X-Forwarded-For only from a trusted proxy', () => {
    expect(clientAddress(req('203.0.113.9', '1.2.3.4'), proxies)).toBe('203.0.113.9');
    expect(clientAddress(req('10.1.2.3', '198.51.100.20'), proxies)).toBe('198.51.100.20');
    expect(clientAddress(req('::ffff:10.1.2.3', '198.51.100.20'), proxies)).toBe('198.51.100.20');
    expect(clientAddress(req('10.1.2.3'), proxies)).toBe('10.1.2.3');
    expect(clientAddress(req('10.1.2.3', '1.2.3.4'), undefined)).toBe('10.1.2.3');
  });

  it('reads from the right: a client cannot pick its address by writing the header itself', () => {
    // The client sent "X-Forwarded-For: 6.6.6.6"; the Ingress appended its peer, then a second proxy.
    expect(clientAddress(req('10.0.0.5', '6.6.6.6, 198.51.100.20, 10.9.9.9'), proxies)).toBe('198.51.100.20');
    expect(clientAddress(req('10.0.0.5', ['6.6.6.6', '198.51.100.20']), proxies)).toBe('198.51.100.20');
    expect(clientAddress(req('fd00::1', '2001:db8::5, 192.0.2.7'), proxies)).toBe('2001:db8::5');
    // Only proxies in the chain: the leftmost; a broken hop: the proxy itself.
    expect(clientAddress(req('10.0.0.5', '10.0.0.9, 10.0.0.8'), proxies)).toBe('10.0.0.9');
    expect(clientAddress(req('10.0.0.5', 'evil<script>, 10.0.0.8'), proxies)).toBe('10.0.0.5');
  });

  it('HTTP_TRUSTED_PROXIES entries are addresses or CIDR blocks', () => {
    expect(trustedProxyProblem('10.0.0.0/8')).toBeUndefined();
    expect(trustedProxyProblem('ingress.local')).toBe('"ingress.local" is not an IP address or CIDR block');
    expect(trustedProxyProblem('10.0.0.0/33')).toBe('"10.0.0.0/33" has a bad prefix length');
    expect(trustedProxies([])).toBeUndefined();
  });
});
