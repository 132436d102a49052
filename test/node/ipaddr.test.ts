import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import net from 'node:net';
import { formatIPv4, formatIPv6, parseIPv4Into, parseIPv6Into } from '../../src/node/ipaddr.js';

describe('ipaddr', () => {
  it('parses and formats IPv4', () => {
    const b = new Uint8Array(4);
    expect(parseIPv4Into('192.168.1.254', b)).toBe(true);
    expect([...b]).toEqual([192, 168, 1, 254]);
    expect(formatIPv4(b)).toBe('192.168.1.254');
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', 'a.b.c.d', '1..2.3', '1.2.3.4 ']) {
      expect(parseIPv4Into(bad, b)).toBe(false);
    }
  });

  it('formats IPv6 like inet_ntop (RFC 5952)', () => {
    const cases: Array<[string, string]> = [
      ['::', '::'],
      ['::1', '::1'],
      ['fd00:0:0:0:0:0:0:2', 'fd00::2'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
      ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
      ['1:2:3:4:5:0:0:0', '1:2:3:4:5::'],
      ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
      ['[fe80::1%eth0]', 'fe80::1'],
    ];
    const b = new Uint8Array(16);
    for (const [input, want] of cases) {
      expect(parseIPv6Into(input, b), input).toBe(true);
      expect(formatIPv6(b)).toBe(want);
    }
    for (const bad of ['', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2:3:4:5:6:7', '12345::']) {
      expect(parseIPv6Into(bad, b), bad).toBe(false);
    }
  });

  it('round-trips random IPv6 addresses and agrees with node:net', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 7 }), (bytes, zeros) => {
        const b = Uint8Array.from(bytes);
        b.fill(0, 16 - 2 * zeros); // make zero runs common
        const text = formatIPv6(b);
        expect(net.isIPv6(text)).toBe(true);
        const back = new Uint8Array(16);
        expect(parseIPv6Into(text, back)).toBe(true);
        expect([...back]).toEqual([...b]);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
