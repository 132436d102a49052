import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HeaderError } from '../../src/netstack/header/errors.js';
import { buildIpv4, parseIpv4, validateIpv4, decrementIpv4Ttl } from '../../src/netstack/header/ipv4.js';
import { buildIpv6, parseIpv6, walkIpv6, validateIpv6 } from '../../src/netstack/header/ipv6.js';
import { buildIcmpv4, parseIcmpv4, validateIcmpv4 } from '../../src/netstack/header/icmpv4.js';
import { buildIcmpv6, parseIcmpv6, validateIcmpv6 } from '../../src/netstack/header/icmpv6.js';
import { buildUdp, parseUdp, validateUdp } from '../../src/netstack/header/udp.js';
import { checksum } from '../../src/netstack/header/checksum.js';
import { formatAddress, parseAddress, prefixMatch } from '../../src/netstack/addr.js';

const RUNS = { seed: 42, numRuns: 300 };
const addr4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
const addr6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const bytes = fc.uint8Array({ maxLength: 200 });

/** Runs f; only HeaderError may escape. */
function onlyHeaderError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof HeaderError)) throw e;
  }
}

describe('IPv4 header', () => {
  it('build ∘ parse is identity', () => {
    fc.assert(
      fc.property(
        fc.record({
          tos: fc.integer({ min: 0, max: 255 }),
          id: fc.integer({ min: 0, max: 0xffff }),
          dontFragment: fc.boolean(),
          moreFragments: fc.boolean(),
          fragmentOffset: fc.integer({ min: 0, max: 0x1fff }).map((x) => x * 8),
          ttl: fc.integer({ min: 0, max: 255 }),
          protocol: fc.integer({ min: 0, max: 255 }),
          src: addr4,
          dst: addr4,
          options: fc.integer({ min: 0, max: 10 }).chain((n) => fc.uint8Array({ minLength: n * 4, maxLength: n * 4 })),
        }),
        bytes,
        (f, payload) => {
          const pkt = buildIpv4(f, payload);
          expect(validateIpv4(pkt)).toBe(20 + f.options.length);
          const h = parseIpv4(pkt);
          expect({ ...h, checksum: 0, src: [...h.src], dst: [...h.dst], options: [...h.options] }).toEqual({
            ...f,
            checksum: 0,
            totalLength: pkt.length,
            src: [...f.src],
            dst: [...f.dst],
            options: [...f.options],
          });
          expect(Array.from(buildIpv4({ ...h }, pkt.subarray(20 + f.options.length)))).toEqual(Array.from(pkt));
        },
      ),
      RUNS,
    );
  });

  it('arbitrary bytes only raise HeaderError', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        onlyHeaderError(() => parseIpv4(b));
        onlyHeaderError(() => validateIpv4(b));
      }),
      RUNS,
    );
  });

  it('rejects bad checksum, version, lengths', () => {
    const p = buildIpv4({ ttl: 1, protocol: 17, src: parseAddress('1.2.3.4'), dst: parseAddress('5.6.7.8') }, new Uint8Array(4));
    const bad = p.slice();
    bad[10]! ^= 1;
    expect(() => validateIpv4(bad)).toThrow(HeaderError);
    expect(() => validateIpv4(p.subarray(0, 22))).toThrow(/total length/);
    const v = p.slice();
    v[0] = 0x55;
    expect(() => validateIpv4(v)).toThrow(/version/);
  });

  it('TTL decrement keeps the checksum valid', () => {
    const p = buildIpv4({ ttl: 64, protocol: 6, src: parseAddress('10.1.2.3'), dst: parseAddress('10.3.2.1'), id: 0xffff }, new Uint8Array(0));
    for (let i = 0; i < 64; i++) {
      decrementIpv4Ttl(p);
      expect(checksum(p, 0, 20)).toBe(0);
    }
    expect(p[8]).toBe(0);
  });
});

describe('IPv6 header', () => {
  it('build ∘ parse is identity', () => {
    fc.assert(
      fc.property(
        fc.record({
          trafficClass: fc.integer({ min: 0, max: 255 }),
          flowLabel: fc.integer({ min: 0, max: 0xfffff }),
          nextHeader: fc.integer({ min: 0, max: 255 }),
          hopLimit: fc.integer({ min: 0, max: 255 }),
          src: addr6,
          dst: addr6,
        }),
        bytes,
        (f, payload) => {
          const pkt = buildIpv6(f, payload);
          const h = parseIpv6(pkt);
          expect({ ...h, src: [...h.src], dst: [...h.dst] }).toEqual({ ...f, payloadLength: payload.length, src: [...f.src], dst: [...f.dst] });
          expect(Array.from(buildIpv6(h, payload))).toEqual(Array.from(pkt));
        },
      ),
      RUNS,
    );
  });

  it('arbitrary bytes only raise HeaderError (parse and extension walk)', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        onlyHeaderError(() => parseIpv6(b));
        onlyHeaderError(() => {
          validateIpv6(b);
          walkIpv6(b);
        });
      }),
      RUNS,
    );
    // Also with a valid fixed header in front of random extension bytes.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), bytes, (nh, rest) => {
        const p = buildIpv6({ nextHeader: nh, hopLimit: 1, src: new Uint8Array(16), dst: new Uint8Array(16) }, rest);
        onlyHeaderError(() => walkIpv6(p));
      }),
      RUNS,
    );
  });

  it('walks hop-by-hop, destination options, routing and fragment headers', () => {
    const ext = Uint8Array.from([
      60, 0, 1, 4, 0, 0, 0, 0, // hop-by-hop → dest opts, 8 bytes (PadN)
      43, 0, 1, 4, 0, 0, 0, 0, // dest opts → routing
      44, 0, 0, 0, 0, 0, 0, 0, // routing (segments left 0) → fragment
      17, 0, 0, 0, 0, 0, 0, 9, // fragment: offset 0, M=0, id 9 → UDP
    ]);
    const p = buildIpv6({ nextHeader: 0, hopLimit: 1, src: new Uint8Array(16), dst: new Uint8Array(16) }, Uint8Array.from([...ext, 1, 2, 3, 4, 5, 6, 7, 8]));
    const w = walkIpv6(p);
    expect(w.protocol).toBe(17);
    expect(w.transportOffset).toBe(40 + 32);
    expect(w.fragment).toEqual({ headerOffset: 64, prevNextHeaderOffset: 56, offset: 0, more: false, id: 9 });
    expect(w.routingOffset).toBe(56);
    expect(w.routingSegmentsLeft).toBe(0);
    const bad = p.slice();
    bad[40 + 8] = 0; // hop-by-hop not first
    expect(() => walkIpv6(bad)).toThrow(HeaderError);
  });
});

describe('ICMP and UDP', () => {
  it('ICMPv4 build ∘ parse, checksum valid', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffffffff }), bytes, (t, c, rest, body) => {
        const m = buildIcmpv4(t, c, rest, body);
        validateIcmpv4(m);
        const h = parseIcmpv4(m);
        expect([h.type, h.code, h.rest, ...h.body]).toEqual([t, c, rest, ...body]);
      }),
      RUNS,
    );
  });

  it('ICMPv6 build ∘ parse with the pseudo-header', () => {
    fc.assert(
      fc.property(addr6, addr6, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffffffff }), bytes, (s, d, t, rest, body) => {
        const m = buildIcmpv6(s, d, t, 0, rest, body);
        validateIcmpv6(s, d, m);
        const h = parseIcmpv6(m);
        expect([h.type, h.rest, ...h.body]).toEqual([t, rest, ...body]);
        const other = d.slice();
        other[15]! ^= 1;
        expect(() => validateIcmpv6(s, other, m)).toThrow(HeaderError);
      }),
      RUNS,
    );
  });

  it('UDP build ∘ parse for both families', () => {
    fc.assert(
      fc.property(fc.oneof(fc.tuple(addr4, addr4), fc.tuple(addr6, addr6)), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), bytes, ([s, d], sp, dp, payload) => {
        const u = buildUdp(s, d, sp, dp, payload);
        expect(validateUdp(u, s, d)).toBe(8 + payload.length);
        const h = parseUdp(u);
        expect([h.srcPort, h.dstPort, h.length, ...h.payload]).toEqual([sp, dp, 8 + payload.length, ...payload]);
        expect(h.checksum).not.toBe(0);
      }),
      RUNS,
    );
  });

  it('arbitrary bytes only raise HeaderError', () => {
    fc.assert(
      fc.property(bytes, addr4, addr6, (b, a4, a6) => {
        onlyHeaderError(() => parseIcmpv4(b));
        onlyHeaderError(() => validateIcmpv4(b));
        onlyHeaderError(() => parseIcmpv6(b));
        onlyHeaderError(() => validateIcmpv6(a6, a6, b));
        onlyHeaderError(() => parseUdp(b));
        onlyHeaderError(() => validateUdp(b, a4, a4));
        onlyHeaderError(() => validateUdp(b, a6, a6));
      }),
      RUNS,
    );
  });
});

describe('addresses', () => {
  it('format ∘ parse', () => {
    fc.assert(
      fc.property(fc.oneof(addr4, addr6), (a) => {
        expect(Array.from(parseAddress(formatAddress(a)))).toEqual(Array.from(a));
      }),
      RUNS,
    );
    expect(formatAddress(parseAddress('fd00:0:0:1::1'))).toBe('fd00:0:0:1::1');
    expect(formatAddress(parseAddress('::ffff:1.2.3.4'))).toBe('::ffff:102:304');
    expect(() => parseAddress('1.2.3')).toThrow();
    expect(() => parseAddress('1::2::3')).toThrow();
    expect(prefixMatch(parseAddress('10.1.2.3'), parseAddress('10.1.0.0'), 16)).toBe(true);
    expect(prefixMatch(parseAddress('10.1.2.3'), parseAddress('10.1.0.0'), 23)).toBe(false);
  });
});
