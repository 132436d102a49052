import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decrementTtl } from '../../src/endpoint/netstack-endpoint.js';
import { checksum } from '../../src/netstack/header/checksum.js';
import { FakeNet, ping } from './harness.js';

describe('decrementTtl', () => {
  it('keeps the IPv4 header checksum valid', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 2, max: 255 }), (h, ttl) => {
        h[0] = 0x45;
        h[8] = ttl;
        h[10] = h[11] = 0;
        const c = checksum(h, 0, 20);
        h[10] = c >> 8;
        h[11] = c & 0xff;
        expect(decrementTtl(h, 4)).toBe(true);
        expect(h[8]).toBe(ttl - 1);
        expect(checksum(h, 0, 20)).toBe(0);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('refuses to forward at TTL/hop limit 1', () => {
    const h4 = new Uint8Array(20);
    h4[8] = 1;
    expect(decrementTtl(h4, 4)).toBe(false);
    const h6 = new Uint8Array(40);
    h6[7] = 1;
    expect(decrementTtl(h6, 6)).toBe(false);
    h6[7] = 64;
    expect(decrementTtl(h6, 6)).toBe(true);
    expect(h6[7]).toBe(63);
  });
});

describe('endpoint glue', () => {
  it('counts packets both ways and drops non-IP payloads', () => {
    const net = new FakeNet();
    const a = net.node('A', 1, { addresses: ['10.1.0.1/24'] });
    const b = net.node('B', 2, { addresses: ['10.1.0.2/24'] });
    a.addPeer(b, ['10.1.0.2/32']);
    b.addPeer(a, ['10.1.0.1/32']);
    const e = b.ep.stack.icmp4.openEcho(1);
    expect(ping(net, b, e, '10.1.0.1', 3)).toBe(3);
    expect(a.ep.stats.toStack).toBe(3);
    expect(a.ep.stats.fromStack).toBe(3);
    expect(b.ep.stats.fromStack).toBe(3);
    expect(b.ep.stats.toStack).toBe(3);
    // Packets to addresses A has no peer for are dropped by the device (no-route).
    const before = a.ep.device.stats.dropped['no-route'];
    a.ep.stack.icmp4.openEcho(2).send(new Uint8Array([192, 0, 2, 1]), 0, new Uint8Array(4));
    expect(a.ep.device.stats.dropped['no-route']).toBe(before + 1);
  });
});

describe('endpoint glue robustness', () => {
  it('arbitrary inner packets from a peer never throw and never get answered from thin air', () => {
    const net = new FakeNet();
    const a = net.node('A', 1, { addresses: ['10.1.0.1/24', 'fd01::1/64'] });
    const b = net.node('B', 2, { addresses: ['10.1.0.2/24'] });
    const peer = a.addPeer(b, ['10.1.0.2/32', 'fd01::2/128']);
    const inject = (a.ep as unknown as { fromTunnel(p: Uint8Array, peer: unknown): void }).fromTunnel.bind(a.ep);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.constantFrom(0x45, 0x60, 0x46, 0x00), (bytes, first) => {
        if (bytes.length > 0) bytes[0] = first;
        inject(bytes, peer);
      }),
      { seed: 42, numRuns: 3000 },
    );
    expect(a.ep.stats.toStack + a.ep.stats.malformed).toBe(3000);
    // Nothing reached B: A has no session, and garbage is never answered.
    net.pump();
    expect(b.ep.stats.toStack).toBe(0);
  });
});
