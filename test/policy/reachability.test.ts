import { describe, expect, it } from 'vitest';
import { AllowedIPs } from '../../src/wireguard/allowedips.js';
import { parseAddress } from '../../src/netstack/addr.js';
import { Decision, ReachabilityPolicy, parseIcmpMode, type EchoRequestView, type IcmpMode } from '../../src/policy/reachability.js';

class FakePeer {
  liveUntil = -1;
  constructor(readonly name: string) {}
  hasLiveSession(now: number): boolean {
    return now < this.liveUntil;
  }
}

function setup(mode: IcmpMode = 'reachable') {
  const routes = new AllowedIPs<FakePeer>();
  const a = new FakePeer('a');
  const b = new FakePeer('b');
  routes.insert(parseAddress('10.0.0.2'), 32, a);
  routes.insert(parseAddress('10.0.0.0'), 24, b);
  routes.insert(parseAddress('192.168.0.0'), 16, b);
  routes.insert(parseAddress('fd00::2'), 128, a);
  routes.insert(parseAddress('fd00::'), 64, b);
  const own = [parseAddress('10.0.0.1'), parseAddress('fd00::1')];
  const policy = new ReachabilityPolicy<FakePeer>({
    mode,
    routes,
    isLocalAddress: (_f, addr) => own.some((o) => o.length === addr.length && o.every((x, i) => x === addr[i])),
  });
  return { routes, a, b, policy };
}

function req(dst: string, icmpType?: number): EchoRequestView & { replies: number } {
  const d = parseAddress(dst);
  const family = d.length === 4 ? 4 : 6;
  const r = {
    family: family as 4 | 6,
    id: { localAddress: d },
    type: icmpType ?? (family === 4 ? 8 : 128),
    replies: 0,
    reply() {
      r.replies++;
      return r.replies === 1;
    },
  };
  return r;
}

describe('ReachabilityPolicy decisions', () => {
  it('replies for own addresses in every mode', () => {
    for (const mode of ['reachable', 'local', 'all'] as const) {
      const { policy } = setup(mode);
      for (const dst of ['10.0.0.1', 'fd00::1']) {
        const r = req(dst);
        expect(policy.handle(r, 0)).toBe(true);
        expect(r.replies).toBe(1);
      }
      expect(policy.counters()['icmp.echo.replied{reason=local}']).toBe(2);
    }
  });

  it('replies for a peer address only while that peer has a live session', () => {
    const { policy, a, b } = setup();
    policy.sourcePeer = b;
    const r1 = req('10.0.0.2');
    expect(policy.handle(r1, 1000)).toBe(true);
    expect(r1.replies).toBe(0);
    expect(policy.decide(4, parseAddress('10.0.0.2'), b, 1000)).toBe(Decision.SuppressNoSession);
    a.liveUntil = 5000;
    const r2 = req('10.0.0.2');
    expect(policy.handle(r2, 1000)).toBe(true);
    expect(r2.replies).toBe(1);
    const r3 = req('fd00::2');
    policy.handle(r3, 4999);
    expect(r3.replies).toBe(1);
    const r4 = req('fd00::2');
    policy.handle(r4, 5000);
    expect(r4.replies).toBe(0);
    expect(policy.counters()).toEqual({
      'icmp.echo.replied{reason=local}': 0,
      'icmp.echo.replied{reason=peer}': 2,
      'icmp.echo.replied{reason=all}': 0,
      'icmp.echo.suppressed{reason=no-route}': 0,
      'icmp.echo.suppressed{reason=no-session}': 2,
      'icmp.echo.suppressed{reason=self}': 0,
      'icmp.echo.suppressed{reason=mode}': 0,
    });
  });

  it('uses longest-prefix match like the device and never answers for the sender itself', () => {
    const { policy, a, b } = setup();
    a.liveUntil = b.liveUntil = Infinity;
    // 10.0.0.3 is b's (/24), the sender is b → self.
    expect(policy.decide(4, parseAddress('10.0.0.3'), b, 0)).toBe(Decision.SuppressSelf);
    expect(policy.decide(4, parseAddress('10.0.0.3'), a, 0)).toBe(Decision.ReplyPeer);
    // 10.0.0.2 is a's (/32 beats /24).
    expect(policy.decide(4, parseAddress('10.0.0.2'), a, 0)).toBe(Decision.SuppressSelf);
    expect(policy.decide(4, parseAddress('10.0.0.2'), b, 0)).toBe(Decision.ReplyPeer);
    expect(policy.decide(6, parseAddress('fd00::2'), b, 0)).toBe(Decision.ReplyPeer);
    expect(policy.decide(6, parseAddress('fd00::3'), b, 0)).toBe(Decision.SuppressSelf);
  });

  it('stays silent for addresses no peer covers', () => {
    const { policy } = setup();
    for (const dst of ['10.0.1.1', '8.8.8.8', 'fd01::1', '2001:db8::1']) {
      const r = req(dst);
      expect(policy.handle(r, 0)).toBe(true);
      expect(r.replies).toBe(0);
    }
    expect(policy.counters()['icmp.echo.suppressed{reason=no-route}']).toBe(4);
  });

  it('mode local answers only own addresses; mode all answers everything', () => {
    const local = setup('local');
    local.a.liveUntil = Infinity;
    const r = req('10.0.0.2');
    expect(local.policy.handle(r, 0)).toBe(true);
    expect(r.replies).toBe(0);
    expect(local.policy.counters()['icmp.echo.suppressed{reason=mode}']).toBe(1);

    const all = setup('all');
    for (const dst of ['10.0.0.2', '8.8.8.8', 'fd01::1']) {
      const q = req(dst);
      expect(all.policy.handle(q, 0)).toBe(true);
      expect(q.replies).toBe(1);
    }
    expect(all.policy.counters()['icmp.echo.replied{reason=all}']).toBe(3);
    expect(all.policy.totals()).toEqual({ replied: 3, suppressed: 0 });
  });

  it('ignores ICMP messages that are not echo requests', () => {
    const { policy } = setup();
    const r = req('10.0.0.1', 0);
    expect(policy.handle(r, 0)).toBe(false);
    expect(r.replies).toBe(0);
    const r6 = req('fd00::1', 129);
    expect(policy.handle(r6, 0)).toBe(false);
    // an IPv6 echo request type on IPv4 is not an echo request
    expect(policy.handle(req('10.0.0.1', 128), 0)).toBe(false);
    expect(policy.totals()).toEqual({ replied: 0, suppressed: 0 });
  });

  it('reads live state: a peer removed from AllowedIPs is no longer answered for', () => {
    const { policy, routes, a, b } = setup();
    a.liveUntil = Infinity;
    expect(policy.decide(4, parseAddress('10.0.0.2'), null, 0)).toBe(Decision.ReplyPeer);
    routes.removeByValue(a);
    // now b's /24 covers it; b has no session
    expect(policy.decide(4, parseAddress('10.0.0.2'), null, 0)).toBe(Decision.SuppressNoSession);
    routes.removeByValue(b);
    expect(policy.decide(4, parseAddress('10.0.0.2'), null, 0)).toBe(Decision.SuppressNoRoute);
  });

  it('parses mode names', () => {
    expect(parseIcmpMode(' Reachable ')).toBe('reachable');
    expect(parseIcmpMode('all')).toBe('all');
    expect(parseIcmpMode('none')).toBe(null);
  });
});
