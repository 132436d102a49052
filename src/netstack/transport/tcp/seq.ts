/**
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4). Values are unsigned
 * 32-bit numbers; comparisons are valid while the two values are less than
 * 2^31 apart, which the window limits guarantee.
 */

/** a + n modulo 2^32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance a - b (negative when a is before b). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLT(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLE(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGT(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGE(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

export function seqMax(a: number, b: number): number {
  return ((a - b) | 0) >= 0 ? a : b;
}

export function seqMin(a: number, b: number): number {
  return ((a - b) | 0) <= 0 ? a : b;
}

/** lo <= x < hi in sequence space. */
export function seqInRange(x: number, lo: number, hi: number): boolean {
  return ((x - lo) | 0) >= 0 && ((x - hi) | 0) < 0;
}
