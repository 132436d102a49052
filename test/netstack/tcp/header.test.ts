import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  TCP_ACK,
  TCP_SYN,
  TcpHeaderError,
  newTcpHeader,
  parseTcpHeader,
  sackBlocksThatFit,
  setTcpChecksum,
  tcpHeaderLength,
  verifyTcpChecksum,
  writeTcpHeader,
  type TcpHeader,
} from '../../../src/netstack/header/tcp.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function header(fields: Partial<TcpHeader>): TcpHeader {
  return Object.assign(newTcpHeader(), fields);
}

/** Reference checksum: concatenate pseudo-header and segment, sum 16-bit words naively. */
function refChecksum(src: Uint8Array, dst: Uint8Array, seg: Uint8Array): number {
  const ph =
    src.length === 4
      ? new Uint8Array([...src, ...dst, 0, 6, seg.length >> 8, seg.length & 0xff])
      : new Uint8Array([...src, ...dst, 0, 0, seg.length >> 8, seg.length & 0xff, 0, 0, 0, 6]);
  const all = new Uint8Array(ph.length + seg.length + 1);
  all.set(ph);
  all.set(seg, ph.length);
  const n = ph.length + seg.length;
  let sum = 0;
  for (let i = 0; i < n; i += 2) sum += (all[i]! << 8) | all[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

describe('TCP header', () => {
  it('builds a SYN with Linux option layout, byte for byte', () => {
    const h = header({
      srcPort: 0xc001,
      dstPort: 80,
      seq: 0x01020304,
      ack: 0,
      flags: TCP_SYN,
      window: 64240,
      mss: 1460,
      sackPermitted: true,
      hasTimestamp: true,
      tsVal: 0x11223344,
      tsEcr: 0,
      wscale: 7,
    });
    expect(tcpHeaderLength(h)).toBe(40);
    const buf = new Uint8Array(40);
    expect(writeTcpHeader(buf, 0, h)).toBe(40);
    expect(hex(buf)).toBe(
      'c0010050' + '01020304' + '00000000' + 'a002' + 'faf0' + '0000' + '0000' +
        '020405b4' + '0402080a' + '11223344' + '00000000' + '01030307',
    );
    const p = parseTcpHeader(buf);
    expect([p.srcPort, p.dstPort, p.seq, p.flags, p.window, p.mss, p.wscale, p.sackPermitted, p.hasTimestamp, p.tsVal]).toEqual([
      0xc001, 80, 0x01020304, TCP_SYN, 64240, 1460, 7, true, true, 0x11223344,
    ]);
  });

  it('carries SACK blocks: 3 with timestamps, 4 without', () => {
    const blocks = new Uint32Array([1, 2, 3, 4, 5, 6, 0xfffffff0, 0x10]);
    const withTs = header({ flags: TCP_ACK, hasTimestamp: true, sackCount: 4, sackBlocks: blocks, srcPort: 1, dstPort: 2 });
    expect(tcpHeaderLength(withTs)).toBe(20 + 12 + 4 + 24);
    const b1 = new Uint8Array(60);
    writeTcpHeader(b1, 0, withTs);
    const p1 = parseTcpHeader(b1);
    expect(p1.sackCount).toBe(3);
    expect(Array.from(p1.sackBlocks.subarray(0, 6))).toEqual([1, 2, 3, 4, 5, 6]);
    const noTs = header({ flags: TCP_ACK, sackCount: 4, sackBlocks: blocks, srcPort: 1, dstPort: 2 });
    expect(tcpHeaderLength(noTs)).toBe(20 + 4 + 32);
    const b2 = new Uint8Array(60);
    writeTcpHeader(b2, 0, noTs);
    const p2 = parseTcpHeader(b2);
    expect(p2.sackCount).toBe(4);
    expect(Array.from(p2.sackBlocks)).toEqual(Array.from(blocks));
  });

  it('checksums match a naive reference over the IPv4 and IPv6 pseudo-headers', () => {
    const seg = new Uint8Array(20 + 13);
    writeTcpHeader(seg, 0, header({ srcPort: 1234, dstPort: 80, seq: 99, ack: 7, flags: TCP_ACK, window: 1000 }));
    for (let i = 20; i < seg.length; i++) seg[i] = i * 7;
    const v4s = new Uint8Array([10, 0, 0, 1]);
    const v4d = new Uint8Array([192, 168, 1, 200]);
    const v6s = new Uint8Array(16).map((_, i) => 0xfd + i);
    const v6d = new Uint8Array(16).map((_, i) => 0x20 * i);
    for (const [s, d] of [
      [v4s, v4d],
      [v6s, v6d],
    ] as const) {
      const c = seg.slice();
      setTcpChecksum(c, s, d);
      expect((c[16]! << 8) | c[17]!).toBe(refChecksum(s, d, seg));
      expect(verifyTcpChecksum(c, s, d)).toBe(true);
      c[25]! ^= 1;
      expect(verifyTcpChecksum(c, s, d)).toBe(false);
    }
  });

  it('rejects malformed headers with typed errors', () => {
    const base = new Uint8Array(24);
    writeTcpHeader(base, 0, header({ srcPort: 1, dstPort: 2, mss: 1000 }));
    const cases: [Uint8Array, string][] = [
      [base.subarray(0, 19), 'truncated'],
      [Object.assign(base.slice(), { 12: 0x40 }), 'bad-offset'],
      [Object.assign(base.slice(), { 12: 0x70 }), 'truncated'],
      [Object.assign(base.slice(), { 21: 1 }), 'bad-option'], // length 1
      [Object.assign(base.slice(), { 21: 9 }), 'bad-option'], // runs past header
      [Object.assign(base.slice(), { 21: 3 }), 'bad-option'], // MSS with length 3
      [Object.assign(base.slice(), { 20: 5, 21: 4 }), 'bad-option'], // SACK too short
      [Object.assign(base.slice(), { 20: 8, 21: 4 }), 'bad-option'], // timestamp length
      [Object.assign(base.slice(), { 20: 3, 21: 4 }), 'bad-option'], // wscale length
      [Object.assign(base.slice(), { 20: 4, 21: 4 }), 'bad-option'], // sack-permitted length
      [Object.assign(base.slice(), { 20: 1, 21: 1, 22: 1, 23: 30 }), 'bad-option'], // kind at last byte, no length
    ];
    for (const [bytes, reason] of cases) {
      let err: unknown = null;
      try {
        parseTcpHeader(bytes);
      } catch (e) {
        err = e;
      }
      expect(err, `reason ${reason}`).toBeInstanceOf(TcpHeaderError);
      expect((err as TcpHeaderError).reason).toBe(reason);
    }
    // Unknown options are skipped, EOL ends parsing.
    const unk = base.slice();
    unk.set([0xfe, 4, 0, 0], 20);
    expect(parseTcpHeader(unk).mss).toBe(-1);
    const eol = base.slice();
    eol.set([0, 0xff, 0xff, 0xff], 20);
    expect(parseTcpHeader(eol).mss).toBe(-1);
  });

  it('property: arbitrary bytes only ever throw TcpHeaderError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (bytes) => {
        try {
          const h = parseTcpHeader(bytes);
          expect(h.headerLength).toBeGreaterThanOrEqual(20);
          expect(h.headerLength).toBeLessThanOrEqual(bytes.length);
        } catch (e) {
          if (!(e instanceof TcpHeaderError)) throw e;
        }
      }),
      { seed: 42, numRuns: 3000 },
    );
    // Headers whose option area is random: more interesting option parsing.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 40, maxLength: 40 }), (opts) => {
        const b = new Uint8Array(60);
        b[12] = 0xf0;
        b.set(opts, 20);
        try {
          parseTcpHeader(b);
        } catch (e) {
          if (!(e instanceof TcpHeaderError)) throw e;
        }
      }),
      { seed: 42, numRuns: 3000 },
    );
  });

  it('property: parse(build(h)) is h', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const arb = fc.record({
      srcPort: u16,
      dstPort: u16,
      seq: u32,
      ack: u32,
      flags: fc.integer({ min: 0, max: 255 }),
      window: u16,
      urgent: u16,
      mss: fc.oneof(fc.constant(-1), u16),
      wscale: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 14 })),
      sackPermitted: fc.boolean(),
      hasTimestamp: fc.boolean(),
      tsVal: u32,
      tsEcr: u32,
      blocks: fc.array(u32, { minLength: 0, maxLength: 8 }),
    });
    fc.assert(
      fc.property(arb, (r) => {
        const { blocks: _blocks, ...fields } = r;
        const h = header({ ...fields, sackBlocks: new Uint32Array(8) });
        const n = r.blocks.length >> 1;
        h.sackCount = n;
        h.sackBlocks.set(r.blocks.slice(0, n * 2));
        if (!h.hasTimestamp) {
          h.tsVal = 0;
          h.tsEcr = 0;
        }
        const buf = new Uint8Array(64);
        const len = writeTcpHeader(buf, 2, h);
        const p = parseTcpHeader(buf.subarray(2, 2 + len));
        expect(p.headerLength).toBe(len);
        expect({ ...p, sackBlocks: Array.from(p.sackBlocks.subarray(0, p.sackCount * 2)), checksum: 0 }).toEqual({
          ...h,
          headerLength: len,
          sackCount: p.sackCount,
          sackBlocks: Array.from(h.sackBlocks.subarray(0, p.sackCount * 2)),
          checksum: 0,
        });
        expect(p.sackCount).toBe(Math.min(n, sackBlocksThatFit(h)));
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('property: the word-at-a-time checksum equals the naive reference at any length and alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 3000 }), fc.integer({ min: 0, max: 7 }), fc.boolean(), (bytes, shift, v6) => {
        const backing = new Uint8Array(bytes.length + 8);
        const seg = backing.subarray(shift, shift + bytes.length);
        seg.set(bytes);
        seg[16] = 0;
        seg[17] = 0;
        const src = v6 ? new Uint8Array(16).fill(0xfd) : new Uint8Array([10, 1, 2, 3]);
        const dst = v6 ? new Uint8Array(16).fill(0x21) : new Uint8Array([192, 168, 9, 1]);
        const ref = refChecksum(src, dst, seg);
        setTcpChecksum(seg, src, dst);
        expect((seg[16]! << 8) | seg[17]!).toBe(ref);
        expect(verifyTcpChecksum(seg, src, dst)).toBe(true);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
