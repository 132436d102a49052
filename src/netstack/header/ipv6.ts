/** IPv6 header (RFC 8200) and extension-header walking. */
import { HeaderError } from './errors.js';

export const IPV6_HEADER = 40;
export const IPV6_MIN_MTU = 1280;
export const NH_HOP_BY_HOP = 0;
export const NH_ROUTING = 43;
export const NH_FRAGMENT = 44;
export const NH_DEST_OPTS = 60;
export const NH_NO_NEXT = 59;
/** Bound on the extension-header chain we walk, so crafted chains cannot cost much. */
export const MAX_EXTENSION_HEADERS = 8;

export interface Ipv6Header {
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: Uint8Array;
  dst: Uint8Array;
}

export interface Ipv6Fragment {
  /** Offset of the fragment header within the packet. */
  headerOffset: number;
  /** Offset of the "next header" byte that points at the fragment header. */
  prevNextHeaderOffset: number;
  /** Fragment offset in bytes. */
  offset: number;
  more: boolean;
  id: number;
}

/** Result of walking the extension headers. */
export interface Ipv6Walk {
  /** Upper-layer protocol (or NH_NO_NEXT). */
  protocol: number;
  /** Offset of the upper-layer header (end of all extension headers). */
  transportOffset: number;
  /** Present when a fragment header was found. */
  fragment: Ipv6Fragment | null;
  /** Routing header with segments left > 0 (we are not a router: parameter problem). */
  routingSegmentsLeft: number;
  /** Offset of the routing header (for a parameter problem pointer), or -1. */
  routingOffset: number;
  /**
   * The first hop-by-hop / destination option we do not understand whose
   * type says "do not skip" (RFC 8200 §4.2): 0 none, 1 discard, 2 discard and
   * send Parameter Problem, 3 the same unless the destination is multicast.
   */
  optionAction: number;
  /** Offset of that option's type byte (the Parameter Problem pointer). */
  optionPointer: number;
}

const OPT_PAD1 = 0;
const OPT_PADN = 1;
const OPT_ROUTER_ALERT = 5;

/** Scans the TLV options of an extension header at b[off, off+len). Returns the offending offset or -1. */
function scanOptions(b: Uint8Array, off: number, len: number, out: { action: number; pointer: number }): void {
  const end = off + len;
  for (let i = off + 2; i < end; ) {
    const t = b[i]!;
    if (t === OPT_PAD1) {
      i++;
      continue;
    }
    if (i + 2 > end) throw new HeaderError('ipv6: truncated option');
    const l = b[i + 1]!;
    if (i + 2 + l > end) throw new HeaderError('ipv6: option overruns its header');
    if (t !== OPT_PADN && t !== OPT_ROUTER_ALERT && t >> 6 !== 0 && out.action === 0) {
      out.action = t >> 6;
      out.pointer = i;
    }
    i += 2 + l;
  }
}

/** Validates the fixed header; returns IPV6_HEADER + payloadLength (the packet's real length). */
export function validateIpv6(b: Uint8Array): number {
  if (b.length < IPV6_HEADER) throw new HeaderError('ipv6: truncated header');
  if (b[0]! >> 4 !== 6) throw new HeaderError('ipv6: bad version');
  const pl = (b[4]! << 8) | b[5]!;
  if (IPV6_HEADER + pl > b.length) throw new HeaderError('ipv6: payload length exceeds packet');
  return IPV6_HEADER + pl;
}

export function ipv6Src(b: Uint8Array): Uint8Array {
  return b.subarray(8, 24);
}
export function ipv6Dst(b: Uint8Array): Uint8Array {
  return b.subarray(24, 40);
}
export function ipv6TrafficClass(b: Uint8Array): number {
  return ((b[0]! & 0x0f) << 4) | (b[1]! >> 4);
}

export function parseIpv6(b: Uint8Array): Ipv6Header {
  validateIpv6(b);
  return {
    trafficClass: ipv6TrafficClass(b),
    flowLabel: ((b[1]! & 0x0f) << 16) | (b[2]! << 8) | b[3]!,
    payloadLength: (b[4]! << 8) | b[5]!,
    nextHeader: b[6]!,
    hopLimit: b[7]!,
    src: b.subarray(8, 24),
    dst: b.subarray(24, 40),
  };
}

/**
 * Walks hop-by-hop, routing, fragment and destination-options headers of the
 * packet b[0, end). Stops at the first other header (the upper layer) or at a
 * non-first fragment's payload.
 */
export function walkIpv6(b: Uint8Array, end = b.length): Ipv6Walk {
  let nh = b[6]!;
  let prevNh = 6;
  let off = IPV6_HEADER;
  let fragment: Ipv6Fragment | null = null;
  let routingSegmentsLeft = 0;
  let routingOffset = -1;
  const opt = { action: 0, pointer: -1 };
  for (let n = 0; ; n++) {
    if (n > MAX_EXTENSION_HEADERS) throw new HeaderError('ipv6: too many extension headers');
    if (nh === NH_HOP_BY_HOP && n !== 0) throw new HeaderError('ipv6: hop-by-hop not first');
    if (nh === NH_HOP_BY_HOP || nh === NH_ROUTING || nh === NH_DEST_OPTS) {
      if (off + 8 > end) throw new HeaderError('ipv6: truncated extension header');
      const len = (b[off + 1]! + 1) * 8;
      if (off + len > end) throw new HeaderError('ipv6: truncated extension header');
      if (nh === NH_ROUTING) {
        routingSegmentsLeft = b[off + 3]!;
        routingOffset = off;
      } else scanOptions(b, off, len, opt);
      prevNh = off;
      nh = b[off]!;
      off += len;
      continue;
    }
    if (nh === NH_FRAGMENT) {
      if (fragment) throw new HeaderError('ipv6: two fragment headers');
      if (off + 8 > end) throw new HeaderError('ipv6: truncated fragment header');
      const fo = (b[off + 2]! << 8) | b[off + 3]!;
      fragment = {
        headerOffset: off,
        prevNextHeaderOffset: prevNh,
        offset: fo & 0xfff8,
        more: (fo & 1) !== 0,
        id: ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0,
      };
      prevNh = off;
      nh = b[off]!;
      off += 8;
      // A non-first fragment's payload is the middle of the upper layer: stop walking.
      if (fragment.offset !== 0) break;
      continue;
    }
    break;
  }
  return {
    protocol: nh,
    transportOffset: off,
    fragment,
    routingSegmentsLeft,
    routingOffset,
    optionAction: opt.action,
    optionPointer: opt.pointer,
  };
}

export interface Ipv6BuildFields {
  trafficClass?: number;
  flowLabel?: number;
  nextHeader: number;
  hopLimit: number;
  src: Uint8Array;
  dst: Uint8Array;
}

/** Writes a fixed IPv6 header at out[at..] for `payloadLength` bytes that follow it. */
export function writeIpv6Header(out: Uint8Array, at: number, f: Ipv6BuildFields, payloadLength: number): number {
  if (payloadLength > 0xffff || payloadLength < 0) throw new HeaderError('ipv6: bad payload length');
  const tc = (f.trafficClass ?? 0) & 0xff;
  const fl = (f.flowLabel ?? 0) & 0xfffff;
  out[at] = 0x60 | (tc >> 4);
  out[at + 1] = ((tc & 0x0f) << 4) | (fl >> 16);
  out[at + 2] = (fl >> 8) & 0xff;
  out[at + 3] = fl & 0xff;
  out[at + 4] = payloadLength >> 8;
  out[at + 5] = payloadLength & 0xff;
  out[at + 6] = f.nextHeader & 0xff;
  out[at + 7] = f.hopLimit & 0xff;
  out.set(f.src, at + 8);
  out.set(f.dst, at + 24);
  return IPV6_HEADER;
}

export function buildIpv6(f: Ipv6BuildFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(IPV6_HEADER + payload.length);
  writeIpv6Header(out, 0, f, payload.length);
  out.set(payload, IPV6_HEADER);
  return out;
}
