import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildIpv4 } from '../../src/netstack/header/ipv4.js';
import { buildIpv6 } from '../../src/netstack/header/ipv6.js';
import { addrs, echoPacket, setup, udpPacket } from './helpers.js';

const LIMITS = { reassemblyMaxBytes: 16_384, reassemblyMaxDatagrams: 16, reassemblyMaxFragments: 8, queueSize: 32 };

/** Packets that look valid enough to get deep into the stack, then get mutated. */
const seedPacket = fc.oneof(
  fc.uint8Array({ maxLength: 120 }),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 80 }), fc.boolean(), fc.integer({ min: 0, max: 400 })).map(([proto, body, mf, off]) => {
    const a = addrs(4);
    return buildIpv4({ ttl: 5, protocol: proto, src: a.remote, dst: proto & 1 ? a.local : a.temp, moreFragments: mf, fragmentOffset: off * 8, id: proto }, body);
  }),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 80 })).map(([nh, body]) => {
    const a = addrs(6);
    return buildIpv6({ nextHeader: nh, hopLimit: 5, src: a.remote, dst: nh & 1 ? a.local : a.temp }, body);
  }),
  fc.constantFrom(4, 6).map((f) => echoPacket({ family: f as 4 | 6, src: addrs(f as 4 | 6).remote, dst: addrs(f as 4 | 6).local })),
  fc.constantFrom(4, 6).map((f) => udpPacket(f as 4 | 6, addrs(f as 4 | 6).remote, addrs(f as 4 | 6).local, 1, 2, Uint8Array.of(1))),
);

const mutated = fc.tuple(seedPacket, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat()).map(([p, muts, cut]) => {
  const q = p.slice();
  for (const [i, v] of muts) if (q.length) q[i % q.length] = v;
  return cut % 5 === 0 ? q.subarray(0, cut % (q.length + 1)) : q;
});

describe('arbitrary bytes through injectInbound', () => {
  it('never throw and never grow memory past the limits', () => {
    const { stack, link } = setup(LIMITS);
    stack.setPromiscuous(1, true);
    stack.setTransportProtocolHandler(1, () => false);
    let now = 0;
    fc.assert(
      fc.property(fc.array(mutated, { minLength: 1, maxLength: 20 }), (pkts) => {
        for (const p of pkts) {
          now += 7;
          expect(() => link.injectInbound(p, now)).not.toThrow();
          expect(stack.reassembler4.bytesInUse).toBeLessThanOrEqual(LIMITS.reassemblyMaxBytes);
          expect(stack.reassembler6.bytesInUse).toBeLessThanOrEqual(LIMITS.reassemblyMaxBytes);
          expect(stack.reassembler4.inProgress).toBeLessThanOrEqual(LIMITS.reassemblyMaxDatagrams);
          expect(stack.reassembler6.inProgress).toBeLessThanOrEqual(LIMITS.reassemblyMaxDatagrams);
          expect(link.queued).toBeLessThanOrEqual(LIMITS.queueSize);
        }
        link.drain();
        if (now % 3 === 0) stack.tick(now);
      }),
      { seed: 42, numRuns: 400 },
    );
    expect(stack.callbackErrors).toBe(0);
    expect(stack.stats.ipv4.received + stack.stats.ipv6.received).toBeGreaterThan(1000);
  });
});
