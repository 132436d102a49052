/**
 * icmp.md "the same honesty for TCP and UDP", through real devices: a SYN or
 * datagram to an address S only accepts promiscuously gets no answer; S's own
 * closed ports answer RST / port unreachable.
 */
import { describe, expect, it } from 'vitest';
import { FakeNet } from './harness.js';
import { createTcpOps } from '../../src/endpoint/tcp-ops.js';
import { parseAddress } from '../../src/netstack/addr.js';
import type { TcpError } from '../../src/netstack/transport/tcp/endpoint.js';

function world() {
  const net = new FakeNet();
  const s = net.node('S', 1, { addresses: ['10.0.0.1/24'] });
  const c = net.node('C', 2, { addresses: ['10.0.0.2/24'] });
  s.addPeer(c, ['10.0.0.2/32']);
  c.addPeer(s, ['0.0.0.0/0']);
  const sTcp = createTcpOps(s.ep);
  const cTcp = createTcpOps(c.ep);
  return { net, s, c, sTcp, cTcp };
}

describe('TCP/UDP honesty for promiscuous addresses', () => {
  it('SYN to a closed port on an own address: RST (ECONNREFUSED); to a temporary address: silence', () => {
    const { net, s, c, cTcp } = world();
    const outcome: Record<string, string> = {};
    for (const dst of ['10.0.0.1', '10.0.0.77']) {
      const ep = cTcp.connect(4, parseAddress(dst), 9);
      outcome[dst] = 'pending';
      ep.onConnect = () => (outcome[dst] = 'connected');
      ep.onClose = (err: TcpError | null) => (outcome[dst] = err ? err.code : 'closed');
    }
    c.ep.tick(net.now);
    net.pump();
    net.advance(3000, 100);
    expect(outcome['10.0.0.1']).toBe('ECONNREFUSED');
    expect(outcome['10.0.0.77']).toBe('pending');
    const tcpStats = s.ep.stack.stats.transport.get(6)!;
    expect(tcpStats.silentDrops).toBeGreaterThanOrEqual(1);
  });

  it('a listener on an own address accepts, data flows both ways', () => {
    const { net, c, sTcp, cTcp } = world();
    const got: string[] = [];
    sTcp.listen(80, null, (ep) => {
      ep.onReadable = () => {
        const d = ep.read();
        got.push(new TextDecoder().decode(d));
        ep.write(d);
      };
    });
    const ep = cTcp.connect(4, parseAddress('10.0.0.1'), 80);
    let echoed = '';
    ep.onConnect = () => ep.write(new TextEncoder().encode('hi'));
    ep.onReadable = () => (echoed += new TextDecoder().decode(ep.read()));
    c.ep.tick(net.now);
    net.pump();
    net.advance(1000, 10);
    expect(got).toEqual(['hi']);
    expect(echoed).toBe('hi');
  });

  it('a listener on a specific non-own address (virtual service) accepts there, nowhere else', () => {
    const { net, sTcp, cTcp } = world();
    let accepted = 0;
    sTcp.listen(443, parseAddress('10.0.0.50'), () => accepted++);
    const outcome: Record<string, string> = {};
    for (const dst of ['10.0.0.50', '10.0.0.51']) {
      const ep = cTcp.connect(4, parseAddress(dst), 443);
      outcome[dst] = 'pending';
      ep.onConnect = () => (outcome[dst] = 'connected');
      ep.onClose = (err: TcpError | null) => (outcome[dst] = err ? err.code : 'closed');
    }
    net.pump();
    net.advance(2000, 10);
    expect(outcome).toEqual({ '10.0.0.50': 'connected', '10.0.0.51': 'pending' });
    expect(accepted).toBe(1);
  });

  it('UDP to a closed own port: port unreachable; to a temporary address: silence', () => {
    const { net, s, c } = world();
    const u = c.ep.stack.udp.createEndpoint(4);
    u.bind(5000);
    const unreach: number[] = [];
    c.ep.stack.addRawObserver(1, (p) => unreach.push(p.payload[0]!));
    u.send(new Uint8Array([1]), parseAddress('10.0.0.1'), 9);
    net.pump();
    net.advance(100, 10);
    u.send(new Uint8Array([1]), parseAddress('10.0.0.1'), 9);
    u.send(new Uint8Array([2]), parseAddress('10.0.0.88'), 9);
    net.pump();
    net.advance(100, 10);
    // Type 3 = destination unreachable, one per datagram to the own address only.
    expect(unreach).toEqual([3, 3]);
    expect(s.ep.stack.stats.udp.portUnreachableSent).toBe(2);
  });
});
