/**
 * Regression tests for what the fuzzers found (see the report in fuzz/README.md).
 * Secret-leak and UAPI findings have their regression tests in test/security.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nodeCrypto } from '../../src/crypto/index.js';
import { parseUapiGet } from '../../src/config/uapi.js';
import { uapiGet, uapiSet } from '../../src/wireguard/uapi.js';
import { Device } from '../../src/wireguard/device.js';
import { targetByName } from '../../fuzz/targets.js';
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

describe('uapi finding: an endpoint zone that `get` prints but the CLI cannot read back', () => {
  // Found by the uapi target: `endpoint=[fe80::1%et\xff\x03]:51820` was accepted by set, printed by get,
  // and then rejected by parseUapiGet, so `wgts show` failed for the whole device. Zones are now
  // 1-15 printable ASCII characters without "/", ":", "]" or "%" on both sides.
  const K = (b: number) => b.toString(16).padStart(2, '0').repeat(32);
  const device = () => new Device({ io: { sendDatagram() {}, deliverPacket() {} }, crypto: nodeCrypto });

  it('the found input no longer breaks the uapi target', () => {
    const found = Buffer.concat([
      Buffer.from(`public_key=${'58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376'}\nupdate_only=true\nendpoint=[fe80::1%e`),
      Buffer.from([0x74, 0xff, 0x03]),
      Buffer.from(']:51820\nallowed_ip=-10.0.0.2/32\n\n'),
    ]);
    const run = targetByName('uapi')!.create();
    run(new Uint8Array(found));
    const d = device();
    expect(uapiSet(d, `public_key=${K(1)}\nendpoint=[fe80::1%et\u00ff\u0003]:51820\n`, 0).errno).toBe(-22);
  });

  it('every endpoint set accepts, get prints in a form parseUapiGet reads back', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 20, unit: 'binary' }), fc.constantFrom('fe80::1', '::1', '2001:db8::7'), (zone, addr) => {
        const d = device();
        const r = uapiSet(d, `public_key=${K(2)}\nendpoint=[${addr}%${zone}]:51820\n`, 0);
        if (r.errno !== 0) return;
        const parsed = parseUapiGet(uapiGet(d));
        expect(parsed.peers[0]!.endpoint).toEqual({ host: `${addr}%${zone}`, port: 51820 });
      }),
      { seed: 42, numRuns: 300 },
    );
    for (const zone of ['eth0', 'wg+1', 'br-lan.10', '12', 'a=b']) {
      const d = device();
      expect(uapiSet(d, `public_key=${K(3)}\nendpoint=[fe80::1%${zone}]:1\n`, 0).errno).toBe(0);
      expect(parseUapiGet(uapiGet(d)).peers[0]!.endpoint).toEqual({ host: `fe80::1%${zone}`, port: 1 });
    }
  });
});
