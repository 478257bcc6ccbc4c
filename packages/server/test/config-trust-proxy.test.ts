// LOGBOOK_TRUST_PROXY parsing (config.ts): off by default, addresses/CIDRs/range names accepted, and every setting
// that would let a directly connecting client choose its own address refused with a message naming the variable.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/config.ts';

const trust = (value: string | undefined) =>
  loadConfig(value === undefined ? {} : { LOGBOOK_TRUST_PROXY: value }, '/tmp').trustProxy;

describe('LOGBOOK_TRUST_PROXY', () => {
  it('is off unless set (or set to false/off)', () => {
    expect(trust(undefined)).toBeUndefined();
    expect(trust('')).toBeUndefined();
    expect(trust('false')).toBeUndefined();
    expect(trust('OFF')).toBeUndefined();
    expect(trust('0')).toBeUndefined(); // zero proxies
  });

  it('takes IPv4/IPv6 addresses, CIDRs and the loopback/linklocal/uniquelocal names', () => {
    expect(trust('10.0.0.1')).toEqual(['10.0.0.1']);
    expect(trust(' 10.0.0.0/8, 192.168.1.0/24 ,loopback')).toEqual([
      '10.0.0.0/8',
      '192.168.1.0/24',
      'loopback',
    ]);
    expect(trust('fd00::/8,::1,uniquelocal,linklocal')).toEqual([
      'fd00::/8',
      '::1',
      'uniquelocal',
      'linklocal',
    ]);
    expect(trust('::ffff:10.0.0.1/128')).toEqual(['::ffff:10.0.0.1/128']);
  });

  it.each([
    ['true', 'cannot tell a proxy from a client'],
    ['*', 'cannot tell a proxy from a client'],
    ['1', 'cannot tell a proxy from a client'],
    ['2', 'cannot tell a proxy from a client'],
    ['10.0.0.0/33', 'got "10.0.0.0/33"'],
    ['fd00::/129', 'got "fd00::/129"'],
    ['10.0.0/8', 'got "10.0.0/8"'],
    ['proxy.example.com', 'got "proxy.example.com"'],
    ['10.0.0.1/8/8', 'got "10.0.0.1/8/8"'],
  ])('refuses %s', (value, message) => {
    expect(() => trust(value)).toThrow(ConfigError);
    expect(() => trust(value)).toThrow(/LOGBOOK_TRUST_PROXY/);
    expect(() => trust(value)).toThrow(message);
  });
});
