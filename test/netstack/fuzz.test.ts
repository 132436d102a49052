import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildIpv4 } from '../../src/netstack/header/ipv4.js';
import { buildIpv6 } from '../../src/netstack/header/ipv6.js';
import { addrs, echoPacket, setup, udpPacket } from './helpers.js';
import { TcpForwarder, TcpProtocol } from '../../src/netstack/transport/tcp/protocol.js';
import { UdpForwarder } from '../../src/netstack/transport/udp.js';
import { IcmpForwarder } from '../../src/netstack/transport/icmp.js';

const LIMITS = { reassemblyMaxBytes: 16_384, reassemblyMaxDatagrams: 16, reassemblyMaxFragments: 8, queueSize: 32, maxUdpEndpoints: 50 };

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
  fc.tuple(fc.constantFrom(4, 6), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 12, maxLength: 40 })).map(([f, flags, rest]) => {
    const fam = f as 4 | 6;
    const a = addrs(fam);
    const seg = new Uint8Array(20 + rest.length);
    seg.set([0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff]);
    seg.set(rest, 20);
    return fam === 4
      ? buildIpv4({ ttl: 5, protocol: 6, src: a.remote, dst: flags & 1 ? a.temp : a.local }, seg)
      : buildIpv6({ nextHeader: 6, hopLimit: 5, src: a.remote, dst: flags & 1 ? a.temp : a.local }, seg);
  }),
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
    // Everything a real endpoint installs: forwarders for ICMP and UDP, TCP with a listener and a forwarder.
    const icmpFwd = new IcmpForwarder(stack, (r) => (r.reply(), r.type === 8));
    stack.setTransportProtocolHandler(1, icmpFwd.handlePacket);
    stack.setTransportProtocolHandler(58, new IcmpForwarder(stack, (r) => r.reply()).handlePacket);
    stack.setTransportProtocolHandler(17, new UdpForwarder(stack.udp, (r) => (r.createEndpoint().send(r.payload), true)).handlePacket);
    const tcp = new TcpProtocol({ isnSecret: new Uint8Array(16) });
    stack.registerTransportProtocol(6, tcp);
    tcp.listen(80);
    stack.setTransportProtocolHandler(6, new TcpForwarder(tcp, (req) => void req.accept()).handlePacket);
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
          expect(stack.udp.endpointCount).toBeLessThanOrEqual(LIMITS.maxUdpEndpoints);
        }
        link.drain();
        if (now % 3 === 0) stack.tick(now);
      }),
      { seed: 42, numRuns: 400 },
    );
    // Only the forwarder's createEndpoint at the endpoint limit may throw (into the handler, contained).
    if (stack.callbackErrors > 0) expect(String(stack.lastCallbackError)).toMatch(/endpoint limit/);
    expect(stack.stats.ipv4.received + stack.stats.ipv6.received).toBeGreaterThan(1000);
  });
});
