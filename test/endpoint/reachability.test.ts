/**
 * The icmp.md policy in-process: a server endpoint S (10.0.0.1, fd00::1) with
 * two peers, client C (10.0.0.2 + 10.0.2.0/24) and peer P (10.0.0.3 +
 * 192.168.50.0/24). C pings through the tunnel; S must answer exactly for
 * reachable addresses.
 */
import { describe, expect, it } from 'vitest';
import { FakeNet, ping, type Node } from './harness.js';
import type { IcmpMode } from '../../src/policy/reachability.js';

function world(mode: IcmpMode = 'reachable', forward = false) {
  const net = new FakeNet();
  const s = net.node('S', 1, { addresses: ['10.0.0.1/24', 'fd00::1/64'], icmp: mode, forward });
  const c = net.node('C', 2, { addresses: ['10.0.0.2/24', 'fd00::2/64'] });
  const p = net.node('P', 3, { addresses: ['10.0.0.3/24', 'fd00::3/64'] });
  s.addPeer(c, ['10.0.0.2/32', '10.0.2.0/24', 'fd00::2/128']);
  s.addPeer(p, ['10.0.0.3/32', '192.168.50.0/24', 'fd00::3/128']);
  c.addPeer(s, ['0.0.0.0/0', '::/0']);
  p.addPeer(s, ['0.0.0.0/0', '::/0']);
  const echo4 = c.ep.stack.icmp4.openEcho(77);
  const echo6 = c.ep.stack.icmp6.openEcho(78);
  const counters = () => s.ep.policy.counters();
  return { net, s, c, p, echo4, echo6, counters };
}

/** P sends one packet to S so that a session exists between them. */
function handshakePS(net: FakeNet, p: Node): void {
  const e = p.ep.stack.icmp4.openEcho(5);
  ping(net, p, e, '10.0.0.1');
  e.close();
}

describe('reachability policy through a real device pair', () => {
  it('replies for the endpoint\'s own addresses (IPv4 and IPv6)', () => {
    const { net, c, echo4, echo6, counters } = world();
    expect(ping(net, c, echo4, '10.0.0.1', 3)).toBe(3);
    expect(ping(net, c, echo6, 'fd00::1', 2)).toBe(2);
    expect(c.handshakes.length).toBe(1);
    expect(counters()['icmp.echo.replied{reason=local}']).toBe(5);
  });

  it('stays silent for a peer address before its first handshake, replies once the session is live', () => {
    const { net, s, c, p, echo4, echo6, counters } = world();
    expect(ping(net, c, echo4, '10.0.0.3', 2)).toBe(0);
    expect(ping(net, c, echo4, '192.168.50.9')).toBe(0);
    expect(ping(net, c, echo6, 'fd00::3')).toBe(0);
    expect(counters()['icmp.echo.suppressed{reason=no-session}']).toBe(4);
    expect(s.peerOf(p).hasLiveSession(net.now)).toBe(false);

    handshakePS(net, p);
    expect(s.peerOf(p).hasLiveSession(net.now)).toBe(true);
    expect(ping(net, c, echo4, '10.0.0.3', 2)).toBe(2);
    expect(ping(net, c, echo4, '192.168.50.9')).toBe(1);
    expect(ping(net, c, echo6, 'fd00::3')).toBe(1);
    expect(counters()['icmp.echo.replied{reason=peer}']).toBe(4);
  });

  it('stays silent after 180 s without a new handshake', () => {
    const { net, s, c, p, echo4, counters } = world();
    handshakePS(net, p);
    expect(ping(net, c, echo4, '10.0.0.3')).toBe(1);
    net.advance(175_000);
    expect(ping(net, c, echo4, '10.0.0.3')).toBe(1);
    net.advance(6_000);
    expect(s.peerOf(p).hasLiveSession(net.now)).toBe(false);
    expect(ping(net, c, echo4, '10.0.0.3', 2)).toBe(0);
    // C's own session to S was renewed as needed: its own address still answers.
    expect(ping(net, c, echo4, '10.0.0.1')).toBe(1);
    expect(counters()['icmp.echo.suppressed{reason=no-session}']).toBe(2);
    // A new handshake from P makes it reachable again.
    handshakePS(net, p);
    expect(ping(net, c, echo4, '10.0.0.3')).toBe(1);
  });

  it('stays silent after the peer is removed', () => {
    const { net, s, c, p, echo4, counters } = world();
    handshakePS(net, p);
    expect(ping(net, c, echo4, '10.0.0.3')).toBe(1);
    s.ep.device.removePeer(p.publicKey);
    expect(ping(net, c, echo4, '10.0.0.3')).toBe(0);
    expect(ping(net, c, echo4, '192.168.50.1')).toBe(0);
    expect(counters()['icmp.echo.suppressed{reason=no-route}']).toBe(2);
  });

  it('stays silent for addresses no peer covers and for the sender\'s own range', () => {
    const { net, c, echo4, echo6, counters } = world();
    expect(ping(net, c, echo4, '10.0.9.9')).toBe(0);
    expect(ping(net, c, echo4, '8.8.8.8')).toBe(0);
    expect(ping(net, c, echo6, '2001:db8::1')).toBe(0);
    expect(ping(net, c, echo4, '10.0.2.7')).toBe(0);
    expect(counters()).toEqual({
      'icmp.echo.replied{reason=local}': 0,
      'icmp.echo.replied{reason=peer}': 0,
      'icmp.echo.replied{reason=all}': 0,
      'icmp.echo.suppressed{reason=no-route}': 3,
      'icmp.echo.suppressed{reason=no-session}': 0,
      'icmp.echo.suppressed{reason=self}': 1,
      'icmp.echo.suppressed{reason=mode}': 0,
    });
  });

  it('mode local answers only own addresses', () => {
    const { net, c, p, echo4, counters } = world('local');
    handshakePS(net, p);
    expect(ping(net, c, echo4, '10.0.0.1')).toBe(1);
    expect(ping(net, c, echo4, '10.0.0.3')).toBe(0);
    expect(counters()['icmp.echo.suppressed{reason=mode}']).toBe(1);
  });

  it('mode all answers everything the stack accepts', () => {
    const { net, c, echo4, echo6, counters } = world('all');
    expect(ping(net, c, echo4, '10.0.0.3')).toBe(1);
    expect(ping(net, c, echo4, '8.8.8.8')).toBe(1);
    expect(ping(net, c, echo6, '2001:db8::1')).toBe(1);
    expect(counters()['icmp.echo.replied{reason=all}']).toBe(3);
  });

  it('Promiscuous = false: only own addresses enter the stack at all', () => {
    const net = new FakeNet();
    const s = net.node('S', 1, { addresses: ['10.0.0.1/24'], promiscuous: false });
    const c = net.node('C', 2, { addresses: ['10.0.0.2/24'] });
    const p = net.node('P', 3, { addresses: ['10.0.0.3/24'] });
    s.addPeer(c, ['10.0.0.2/32']);
    s.addPeer(p, ['10.0.0.3/32']);
    c.addPeer(s, ['0.0.0.0/0']);
    p.addPeer(s, ['0.0.0.0/0']);
    handshakePS(net, p);
    const e = c.ep.stack.icmp4.openEcho(3);
    expect(ping(net, c, e, '10.0.0.1')).toBe(1);
    expect(ping(net, c, e, '10.0.0.3')).toBe(0);
    expect(s.ep.policy.totals()).toEqual({ replied: 2, suppressed: 0 });
  });

  it('Forward = true relays to the peer and the real host answers', () => {
    const { net, s, c, p, echo4, counters } = world('reachable', true);
    // P is only reached through S: the echo goes to P's own stack.
    expect(ping(net, c, echo4, '10.0.0.3', 2)).toBe(2);
    expect(s.ep.stats.forwarded).toBe(4);
    expect(p.ep.stack.stats.icmpv4.echoRequestsReceived).toBe(2);
    expect(p.ep.policy.counters()['icmp.echo.replied{reason=local}']).toBe(2);
    // S's policy never saw these requests.
    expect(s.ep.policy.totals()).toEqual({ replied: 0, suppressed: 0 });
    // Addresses nobody covers still enter S's stack and are suppressed.
    expect(ping(net, c, echo4, '8.8.8.8')).toBe(0);
    expect(counters()['icmp.echo.suppressed{reason=no-route}']).toBe(1);
    // A destination the sender itself covers is not relayed back: the policy says "self".
    expect(ping(net, c, echo4, '10.0.2.9')).toBe(0);
    expect(counters()['icmp.echo.suppressed{reason=self}']).toBe(1);
    expect(s.ep.stats.forwarded).toBe(4);
  });

  it('Forward = true: TTL is decremented on the relayed packet', () => {
    const { net, s, c, p } = world('reachable', true);
    const seen: number[] = [];
    p.ep.stack.addRawObserver(1, (pkt) => seen.push(pkt.ttl));
    const e = c.ep.stack.icmp4.openEcho(9);
    ping(net, c, e, '10.0.0.3');
    expect(seen).toEqual([c.ep.stack.defaultTtl - 1]);
    expect(s.ep.stats.forwardDropped).toBe(0);
  });
});
