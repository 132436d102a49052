/** UDP (RFC 768): header, checksum with the zero-checksum rules per family. */
import { finish, pseudoHeaderSum, sum16 } from './checksum.js';
import { HeaderError } from './errors.js';

export const UDP_HEADER = 8;
export const IPPROTO_UDP_NUMBER = 17;

export interface UdpHeader {
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
  payload: Uint8Array;
}

export function udpChecksum(src: Uint8Array, dst: Uint8Array, d: Uint8Array, start = 0, end = d.length): number {
  const c = finish(sum16(d, start, end, pseudoHeaderSum(src, dst, IPPROTO_UDP_NUMBER, end - start)));
  // A computed zero is sent as all ones (zero means "no checksum" in IPv4).
  return c === 0 ? 0xffff : c;
}

/**
 * Validates a UDP datagram carried in an IP packet with these addresses.
 * IPv4: checksum 0 means none. IPv6: checksum 0 is invalid (RFC 8200 §8.1).
 * Returns the datagram length from the header (≤ d.length).
 */
export function validateUdp(d: Uint8Array, src: Uint8Array, dst: Uint8Array, verifyChecksum = true): number {
  if (d.length < UDP_HEADER) throw new HeaderError('udp: truncated');
  const len = (d[4]! << 8) | d[5]!;
  if (len < UDP_HEADER || len > d.length) throw new HeaderError('udp: bad length');
  const ck = (d[6]! << 8) | d[7]!;
  const v6 = src.length === 16;
  if (ck === 0) {
    if (v6) throw new HeaderError('udp: zero checksum over IPv6');
    return len;
  }
  if (verifyChecksum && finish(sum16(d, 0, len, pseudoHeaderSum(src, dst, IPPROTO_UDP_NUMBER, len))) !== 0) {
    throw new HeaderError('udp: bad checksum');
  }
  return len;
}

export function parseUdp(d: Uint8Array): UdpHeader {
  if (d.length < UDP_HEADER) throw new HeaderError('udp: truncated');
  const len = (d[4]! << 8) | d[5]!;
  if (len < UDP_HEADER || len > d.length) throw new HeaderError('udp: bad length');
  return {
    srcPort: (d[0]! << 8) | d[1]!,
    dstPort: (d[2]! << 8) | d[3]!,
    length: len,
    checksum: (d[6]! << 8) | d[7]!,
    payload: d.subarray(UDP_HEADER, len),
  };
}

/** Writes a UDP header at out[at..] for the `payloadLength` bytes after it, with checksum (IPv4 may pass noChecksum). */
export function writeUdpHeader(
  out: Uint8Array,
  at: number,
  src: Uint8Array,
  dst: Uint8Array,
  srcPort: number,
  dstPort: number,
  payloadLength: number,
  noChecksum = false,
): number {
  const len = UDP_HEADER + payloadLength;
  if (len > 0xffff) throw new HeaderError('udp: datagram too long');
  out[at] = srcPort >> 8;
  out[at + 1] = srcPort & 0xff;
  out[at + 2] = dstPort >> 8;
  out[at + 3] = dstPort & 0xff;
  out[at + 4] = len >> 8;
  out[at + 5] = len & 0xff;
  out[at + 6] = 0;
  out[at + 7] = 0;
  if (!(noChecksum && src.length === 4)) {
    const c = udpChecksum(src, dst, out, at, at + len);
    out[at + 6] = c >> 8;
    out[at + 7] = c & 0xff;
  }
  return UDP_HEADER;
}

export function buildUdp(src: Uint8Array, dst: Uint8Array, srcPort: number, dstPort: number, payload: Uint8Array, noChecksum = false): Uint8Array {
  const out = new Uint8Array(UDP_HEADER + payload.length);
  out.set(payload, UDP_HEADER);
  writeUdpHeader(out, 0, src, dst, srcPort, dstPort, payload.length, noChecksum);
  return out;
}
