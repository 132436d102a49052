import { describe, expect, it } from 'vitest';
import { buildIpv4, writeIpv4Header } from '../../src/netstack/header/ipv4.js';
import { writeIpv6Header } from '../../src/netstack/header/ipv6.js';
import { buildUdp, parseUdp } from '../../src/netstack/header/udp.js';
import { checksum } from '../../src/netstack/header/checksum.js';
import { Reassembler } from '../../src/netstack/network/reassembly.js';
import { mulberry32 } from '../../src/netstack/link/fault.js';
import type { IpFamily } from '../../src/netstack/transport/protocol.js';
import { addrs, setup } from './helpers.js';

function payloadOf(n: number, seed = 1): Uint8Array {
  const r = mulberry32(seed);
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = Math.floor(r() * 256);
  return p;
}

/** Crafts one fragment of a datagram whose upper-layer bytes are `data`. */
function fragment(family: IpFamily, src: Uint8Array, dst: Uint8Array, id: number, data: Uint8Array, off: number, len: number, more: boolean): Uint8Array {
  const chunk = data.subarray(off, off + len);
  if (family === 4) {
    const out = new Uint8Array(20 + chunk.length);
    writeIpv4Header(out, 0, { ttl: 64, protocol: 17, src, dst, id, moreFragments: more, fragmentOffset: off }, out.length);
    out.set(chunk, 20);
    return out;
  }
  const out = new Uint8Array(48 + chunk.length);
  writeIpv6Header(out, 0, { nextHeader: 44, hopLimit: 64, src, dst }, 8 + chunk.length);
  out[40] = 17;
  const fo = off | (more ? 1 : 0);
  out[42] = fo >> 8;
  out[43] = fo & 0xff;
  out[44] = (id >>> 24) & 0xff;
  out[45] = (id >>> 16) & 0xff;
  out[46] = (id >>> 8) & 0xff;
  out[47] = id & 0xff;
  out.set(chunk, 48);
  return out;
}

describe.each([4, 6] as const)('fragmentation and reassembly, IPv%i', (family) => {
  const a = addrs(family);

  function receiver(opts = {}) {
    const s = setup(opts);
    const ep = s.stack.udp.createEndpoint(family).bind(9);
    const got: Uint8Array[] = [];
    ep.onMessage = (d) => got.push(d.payload.slice());
    return { ...s, got };
  }

  function datagram(n: number) {
    const body = payloadOf(n, n);
    return { body, udp: buildUdp(a.remote, a.local, 1000, 9, body) };
  }

  it('fragmentation on send round-trips through reassembly (in order, reversed, shuffled with duplicates)', () => {
    const sender = setup({ mtu: 576 });
    // Swap roles: the sender stack owns `remote`.
    sender.stack.removeAddress(1, a.local);
    sender.stack.addAddress(1, a.remote);
    const ep = sender.stack.udp.createEndpoint(family).bind(1000);
    const body = payloadOf(3000, 3);
    expect(ep.send(body, a.local, 9)).toBe('ok');
    const frags = sender.link.drain();
    expect(frags.length).toBeGreaterThan(5);
    for (const f of frags) expect(f.length).toBeLessThanOrEqual(576);
    const st = family === 4 ? sender.stack.stats.ipv4 : sender.stack.stats.ipv6;
    expect(st.fragmentsSent).toBe(frags.length);

    const orders = [frags, frags.slice().reverse(), [frags[3]!, frags[3]!, frags[0]!, ...frags.slice(1).reverse()]];
    for (const order of orders) {
      const r = receiver();
      for (const f of order) r.link.injectInbound(f.slice(), 5);
      expect(r.got.length).toBe(1);
      expect(Array.from(r.got[0]!)).toEqual(Array.from(body));
      expect(r.stack.reassembler4.bytesInUse + r.stack.reassembler6.bytesInUse).toBe(0);
    }
  });

  it('DF / dontFragment above the MTU fails with too-big', () => {
    const s = setup({ mtu: 576 });
    const ep = s.stack.udp.createEndpoint(family).bind(1000);
    expect(ep.send(payloadOf(1000), a.remote, 9, { dontFragment: true })).toBe('too-big');
    expect(s.link.drain()).toEqual([]);
  });

  it('overlapping fragments discard the datagram', () => {
    const r = receiver();
    const { udp } = datagram(64);
    r.link.injectInbound(fragment(family, a.remote, a.local, 77, udp, 0, 32, true));
    r.link.injectInbound(fragment(family, a.remote, a.local, 77, udp, 24, 16, true)); // overlaps [24,32)
    r.link.injectInbound(fragment(family, a.remote, a.local, 77, udp, 32, udp.length - 32, false));
    expect(r.got).toEqual([]);
    const rs = family === 4 ? r.stack.stats.reassemblyV4 : r.stack.stats.reassemblyV6;
    expect(rs.overlaps).toBe(1);
  });

  it('exact duplicates are ignored, out of order completes', () => {
    const r = receiver();
    const { body, udp } = datagram(64);
    const f0 = fragment(family, a.remote, a.local, 78, udp, 0, 32, true);
    const f1 = fragment(family, a.remote, a.local, 78, udp, 32, udp.length - 32, false);
    r.link.injectInbound(f1.slice());
    r.link.injectInbound(f1.slice());
    r.link.injectInbound(f0.slice());
    expect(r.got.length).toBe(1);
    expect(Array.from(r.got[0]!)).toEqual(Array.from(body));
    r.link.injectInbound(f0.slice()); // a late duplicate starts a new (incomplete) datagram only
    expect(r.got.length).toBe(1);
  });

  it('too many fragments', () => {
    const r = receiver({ reassemblyMaxFragments: 4 });
    const { udp } = datagram(200);
    for (let off = 0; off < 200; off += 8) r.link.injectInbound(fragment(family, a.remote, a.local, 79, udp, off, 8, true));
    r.link.injectInbound(fragment(family, a.remote, a.local, 79, udp, 200, udp.length - 200, false));
    expect(r.got).toEqual([]);
    const rs = family === 4 ? r.stack.stats.reassemblyV4 : r.stack.stats.reassemblyV6;
    expect(rs.tooMany).toBeGreaterThanOrEqual(1);
    expect(r.stack.reassembler4.inProgress + r.stack.reassembler6.inProgress).toBeLessThanOrEqual(1);
  });

  it(`times out after the ${family === 4 ? 30 : 60} s default and sends time exceeded`, () => {
    const r = receiver();
    const { udp } = datagram(64);
    r.link.injectInbound(fragment(family, a.remote, a.local, 80, udp, 0, 32, true), 10_000);
    const timeout = family === 4 ? 30_000 : 60_000;
    expect(r.stack.nextDeadline()).toBe(10_000 + timeout);
    r.stack.tick(10_000 + timeout - 1);
    expect(r.link.drain()).toEqual([]);
    r.stack.tick(10_000 + timeout);
    expect(r.stack.nextDeadline()).toBeUndefined();
    const out = r.link.drain();
    expect(out.length).toBe(1);
    const hl = family === 4 ? 20 : 40;
    expect([out[0]![hl], out[0]![hl + 1]]).toEqual(family === 4 ? [11, 1] : [3, 1]);
    // The late rest does not complete anything.
    r.link.injectInbound(fragment(family, a.remote, a.local, 80, udp, 32, udp.length - 32, false), 10_000 + timeout + 1);
    expect(r.got).toEqual([]);
  });

  it('configurable timeout; no time exceeded without the first fragment', () => {
    const r = receiver({ reassemblyTimeoutV4Ms: 1000, reassemblyTimeoutV6Ms: 1000 });
    const { udp } = datagram(64);
    r.link.injectInbound(fragment(family, a.remote, a.local, 81, udp, 32, udp.length - 32, false), 0);
    expect(r.stack.nextDeadline()).toBe(1000);
    r.stack.tick(1000);
    expect(r.link.drain()).toEqual([]);
    expect((family === 4 ? r.stack.stats.reassemblyV4 : r.stack.stats.reassemblyV6).timeouts).toBe(1);
  });

  it('memory limit holds under a flood of partial datagrams', () => {
    const limit = 20_000;
    const r = receiver({ reassemblyMaxBytes: limit });
    const { udp } = datagram(1400);
    for (let id = 0; id < 500; id++) {
      r.link.injectInbound(fragment(family, a.remote, a.local, id, udp, 0, 1000, true));
      expect(r.stack.reassembler4.bytesInUse + r.stack.reassembler6.bytesInUse).toBeLessThanOrEqual(limit);
    }
    expect(r.stack.reassembler4.inProgress + r.stack.reassembler6.inProgress).toBeLessThanOrEqual(limit / 1000);
    // A complete datagram still gets through after the flood.
    r.link.injectInbound(fragment(family, a.remote, a.local, 9999, udp, 0, 1000, true));
    r.link.injectInbound(fragment(family, a.remote, a.local, 9999, udp, 1000, udp.length - 1000, false));
    expect(r.got.length).toBe(1);
  });
});

describe('Reassembler unit', () => {
  it('rejects a reassembled payload above the maximum', () => {
    const r = new Reassembler({ timeoutMs: 1000, maxBytes: 1 << 20, maxFragments: 64, maxDatagrams: 8, maxPayload: 100 });
    expect(r.add('k', 96, new Uint8Array(8), false, new Uint8Array(20), 0)).toBeNull();
    expect(r.lastVerdict).toBe('too-big');
  });
  it('bounds datagrams in progress', () => {
    const r = new Reassembler({ timeoutMs: 1000, maxBytes: 1 << 20, maxFragments: 64, maxDatagrams: 3, maxPayload: 65535 });
    for (let i = 0; i < 10; i++) r.add(`k${i}`, 0, new Uint8Array(8), true, new Uint8Array(20), 0);
    expect(r.inProgress).toBe(3);
  });
});

describe('IPv4 fragmentation keeps copied options only after the first fragment', () => {
  it('options', () => {
    const s = setup({ mtu: 600 });
    const a = addrs(4);
    const route = s.stack.findRoute(4, a.remote)!;
    const data = new Uint8Array(60 + 1500);
    // Option 0x94 (router alert, copied) then 0x07 (record route, not copied).
    const opts = Uint8Array.from([0x94, 0x04, 0, 0, 0x07, 0x07, 0x04, 0, 0, 0, 0, 0]);
    expect(s.stack.sendTransport(route, 253, data, 60, { ipv4Options: opts })).toBe('ok');
    const frags = s.link.drain();
    expect(frags.length).toBe(3);
    expect((frags[0]![0]! & 0x0f) * 4).toBe(32);
    expect((frags[1]![0]! & 0x0f) * 4).toBe(24);
    expect(Array.from(frags[1]!.subarray(20, 24))).toEqual([0x94, 0x04, 0, 0]);
    for (const f of frags) expect(checksum(f, 0, (f[0]! & 0x0f) * 4)).toBe(0);
  });

  it('reassembled packets reach the transport with a valid header', () => {
    const s = setup();
    const a = addrs(4);
    const ep = s.stack.udp.createEndpoint(4).bind(9);
    const got: number[] = [];
    ep.onMessage = (d) => got.push(d.payload.length);
    const udp = buildUdp(a.remote, a.local, 1, 9, new Uint8Array(100));
    const whole = buildIpv4({ ttl: 64, protocol: 17, src: a.remote, dst: a.local, id: 5 }, udp);
    expect(parseUdp(whole.subarray(20)).length).toBe(108);
    s.link.injectInbound(fragment(4, a.remote, a.local, 5, udp, 0, 48, true));
    s.link.injectInbound(fragment(4, a.remote, a.local, 5, udp, 48, 60, false));
    expect(got).toEqual([100]);
  });
});

describe('fragmentation round trip (property)', () => {
  it('any payload size, MTU and arrival order reassembles to the same datagram', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(
        fc.constantFrom(4, 6),
        fc.integer({ min: 0, max: 9000 }),
        fc.integer({ min: 1280, max: 1500 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (f, size, mtu, orderSeed) => {
          const family = f as IpFamily;
          const a = addrs(family);
          const sender = setup({ mtu });
          sender.stack.removeAddress(1, a.local);
          sender.stack.addAddress(1, a.remote);
          const body = payloadOf(size, size + 1);
          expect(sender.stack.udp.createEndpoint(family).bind(1000).send(body, a.local, 9)).toBe('ok');
          const frags = sender.link.drain();
          for (const fr of frags) expect(fr.length).toBeLessThanOrEqual(mtu);
          // Shuffle deterministically.
          const r = mulberry32(orderSeed);
          for (let i = frags.length - 1; i > 0; i--) {
            const j = Math.floor(r() * (i + 1));
            [frags[i], frags[j]] = [frags[j]!, frags[i]!];
          }
          const recv = setup({ queueSize: 64 });
          const ep = recv.stack.udp.createEndpoint(family).bind(9);
          const got: Uint8Array[] = [];
          ep.onMessage = (d) => got.push(d.payload.slice());
          for (const fr of frags) recv.link.injectInbound(fr);
          expect(got.length).toBe(1);
          expect(got[0]!.length).toBe(size);
          expect(Buffer.from(got[0]!).equals(Buffer.from(body))).toBe(true);
          expect(recv.stack.reassembler4.bytesInUse + recv.stack.reassembler6.bytesInUse).toBe(0);
        },
      ),
      { seed: 42, numRuns: 60 },
    );
  });
});
