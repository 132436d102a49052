/** TCP (transport/tcp) through the stack's registration interface: two stacks over a faulty link, fake clock. */
import { describe, expect, it } from 'vitest';
import { ChannelEndpoint } from '../../src/netstack/link/channel.js';
import { FaultyLink, mulberry32 } from '../../src/netstack/link/fault.js';
import { Stack } from '../../src/netstack/stack.js';
import { TcpForwarder, TcpProtocol } from '../../src/netstack/transport/tcp/protocol.js';
import { parseAddress } from '../../src/netstack/addr.js';
import type { TcpEndpoint } from '../../src/netstack/transport/tcp/endpoint.js';
import type { IpFamily } from '../../src/netstack/transport/protocol.js';

function pair(family: IpFamily, fault: { loss?: number; reorder?: number; duplicate?: number }, mtuB = 1400) {
  let now = 0;
  const mk = (addr: string, mtu: number) => {
    const link = new ChannelEndpoint({ mtu, queueSize: 4096 });
    const stack = new Stack({ seed: addr.length });
    stack.createNic(1, link);
    stack.addAddress(1, addr);
    stack.addRoute(family === 4 ? '0.0.0.0/0' : '::/0', 1);
    const tcp = new TcpProtocol({ isnSecret: new Uint8Array(16) });
    stack.registerTransportProtocol(6, tcp);
    return { link, stack, tcp };
  };
  const a = mk(family === 4 ? '10.0.0.1/24' : 'fd00::1/64', 1400);
  const b = mk(family === 4 ? '10.0.0.2/24' : 'fd00::2/64', mtuB);
  const ab = new FaultyLink({ seed: 11, delayMs: 5, ...fault }, (p) => b.link.injectInbound(p, now));
  const ba = new FaultyLink({ seed: 12, delayMs: 5, ...fault }, (p) => a.link.injectInbound(p, now));
  a.link.onOutbound = (p) => ab.send(p.slice(), now);
  b.link.onOutbound = (p) => ba.send(p.slice(), now);
  const run = (until: () => boolean, limitMs = 600_000) => {
    for (let steps = 0; steps < 1_000_000 && !until(); steps++) {
      const ds = [a.stack.nextDeadline(), b.stack.nextDeadline(), ab.nextDeadline(), ba.nextDeadline()].filter((x): x is number => x !== undefined);
      if (ds.length === 0) break;
      now = Math.max(now, Math.min(...ds));
      if (now > limitMs) break;
      ab.tick(now);
      ba.tick(now);
      a.stack.tick(now);
      b.stack.tick(now);
      ab.flushHeld(now);
      ba.flushHeld(now);
    }
    return now;
  };
  return { a, b, run, addrB: parseAddress(family === 4 ? '10.0.0.2' : 'fd00::2') };
}

describe.each([4, 6] as const)('TCP over the stack, IPv%i', (family) => {
  it('transfers 300 kB intact over a lossy, reordering link (MTU mismatch → fragmentation-free MSS)', () => {
    const { a, b, run, addrB } = pair(family, { loss: 0.02, reorder: 0.02, duplicate: 0.01 }, 1280);
    const data = new Uint8Array(300_000);
    const r = mulberry32(5);
    for (let i = 0; i < data.length; i++) data[i] = (r() * 256) | 0;
    const received: Uint8Array[] = [];
    let got = 0;
    let ended = false;
    const l = b.tcp.listen(80);
    l.onConnection = (ep: TcpEndpoint) => {
      ep.onReadable = () => {
        for (let c = ep.read(); c.length; c = ep.read()) {
          received.push(c);
          got += c.length;
        }
      };
      ep.onEnd = () => (ended = true);
    };
    const c = a.tcp.connect({ remoteAddress: addrB, remotePort: 80 });
    let sent = 0;
    const pump = () => {
      while (sent < data.length) {
        const n = c.write(data.subarray(sent, sent + 16384));
        sent += n;
        if (n === 0) return;
      }
      c.shutdown();
    };
    c.onConnect = pump;
    c.onWritable = pump;
    run(() => ended);
    expect(got).toBe(data.length);
    const all = new Uint8Array(got);
    let o = 0;
    for (const x of received) {
      all.set(x, o);
      o += x.length;
    }
    expect(all.every((v, i) => v === data[i])).toBe(true);
    expect(b.stack.stats.transport.get(6)!.received).toBeGreaterThan(100);
  });

  it('SYN to a closed port on an own address gets RST; to a temporary address silence; the forwarder takes it', () => {
    const { a, b, run, addrB } = pair(family, {});
    let closedErr: string | null = null;
    const c = a.tcp.connect({ remoteAddress: addrB, remotePort: 81 });
    c.onClose = (e) => (closedErr = e ? e.code : 'none');
    run(() => closedErr !== null, 10_000);
    expect(closedErr).toBe('ECONNREFUSED');

    b.stack.setPromiscuous(1, true);
    const temp = parseAddress(family === 4 ? '10.0.0.99' : 'fd00::99');
    const t = a.tcp.connect({ remoteAddress: temp, remotePort: 80 });
    let tClosed = false;
    t.onClose = () => (tClosed = true);
    run(() => false, 3_000);
    expect(tClosed).toBe(false);
    expect(t.stateName).toBe('SYN_SENT');
    expect(b.stack.stats.transport.get(6)!.silentDrops).toBeGreaterThan(0);

    // Now a forwarder accepts connections to any address.
    const accepted: string[] = [];
    b.stack.setTransportProtocolHandler(
      6,
      new TcpForwarder(b.tcp, (req) => {
        accepted.push(`${req.temporary}:${req.localPort}`);
        req.accept();
      }).handlePacket,
    );
    let connected = false;
    t.onConnect = () => (connected = true);
    run(() => connected, 60_000);
    expect(connected).toBe(true);
    expect(accepted).toEqual(['true:80']);
  });
});
