/** ICMPv6 (RFC 4443): checksum over the IPv6 pseudo-header, builders. */
import { finish, pseudoHeaderSum, sum16 } from './checksum.js';
import { HeaderError } from './errors.js';

export const ICMPV6_DEST_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_CODE_PORT_UNREACHABLE = 4;
export const ICMPV6_HEADER = 8;
export const IPPROTO_ICMPV6_NUMBER = 58;

export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, m: Uint8Array, start = 0, end = m.length): number {
  return finish(sum16(m, start, end, pseudoHeaderSum(src, dst, IPPROTO_ICMPV6_NUMBER, end - start)));
}

/** Checks length and pseudo-header checksum of an ICMPv6 message. */
export function validateIcmpv6(src: Uint8Array, dst: Uint8Array, m: Uint8Array): void {
  if (m.length < ICMPV6_HEADER) throw new HeaderError('icmpv6: truncated');
  if (icmpv6Checksum(src, dst, m) !== 0) throw new HeaderError('icmpv6: bad checksum');
}

export interface Icmpv6Header {
  type: number;
  code: number;
  checksum: number;
  rest: number;
  body: Uint8Array;
}

export function parseIcmpv6(m: Uint8Array): Icmpv6Header {
  if (m.length < ICMPV6_HEADER) throw new HeaderError('icmpv6: truncated');
  return {
    type: m[0]!,
    code: m[1]!,
    checksum: (m[2]! << 8) | m[3]!,
    rest: ((m[4]! << 24) | (m[5]! << 16) | (m[6]! << 8) | m[7]!) >>> 0,
    body: m.subarray(8),
  };
}

/** Writes header + body at out[at..] with the checksum for (src, dst). */
export function writeIcmpv6(
  out: Uint8Array,
  at: number,
  src: Uint8Array,
  dst: Uint8Array,
  type: number,
  code: number,
  rest: number,
  body: Uint8Array,
): number {
  out[at] = type;
  out[at + 1] = code;
  out[at + 2] = 0;
  out[at + 3] = 0;
  out[at + 4] = (rest >>> 24) & 0xff;
  out[at + 5] = (rest >>> 16) & 0xff;
  out[at + 6] = (rest >>> 8) & 0xff;
  out[at + 7] = rest & 0xff;
  out.set(body, at + 8);
  const end = at + ICMPV6_HEADER + body.length;
  const c = icmpv6Checksum(src, dst, out, at, end);
  out[at + 2] = c >> 8;
  out[at + 3] = c & 0xff;
  return end - at;
}

export function buildIcmpv6(src: Uint8Array, dst: Uint8Array, type: number, code: number, rest: number, body: Uint8Array): Uint8Array {
  const m = new Uint8Array(ICMPV6_HEADER + body.length);
  writeIcmpv6(m, 0, src, dst, type, code, rest, body);
  return m;
}
