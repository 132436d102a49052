import { describe, expect, it } from 'vitest';
import { UdpForwarder, type UdpForwarderRequest } from '../../src/netstack/transport/udp.js';
import { parseUdp, validateUdp } from '../../src/netstack/header/udp.js';
import { buildIpv4 } from '../../src/netstack/header/ipv4.js';
import { checksum } from '../../src/netstack/header/checksum.js';
import { icmpv6Checksum } from '../../src/netstack/header/icmpv6.js';
import type { IpFamily } from '../../src/netstack/transport/protocol.js';
import { addrs, setup, udpPacket } from './helpers.js';

const hlOf = (f: IpFamily) => (f === 4 ? 20 : 40);
const srcOf = (p: Uint8Array, f: IpFamily) => Array.from(f === 4 ? p.subarray(12, 16) : p.subarray(8, 24));
const dstOf = (p: Uint8Array, f: IpFamily) => Array.from(f === 4 ? p.subarray(16, 20) : p.subarray(24, 40));

describe.each([4, 6] as const)('UDP over IPv%i', (family) => {
  const a = addrs(family);
  const hl = hlOf(family);

  it('echo through the stack', () => {
    const { stack, link } = setup();
    const ep = stack.udp.createEndpoint(family).bind(7, a.local);
    ep.onMessage = (d) => ep.send(d.payload, d.src, d.srcPort);
    link.injectInbound(udpPacket(family, a.remote, a.local, 40000, 7, Uint8Array.of(9, 8, 7)));
    const out = link.drain();
    expect(out.length).toBe(1);
    const p = out[0]!;
    expect(srcOf(p, family)).toEqual(Array.from(a.local));
    expect(dstOf(p, family)).toEqual(Array.from(a.remote));
    const u = parseUdp(p.subarray(hl));
    expect([u.srcPort, u.dstPort, ...u.payload]).toEqual([7, 40000, 9, 8, 7]);
    expect(validateUdp(p.subarray(hl), p.subarray(family === 4 ? 12 : 8, family === 4 ? 16 : 24), p.subarray(family === 4 ? 16 : 24, family === 4 ? 20 : 40))).toBe(11);
    expect(stack.stats.udp.delivered).toBe(1);
    expect(stack.stats.udp.sent).toBe(1);
  });

  it('queues datagrams when no callback is set (bounded)', () => {
    const { stack, link } = setup();
    const ep = stack.udp.createEndpoint(family);
    ep.bind(9);
    for (let i = 0; i < 300; i++) link.injectInbound(udpPacket(family, a.remote, a.local, 1000, 9, Uint8Array.of(i & 0xff)));
    expect(ep.receive()!.payload[0]).toBe(0);
    expect(stack.stats.udp.receiveQueueDropped).toBe(300 - 256);
  });

  it('port unreachable for a closed port on an own address (exact ICMP)', () => {
    const { stack, link } = setup();
    const req = udpPacket(family, a.remote, a.local, 1234, 5555, Uint8Array.of(1, 2));
    link.injectInbound(req);
    const out = link.drain();
    expect(out.length).toBe(1);
    const p = out[0]!;
    expect(srcOf(p, family)).toEqual(Array.from(a.local));
    expect(dstOf(p, family)).toEqual(Array.from(a.remote));
    const icmp = p.subarray(hl);
    if (family === 4) {
      expect([icmp[0], icmp[1]]).toEqual([3, 3]);
      expect(checksum(icmp)).toBe(0);
    } else {
      expect([icmp[0], icmp[1]]).toEqual([1, 4]);
      expect(icmpv6Checksum(p.subarray(8, 24), p.subarray(24, 40), icmp)).toBe(0);
    }
    expect(Array.from(icmp.subarray(8))).toEqual(Array.from(req));
    expect(stack.stats.udp.portUnreachableSent).toBe(1);
  });

  it('silence for a temporary address nothing claims', () => {
    const { stack, link } = setup();
    stack.setPromiscuous(1, true);
    link.injectInbound(udpPacket(family, a.remote, a.temp, 1234, 5555, Uint8Array.of(1)));
    expect(link.drain()).toEqual([]);
    expect(stack.stats.transport.get(17)!.silentDrops).toBe(1);
  });

  it('a consuming default handler suppresses port unreachable; a declining one does not', () => {
    const { stack, link } = setup();
    stack.setTransportProtocolHandler(17, () => true);
    link.injectInbound(udpPacket(family, a.remote, a.local, 1, 2, Uint8Array.of(1)));
    expect(link.drain()).toEqual([]);
    stack.setTransportProtocolHandler(17, () => false);
    link.injectInbound(udpPacket(family, a.remote, a.local, 1, 2, Uint8Array.of(1)));
    expect(link.drain().length).toBe(1);
  });

  it('Forwarder: unclaimed datagram to a temporary address, answered from it; the flow sticks', () => {
    const { stack, link } = setup();
    stack.setPromiscuous(1, true);
    const reqs: UdpForwarderRequest[] = [];
    const flowGot: number[] = [];
    const fwd = new UdpForwarder(stack.udp, (r) => {
      reqs.push(r);
      const ep = r.createEndpoint();
      ep.onMessage = (d) => flowGot.push(...d.payload);
      ep.send(Uint8Array.of(0xaa, ...r.payload));
      return true;
    });
    stack.setTransportProtocolHandler(17, fwd.handlePacket);
    link.injectInbound(udpPacket(family, a.remote, a.temp, 4444, 53, Uint8Array.of(5)));
    expect(reqs.length).toBe(1);
    expect(reqs[0]!.temporary).toBe(true);
    expect(reqs[0]!.id.localPort).toBe(53);
    expect(reqs[0]!.id.remotePort).toBe(4444);
    const out = link.drain();
    expect(out.length).toBe(1);
    expect(srcOf(out[0]!, family)).toEqual(Array.from(a.temp));
    const u = parseUdp(out[0]!.subarray(hl));
    expect([u.srcPort, u.dstPort, ...u.payload]).toEqual([53, 4444, 0xaa, 5]);
    // Later datagrams of the flow reach the endpoint, not the handler.
    link.injectInbound(udpPacket(family, a.remote, a.temp, 4444, 53, Uint8Array.of(6)));
    expect(reqs.length).toBe(1);
    expect(flowGot).toEqual([6]);
  });

  it('checksum failures are dropped and counted, never answered', () => {
    const { stack, link } = setup();
    const ep = stack.udp.createEndpoint(family).bind(7);
    let got = 0;
    ep.onMessage = () => got++;
    const p = udpPacket(family, a.remote, a.local, 1, 7, Uint8Array.of(1, 2, 3));
    p[p.length - 1]! ^= 0x55;
    link.injectInbound(p);
    const q = udpPacket(family, a.remote, a.local, 1, 8, Uint8Array.of(1, 2, 3));
    q[q.length - 1]! ^= 0x55;
    link.injectInbound(q);
    expect(got).toBe(0);
    expect(link.drain()).toEqual([]);
    expect(stack.stats.udp.checksumErrors).toBe(2);
  });

  it('zero checksum: accepted over IPv4, invalid over IPv6', () => {
    const { stack, link } = setup();
    const ep = stack.udp.createEndpoint(family).bind(7);
    let got = 0;
    ep.onMessage = () => got++;
    const p = udpPacket(family, a.remote, a.local, 1, 7, Uint8Array.of(1));
    p[hl + 6] = 0;
    p[hl + 7] = 0;
    link.injectInbound(p);
    expect(got).toBe(family === 4 ? 1 : 0);
    expect(link.drain()).toEqual([]);
  });

  it('ephemeral ports and connected lookup', () => {
    const { stack, link } = setup();
    const ep = stack.udp.createEndpoint(family).connect(a.remote, 53);
    expect(ep.localPort).toBeGreaterThanOrEqual(49152);
    const wild = stack.udp.createEndpoint(family).bind(ep.localPort === 65535 ? 65534 : ep.localPort + 1);
    expect(wild.localPort).not.toBe(ep.localPort);
    let got = 0;
    ep.onMessage = () => got++;
    link.injectInbound(udpPacket(family, a.remote, a.local, 53, ep.localPort, Uint8Array.of(1)));
    link.injectInbound(udpPacket(family, a.remote, a.local, 54, ep.localPort, Uint8Array.of(1))); // other remote port: not this flow
    expect(got).toBe(1);
    expect(link.drain().length).toBe(1); // port unreachable for the second
    expect(() => stack.udp.createEndpoint(family).bind(wild.localPort)).toThrow();
  });

  it('ICMP errors are rate limited by a token bucket on now', () => {
    const { stack, link } = setup({ icmpErrorRate: 1, icmpErrorBurst: 2 });
    for (let i = 0; i < 5; i++) link.injectInbound(udpPacket(family, a.remote, a.local, 1, 2, Uint8Array.of(i)), 1000);
    expect(link.drain().length).toBe(2);
    stack.tick(3000);
    for (let i = 0; i < 5; i++) link.injectInbound(udpPacket(family, a.remote, a.local, 1, 2, Uint8Array.of(i)), 3000);
    expect(link.drain().length).toBe(2);
    expect((family === 4 ? stack.stats.icmpv4 : stack.stats.icmpv6).errorsRateLimited).toBe(6);
  });
});

describe('UDP misc', () => {
  it('sending from a foreign source needs spoofing', () => {
    const { stack, link } = setup();
    const ep = stack.udp.createEndpoint(4).bind(1000, addrs(4).temp);
    expect(ep.send(Uint8Array.of(1), addrs(4).remote, 9)).toBe('no-route');
    stack.setSpoofing(1, true);
    expect(ep.send(Uint8Array.of(1), addrs(4).remote, 9)).toBe('ok');
    const p = link.read()!;
    expect(Array.from(p.subarray(12, 16))).toEqual(Array.from(addrs(4).temp));
  });

  it('unknown protocol to an own address → protocol unreachable; to a temporary one → silence', () => {
    const { stack, link } = setup();
    stack.setPromiscuous(1, true);
    const a = addrs(4);
    link.injectInbound(buildIpv4({ ttl: 9, protocol: 99, src: a.remote, dst: a.local }, Uint8Array.of(1, 2, 3, 4)));
    const out = link.drain();
    expect(out.length).toBe(1);
    expect([out[0]![20], out[0]![21]]).toEqual([3, 2]);
    link.injectInbound(buildIpv4({ ttl: 9, protocol: 99, src: a.remote, dst: a.temp }, Uint8Array.of(1, 2, 3, 4)));
    expect(link.drain()).toEqual([]);
  });
});

describe('UDP callbacks', () => {
  it('a throwing onMessage still counts as delivered: no port unreachable', () => {
    const { stack, link } = setup();
    const a = addrs(4);
    const ep = stack.udp.createEndpoint(4).bind(7);
    ep.onMessage = () => {
      throw new Error('app bug');
    };
    link.injectInbound(udpPacket(4, a.remote, a.local, 1, 7, Uint8Array.of(1)));
    expect(link.drain()).toEqual([]);
    expect(stack.stats.udp.callbackErrors).toBe(1);
  });
});

describe('UDP wildcard endpoints and temporary addresses', () => {
  it('a wildcard endpoint ignores temporary destinations unless acceptTemporary', () => {
    const { stack, link } = setup();
    stack.setPromiscuous(1, true);
    const a = addrs(4);
    const ep = stack.udp.createEndpoint(4).bind(53);
    const got: string[] = [];
    ep.onMessage = (d) => got.push(`${d.dst.join('.')}:${d.temporary}`);
    link.injectInbound(udpPacket(4, a.remote, a.temp, 1, 53, Uint8Array.of(1)));
    link.injectInbound(udpPacket(4, a.remote, a.local, 1, 53, Uint8Array.of(1)));
    expect(got).toEqual(['10.0.0.1:false']);
    expect(link.drain()).toEqual([]);
    ep.acceptTemporary = true;
    link.injectInbound(udpPacket(4, a.remote, a.temp, 1, 53, Uint8Array.of(1)));
    expect(got).toEqual(['10.0.0.1:false', '10.9.9.9:true']);
  });
});

describe('UDP endpoint limit', () => {
  it('binding beyond maxUdpEndpoints throws; closing frees a slot', () => {
    const { stack } = setup({ maxUdpEndpoints: 2 });
    const e1 = stack.udp.createEndpoint(4).bind(1);
    stack.udp.createEndpoint(6).bind(1);
    expect(() => stack.udp.createEndpoint(4).bind(2)).toThrow(/limit/);
    e1.close();
    expect(stack.udp.endpointCount).toBe(1);
    stack.udp.createEndpoint(4).bind(2);
    expect(stack.udp.endpointCount).toBe(2);
  });
});
