/**
 * Internet checksum (RFC 1071) helpers shared by IPv4, ICMP, UDP and TCP.
 * `sum16` returns the unfolded 32-bit-safe partial sum so callers can chain a
 * pseudo-header and a payload without copying them together.
 */

/** Adds the 16-bit big-endian words of data[start, end) to `initial`. Odd trailing byte is padded with zero. */
export function sum16(data: Uint8Array, start = 0, end = data.length, initial = 0): number {
  let sum = initial;
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (i === last) sum += data[i]! << 8;
  // Fold periodically is unnecessary: a JS number holds 2^53, far above 65535 * (64 KiB / 2).
  return sum;
}

/** Folds a partial sum to 16 bits and returns its one's complement (the value to put in a header). */
export function finish(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** One's-complement checksum of data[start, end). */
export function checksum(data: Uint8Array, start = 0, end = data.length, initial = 0): number {
  return finish(sum16(data, start, end, initial));
}

/** Partial sum of an IPv4 or IPv6 pseudo-header (addresses as 4- or 16-byte views). */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  let sum = sum16(src) + sum16(dst) + protocol;
  sum += length >>> 16;
  sum += length & 0xffff;
  return sum;
}
