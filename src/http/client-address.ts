// The address a request comes from, for per-address limits and logs. Behind an Ingress or a load
// balancer every connection comes from the proxy; its X-Forwarded-For is believed only when the
// connection comes from a proxy listed in HTTP_TRUSTED_PROXIES (anyone else can write the header), and
// then only up to the first hop that is not itself a trusted proxy (read from the right).
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** Strips the IPv4-mapped IPv6 prefix (::ffff:10.0.0.1 → 10.0.0.1). */
const plain = (ip: string): string => (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip);

/** What is wrong with one entry of HTTP_TRUSTED_PROXIES, or undefined. */
export function trustedProxyProblem(entry: string): string | undefined {
  try {
    trustedProxies([entry]);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** A BlockList of CIDR blocks or single addresses; throws an Error naming the bad entry. */
export function trustedProxies(entries: readonly string[]): BlockList | undefined {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [ip, bits] = entry.trim().split('/') as [string, string | undefined];
    const family = isIP(ip);
    if (family === 0) throw new Error(`${JSON.stringify(entry)} is not an IP address or CIDR block`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(ip, type);
    else {
      const n = Number(bits);
      if (!/^\d+$/.test(bits) || n > (family === 4 ? 32 : 128)) throw new Error(`${JSON.stringify(entry)} has a bad prefix length`);
      list.addSubnet(ip, n, type);
    }
  }
  return list;
}

const trusted = (list: BlockList, ip: string): boolean => {
  const family = isIP(ip);
  return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
};

export function clientAddress(req: IncomingMessage, proxies: BlockList | undefined): string {
  const peer = plain(req.socket.remoteAddress ?? '');
  if (proxies === undefined || !trusted(proxies, peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((h) => plain(h.trim())).filter((h) => h !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return peer; // a forged or broken header: the proxy itself is what is known
    if (!trusted(proxies, hop)) return hop;
  }
  return hops[0] ?? peer;
}
