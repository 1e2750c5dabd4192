import { describe, expect, it } from 'vitest';
import { classifyFormReply, type FormReply } from '../../../src/sinks/form-post/status.ts';
import { cleanExcerpt, readBodyExcerpt } from '../../../src/sinks/http/excerpt.ts';
import { parseRetryAfter } from '../../../src/sinks/http/retry-after.ts';

const HALTS = [401, 403, 404, 405, 407];
const reply = (status: number, more: Partial<FormReply> = {}): FormReply => ({ status, retryAfterMs: undefined, excerpt: '', origin: 'https://collector:443', ...more });
const outcome = (status: number, more: Partial<FormReply> = {}) => {
  const o = classifyFormReply(reply(status, more), HALTS);
  return o.kind === 'ok' ? 'ok' : `${o.kind}:${o.error.deliveryClass}:${o.error.code}${o.error.retryAfterMs !== undefined ? `:${o.error.retryAfterMs}` : ''}`;
};

describe('form POST status mapping', () => {
  it('maps every class of status', () => {
    expect(outcome(200)).toBe('ok');
    expect(outcome(201)).toBe('ok');
    expect(outcome(204)).toBe('ok');
    expect(outcome(429)).toBe('failed:throttled:FORMPOST_HTTP_429:1000'); // no Retry-After: 1 s
    expect(outcome(429, { retryAfterMs: 7000 })).toBe('failed:throttled:FORMPOST_HTTP_429:7000');
    expect(outcome(408)).toBe('failed:throttled:FORMPOST_HTTP_408:1000');
    expect(outcome(500)).toBe('failed:retriable:FORMPOST_HTTP_500');
    expect(outcome(501)).toBe('failed:retriable:FORMPOST_HTTP_501');
    expect(outcome(502)).toBe('failed:retriable:FORMPOST_HTTP_502');
    expect(outcome(503, { retryAfterMs: 5000 })).toBe('failed:throttled:FORMPOST_HTTP_503:5000');
    expect(outcome(413)).toBe('too-large:permanent:FORMPOST_HTTP_413');
    for (const s of HALTS) expect(outcome(s)).toBe(`failed:halt:FORMPOST_HTTP_${s}`);
    for (const s of [400, 409, 410, 415, 422, 451]) expect(outcome(s)).toBe(`failed:permanent:FORMPOST_HTTP_${s}`);
    for (const s of [301, 302, 303, 307, 308]) expect(outcome(s)).toBe(`failed:halt:FORMPOST_HTTP_${s}`);
    expect(outcome(101)).toBe('failed:halt:FORMPOST_HTTP_101');
    expect(outcome(600)).toBe('failed:halt:FORMPOST_HTTP_600');
    // With FORMPOST_HALT_STATUSES=none every such 4xx dead-letters
    const none = classifyFormReply(reply(401), []);
    expect(none.kind === 'failed' && none.error.deliveryClass).toBe('permanent');
  });

  it('the reason names the status, the receiver and the body excerpt; redirects say they are not followed', () => {
    const o = classifyFormReply(reply(400, { excerpt: 'rows must be <= 10' }), HALTS);
    expect(o.kind === 'failed' && o.error.message).toBe('HTTP 400 from https://collector:443: rows must be <= 10');
    const r = classifyFormReply(reply(302), HALTS);
    expect(r.kind === 'failed' && r.error.message).toMatch(/HTTP 302 from https:\/\/collector:443 \(redirects are not followed/);
  });

  it('body excerpts are one bounded line without control characters, secrets masked', async () => {
    expect(cleanExcerpt('bad\r\nrequest\t\u0007\u001b[31mred\u001b[0m\u2028x')).toBe('bad request [31mred [0m x');
    expect(cleanExcerpt('é'.repeat(400), 300)).toBe(`${'é'.repeat(300)}…`);
    expect(cleanExcerpt(`${'a'.repeat(299)}𝄞`, 300)).toBe(`${'a'.repeat(299)}…`); // no half surrogate pair
    expect(cleanExcerpt('token Bearer s3cr3t-value rejected', 300, ['Bearer s3cr3t-value'])).toBe('token **REDACTED** rejected');
    expect(cleanExcerpt('echo: s3cr3t-va', 300, ['s3cr3t-value'])).toBe('echo: **REDACTED**'); // cut inside the secret
    expect(cleanExcerpt(Buffer.from([0x61, 0xe2, 0x82]))).toBe('a'); // a UTF-8 sequence cut by the byte limit
    const big = (async function* () {
      for (let i = 0; i < 1000; i++) yield Buffer.alloc(1024, 0x41);
    })();
    expect((await readBodyExcerpt(big, 4096)).length).toBe(4096);
  });

  it('Retry-After: seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(['2', '9'])).toBe(2000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.UTC(2015, 9, 21, 7, 28, 0))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
