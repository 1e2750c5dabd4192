/**
 * Hashes and encodings, for pseudonymising PII in flight. Text is hashed as
 * UTF-8 and digests are lower-case hex. Prefer hmac_sha256 with a secret key
 * for identifiers such as e-mail addresses: a plain hash of a low-entropy
 * value can be reversed with a dictionary.
 */
import { createHash, createHmac } from 'node:crypto';
import { QueryRuntimeError } from '../errors.ts';
import { def, type FunctionDef } from './registry.ts';

const digest = (algo: string) => (s: string) => createHash(algo).update(s, 'utf8').digest('hex');

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

export const hashFunctions: FunctionDef[] = [
  def({
    name: 'md5',
    family: 'hash',
    signature: 'md5(s) → varchar',
    summary: 'MD5 digest of the UTF-8 text, as 32 hex characters.',
    params: ['string'],
    returns: 'string',
    impl: digest('md5'),
    examples: [{ expr: "md5('hello')", result: '5d41402abc4b2a76b9719d911017c592' }],
  }),
  def({
    name: 'sha1',
    family: 'hash',
    signature: 'sha1(s) → varchar',
    summary: 'SHA-1 digest as 40 hex characters.',
    params: ['string'],
    returns: 'string',
    impl: digest('sha1'),
    examples: [{ expr: "sha1('hello')", result: 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d' }],
  }),
  def({
    name: 'sha256',
    family: 'hash',
    signature: 'sha256(s) → varchar',
    summary: 'SHA-256 digest as 64 hex characters.',
    params: ['string'],
    returns: 'string',
    impl: digest('sha256'),
    examples: [
      { expr: "sha256('hello')", result: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' },
      { expr: 'sha256(email)', input: {}, result: null },
    ],
  }),
  def({
    name: 'sha512',
    family: 'hash',
    signature: 'sha512(s) → varchar',
    summary: 'SHA-512 digest as 128 hex characters.',
    params: ['string'],
    returns: 'string',
    impl: digest('sha512'),
    examples: [
      {
        expr: "sha512('')",
        result: 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
      },
    ],
  }),
  def({
    name: 'hmac_sha256',
    family: 'hash',
    signature: 'hmac_sha256(s, key) → varchar',
    summary: 'HMAC-SHA-256 of the text with a secret key, as hex: a keyed pseudonym that cannot be reversed by hashing guesses.',
    params: ['string', 'string'],
    returns: 'string',
    impl: (s: string, key: string) => createHmac('sha256', key).update(s, 'utf8').digest('hex'),
    examples: [
      {
        expr: "hmac_sha256('The quick brown fox jumps over the lazy dog', 'key')",
        result: 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
      },
    ],
  }),
  def({
    name: 'to_base64',
    family: 'hash',
    signature: 'to_base64(s) → varchar',
    summary: 'Base64 of the UTF-8 text.',
    params: ['string'],
    returns: 'string',
    impl: (s: string) => Buffer.from(s, 'utf8').toString('base64'),
    examples: [{ expr: "to_base64('admin:secret')", result: 'YWRtaW46c2VjcmV0' }],
  }),
  def({
    name: 'from_base64',
    family: 'hash',
    signature: 'from_base64(s) → varchar',
    summary: 'Decodes Base64 to UTF-8 text; input that is not Base64 is a runtime error.',
    params: ['string'],
    returns: 'string',
    impl: (s: string) => {
      if (!BASE64.test(s)) throw new QueryRuntimeError('from_base64: input is not Base64');
      return Buffer.from(s, 'base64').toString('utf8');
    },
    examples: [{ expr: "from_base64('YWRtaW46c2VjcmV0')", result: 'admin:secret' }],
  }),
];
