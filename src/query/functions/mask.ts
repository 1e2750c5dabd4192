/**
 * Masking helpers for PII that must stay partly readable (last digits of a
 * card, the domain of an e-mail, the network of an IP). They work on
 * characters (code points), so a masked value keeps its visible length.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { QueryRuntimeError } from '../errors.ts';
import { def, type FunctionDef } from './registry.ts';

function mask(s: string, keepLast: number, maskChar = '*'): string {
  if (keepLast < 0) throw new QueryRuntimeError('mask: keep_last must not be negative');
  if ([...maskChar].length !== 1) throw new QueryRuntimeError('mask: mask_char must be a single character');
  const chars = Array.from(s);
  const hidden = Math.max(0, chars.length - Math.trunc(keepLast));
  return maskChar.repeat(hidden) + chars.slice(hidden).join('');
}

function maskEmail(s: string): string {
  const at = s.lastIndexOf('@');
  if (at <= 0) return mask(s, 0);
  const local = Array.from(s.slice(0, at));
  return `${local[0]}${'*'.repeat(local.length - 1)}${s.slice(at)}`;
}

/** Expands `2001:db8::1` to 8 hextets. */
function ipv6Groups(ip: string): string[] {
  const [head = '', tail] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  return [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
}

function maskIp(ip: string): string | null {
  if (isIPv4(ip)) return ip.split('.').slice(0, 3).join('.') + '.0';
  // Keep the /48 routing prefix: enough to see the network, not the host.
  if (isIPv6(ip) && !ip.includes('.')) return `${ipv6Groups(ip).slice(0, 3).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::`;
  return null;
}

export const maskFunctions: FunctionDef[] = [
  def({
    name: 'mask',
    family: 'mask',
    signature: "mask(s, keep_last[, mask_char]) → varchar",
    summary: "Replaces every character but the last `keep_last` with `mask_char` (default '*'). Numbers are masked as text.",
    params: ['string', 'integer', 'string'],
    minArgs: 2,
    returns: 'string',
    impl: mask,
    examples: [
      { expr: "mask('4111111111111111', 4)", result: '************1111' },
      { expr: "mask(phone, 2, '#')", input: { phone: '+15551234' }, result: '#######34' },
      { expr: "mask('abc', 0)", result: '***' },
      { expr: 'mask(ssn, 4)', input: {}, result: null },
    ],
  }),
  def({
    name: 'mask_email',
    family: 'mask',
    signature: 'mask_email(s) → varchar',
    summary: 'Keeps the first character of the local part and the domain: `j*******@example.com`.',
    params: ['string'],
    returns: 'string',
    impl: maskEmail,
    examples: [
      { expr: "mask_email('john.doe@example.com')", result: 'j*******@example.com' },
      { expr: "mask_email('nobody')", result: '******' },
    ],
  }),
  def({
    name: 'mask_ip',
    family: 'mask',
    signature: 'mask_ip(ip) → varchar',
    summary: 'Zeroes the host part: IPv4 keeps /24, IPv6 keeps /48. Null when the text is not an IP address.',
    params: ['string'],
    returns: 'string',
    impl: maskIp,
    examples: [
      { expr: "mask_ip('203.0.113.57')", result: '203.0.113.0' },
      { expr: "mask_ip('2001:db8:85a3::8a2e:370:7334')", result: '2001:db8:85a3::' },
      { expr: "mask_ip('not-an-ip')", result: null },
    ],
  }),
];
