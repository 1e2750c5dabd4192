import { describe, expect, it } from 'vitest';
import { cefFromSyslog, parseFacility, priority, syslogSeverity } from '../../../src/sinks/syslog/severity.ts';

describe('syslog severity', () => {
  it.each([
    ['emergency', 0], ['emerg', 0], ['panic', 0], ['alert', 1], ['critical', 2], ['crit', 2], ['fatal', 2], ['very-high', 2],
    ['error', 3], ['err', 3], ['high', 3], ['warning', 4], ['warn', 4], ['medium', 4], ['notice', 5], ['low', 5],
    ['informational', 6], ['info', 6], ['debug', 7], ['trace', 7], [' HIGH ', 3], ['Critical', 2], [0, 0], [7, 7], ['5', 5],
  ])('%j → %i', (value, sev) => {
    expect(syslogSeverity(value)).toBe(sev);
  });

  it.each([[8], [-1], [2.5], ['8'], ['2.0'], ['bogus'], [''], [null], [undefined], [true], [{}], ['toString'], ['__proto__']])('%j is unreadable', (value) => {
    expect(syslogSeverity(value)).toBeUndefined();
  });

  it('keeps the order of feed severities: critical > high > medium > low, in syslog and in CEF', () => {
    const order = ['critical', 'high', 'medium', 'low'].map((s) => syslogSeverity(s)!);
    expect(order).toEqual([2, 3, 4, 5]);
    expect(order.map(cefFromSyslog)).toEqual([9, 8, 5, 3]);
  });
});

describe('facility and PRI', () => {
  it('reads names and numbers 0–23', () => {
    expect(parseFacility('kern')).toBe(0);
    expect(parseFacility('auth')).toBe(4);
    expect(parseFacility('authpriv')).toBe(10);
    expect(parseFacility('local0')).toBe(16);
    expect(parseFacility('local7')).toBe(23);
    expect(parseFacility('23')).toBe(23);
    expect(parseFacility(24)).toBeUndefined();
    expect(parseFacility('local8')).toBeUndefined();
  });

  it('computes facility × 8 + severity', () => {
    expect(priority(0, 0)).toBe(0);
    expect(priority(16, 6)).toBe(134);
    expect(priority(4, 2)).toBe(34);
    expect(priority(23, 7)).toBe(191);
  });
});
