/**
 * Capture and re-send at the datagram level, across a rekey: everything an
 * on-path attacker recorded from A to B (initiations, transport packets on
 * the old and the new keypair, keepalives) is replayed into B later, from
 * A's address and from a foreign one. Nothing is delivered again, no
 * handshake is answered, no session or endpoint changes.
 */
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../../src/crypto/index.js';
import { REKEY_AFTER_TIME, REJECT_AFTER_TIME, ZERO_KEY_MATERIAL_AFTER } from '../../src/wireguard/constants.js';
import { ipv4Packet, makePair, type Pair } from '../wireguard/harness.js';

function traffic(p: Pair, n: number): void {
  for (let i = 0; i < n; i++) {
    p.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2', 20 + i), p.sim.now);
    p.sim.advance(10);
    p.b.device.sendPacket(ipv4Packet('10.0.0.2', '10.0.0.1', 30 + i), p.sim.now);
    p.sim.advance(10);
  }
}

describe.each([
  ['node', nodeCrypto],
  ['noble', nobleCrypto],
] as const)('replayed captures are rejected (%s backend)', (_name, crypto) => {
  function recordedSession(): { p: Pair; captured: Uint8Array[] } {
    const p = makePair(crypto);
    traffic(p, 5);
    // Rekey: A's keypair is older than REKEY_AFTER_TIME when it next sends.
    p.sim.advance(REKEY_AFTER_TIME + 1000);
    traffic(p, 5);
    expect(p.a.sentOfType(1).length).toBeGreaterThanOrEqual(2); // two handshakes
    expect(p.b.handshakes.length).toBeGreaterThanOrEqual(2);
    const captured = p.a.sent.map((s) => s.data);
    return { p, captured };
  }

  it('right after the rekey: old-keypair, new-keypair and handshake datagrams all drop', () => {
    const { p, captured } = recordedSession();
    const b = p.b.device;
    const delivered = p.b.delivered.length;
    const responses = p.b.sentOfType(2).length;
    const current = p.peerA.keypairs.current;
    const previous = p.peerA.keypairs.previous;
    const dropsBefore = { ...b.stats.dropped };
    for (const from of [p.a.endpoint, { address: '203.0.113.66', port: 4444 }]) {
      for (const d of captured) p.sim.inject(d, from, p.b.endpoint);
      p.sim.advance(5);
    }
    expect(p.b.delivered.length).toBe(delivered);
    expect(p.b.sentOfType(2).length).toBe(responses);
    expect(p.peerA.keypairs.current).toBe(current);
    expect(p.peerA.keypairs.previous).toBe(previous);
    expect(p.peerA.endpoint).toEqual(p.a.endpoint);
    const d = b.stats.dropped;
    const inits = captured.filter((x) => x[0] === 1).length;
    const transports = captured.filter((x) => x[0] === 4).length;
    expect(d['timestamp-replay'] - dropsBefore['timestamp-replay']).toBe(2 * inits);
    // Transport packets: the window rejects those on live keypairs; the rest name a keypair that is gone.
    expect(d.replay - dropsBefore.replay + (d['no-keypair'] - dropsBefore['no-keypair'])).toBe(2 * transports);
    expect(d.replay - dropsBefore.replay).toBeGreaterThan(0);
    expect(d.internal).toBe(0);
    // The real session still works afterwards.
    traffic(p, 1);
    expect(p.b.delivered.length).toBe(delivered + 1);
  });

  it('much later (keys expired and wiped): an old initiation is still refused by its timestamp', () => {
    const { p, captured } = recordedSession();
    p.sim.advance(ZERO_KEY_MATERIAL_AFTER + REJECT_AFTER_TIME);
    expect(p.peerA.keypairs.current).toBeNull();
    const responses = p.b.sentOfType(2).length;
    const before = p.b.device.stats.dropped['timestamp-replay'];
    const inits = captured.filter((x) => x[0] === 1);
    for (const d of inits) p.sim.inject(d, { address: '203.0.113.66', port: 4444 }, p.b.endpoint);
    p.sim.advance(5);
    expect(p.b.device.stats.dropped['timestamp-replay'] - before).toBe(inits.length);
    expect(p.b.sentOfType(2).length).toBe(responses);
    expect(p.peerA.keypairs.current).toBeNull();
    expect(p.peerA.keypairs.next).toBeNull();
    expect(p.peerA.endpoint).toEqual(p.a.endpoint);
  });
});
