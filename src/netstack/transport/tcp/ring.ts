/**
 * Byte rings for the send and receive sides of a connection. Both are fixed
 * size, allocated once, and never grow: the send ring bounds what `write`
 * accepts, the receive ring bounds the advertised window and the out-of-order
 * data we keep (out-of-order bytes are stored in place, smoltcp-style, and an
 * assembler with a bounded number of ranges tracks the holes).
 */

/** Unacknowledged + unsent data, oldest byte first. */
export class SendRing {
  private buf: Uint8Array;
  private head = 0;
  /** Bytes held (from SND.UNA, or ISS+1 before the SYN is acked). */
  length = 0;

  constructor(public capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  /** Reallocates to `capacity` bytes (larger), keeping the content. */
  grow(capacity: number): void {
    if (capacity <= this.capacity) return;
    this.buf = linearize(this.buf, this.head, capacity);
    this.head = 0;
    this.capacity = capacity;
  }

  get free(): number {
    return this.capacity - this.length;
  }

  /** Appends up to `free` bytes of `data`; returns how many were taken. */
  write(data: Uint8Array): number {
    const n = Math.min(data.length, this.capacity - this.length);
    if (n === 0) return 0;
    let tail = this.head + this.length;
    if (tail >= this.capacity) tail -= this.capacity;
    const first = Math.min(n, this.capacity - tail);
    this.buf.set(first === data.length ? data : data.subarray(0, first), tail);
    if (first < n) this.buf.set(data.subarray(first, n), 0);
    this.length += n;
    return n;
  }

  /** Copies `len` bytes starting `offset` bytes after the oldest into dst[dstOff]. */
  copyOut(offset: number, dst: Uint8Array, dstOff: number, len: number): void {
    let start = this.head + offset;
    if (start >= this.capacity) start -= this.capacity;
    const first = Math.min(len, this.capacity - start);
    dst.set(this.buf.subarray(start, start + first), dstOff);
    if (first < len) dst.set(this.buf.subarray(0, len - first), dstOff + first);
  }

  /** Drops the `n` oldest bytes (they were acknowledged). */
  consume(n: number): void {
    if (n <= 0) return;
    if (n > this.length) n = this.length;
    this.head += n;
    if (this.head >= this.capacity) this.head -= this.capacity;
    this.length -= n;
    if (this.length === 0) this.head = 0;
  }
}

/** A new buffer of `capacity` bytes holding `old` rotated so that `head` comes first. */
function linearize(old: Uint8Array, head: number, capacity: number): Uint8Array {
  const nb = new Uint8Array(capacity);
  nb.set(old.subarray(head), 0);
  if (head > 0) nb.set(old.subarray(0, head), old.length - head);
  return nb;
}

/** Result of storing a segment's payload in the receive ring. */
export const RECV_REJECTED = -1;

/**
 * In-order data the application has not read, followed by room for the
 * window; out-of-order bytes sit at their final place in that room.
 */
export class RecvRing {
  private buf: Uint8Array;
  private head = 0;
  /** In-order bytes readable now. */
  length = 0;
  /** Out-of-order ranges [start, end) as offsets after the in-order data, sorted, disjoint, non-adjacent. */
  private readonly ranges: Int32Array;
  rangeCount = 0;
  /** Index of the range holding the most recently stored segment (for the first SACK block), -1 if none. */
  private latest = -1;

  constructor(public capacity: number, readonly maxRanges = 32) {
    this.buf = new Uint8Array(capacity);
    this.ranges = new Int32Array(maxRanges * 2);
  }

  /**
   * Reallocates to `capacity` bytes (larger). In-order and out-of-order bytes
   * keep their offsets from the read position, so the window only grows.
   */
  grow(capacity: number): void {
    if (capacity <= this.capacity) return;
    this.buf = linearize(this.buf, this.head, capacity);
    this.head = 0;
    this.capacity = capacity;
  }

  /** Room after the in-order data: the receive window. */
  get window(): number {
    return this.capacity - this.length;
  }

  /**
   * Stores `data` at `offset` bytes after the in-order data (offset >= 0, and
   * offset + data.length <= window, which the caller ensures by trimming).
   * Returns how many bytes became in-order (0 if it filled no leading hole),
   * or RECV_REJECTED when the out-of-order range table is full.
   */
  store(offset: number, data: Uint8Array): number {
    const len = data.length;
    if (len === 0) return 0;
    const end = offset + len;
    // Fast path: in order with no holes pending.
    if (offset === 0 && this.rangeCount === 0) {
      this.copyIn(0, data);
      this.length += len;
      return len;
    }
    if (!this.addRange(offset, end)) return RECV_REJECTED;
    this.copyIn(offset, data);
    if (this.ranges[0] !== 0) return 0;
    const advanced = this.ranges[1]!;
    this.removeRange(0);
    for (let i = 0; i < this.rangeCount * 2; i++) this.ranges[i]! -= advanced;
    this.length += advanced;
    return advanced;
  }

  private copyIn(offset: number, data: Uint8Array): void {
    let at = this.head + this.length + offset;
    while (at >= this.capacity) at -= this.capacity;
    const first = Math.min(data.length, this.capacity - at);
    this.buf.set(first === data.length ? data : data.subarray(0, first), at);
    if (first < data.length) this.buf.set(data.subarray(first), 0);
  }

  private addRange(start: number, end: number): boolean {
    const r = this.ranges;
    let n = this.rangeCount;
    // First range whose end >= start (could merge with it).
    let i = 0;
    while (i < n && r[i * 2 + 1]! < start) i++;
    if (i === n || r[i * 2]! > end) {
      // No overlap/adjacency: insert a new range at i.
      if (n === this.maxRanges) return false;
      r.copyWithin(i * 2 + 2, i * 2, n * 2);
      r[i * 2] = start;
      r[i * 2 + 1] = end;
      this.rangeCount = n + 1;
      this.latest = i;
      return true;
    }
    // Merge [start,end) with range i and any following ranges it reaches.
    let s = Math.min(start, r[i * 2]!);
    let e = Math.max(end, r[i * 2 + 1]!);
    let j = i + 1;
    while (j < n && r[j * 2]! <= e) {
      e = Math.max(e, r[j * 2 + 1]!);
      j++;
    }
    r[i * 2] = s;
    r[i * 2 + 1] = e;
    const removed = j - (i + 1);
    if (removed > 0) {
      r.copyWithin(i * 2 + 2, j * 2, n * 2);
      n -= removed;
      this.rangeCount = n;
    }
    this.latest = i;
    return true;
  }

  private removeRange(i: number): void {
    const r = this.ranges;
    r.copyWithin(i * 2, i * 2 + 2, this.rangeCount * 2);
    this.rangeCount--;
    if (this.latest === i) this.latest = -1;
    else if (this.latest > i) this.latest--;
  }

  /** Highest out-of-order byte offset held (0 when none). */
  get highestOffset(): number {
    return this.rangeCount === 0 ? 0 : this.ranges[this.rangeCount * 2 - 1]!;
  }

  /**
   * Writes up to `max` SACK blocks (as sequence numbers, given the sequence
   * number of the first out-of-order offset) into `out`; the block with the
   * latest segment first (RFC 2018 §4). Returns the count.
   */
  sackBlocks(base: number, out: Uint32Array, max: number): number {
    let k = 0;
    const r = this.ranges;
    if (this.latest >= 0 && this.latest < this.rangeCount && k < max) {
      out[0] = (base + r[this.latest * 2]!) >>> 0;
      out[1] = (base + r[this.latest * 2 + 1]!) >>> 0;
      k = 1;
    }
    for (let i = 0; i < this.rangeCount && k < max; i++) {
      if (i === this.latest) continue;
      out[k * 2] = (base + r[i * 2]!) >>> 0;
      out[k * 2 + 1] = (base + r[i * 2 + 1]!) >>> 0;
      k++;
    }
    return k;
  }

  /** Copies up to `max` in-order bytes out into a new array and frees their room. */
  read(max: number = this.length): Uint8Array {
    const n = Math.min(max, this.length);
    const out = new Uint8Array(n);
    if (n === 0) return out;
    const first = Math.min(n, this.capacity - this.head);
    out.set(this.buf.subarray(this.head, this.head + first), 0);
    if (first < n) out.set(this.buf.subarray(0, n - first), first);
    this.head += n;
    if (this.head >= this.capacity) this.head -= this.capacity;
    this.length -= n;
    return out;
  }

  /** Drops all out-of-order data (memory pressure or reset). */
  clearOutOfOrder(): void {
    this.rangeCount = 0;
    this.latest = -1;
  }
}
