/**
 * TAI64N timestamps for handshake initiations: 8 bytes big-endian seconds
 * (offset 2^62 + 10) then 4 bytes big-endian nanoseconds. Like wireguard-go,
 * the nanoseconds are rounded down to a multiple of 2^24 ns (~16.8 ms) so the
 * timestamp does not leak fine-grained timing.
 */

export const TAI64N_SIZE = 12;
const WHITENER_MASK = 0xffffff;
const TWO32 = 0x1_0000_0000;

/** Writes the timestamp for `nowMs` (ms since the Unix epoch) into out[offset .. offset + 12). */
export function writeTai64n(nowMs: number, out: Uint8Array, offset = 0): void {
  const secs = Math.floor(nowMs / 1000);
  let nanos = Math.floor((nowMs - secs * 1000) * 1e6);
  if (nanos > 999_999_999) nanos = 999_999_999;
  nanos = (nanos & ~WHITENER_MASK) >>> 0;
  // 2^62 + 10 + secs, split into 32-bit halves (2^62 lands in the high word).
  const s = secs + 10;
  const hiPart = Math.floor(s / TWO32);
  const hi = (0x40000000 + hiPart) >>> 0;
  const lo = s - hiPart * TWO32;
  const v = new DataView(out.buffer, out.byteOffset + offset, TAI64N_SIZE);
  v.setUint32(0, hi);
  v.setUint32(4, lo);
  v.setUint32(8, nanos);
}

/** A fresh 12-byte TAI64N timestamp for `nowMs`. */
export function tai64n(nowMs: number): Uint8Array {
  const out = new Uint8Array(TAI64N_SIZE);
  writeTai64n(nowMs, out, 0);
  return out;
}

/** True when timestamp `a` is strictly newer than `b` (big-endian byte comparison). */
export function tai64nAfter(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < TAI64N_SIZE; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y) return x > y;
  }
  return false;
}
