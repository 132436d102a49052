/**
 * Property tests: arbitrary and mutated datagrams into a Device with live
 * sessions never throw, never hit the internal-error counter, and leave its
 * tables bounded.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nobleCrypto, nodeCrypto } from '../../src/crypto/index.js';
import { MAX_STAGED_PACKETS } from '../../src/wireguard/constants.js';
import { ipv4Packet, makePair } from './harness.js';

describe.each([
  ['node', nodeCrypto],
  ['noble', nobleCrypto],
] as const)('Device under arbitrary input (%s backend)', (_name, crypto) => {
  const p = makePair(crypto, { underLoadThreshold: 50 });
  p.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'), p.sim.now);
  p.sim.advance(50);
  p.b.device.sendPacket(ipv4Packet('10.0.0.2', '10.0.0.1'), p.sim.now);
  p.sim.advance(50);
  // real datagrams of every type to mutate
  const corpus = [...p.a.sent, ...p.b.sent].map((s) => s.data);

  const arbDatagram = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.constantFrom(1, 2, 3, 4), fc.constantFrom(148, 92, 64, 32, 48, 1500)).chain(([t, n]) =>
      fc.uint8Array({ minLength: n, maxLength: n }).map((b) => {
        b[0] = t;
        b[1] = b[2] = b[3] = 0;
        return b;
      }),
    ),
    fc.tuple(fc.constantFrom(...corpus), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }), fc.nat(40)).map(([base, flips, cut]) => {
      const b = Uint8Array.from(base);
      for (const [i, x] of flips) if (b.length > 4) b[4 + (i % (b.length - 4))]! ^= x;
      return cut > 35 ? b.subarray(0, Math.max(0, b.length - cut)) : b;
    }),
  );
  const arbFrom = fc.record({
    address: fc.constantFrom('192.0.2.1', '192.0.2.66', '2001:db8::1', 'fe80::1%eth0', 'garbage', ''),
    port: fc.integer({ min: 0, max: 65535 }),
  });

  it('receiveDatagram never throws and never fails internally', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(arbDatagram, arbFrom, fc.nat(3000)), { maxLength: 20 }), (steps) => {
        for (const [d, from, dt] of steps) {
          p.sim.now += dt;
          for (const dev of [p.a.device, p.b.device]) {
            dev.receiveDatagram(d, from, p.sim.now);
            dev.tick(p.sim.now);
          }
        }
        for (const dev of [p.a.device, p.b.device]) {
          expect(dev.stats.dropped.internal).toBe(0);
          expect(dev.indexCount).toBeLessThanOrEqual(4 * dev.peerCount);
        }
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('sendPacket with arbitrary bytes never throws; the staged queue stays bounded', () => {
    p.sim.filter = () => false;
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 50 }), (pkts) => {
        for (const b of pkts) {
          if (b.length >= 20) {
            b[0] = 0x45;
            b.set([10, 0, 0, 2], 16);
          }
          p.a.device.sendPacket(b, p.sim.now);
        }
        p.sim.now += 1000;
        p.a.device.tick(p.sim.now);
        expect(p.a.device.stats.dropped.internal).toBe(0);
        expect(p.peerB.stagedCount).toBeLessThanOrEqual(MAX_STAGED_PACKETS);
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  it('a flood of 5000 forged handshakes from many sources keeps tables bounded and goes under load', () => {
    const q = makePair(crypto);
    q.a.device.sendPacket(ipv4Packet('10.0.0.1', '10.0.0.2'), q.sim.now);
    const init = q.a.sentOfType(1)[0]!.data;
    for (let i = 0; i < 5000; i++) {
      q.b.device.receiveDatagram(init, { address: `198.51.${(i >> 8) & 255}.${i & 255}`, port: 1000 + i }, q.sim.now + i / 10);
    }
    expect(q.b.device.stats.dropped.internal).toBe(0);
    expect(q.b.device.indexCount).toBeLessThanOrEqual(4);
    expect(q.b.device.stats.cookieRepliesSent).toBeGreaterThan(4000);
    expect(q.b.device.isUnderLoad(q.sim.now + 500)).toBe(true);
  });
});
