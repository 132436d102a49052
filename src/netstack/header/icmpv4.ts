/** ICMPv4 (RFC 792): header checks and builders. */
import { checksum } from './checksum.js';
import { HeaderError } from './errors.js';
import { ICMP_HEADER, parseIcmpHeader, writeIcmpHeader, type IcmpHeader } from './icmp.js';

export const ICMPV4_ECHO_REPLY = 0;
export const ICMPV4_DEST_UNREACHABLE = 3;
export const ICMPV4_ECHO_REQUEST = 8;
export const ICMPV4_TIME_EXCEEDED = 11;
export const ICMPV4_PARAMETER_PROBLEM = 12;
export const ICMPV4_CODE_PROTOCOL_UNREACHABLE = 2;
export const ICMPV4_CODE_PORT_UNREACHABLE = 3;
export const ICMPV4_CODE_FRAG_NEEDED = 4;
export const ICMPV4_HEADER = ICMP_HEADER;

export type Icmpv4Header = IcmpHeader;

/** Checks length and checksum of an ICMPv4 message. */
export function validateIcmpv4(m: Uint8Array): void {
  if (m.length < ICMPV4_HEADER) throw new HeaderError('icmpv4: truncated');
  if (checksum(m) !== 0) throw new HeaderError('icmpv4: bad checksum');
}

export function parseIcmpv4(m: Uint8Array): Icmpv4Header {
  return parseIcmpHeader(m, 'icmpv4');
}

/** Builds an ICMPv4 message with a valid checksum. */
export function buildIcmpv4(type: number, code: number, rest: number, body: Uint8Array): Uint8Array {
  const m = new Uint8Array(ICMPV4_HEADER + body.length);
  writeIcmpv4(m, 0, type, code, rest, body);
  return m;
}

/** Writes header + body at out[at..] and fills in the checksum. */
export function writeIcmpv4(out: Uint8Array, at: number, type: number, code: number, rest: number, body: Uint8Array): number {
  const end = writeIcmpHeader(out, at, type, code, rest, body);
  const c = checksum(out, at, end);
  out[at + 2] = c >> 8;
  out[at + 3] = c & 0xff;
  return end - at;
}

export function echoId(m: Uint8Array): number {
  return (m[4]! << 8) | m[5]!;
}
export function echoSeq(m: Uint8Array): number {
  return (m[6]! << 8) | m[7]!;
}
