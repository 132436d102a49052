import { describe, expect, it } from 'vitest';
import { IcmpForwarder, type IcmpForwarderRequest } from '../../src/netstack/transport/icmp.js';
import type { IpFamily, TransportPacket } from '../../src/netstack/transport/protocol.js';
import { addrs, echoPacket, expectEchoReply, IPV4_OPTIONS, setup } from './helpers.js';

const proto = (f: IpFamily) => (f === 4 ? 1 : 58);

describe.each([4, 6] as const)('ICMP echo ownership matrix, IPv%i', (family) => {
  const a = addrs(family);
  const stats = (s: ReturnType<typeof setup>['stack']) => (family === 4 ? s.stats.icmpv4 : s.stats.icmpv6);
  const request = (dst = a.local, type?: number) =>
    echoPacket({ family, src: a.remote, dst, tos: 0xb8, options: family === 4 ? IPV4_OPTIONS : undefined, type });

  it('no default handler: one built-in reply, exact bytes', () => {
    const { stack, link } = setup();
    const req = request();
    link.injectInbound(req, 1000);
    const out = link.drain();
    expect(out.length).toBe(1);
    expectEchoReply(out[0]!, req, family);
    expect(stats(stack).echoRequestsReceived).toBe(1);
    expect(stats(stack).echoRepliesSent).toBe(1);
    expect(stats(stack).consumedByHandler).toBe(0);
  });

  it('default handler returns false: handler called, one built-in reply', () => {
    const { stack, link } = setup();
    let calls = 0;
    stack.setTransportProtocolHandler(proto(family), () => (calls++, false));
    const req = request();
    link.injectInbound(req);
    expect(calls).toBe(1);
    const out = link.drain();
    expect(out.length).toBe(1);
    expectEchoReply(out[0]!, req, family);
  });

  it('default handler returns true: handler called, no reply', () => {
    const { stack, link } = setup();
    let calls = 0;
    stack.setTransportProtocolHandler(proto(family), () => (calls++, true));
    link.injectInbound(request());
    expect(calls).toBe(1);
    expect(link.drain()).toEqual([]);
    expect(stats(stack).consumedByHandler).toBe(1);
    expect(stats(stack).echoRepliesSent).toBe(0);
  });

  it('registered endpoint with the same id: endpoint wins, handler not called, one built-in reply', () => {
    const { stack, link } = setup();
    let calls = 0;
    stack.setTransportProtocolHandler(proto(family), () => (calls++, true));
    const ep = (family === 4 ? stack.icmp4 : stack.icmp6).openEcho(0x4242);
    const seen: number[] = [];
    ep.onMessage = (m) => seen.push(m.type, m.seq);
    const req = request();
    link.injectInbound(req);
    expect(calls).toBe(0);
    expect(seen).toEqual([family === 4 ? 8 : 128, 7]);
    const out = link.drain();
    expect(out.length).toBe(1);
    expectEchoReply(out[0]!, req, family);
  });

  it('raw observers see copies and change nothing', () => {
    const { stack, link } = setup();
    const copies: TransportPacket[] = [];
    stack.addRawObserver(proto(family), (p) => copies.push(p));
    const req = request();
    link.injectInbound(req);
    expect(copies.length).toBe(1);
    expect(Array.from(copies[0]!.network)).toEqual(Array.from(req));
    expect(copies[0]!.network.buffer).not.toBe(req.buffer);
    const out = link.drain();
    expect(out.length).toBe(1);
    expectEchoReply(out[0]!, req, family);
    // With a consuming handler the observer still sees it and there is no reply.
    stack.setTransportProtocolHandler(proto(family), () => true);
    link.injectInbound(request());
    expect(copies.length).toBe(2);
    expect(link.drain()).toEqual([]);
  });

  it.each([false, true, null])('temporary destination, handler %s', (ret) => {
    const { stack, link } = setup();
    stack.setPromiscuous(1, true);
    let calls = 0;
    if (ret !== null) stack.setTransportProtocolHandler(proto(family), () => (calls++, ret));
    const req = request(a.temp);
    link.injectInbound(req);
    expect(calls).toBe(ret === null ? 0 : 1);
    const out = link.drain();
    if (family === 4 || ret === true) {
      expect(out).toEqual([]);
    } else {
      // IPv6: a temporary address answers like an ordinary local one.
      expect(out.length).toBe(1);
      expectEchoReply(out[0]!, req, family);
    }
    if (family === 4 && ret !== true) expect(stats(stack).suppressedTemporary).toBe(1);
  });

  it('without promiscuous mode a foreign destination is dropped', () => {
    const { stack, link } = setup();
    let calls = 0;
    stack.setTransportProtocolHandler(proto(family), () => (calls++, false));
    link.injectInbound(request(a.temp));
    expect(calls).toBe(0);
    expect(link.drain()).toEqual([]);
    expect((family === 4 ? stack.stats.ipv4 : stack.stats.ipv6).invalidDestination).toBe(1);
  });

  describe('IcmpForwarder reply()', () => {
    const install = (s: ReturnType<typeof setup>['stack'], h: (r: IcmpForwarderRequest) => boolean) => {
      const fwd = new IcmpForwarder(s, h);
      s.setTransportProtocolHandler(proto(family), fwd.handlePacket);
      return fwd;
    };

    it('replies once and is idempotent; consuming handler → no second reply', () => {
      const { stack, link } = setup();
      const results: boolean[] = [];
      let req0: IcmpForwarderRequest | null = null;
      install(stack, (r) => {
        req0 = r;
        results.push(r.reply(), r.reply(), r.reply());
        return true;
      });
      const req = request();
      link.injectInbound(req);
      expect(results).toEqual([true, false, false]);
      expect(req0!.id.ident).toBe(0x4242);
      expect(Array.from(req0!.id.localAddress)).toEqual(Array.from(a.local));
      expect(Array.from(req0!.id.remoteAddress)).toEqual(Array.from(a.remote));
      expect(req0!.temporary).toBe(false);
      const out = link.drain();
      expect(out.length).toBe(1);
      expectEchoReply(out[0]!, req, family);
      expect(stats(stack).echoRepliesSent).toBe(1);
      expect(stats(stack).consumedByHandler).toBe(1);
    });

    it('reply() then returning false: still exactly one reply', () => {
      const { stack, link } = setup();
      install(stack, (r) => (r.reply(), false));
      const req = request();
      link.injectInbound(req);
      const out = link.drain();
      expect(out.length).toBe(1);
      expectEchoReply(out[0]!, req, family);
    });

    it('false after the handler returned', () => {
      const { stack, link } = setup();
      let kept: IcmpForwarderRequest | null = null;
      install(stack, (r) => ((kept = r), true));
      link.injectInbound(request());
      expect(kept!.reply()).toBe(false);
      // Even while another request is being handled, the old one cannot reply.
      let inner: boolean | null = null;
      install(stack, () => ((inner = kept!.reply()), true));
      link.injectInbound(request());
      expect(inner).toBe(false);
      expect(link.drain()).toEqual([]);
    });

    it('false for non-echo messages', () => {
      const { stack, link } = setup();
      const results: boolean[] = [];
      install(stack, (r) => (results.push(r.reply()), true));
      link.injectInbound(request(a.local, family === 4 ? 0 : 129)); // an echo reply
      link.injectInbound(request(a.local, family === 4 ? 13 : 200)); // timestamp / private type
      expect(results).toEqual([false, false]);
      expect(link.drain()).toEqual([]);
    });

    it('answers a temporary destination (overrides the IPv4 suppression)', () => {
      const { stack, link } = setup();
      stack.setPromiscuous(1, true);
      let temporary: boolean | null = null;
      install(stack, (r) => {
        temporary = r.temporary;
        return r.reply();
      });
      const req = request(a.temp);
      link.injectInbound(req);
      expect(temporary).toBe(true);
      const out = link.drain();
      expect(out.length).toBe(1);
      expectEchoReply(out[0]!, req, family);
    });

    it('a consuming policy that does not reply sends nothing', () => {
      const { stack, link } = setup();
      stack.setPromiscuous(1, true);
      install(stack, () => true);
      link.injectInbound(request(a.temp));
      link.injectInbound(request(a.local));
      expect(link.drain()).toEqual([]);
    });
  });

  it('ping endpoint: sends a request and receives the matching reply', () => {
    const { stack, link } = setup();
    const ep = (family === 4 ? stack.icmp4 : stack.icmp6).openEcho(0x99);
    const got: number[] = [];
    ep.onMessage = (m) => got.push(m.type, m.ident, m.seq, ...m.payload);
    expect(ep.send(a.remote, 5, Uint8Array.of(1, 2, 3))).toBe('ok');
    const out = link.drain();
    expect(out.length).toBe(1);
    const sent = out[0]!;
    const hl = family === 4 ? 20 : 40;
    expect(sent[hl]).toBe(family === 4 ? 8 : 128);
    // Answer it as the remote host would.
    const reply = echoPacket({ family, src: a.remote, dst: a.local, ident: 0x99, seq: 5, payload: Uint8Array.of(1, 2, 3), type: family === 4 ? 0 : 129 });
    link.injectInbound(reply);
    expect(got).toEqual([family === 4 ? 0 : 129, 0x99, 5, 1, 2, 3]);
    expect(link.drain()).toEqual([]);
    ep.close();
  });

  it('a throwing handler is contained and counted', () => {
    const { stack, link } = setup();
    stack.setTransportProtocolHandler(proto(family), () => {
      throw new Error('boom');
    });
    const req = request();
    expect(() => link.injectInbound(req)).not.toThrow();
    expect(stack.callbackErrors).toBe(1);
    // The handler did not consume: the built-in reply stands.
    expect(link.drain().length).toBe(1);
  });

  it('bad ICMP checksum is a counted drop', () => {
    const { stack, link } = setup();
    const req = request();
    req[req.length - 1]! ^= 0xff;
    link.injectInbound(req);
    expect(link.drain()).toEqual([]);
    expect(stats(stack).malformed).toBe(1);
  });
});

describe('echo with fragmentation and extension headers', () => {
  it('IPv4: a fragmented large echo request gets a fragmented reply that reassembles to the exact reply', async () => {
    const a = addrs(4);
    // Sender stack (the remote host) fragments a 3000-byte ping at MTU 1280.
    const far = setup({ mtu: 1280 });
    far.stack.removeAddress(1, a.local);
    far.stack.addAddress(1, a.remote);
    const ep = far.stack.icmp4.openEcho(77);
    const payload = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
    expect(ep.send(a.local, 1, payload)).toBe('ok');
    const frags = far.link.drain();
    expect(frags.length).toBe(3);
    // Our stack (MTU 1280) answers; the reply must be fragmented too.
    const near = setup({ mtu: 1280 });
    for (const f of frags) near.link.injectInbound(f);
    const replyFrags = near.link.drain();
    expect(replyFrags.length).toBe(3);
    for (const f of replyFrags) expect(f.length).toBeLessThanOrEqual(1280);
    // Feed the reply fragments back to the sender: its ping endpoint sees the full reply.
    const got: number[] = [];
    ep.onMessage = (m) => got.push(m.type, m.seq, m.payload.length, m.payload[2999]!);
    for (const f of replyFrags) far.link.injectInbound(f);
    expect(got).toEqual([0, 1, 3000, payload[2999]]);
  });

  it('IPv6: extension headers before ICMPv6 are walked; the reply carries none and keeps the traffic class', async () => {
    const { buildIpv6 } = await import('../../src/netstack/header/ipv6.js');
    const { buildIcmpv6 } = await import('../../src/netstack/header/icmpv6.js');
    const { stack, link } = setup();
    const a = addrs(6);
    const icmp = buildIcmpv6(a.remote, a.local, 128, 0, 0x00050006, Uint8Array.of(1, 2, 3));
    const ext = Uint8Array.from([60, 0, 1, 4, 0, 0, 0, 0, 58, 0, 1, 4, 0, 0, 0, 0]); // hop-by-hop → dest opts → ICMPv6
    const req = buildIpv6({ nextHeader: 0, hopLimit: 64, trafficClass: 0x2e, src: a.remote, dst: a.local }, Uint8Array.from([...ext, ...icmp]));
    link.injectInbound(req);
    const out = link.drain();
    expect(out.length).toBe(1);
    const plain = buildIpv6({ nextHeader: 58, hopLimit: 64, trafficClass: 0x2e, src: a.remote, dst: a.local }, icmp);
    expectEchoReply(out[0]!, plain, 6);
    expect(stack.stats.icmpv6.echoRepliesSent).toBe(1);
  });
});
