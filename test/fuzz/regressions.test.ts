/**
 * Regression tests for what the fuzzers found (see the report in fuzz/README.md).
 * Secret-leak and UAPI findings have their regression tests in test/security.
 */
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../src/crypto/index.js';
import { ipv4Packet, makePair } from '../wireguard/harness.js';

describe('device-ops finding: crossing initiations', () => {
  // Found as "no packet from A to B within 60 s" after B re-added A with a
  // 1 s persistent keepalive: both sides kept initiating at the same instant,
  // each response arrived after its receiver had replaced its handshake with a
  // response of its own (unknown-index both ways). The cause was the fuzz
  // harness running timers only on a 1 s grid, which removed the retransmit
  // jitter that breaks the symmetry; with exact timers the pair converges.
  it('two peers that both initiate at the same instant, over and over, still converge', () => {
    const p = makePair(nodeCrypto, { bKnowsA: true, channel: { delay: 2 } });
    p.peerA.setPersistentKeepalive(1, p.sim.now); // B initiates now, and again while it has no session
    p.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 11), p.sim.now); // A initiates at the same ms
    expect(p.a.sentOfType(1)).toHaveLength(1);
    expect(p.b.sentOfType(1)).toHaveLength(1);
    for (let t = 0; t < 60 && p.b.delivered.length === 0; t++) {
      p.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 11), p.sim.now);
      p.sim.advance(1000);
    }
    expect(p.b.delivered.length).toBeGreaterThan(0);
    expect(p.sim.now - 1_764_000_000_000).toBeLessThan(30_000);
    expect(p.a.device.stats.dropped.internal + p.b.device.stats.dropped.internal).toBe(0);
    // The first round did cross: each side dropped the other's response.
    expect(p.a.device.stats.dropped['unknown-index']).toBeGreaterThanOrEqual(1);
    expect(p.b.device.stats.dropped['unknown-index']).toBeGreaterThanOrEqual(1);
  });
});
