import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { parseAddress } from '../../../src/netstack/addr.js';
import { ChannelEndpoint } from '../../../src/netstack/link/channel.js';
import { Stack } from '../../../src/netstack/stack.js';
import { IPPROTO_TCP } from '../../../src/netstack/transport/protocol.js';
import { TcpForwarder, TcpProtocol } from '../../../src/netstack/transport/tcp/protocol.js';
import type { TcpEndpoint } from '../../../src/netstack/transport/tcp/endpoint.js';
import type { TcpForwarderRequest } from '../../../src/netstack/transport/tcp/stack.js';
import { parseTcpHeader } from '../../../src/netstack/header/tcp.js';
import { buildIcmpv6 } from '../../../src/netstack/header/icmpv6.js';
import { buildIpv6 } from '../../../src/netstack/header/ipv6.js';

/** Two netstacks joined by channel links; packets take 1 ms; fake clock. */
function world(mtu = 1500) {
  let now = 0;
  const mk = (addr: string, v6: string) => {
    const link = new ChannelEndpoint({ mtu, queueSize: 100_000 });
    const stack = new Stack({ seed: 1 });
    stack.createNic(1, link);
    stack.addAddress(1, `${addr}/24`);
    stack.addAddress(1, `${v6}/64`);
    stack.addRoute('0.0.0.0/0', 1);
    stack.addRoute('::/0', 1);
    const tcp = new TcpProtocol({ config: { mslMs: 100 } });
    stack.registerTransportProtocol(IPPROTO_TCP, tcp);
    return { link, stack, tcp };
  };
  const a = mk('10.0.0.1', 'fd00::1');
  const b = mk('10.0.0.2', 'fd00::2');
  const wire: { at: number; to: typeof a; pkt: Uint8Array }[] = [];
  const seenByA: Uint8Array[] = [];
  const sentByA: Uint8Array[] = [];
  a.link.onOutbound = (pkt) => {
    sentByA.push(pkt.slice());
    wire.push({ at: now + 1, to: b, pkt: pkt.slice() });
  };
  b.link.onOutbound = (pkt) => {
    seenByA.push(pkt.slice());
    wire.push({ at: now + 1, to: a, pkt: pkt.slice() });
  };
  const run = (ms: number, until?: () => boolean) => {
    const end = now + ms;
    while (now < end) {
      if (until?.()) return true;
      const due = wire.filter((w) => w.at <= now);
      for (const w of due) wire.splice(wire.indexOf(w), 1);
      for (const w of due) w.to.link.injectInbound(w.pkt, now);
      const next = Math.min(
        end,
        ...wire.map((w) => w.at),
        a.stack.nextDeadline() ?? Infinity,
        b.stack.nextDeadline() ?? Infinity,
      );
      now = Math.max(now + (due.length ? 0 : 0), next);
      a.stack.tick(now);
      b.stack.tick(now);
      if (!due.length && next === end) break;
    }
    return until?.() ?? true;
  };
  return { a, b, run, seenByA, sentByA, get now() { return now; } };
}

function transfer(from: TcpEndpoint, to: TcpEndpoint, bytes: number, run: (ms: number, until?: () => boolean) => boolean) {
  const data = new Uint8Array(bytes).map((_, i) => (i * 131 + 17) & 0xff);
  let off = 0;
  const pump = () => {
    while (off < bytes) {
      const n = from.write(data.subarray(off, Math.min(bytes, off + 65536)));
      off += n;
      if (n === 0) return;
    }
  };
  from.onWritable = pump;
  pump();
  const h = createHash('sha256');
  let got = 0;
  to.onReadable = () => {
    const d = to.read();
    got += d.length;
    h.update(d);
  };
  run(60_000, () => got === bytes);
  return { got, same: h.digest('hex') === createHash('sha256').update(data).digest('hex') };
}

describe('TCP over the netstack (IP layer, routes, default handler)', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: connect, 1 MB each way, orderly close`, () => {
      const w = world();
      const l = w.b.tcp.listen(80);
      const remote = parseAddress(family === 4 ? '10.0.0.2' : 'fd00::2');
      const c = w.a.tcp.connect({ remoteAddress: remote, remotePort: 80 });
      w.run(1000, () => c.stateName === 'ESTABLISHED' && l.pending > 0);
      const s = l.accept()!;
      expect(s.remoteAddress).toEqual(parseAddress(family === 4 ? '10.0.0.1' : 'fd00::1'));
      expect(c.info().mss).toBe(1500 - (family === 4 ? 40 : 60) - 12);
      const r1 = transfer(c, s, 1 << 20, w.run);
      const r2 = transfer(s, c, 1 << 20, w.run);
      expect(r1).toEqual({ got: 1 << 20, same: true });
      expect(r2).toEqual({ got: 1 << 20, same: true });
      c.close();
      s.close();
      w.run(2000);
      expect(w.a.tcp.core.connectionCount + w.b.tcp.core.connectionCount).toBe(0);
    });
  }

  it('closed port on an own address: RST; the stack counts it', () => {
    const w = world();
    const c = w.a.tcp.connect({ remoteAddress: parseAddress('10.0.0.2'), remotePort: 81 });
    let err = '';
    c.onClose = (e) => (err = e?.code ?? 'none');
    w.run(100, () => err !== '');
    expect(err).toBe('ECONNREFUSED');
    expect(w.b.tcp.core.stats.resetsSent).toBe(1);
  });

  it('promiscuous: a SYN to a temporary address nobody claims gets no answer at all', () => {
    const w = world();
    w.b.stack.setPromiscuous(1, true);
    const c = w.a.tcp.connect({ remoteAddress: parseAddress('10.0.0.77'), remotePort: 80 });
    w.run(500);
    expect(c.stateName).toBe('SYN_SENT');
    expect(w.seenByA.length).toBe(0);
  });

  it('promiscuous + Forwarder: the handler sees the temporary address and can accept, reject or drop', () => {
    const w = world();
    w.b.stack.setPromiscuous(1, true);
    const reqs: TcpForwarderRequest[] = [];
    const fwd = new TcpForwarder(w.b.tcp, (req) => {
      reqs.push(req);
      if (req.localPort === 80) {
        const ep = req.accept()!;
        ep.onReadable = () => ep.write(ep.read()); // echo
      } else if (req.localPort === 81) req.reject();
      else req.drop();
    });
    w.b.stack.setTransportProtocolHandler(IPPROTO_TCP, fwd.handlePacket);
    const echo = w.a.tcp.connect({ remoteAddress: parseAddress('10.0.0.77'), remotePort: 80 });
    let back = 0;
    echo.onConnect = () => echo.write(new Uint8Array(5000).fill(3));
    echo.onReadable = () => (back += echo.read().length);
    w.run(2000, () => back === 5000);
    expect(back).toBe(5000);
    expect(reqs[0]!.temporary).toBe(true);
    expect(reqs[0]!.localAddress).toEqual(parseAddress('10.0.0.77'));

    const refused = w.a.tcp.connect({ remoteAddress: parseAddress('10.0.0.77'), remotePort: 81 });
    let err = '';
    refused.onClose = (e) => (err = e?.code ?? 'none');
    w.run(500, () => err !== '');
    expect(err).toBe('ECONNREFUSED');

    const before = w.seenByA.length;
    const dropped = w.a.tcp.connect({ remoteAddress: parseAddress('10.0.0.77'), remotePort: 82 });
    w.run(500);
    expect(dropped.stateName).toBe('SYN_SENT');
    const answers = w.seenByA.slice(before).filter((p) => {
      const h = parseTcpHeader(p.subarray(20));
      return h.srcPort === 82;
    });
    expect(answers.length).toBe(0);
  });

  it('path MTU: a smaller link MTU gives a smaller MSS', () => {
    const w = world(1280);
    const l = w.b.tcp.listen(80);
    const c = w.a.tcp.connect({ remoteAddress: parseAddress('fd00::2'), remotePort: 80 });
    w.run(100, () => l.pending > 0);
    expect(c.info().mss).toBe(1280 - 60 - 12);
  });

  it('ICMPv6 Packet Too Big quoting our segment shrinks that connection\'s segments', () => {
    const w = world(1500);
    const l = w.b.tcp.listen(80);
    const c = w.a.tcp.connect({ remoteAddress: parseAddress('fd00::2'), remotePort: 80 });
    w.run(100, () => l.pending > 0);
    expect(c.info().mss).toBe(1500 - 60 - 12);
    c.setNoDelay(true);
    w.sentByA.length = 0;
    c.write(new Uint8Array(3000));
    const big = w.sentByA.find((p) => p.length === 1500)!;
    expect(big).toBeDefined();
    const router = parseAddress('fd00::fe');
    const local = parseAddress('fd00::1');
    const icmp = buildIcmpv6(router, local, 2, 0, 1280, big.subarray(0, 1232));
    w.a.link.injectInbound(buildIpv6({ nextHeader: 58, hopLimit: 64, src: router, dst: local }, icmp), w.now);
    expect(c.info().mss).toBe(1280 - 60 - 12);
    const l2 = l.accept()!;
    let got = 0;
    l2.onReadable = () => (got += l2.read().length);
    w.run(2000, () => got === 3000);
    expect(got).toBe(3000);
    expect(Math.max(...w.sentByA.map((p) => p.length))).toBeLessThanOrEqual(1500);
  });
});
