import { describe, expect, it } from 'vitest';
import { Stack } from '../../src/netstack/stack.js';
import { ChannelEndpoint } from '../../src/netstack/link/channel.js';
import { parseAddress } from '../../src/netstack/addr.js';
import { buildIpv4 } from '../../src/netstack/header/ipv4.js';
import { buildIcmpv4 } from '../../src/netstack/header/icmpv4.js';
import { buildIcmpv6 } from '../../src/netstack/header/icmpv6.js';
import { buildIpv6 } from '../../src/netstack/header/ipv6.js';
import {
  TRANSPORT_HEADROOM,
  type TransportControl,
  type TransportPacket,
  type TransportProtocol,
  type TransportStack,
} from '../../src/netstack/transport/protocol.js';
import { addrs, setup } from './helpers.js';

/** A stand-in for TCP to exercise the registration interface. */
class FakeProto implements TransportProtocol {
  readonly protocol = 6;
  stack: TransportStack | null = null;
  delivered: TransportPacket[] = [];
  unclaimed: TransportPacket[] = [];
  controls: TransportControl[] = [];
  claim = true;
  deadline: number | undefined = undefined;
  ticks: number[] = [];
  attach(s: TransportStack) {
    this.stack = s;
  }
  deliver(p: TransportPacket) {
    this.delivered.push(p);
    return this.claim;
  }
  handleUnclaimed(p: TransportPacket) {
    this.unclaimed.push(p);
  }
  handleControl(c: TransportControl) {
    this.controls.push(c);
  }
  nextDeadline() {
    return this.deadline;
  }
  tick(now: number) {
    this.ticks.push(now);
  }
}

describe('stack: transport registration', () => {
  it('delivers, falls back to the default handler, reports unclaimed only for own addresses', () => {
    const { stack, link } = setup();
    stack.setPromiscuous(1, true);
    const tcp = new FakeProto();
    stack.registerTransportProtocol(6, tcp);
    expect(tcp.stack).toBe(stack);
    const a = addrs(4);
    const pkt = (dst: Uint8Array) => buildIpv4({ ttl: 64, protocol: 6, src: a.remote, dst, tos: 4 }, new Uint8Array(20));
    link.injectInbound(pkt(a.local), 5);
    expect(tcp.delivered.length).toBe(1);
    const d = tcp.delivered[0]!;
    expect([d.family, d.protocol, d.networkHeaderLength, d.payload.length, d.temporary, d.tos, d.ttl, d.now]).toEqual([4, 6, 20, 20, false, 4, 64, 5]);
    tcp.claim = false;
    let handled = 0;
    stack.setTransportProtocolHandler(6, () => (handled++, false));
    link.injectInbound(pkt(a.local));
    link.injectInbound(pkt(a.temp));
    expect(handled).toBe(2);
    expect(tcp.unclaimed.length).toBe(1);
    expect(tcp.unclaimed[0]!.temporary).toBe(false);
    stack.setTransportProtocolHandler(6, () => true);
    link.injectInbound(pkt(a.local));
    expect(tcp.unclaimed.length).toBe(1);
    const st = stack.stats.transport.get(6)!;
    expect(st).toEqual({ received: 4, endpointDelivered: 1, consumedByHandler: 1, unclaimed: 2, silentDrops: 1, sent: 0, sendFailed: 0 });
  });

  it('sendTransport writes the IP header in place into the headroom', () => {
    const { stack, link } = setup();
    const a = addrs(6);
    const route = stack.findRoute(6, a.remote)!;
    expect(Array.from(route.src)).toEqual(Array.from(a.local));
    const buf = new Uint8Array(TRANSPORT_HEADROOM + 4);
    buf.set([1, 2, 3, 4], TRANSPORT_HEADROOM);
    expect(stack.sendTransport(route, 6, buf, TRANSPORT_HEADROOM, { tos: 0x28, ttl: 9 })).toBe('ok');
    const out = link.read()!;
    expect(out.buffer).toBe(buf.buffer);
    expect(out.length).toBe(44);
    expect([out[0], out[1], out[6], out[7]]).toEqual([0x62, 0x80, 6, 9]);
  });

  it('control messages: ICMP errors quoting our packets reach the protocol; PTB lowers the path MTU', () => {
    const { stack, link } = setup();
    const tcp = new FakeProto();
    stack.registerTransportProtocol(6, tcp);
    const a = addrs(4);
    const ours = buildIpv4({ ttl: 64, protocol: 6, src: a.local, dst: a.remote }, Uint8Array.of(0, 80, 0x9c, 0x40, 0, 0, 0, 1));
    const err = buildIpv4({ ttl: 64, protocol: 1, src: a.remote, dst: a.local }, buildIcmpv4(3, 4, 1000, ours));
    link.injectInbound(err);
    expect(tcp.controls.length).toBe(1);
    expect(tcp.controls[0]!.kind).toBe('packet-too-big');
    expect(tcp.controls[0]!.mtu).toBe(1000);
    expect(Array.from(tcp.controls[0]!.transport.subarray(0, 4))).toEqual([0, 80, 0x9c, 0x40]);
    expect(stack.findRoute(4, a.remote)!.mtu).toBe(1000);
    // IPv6 packet too big.
    const b = addrs(6);
    const ours6 = buildIpv6({ nextHeader: 6, hopLimit: 64, src: b.local, dst: b.remote }, new Uint8Array(8));
    link.injectInbound(buildIpv6({ nextHeader: 58, hopLimit: 64, src: b.remote, dst: b.local }, buildIcmpv6(b.remote, b.local, 2, 0, 1300, ours6)));
    expect(tcp.controls[1]!.kind).toBe('packet-too-big');
    expect(stack.findRoute(6, b.remote)!.mtu).toBe(1300);
    expect(link.drain()).toEqual([]);
  });

  it('nextDeadline and tick include registered protocols', () => {
    const { stack } = setup();
    const tcp = new FakeProto();
    stack.registerTransportProtocol(6, tcp);
    expect(stack.nextDeadline()).toBeUndefined();
    tcp.deadline = 1234;
    expect(stack.nextDeadline()).toBe(1234);
    stack.tick(1234);
    expect(tcp.ticks).toEqual([1234]);
    expect(stack.now()).toBe(1234);
  });
});

describe('stack: addresses and routes', () => {
  it('longest prefix wins; source follows the NIC; removal works', () => {
    const stack = new Stack();
    const l1 = new ChannelEndpoint({ mtu: 1400 });
    const l2 = new ChannelEndpoint({ mtu: 1280 });
    stack.createNic(1, l1);
    stack.createNic(2, l2);
    stack.addAddress(1, '10.0.0.1/24');
    stack.addAddress(2, '192.168.1.1/24');
    stack.addRoute('0.0.0.0/0', 1);
    stack.addRoute('192.168.0.0/16', 2);
    const r = stack.findRoute(4, parseAddress('192.168.7.7'))!;
    expect(r.nic).toBe(2);
    expect(r.mtu).toBe(1280);
    expect(Array.from(r.src)).toEqual([192, 168, 1, 1]);
    expect(stack.findRoute(4, parseAddress('8.8.8.8'))!.nic).toBe(1);
    expect(stack.findRoute(6, parseAddress('::1'))).toBeNull();
    expect(stack.removeRoute('192.168.0.0/16')).toBe(1);
    expect(stack.findRoute(4, parseAddress('192.168.7.7'))!.nic).toBe(1);
    expect(stack.isLocalAddress(4, parseAddress('10.0.0.1'))).toBe(true);
    expect(stack.removeAddress(1, '10.0.0.1')).toBe(true);
    expect(stack.isLocalAddress(4, parseAddress('10.0.0.1'))).toBe(false);
    expect(stack.findRoute(4, parseAddress('8.8.8.8'))).toBeNull();
  });

  it('drops packets for foreign destinations without promiscuous mode; IPv6 routing header with segments left', () => {
    const { stack, link } = setup();
    const b = addrs(6);
    const rh = Uint8Array.from([59, 0, 0, 1, 0, 0, 0, 0]);
    link.injectInbound(buildIpv6({ nextHeader: 43, hopLimit: 5, src: b.remote, dst: b.local }, rh));
    expect(stack.stats.ipv6.routingHeaderDropped).toBe(1);
    expect(link.drain()).toEqual([]);
  });
});

describe('stack: promiscuous mode', () => {
  it('a directed broadcast of an own subnet is not a temporary address', () => {
    const { stack, link } = setup();
    stack.setPromiscuous(1, true);
    let calls = 0;
    stack.setTransportProtocolHandler(17, () => (calls++, true));
    const a = addrs(4);
    const u = (dst: Uint8Array) => buildIpv4({ ttl: 5, protocol: 17, src: a.remote, dst }, Uint8Array.of(0, 1, 0, 2, 0, 8, 0, 0));
    link.injectInbound(u(parseAddress('10.0.0.255')));
    link.injectInbound(u(parseAddress('255.255.255.255')));
    link.injectInbound(u(parseAddress('224.0.0.1')));
    expect(calls).toBe(0);
    expect(stack.stats.ipv4.invalidDestination).toBe(3);
    link.injectInbound(u(parseAddress('10.0.1.255')));
    expect(calls).toBe(1);
    expect(link.drain()).toEqual([]);
  });
});

describe('IPv6 hop-by-hop / destination options', () => {
  const b = addrs(6);
  const withOption = (nh: number, optType: number) => {
    const icmp = buildIcmpv6(b.remote, b.local, 128, 0, 0x00010001, Uint8Array.of(9));
    const ext = Uint8Array.from([58, 0, optType, 2, 0, 0, 1, 0]); // option (len 2) then PadN(0)
    return buildIpv6({ nextHeader: nh, hopLimit: 64, src: b.remote, dst: b.local }, Uint8Array.from([...ext, ...icmp]));
  };

  it('skippable unknown options are ignored', () => {
    const { link } = setup();
    link.injectInbound(withOption(0, 0x1e));
    link.injectInbound(withOption(60, 0x1e));
    expect(link.drain().length).toBe(2); // two echo replies
  });

  it('"discard" options drop silently; "discard and report" sends Parameter Problem code 2 pointing at the option', () => {
    const { stack, link } = setup();
    link.injectInbound(withOption(0, 0x40));
    expect(link.drain()).toEqual([]);
    const req = withOption(60, 0x80);
    link.injectInbound(req);
    const out = link.drain();
    expect(out.length).toBe(1);
    const m = out[0]!.subarray(40);
    expect([m[0], m[1], (m[4]! << 24) | (m[5]! << 16) | (m[6]! << 8) | m[7]!]).toEqual([4, 2, 42]);
    expect(Array.from(m.subarray(8))).toEqual(Array.from(req));
    expect(stack.stats.ipv6.unknownOption).toBe(2);
  });

  it('an option overrunning its header is malformed', () => {
    const { stack, link } = setup();
    const p = withOption(0, 0x1e);
    p[43] = 9; // option length beyond the 8-byte header
    link.injectInbound(p);
    expect(link.drain()).toEqual([]);
    expect(stack.stats.ipv6.malformed).toBe(1);
  });
});

describe('IPv4 options on receive', () => {
  it('malformed option lengths are a counted drop', () => {
    const { stack, link } = setup();
    const a = addrs(4);
    const icmp = buildIcmpv4(8, 0, 0x00010001, Uint8Array.of(1));
    const bad = buildIpv4({ ttl: 64, protocol: 1, src: a.remote, dst: a.local, options: Uint8Array.of(0x07, 9, 4, 0) }, icmp);
    link.injectInbound(bad);
    expect(link.drain()).toEqual([]);
    expect(stack.stats.ipv4.malformed).toBe(1);
    const good = buildIpv4({ ttl: 64, protocol: 1, src: a.remote, dst: a.local, options: Uint8Array.of(1, 1, 0x94, 2) }, icmp);
    link.injectInbound(good);
    expect(link.drain().length).toBe(1);
  });
});

describe('two stacks wired back to back (synchronous, reentrant)', () => {
  it('ping and UDP echo complete inside the sending call', () => {
    const mk = (addr: string) => {
      const link = new ChannelEndpoint({ mtu: 1500, queueSize: 4 });
      const stack = new Stack();
      stack.createNic(1, link);
      stack.addAddress(1, addr);
      stack.addRoute('0.0.0.0/0', 1);
      stack.addRoute('::/0', 1);
      return { link, stack };
    };
    const a = mk('10.0.0.1/24');
    const b = mk('10.0.0.2/24');
    a.stack.addAddress(1, 'fd00::1/64');
    b.stack.addAddress(1, 'fd00::2/64');
    a.link.onOutbound = (p) => b.link.injectInbound(p);
    b.link.onOutbound = (p) => a.link.injectInbound(p);
    for (const fam of [4, 6] as const) {
      const dst = parseAddress(fam === 4 ? '10.0.0.2' : 'fd00::2');
      const ping = (fam === 4 ? a.stack.icmp4 : a.stack.icmp6).openEcho(1);
      const seqs: number[] = [];
      ping.onMessage = (m) => seqs.push(m.seq);
      for (let s = 0; s < 3; s++) expect(ping.send(dst, s, Uint8Array.of(s))).toBe('ok');
      expect(seqs).toEqual([0, 1, 2]);
      ping.close();
      const server = b.stack.udp.createEndpoint(fam).bind(7);
      server.onMessage = (d) => server.send(d.payload, d.src, d.srcPort);
      const client = a.stack.udp.createEndpoint(fam).connect(dst, 7);
      const echoed: number[] = [];
      client.onMessage = (d) => echoed.push(...d.payload);
      client.send(Uint8Array.of(4, 5, 6));
      expect(echoed).toEqual([4, 5, 6]);
      server.close();
      client.close();
    }
    expect(a.stack.callbackErrors + b.stack.callbackErrors).toBe(0);
  });
});

describe('Packet Too Big toward own senders', () => {
  it.each([4, 6] as const)('IPv%i: a local send above the MTU with dontFragment reaches handleControl with the MTU', (fam) => {
    const { stack, link } = setup({ mtu: 1280 });
    const tcp = new FakeProto();
    stack.registerTransportProtocol(6, tcp);
    const route = stack.findRoute(fam, addrs(fam).remote)!;
    const buf = new Uint8Array(TRANSPORT_HEADROOM + 1400);
    buf.set([0x12, 0x34, 0x00, 0x50], TRANSPORT_HEADROOM);
    expect(stack.sendTransport(route, 6, buf, TRANSPORT_HEADROOM, { dontFragment: true })).toBe('too-big');
    expect(link.drain()).toEqual([]);
    expect(tcp.controls.length).toBe(1);
    const c = tcp.controls[0]!;
    expect([c.kind, c.mtu, c.family, c.protocol, ...c.transport.subarray(0, 4)]).toEqual(['packet-too-big', 1280, fam, 6, 0x12, 0x34, 0, 0x50]);
  });
});
