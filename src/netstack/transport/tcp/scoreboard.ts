/**
 * SACK scoreboard of the sending side (RFC 2018, RFC 6675): which bytes above
 * SND.UNA the peer reported as received. Sorted, disjoint ranges of sequence
 * numbers with a fixed capacity; when full, the highest ranges are forgotten,
 * which only makes the sender more conservative.
 */
import { seqDiff, seqGE, seqGT, seqLE, seqLT, seqMax, seqMin } from './seq.js';

export class SackScoreboard {
  private readonly r: Uint32Array;
  count = 0;
  /** Total SACKed bytes. */
  sacked = 0;

  constructor(readonly maxRanges = 64) {
    this.r = new Uint32Array(maxRanges * 2);
  }

  clear(): void {
    this.count = 0;
    this.sacked = 0;
  }

  /** Start/end of range i. */
  start(i: number): number {
    return this.r[i * 2]!;
  }
  end(i: number): number {
    return this.r[i * 2 + 1]!;
  }

  /** Highest SACKed sequence number + 1, or `una` when nothing is SACKed. */
  highest(una: number): number {
    return this.count === 0 ? una : this.r[this.count * 2 - 1]!;
  }

  /** Records [start, end) as received, clipped to (una, max]. Returns true when it added anything. */
  add(start: number, end: number, una: number, max: number): boolean {
    start = seqMax(start, una);
    end = seqMin(end, max);
    if (!seqLT(start, end)) return false;
    const r = this.r;
    let n = this.count;
    let i = 0;
    while (i < n && seqLT(r[i * 2 + 1]!, start)) i++;
    if (i === n || seqGT(r[i * 2]!, end)) {
      if (n === this.maxRanges) {
        if (i === n) return false; // above everything and no room: forget it
        n--; // forget the highest range to make room
        this.sacked -= seqDiff(r[n * 2 + 1]!, r[n * 2]!);
      }
      r.copyWithin(i * 2 + 2, i * 2, n * 2);
      r[i * 2] = start;
      r[i * 2 + 1] = end;
      this.count = n + 1;
      this.sacked += seqDiff(end, start);
      return true;
    }
    const oldS = r[i * 2]!;
    const oldE = r[i * 2 + 1]!;
    let s = seqMin(start, oldS);
    let e = seqMax(end, oldE);
    let removedBytes = seqDiff(oldE, oldS);
    let j = i + 1;
    while (j < n && seqLE(r[j * 2]!, e)) {
      e = seqMax(e, r[j * 2 + 1]!);
      removedBytes += seqDiff(r[j * 2 + 1]!, r[j * 2]!);
      j++;
    }
    const grew = seqDiff(e, s) !== removedBytes;
    r[i * 2] = s;
    r[i * 2 + 1] = e;
    if (j > i + 1) {
      r.copyWithin(i * 2 + 2, j * 2, n * 2);
      this.count = n - (j - i - 1);
    }
    this.sacked += seqDiff(e, s) - removedBytes;
    return grew;
  }

  /** Forgets everything below `una` (it was cumulatively acknowledged). */
  advance(una: number): void {
    const r = this.r;
    let drop = 0;
    while (drop < this.count && seqLE(r[drop * 2 + 1]!, una)) {
      this.sacked -= seqDiff(r[drop * 2 + 1]!, r[drop * 2]!);
      drop++;
    }
    if (drop > 0) {
      r.copyWithin(0, drop * 2, this.count * 2);
      this.count -= drop;
    }
    if (this.count > 0 && seqLT(r[0]!, una)) {
      this.sacked -= seqDiff(una, r[0]!);
      r[0] = una;
    }
  }

  /** SACKed bytes inside [a, b). */
  sackedBetween(a: number, b: number): number {
    let n = 0;
    const r = this.r;
    for (let i = 0; i < this.count; i++) {
      const s = r[i * 2]!;
      const e = r[i * 2 + 1]!;
      if (seqLE(e, a)) continue;
      if (seqGE(s, b)) break;
      n += seqDiff(seqMin(e, b), seqMax(s, a));
    }
    return n;
  }

  /**
   * RFC 6675 IsLost boundary: every un-SACKed byte below the returned sequence
   * number has more than (dupThresh-1)*mss SACKed bytes, or dupThresh SACKed
   * ranges, above it. Returns `una` when nothing is lost.
   */
  lostBoundary(una: number, mss: number, dupThresh = 3): number {
    const r = this.r;
    let acc = 0;
    const limit = (dupThresh - 1) * mss;
    for (let i = this.count - 1; i >= 0; i--) {
      acc += seqDiff(r[i * 2 + 1]!, r[i * 2]!);
      if (acc > limit || this.count - i >= dupThresh) return r[i * 2]!;
    }
    return una;
  }

  /** True when seq lies in a SACKed range. */
  isSacked(seq: number): boolean {
    const r = this.r;
    for (let i = 0; i < this.count; i++) {
      if (seqLT(seq, r[i * 2]!)) return false;
      if (seqLT(seq, r[i * 2 + 1]!)) return true;
    }
    return false;
  }

  /**
   * First un-SACKed byte at or after `from` and before `limit`; writes the
   * hole's end (next SACKed byte or `limit`) to holeEnd[0]. Returns -1 when none.
   */
  nextHole(from: number, limit: number, holeEnd: Uint32Array): number {
    const r = this.r;
    let x = from;
    for (let i = 0; i < this.count; i++) {
      const s = r[i * 2]!;
      const e = r[i * 2 + 1]!;
      if (seqLE(e, x)) continue;
      if (seqGT(s, x)) {
        if (!seqLT(x, limit)) return -1;
        holeEnd[0] = seqMin(s, limit);
        return x;
      }
      x = e; // x inside this range: skip past it
    }
    if (!seqLT(x, limit)) return -1;
    holeEnd[0] = limit;
    return x;
  }
}
