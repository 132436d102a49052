/** ICMPv6 (RFC 4443): checksum over the IPv6 pseudo-header, builders. */
import { finish, pseudoHeaderSum, sum16 } from './checksum.js';
import { HeaderError } from './errors.js';
import { ICMP_HEADER, parseIcmpHeader, writeIcmpHeader, type IcmpHeader } from './icmp.js';

export const ICMPV6_DEST_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_CODE_PORT_UNREACHABLE = 4;
export const ICMPV6_HEADER = ICMP_HEADER;
export const IPPROTO_ICMPV6_NUMBER = 58;

export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, m: Uint8Array, start = 0, end = m.length): number {
  return finish(sum16(m, start, end, pseudoHeaderSum(src, dst, IPPROTO_ICMPV6_NUMBER, end - start)));
}

/** Checks length and pseudo-header checksum of an ICMPv6 message. */
export function validateIcmpv6(src: Uint8Array, dst: Uint8Array, m: Uint8Array): void {
  if (m.length < ICMPV6_HEADER) throw new HeaderError('icmpv6: truncated');
  if (icmpv6Checksum(src, dst, m) !== 0) throw new HeaderError('icmpv6: bad checksum');
}

export type Icmpv6Header = IcmpHeader;

export function parseIcmpv6(m: Uint8Array): Icmpv6Header {
  return parseIcmpHeader(m, 'icmpv6');
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
  const end = writeIcmpHeader(out, at, type, code, rest, body);
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
