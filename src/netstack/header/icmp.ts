/**
 * The 8-byte header ICMPv4 and ICMPv6 share: type, code, checksum, then four
 * bytes whose meaning depends on the type. The checksums differ (ICMPv6 covers
 * a pseudo-header), so they stay in icmpv4.ts / icmpv6.ts.
 */
import { HeaderError } from './errors.js';

export const ICMP_HEADER = 8;

export interface IcmpHeader {
  type: number;
  code: number;
  checksum: number;
  /** Bytes 4..8: identifier+sequence for echo, unused/MTU/pointer for errors. */
  rest: number;
  body: Uint8Array;
}

/** `name` ('icmpv4' / 'icmpv6') prefixes the error message. */
export function parseIcmpHeader(m: Uint8Array, name: string): IcmpHeader {
  if (m.length < ICMP_HEADER) throw new HeaderError(`${name}: truncated`);
  return {
    type: m[0]!,
    code: m[1]!,
    checksum: (m[2]! << 8) | m[3]!,
    rest: ((m[4]! << 24) | (m[5]! << 16) | (m[6]! << 8) | m[7]!) >>> 0,
    body: m.subarray(8),
  };
}

/** Writes header + body at out[at..] with a zero checksum field; returns the end offset. */
export function writeIcmpHeader(out: Uint8Array, at: number, type: number, code: number, rest: number, body: Uint8Array): number {
  out[at] = type;
  out[at + 1] = code;
  out[at + 2] = 0;
  out[at + 3] = 0;
  out[at + 4] = (rest >>> 24) & 0xff;
  out[at + 5] = (rest >>> 16) & 0xff;
  out[at + 6] = (rest >>> 8) & 0xff;
  out[at + 7] = rest & 0xff;
  out.set(body, at + 8);
  return at + ICMP_HEADER + body.length;
}
