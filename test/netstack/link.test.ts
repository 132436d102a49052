import { describe, expect, it } from 'vitest';
import { ChannelEndpoint } from '../../src/netstack/link/channel.js';
import { FaultyLink, mulberry32 } from '../../src/netstack/link/fault.js';
import { LINKTYPE_RAW, PcapTap, type PcapSink } from '../../src/netstack/link/pcap.js';
import { Stack } from '../../src/netstack/stack.js';
import { addrs, echoPacket, expectEchoReply } from './helpers.js';

describe('ChannelEndpoint', () => {
  it('bounded outbound queue counts overflow; read/readAsync/onOutbound', async () => {
    const ch = new ChannelEndpoint({ mtu: 1280, queueSize: 2 });
    expect(ch.writePacket(Uint8Array.of(1))).toBe(true);
    expect(ch.writePacket(Uint8Array.of(2))).toBe(true);
    expect(ch.writePacket(Uint8Array.of(3))).toBe(false);
    expect(ch.stats.queueDropped).toBe(1);
    expect(ch.read()![0]).toBe(1);
    expect((await ch.readAsync())[0]).toBe(2);
    expect(ch.read()).toBeNull();
    const pending = ch.readAsync();
    ch.writePacket(Uint8Array.of(4));
    expect((await pending)[0]).toBe(4);
    const seen: number[] = [];
    ch.onOutbound = (p) => seen.push(p[0]!);
    ch.writePacket(Uint8Array.of(5));
    expect(seen).toEqual([5]);
    expect(ch.queued).toBe(0);
  });

  it('inbound before attach is counted, not thrown', () => {
    const ch = new ChannelEndpoint();
    ch.injectInbound(Uint8Array.of(0x45));
    expect(ch.stats.notAttached).toBe(1);
  });
});

describe('PcapTap', () => {
  it('writes a valid global header and one record per packet in each direction', () => {
    const chunks: Uint8Array[] = [];
    const sink: PcapSink = { write: (b) => chunks.push(b.slice()) };
    const ch = new ChannelEndpoint({ mtu: 1500, queueSize: 8 });
    let clock = 1_700_000_000_123.456;
    const tap = new PcapTap(ch, sink, () => clock, 96);
    const stack = new Stack({ seed: 1 });
    stack.createNic(1, tap);
    stack.addAddress(1, '10.0.0.1/24');
    stack.addRoute('0.0.0.0/0', 1);
    const a = addrs(4);
    const req = echoPacket({ family: 4, src: a.remote, dst: a.local, payload: new Uint8Array(100) });
    ch.injectInbound(req, clock);
    const reply = ch.read()!;
    expectEchoReply(reply, req, 4);

    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      all.set(c, o);
      o += c.length;
    }
    const v = new DataView(all.buffer);
    // Global header.
    expect(Array.from(all.subarray(0, 4))).toEqual([0xd4, 0xc3, 0xb2, 0xa1]);
    expect(v.getUint16(4, true)).toBe(2);
    expect(v.getUint16(6, true)).toBe(4);
    expect(v.getInt32(8, true)).toBe(0);
    expect(v.getUint32(12, true)).toBe(0);
    expect(v.getUint32(16, true)).toBe(96);
    expect(v.getUint32(20, true)).toBe(LINKTYPE_RAW);
    // Two records: the request (in), the reply (out), each snapped to 96 bytes.
    let at = 24;
    for (const pkt of [req, reply]) {
      expect(v.getUint32(at, true)).toBe(1_700_000_000);
      expect(v.getUint32(at + 4, true)).toBe(123456);
      expect(v.getUint32(at + 8, true)).toBe(96);
      expect(v.getUint32(at + 12, true)).toBe(pkt.length);
      expect(Array.from(all.subarray(at + 16, at + 16 + 96))).toEqual(Array.from(pkt.subarray(0, 96)));
      at += 16 + 96;
    }
    expect(at).toBe(all.length);
    clock += 1;
  });
});

describe('FaultyLink', () => {
  it('is deterministic for a seed and honours loss, duplication, reordering and delay', () => {
    const run = (seed: number) => {
      const got: number[] = [];
      const f = new FaultyLink({ seed, loss: 0.2, duplicate: 0.1, reorder: 0.1, delayMs: 10, jitterMs: 5 }, (p) => got.push(p[0]!));
      for (let i = 0; i < 200; i++) f.send(Uint8Array.of(i), i);
      f.flushHeld(200);
      let t = 200;
      while (f.nextDeadline() !== undefined && t < 1000) f.tick((t = f.nextDeadline()!));
      return { got, stats: { ...f.stats } };
    };
    const a = run(7);
    const b = run(7);
    expect(a).toEqual(b);
    expect(run(8).got).not.toEqual(a.got);
    expect(a.stats.lost).toBeGreaterThan(20);
    expect(a.stats.duplicated).toBeGreaterThan(5);
    expect(a.stats.reordered).toBeGreaterThan(5);
    expect(a.got.length).toBe(a.stats.sent - a.stats.lost + a.stats.duplicated);
    const sorted = a.got.slice().sort((x, y) => x - y);
    expect(a.got).not.toEqual(sorted);
  });

  it('delays until tick reaches the due time', () => {
    const got: number[] = [];
    const f = new FaultyLink({ seed: 1, delayMs: 50 }, (p) => got.push(p[0]!));
    f.send(Uint8Array.of(1), 100);
    expect(got).toEqual([]);
    expect(f.nextDeadline()).toBe(150);
    f.tick(149);
    expect(got).toEqual([]);
    f.tick(150);
    expect(got).toEqual([1]);
  });

  it('bounds packets in flight', () => {
    const f = new FaultyLink({ seed: 1, delayMs: 1000, maxInFlight: 3 }, () => {});
    for (let i = 0; i < 10; i++) f.send(Uint8Array.of(i), 0);
    expect(f.inFlight).toBe(3);
    expect(f.stats.overflow).toBe(7);
  });

  it('mulberry32 is a fixed sequence', () => {
    const r = mulberry32(42);
    const xs = [r(), r(), r()].map((x) => Math.floor(x * 1e6));
    const r2 = mulberry32(42);
    expect([r2(), r2(), r2()].map((x) => Math.floor(x * 1e6))).toEqual(xs);
    for (const x of xs) expect(x).toBeGreaterThanOrEqual(0);
  });
});
