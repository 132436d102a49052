import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RECV_REJECTED, RecvRing, SendRing } from '../../../src/netstack/transport/tcp/ring.js';
import { SackScoreboard } from '../../../src/netstack/transport/tcp/scoreboard.js';
import { seqAdd } from '../../../src/netstack/transport/tcp/seq.js';

describe('send ring', () => {
  it('wraps, copies out at offsets, consumes', () => {
    const r = new SendRing(8);
    expect(r.write(new Uint8Array([1, 2, 3, 4, 5, 6]))).toBe(6);
    r.consume(4);
    expect(r.write(new Uint8Array([7, 8, 9, 10, 11, 12, 13]))).toBe(6); // bounded by capacity
    expect(r.length).toBe(8);
    const out = new Uint8Array(8);
    r.copyOut(0, out, 0, 8);
    expect(Array.from(out)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    r.copyOut(5, out, 0, 3);
    expect(Array.from(out.subarray(0, 3))).toEqual([10, 11, 12]);
  });
});

describe('receive ring with out-of-order assembly', () => {
  it('stores out of order in place and releases when the hole fills', () => {
    const r = new RecvRing(16, 4);
    expect(r.store(4, new Uint8Array([5, 6]))).toBe(0);
    expect(r.store(8, new Uint8Array([9]))).toBe(0);
    expect(r.rangeCount).toBe(2);
    const out = new Uint32Array(8);
    // Latest segment's block first (RFC 2018).
    expect(r.sackBlocks(1000, out, 4)).toBe(2);
    expect(Array.from(out.subarray(0, 4))).toEqual([1008, 1009, 1004, 1006]);
    expect(r.store(0, new Uint8Array([1, 2, 3, 4]))).toBe(6);
    expect(r.length).toBe(6);
    expect(r.rangeCount).toBe(1);
    expect(Array.from(r.read())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.store(0, new Uint8Array([7, 8]))).toBe(3);
    expect(Array.from(r.read())).toEqual([7, 8, 9]);
  });

  it('bounds the number of holes', () => {
    const r = new RecvRing(64, 2);
    expect(r.store(2, new Uint8Array(1))).toBe(0);
    expect(r.store(6, new Uint8Array(1))).toBe(0);
    expect(r.store(10, new Uint8Array(1))).toBe(RECV_REJECTED);
    expect(r.store(7, new Uint8Array(1))).toBe(0); // adjacent: merges, no new range
    expect(r.rangeCount).toBe(2);
  });

  it('property: random arrival order reassembles the stream exactly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 199 }), fc.integer({ min: 1, max: 30 })), { minLength: 1, maxLength: 60 }),
        (segs) => {
          const total = 200;
          const src = new Uint8Array(total).map((_, i) => (i * 31 + 7) & 0xff);
          const r = new RecvRing(256, 64);
          let nxt = 0;
          const got: number[] = [];
          const deliver = (start: number, len: number) => {
            let s = start;
            let e = Math.min(total, start + len);
            if (e <= nxt) return;
            if (s < nxt) s = nxt;
            const adv = r.store(s - nxt, src.subarray(s, e));
            if (adv > 0) nxt += adv;
            for (const b of r.read()) got.push(b);
          };
          for (const [s, l] of segs) deliver(s, l);
          deliver(0, total); // final retransmission of everything
          expect(nxt).toBe(total);
          expect(got).toEqual(Array.from(src));
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});

describe('SACK scoreboard', () => {
  it('merges, clips to (una, max], advances', () => {
    const sb = new SackScoreboard(8);
    const una = 0xfffffff0; // wraps inside the test
    const max = seqAdd(una, 10000);
    sb.add(seqAdd(una, 3000), seqAdd(una, 4000), una, max);
    sb.add(seqAdd(una, 1000), seqAdd(una, 2000), una, max);
    sb.add(seqAdd(una, 2000), seqAdd(una, 2500), una, max); // adjacent → merged
    expect(sb.count).toBe(2);
    expect(sb.sacked).toBe(2500);
    sb.add(seqAdd(una, 9000), seqAdd(una, 20000), una, max); // clipped at max
    expect(sb.sacked).toBe(3500);
    expect(sb.highest(una)).toBe(max);
    expect(sb.isSacked(seqAdd(una, 1500))).toBe(true);
    expect(sb.isSacked(seqAdd(una, 2600))).toBe(false);
    expect(sb.sackedBetween(seqAdd(una, 1500), seqAdd(una, 3500))).toBe(1000 + 500);
    const end = new Uint32Array(1);
    expect(sb.nextHole(una, max, end)).toBe(una);
    expect(end[0]).toBe(seqAdd(una, 1000));
    expect(sb.nextHole(seqAdd(una, 1200), max, end)).toBe(seqAdd(una, 2500));
    expect(end[0]).toBe(seqAdd(una, 3000));
    sb.advance(seqAdd(una, 1500));
    expect(sb.sacked).toBe(1000 + 1000 + 1000);
    expect(sb.start(0)).toBe(seqAdd(una, 1500));
  });

  it('RFC 6675 IsLost: more than 2·MSS SACKed above, or 3 SACKed ranges above', () => {
    const mss = 1000;
    const una = 5000;
    const max = 50000;
    const sb = new SackScoreboard();
    sb.add(7000, 8000, una, max);
    expect(sb.lostBoundary(una, mss)).toBe(una);
    sb.add(9000, 11001, una, max); // 1000 + 2001 > 2000 bytes
    expect(sb.lostBoundary(una, mss)).toBe(9000);
    const sb2 = new SackScoreboard();
    sb2.add(6000, 6100, una, max);
    sb2.add(7000, 7100, una, max);
    expect(sb2.lostBoundary(una, mss)).toBe(una);
    sb2.add(8000, 8100, una, max); // third range
    expect(sb2.lostBoundary(una, mss)).toBe(6000);
  });

  it('forgets the highest ranges when full', () => {
    const sb = new SackScoreboard(2);
    sb.add(100, 200, 0, 10000);
    sb.add(300, 400, 0, 10000);
    expect(sb.add(500, 600, 0, 10000)).toBe(false);
    expect(sb.add(10, 20, 0, 10000)).toBe(true);
    expect(sb.count).toBe(2);
    expect(sb.sacked).toBe(110);
    expect(sb.highest(0)).toBe(200);
  });

  it('property: agrees with a set of SACKed bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 60 })), { maxLength: 30 }),
        fc.integer({ min: 0, max: 100 }),
        (blocks, ackTo) => {
          const base = 0xffffff00;
          const sb = new SackScoreboard(64);
          const set = new Set<number>();
          for (const [s, l] of blocks) {
            sb.add(seqAdd(base, s), seqAdd(base, s + l), base, seqAdd(base, 420));
            for (let i = s; i < Math.min(s + l, 420); i++) set.add(i);
          }
          expect(sb.sacked).toBe(set.size);
          sb.advance(seqAdd(base, ackTo));
          for (const x of [...set]) if (x < ackTo) set.delete(x);
          expect(sb.sacked).toBe(set.size);
          for (let i = ackTo; i < 420; i += 7) expect(sb.isSacked(seqAdd(base, i))).toBe(set.has(i));
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});
