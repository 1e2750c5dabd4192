/**
 * IP addresses as numbers, for CIDR matching: IPv4 as a 32-bit unsigned number, IPv6 as a 128-bit
 * bigint; an IPv4-mapped IPv6 address (::ffff:192.0.2.1) is its IPv4 address.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type Ip = { v: 4; n: number } | { v: 6; n: bigint };

function v4(text: string): number {
  let n = 0;
  for (const part of text.split('.')) n = n * 256 + Number(part);
  return n;
}

export function parseIp(text: string): Ip | undefined {
  if (isIPv4(text)) return { v: 4, n: v4(text) };
  if (!isIPv6(text)) return undefined;
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted quad is the last two groups.
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    const q = v4(s.slice(lastColon + 1));
    s = `${s.slice(0, lastColon + 1)}${(q >>> 16).toString(16)}:${(q & 0xffff).toString(16)}`;
  }
  const double = s.indexOf('::');
  const head = double < 0 ? s : s.slice(0, double);
  const rest = double < 0 ? '' : s.slice(double + 2);
  const hg = head === '' ? [] : head.split(':');
  const rg = rest === '' ? [] : rest.split(':');
  const groups = [...hg, ...new Array<string>(double < 0 ? 0 : 8 - hg.length - rg.length).fill('0'), ...rg];
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  if (n >> 32n === 0xffffn) return { v: 4, n: Number(n & 0xffffffffn) };
  return { v: 6, n };
}

/** `a.b.c.d/len`, `x::/len` or a single address (a /32 or /128). */
export function parseCidr(text: string): { ip: Ip; bits: number } | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const max = ip.v === 4 ? 32 : 128;
  if (slash < 0) return { ip, bits: max };
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  let bits = Number(lenText);
  // ::ffff:10.0.0.0/104 is 10.0.0.0/8.
  if (ip.v === 4 && isIPv6(text.slice(0, slash))) bits -= 96;
  if (bits < 0 || bits > max) return undefined;
  return { ip, bits };
}

/** The networks of one address family: one map per prefix length, and the lengths, longest first. */
class PrefixMaps<K, T> {
  readonly byLength = new Map<number, Map<K, T>>();
  lengths: number[] = [];

  /** False when this exact network is already there (the first one stays). */
  add(bits: number, key: K, value: T): boolean {
    let m = this.byLength.get(bits);
    if (!m) {
      this.byLength.set(bits, (m = new Map()));
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    if (m.has(key)) return false;
    m.set(key, value);
    return true;
  }
}

/**
 * Longest-prefix match: one map per prefix length present, tried from the longest. A lookup costs one
 * map read per distinct length (at most 33 or 129, a few in practice).
 */
export class CidrTable<T> {
  readonly #v4 = new PrefixMaps<number, T>();
  readonly #v6 = new PrefixMaps<bigint, T>();

  /** False when this exact network is already in the table (the first one stays). */
  add(cidr: { ip: Ip; bits: number }, value: T): boolean {
    const { ip, bits } = cidr;
    if (ip.v === 4) return this.#v4.add(bits, bits === 0 ? 0 : ip.n >>> (32 - bits), value);
    return this.#v6.add(bits, ip.n >> BigInt(128 - bits), value);
  }

  match(ip: Ip): T | undefined {
    if (ip.v === 4) {
      for (const bits of this.#v4.lengths) {
        const hit = this.#v4.byLength.get(bits)!.get(bits === 0 ? 0 : ip.n >>> (32 - bits));
        if (hit !== undefined) return hit;
      }
      return undefined;
    }
    for (const bits of this.#v6.lengths) {
      const hit = this.#v6.byLength.get(bits)!.get(ip.n >> BigInt(128 - bits));
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
}
