/** ICMPv4 (RFC 792): header checks and builders. */
import { checksum } from './checksum.js';
import { HeaderError } from './errors.js';

export const ICMPV4_ECHO_REPLY = 0;
export const ICMPV4_DEST_UNREACHABLE = 3;
export const ICMPV4_ECHO_REQUEST = 8;
export const ICMPV4_TIME_EXCEEDED = 11;
export const ICMPV4_PARAMETER_PROBLEM = 12;
export const ICMPV4_CODE_PROTOCOL_UNREACHABLE = 2;
export const ICMPV4_CODE_PORT_UNREACHABLE = 3;
export const ICMPV4_CODE_FRAG_NEEDED = 4;
export const ICMPV4_HEADER = 8;

export interface Icmpv4Header {
  type: number;
  code: number;
  checksum: number;
  /** Bytes 4..8: identifier+sequence for echo, unused/MTU for errors. */
  rest: number;
  body: Uint8Array;
}

/** Checks length and checksum of an ICMPv4 message. */
export function validateIcmpv4(m: Uint8Array): void {
  if (m.length < ICMPV4_HEADER) throw new HeaderError('icmpv4: truncated');
  if (checksum(m) !== 0) throw new HeaderError('icmpv4: bad checksum');
}

export function parseIcmpv4(m: Uint8Array): Icmpv4Header {
  if (m.length < ICMPV4_HEADER) throw new HeaderError('icmpv4: truncated');
  return {
    type: m[0]!,
    code: m[1]!,
    checksum: (m[2]! << 8) | m[3]!,
    rest: ((m[4]! << 24) | (m[5]! << 16) | (m[6]! << 8) | m[7]!) >>> 0,
    body: m.subarray(8),
  };
}

/** Builds an ICMPv4 message with a valid checksum. */
export function buildIcmpv4(type: number, code: number, rest: number, body: Uint8Array): Uint8Array {
  const m = new Uint8Array(ICMPV4_HEADER + body.length);
  writeIcmpv4(m, 0, type, code, rest, body);
  return m;
}

/** Writes header + body at out[at..] and fills in the checksum. */
export function writeIcmpv4(out: Uint8Array, at: number, type: number, code: number, rest: number, body: Uint8Array): number {
  out[at] = type;
  out[at + 1] = code;
  out[at + 2] = 0;
  out[at + 3] = 0;
  out[at + 4] = (rest >>> 24) & 0xff;
  out[at + 5] = (rest >>> 16) & 0xff;
  out[at + 6] = (rest >>> 8) & 0xff;
  out[at + 7] = rest & 0xff;
  out.set(body, at + 8);
  const c = checksum(out, at, at + ICMPV4_HEADER + body.length);
  out[at + 2] = c >> 8;
  out[at + 3] = c & 0xff;
  return ICMPV4_HEADER + body.length;
}

export function echoId(m: Uint8Array): number {
  return (m[4]! << 8) | m[5]!;
}
export function echoSeq(m: Uint8Array): number {
  return (m[6]! << 8) | m[7]!;
}
