import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatIPv6, formatIPv4, parseIPv4, parseIPv6, parsePrefix, hostBitsZero, formatPrefix } from '../../src/config/ip.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));

describe('IPv6 formatting matches glibc inet_ntop', () => {
  const cases: [string, string][] = [
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // first of two equal runs
    ['20010db8000100000000000000000001', '2001:db8:1::1'],
    ['20010db8000000010000000000000000', '2001:db8:0:1::'], // longest run wins over the earlier single zero
    ['20010db8000100010001000100010000', '2001:db8:1:1:1:1:1:0'], // a single zero group is not compressed
    ['00000000000000000000ffffc6336404', '::ffff:198.51.100.4'], // IPv4-mapped
    ['000000000000000000000000c0000201', '::192.0.2.1'], // IPv4-compatible
    ['00000000000000000000000000000100', '::100'],
    ['fe800000000000000000000000000000', 'fe80::'],
    ['00010000000000000000000000000000', '1::'],
    ['abcd00ef000000000000000000000000', 'abcd:ef::'],
  ];
  for (const [h, text] of cases) {
    it(text, () => {
      expect(formatIPv6(hex(h))).toBe(text);
      expect(parseIPv6(text)).toEqual(hex(h));
    });
  }

  it('format → parse is the identity on random addresses', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect(parseIPv6(formatIPv6(b))).toEqual(b);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});

describe('address parsing', () => {
  it('accepts exactly the inet_pton forms', () => {
    expect(parseIPv4('10.0.0.1')).toEqual(new Uint8Array([10, 0, 0, 1]));
    expect(formatIPv4(new Uint8Array([255, 255, 255, 255]))).toBe('255.255.255.255');
    for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '1.2.3.4.5', '', 'a.b.c.d', '1..2.3']) expect(parseIPv4(bad)).toBeNull();
    for (const bad of [':::', '1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '12345::', '1:2:3:4:5:6:7', '::1.2.3', ':1', '1:']) expect(parseIPv6(bad)).toBeNull();
    expect(parseIPv6('1:2:3:4:5:6:1.2.3.4')).toEqual(hex('00010002000300040005000601020304'));
  });

  it('parses prefixes with default lengths and checks host bits', () => {
    expect(parsePrefix('10.0.0.1')).toEqual({ family: 4, address: new Uint8Array([10, 0, 0, 1]), prefix: 32 });
    expect(parsePrefix('fd00::')?.prefix).toBe(128);
    expect(parsePrefix('10.0.0.0/33')).toBeNull();
    expect(parsePrefix('fd00::/129')).toBeNull();
    expect(parsePrefix('10.0.0.0/')).toBeNull();
    expect(parsePrefix('10.0.0.0/+1')).toBeNull();
    expect(hostBitsZero(parsePrefix('10.0.0.0/8')!)).toBe(true);
    expect(hostBitsZero(parsePrefix('10.0.0.1/8')!)).toBe(false);
    expect(hostBitsZero(parsePrefix('::/0')!)).toBe(true);
    expect(formatPrefix(parsePrefix('2001:DB8:0::1/64')!)).toBe('2001:db8::1/64');
  });
});
