/** IPv4 header (RFC 791): bounds-checked parse and build, options kept as bytes. */
import { checksum } from './checksum.js';
import { HeaderError } from './errors.js';

export const IPV4_MIN_HEADER = 20;
export const IPV4_MAX_HEADER = 60;
export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;

export interface Ipv4Header {
  tos: number;
  totalLength: number;
  id: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  src: Uint8Array;
  dst: Uint8Array;
  /** Options bytes (view), length a multiple of 4. */
  options: Uint8Array;
}

/**
 * Validates the header of `b` and returns its length. Checks version, IHL,
 * total length against the buffer, and the header checksum.
 */
export function validateIpv4(b: Uint8Array, verifyChecksum = true): number {
  if (b.length < IPV4_MIN_HEADER) throw new HeaderError('ipv4: truncated header');
  if (b[0]! >> 4 !== 4) throw new HeaderError('ipv4: bad version');
  const ihl = (b[0]! & 0x0f) * 4;
  if (ihl < IPV4_MIN_HEADER) throw new HeaderError('ipv4: bad IHL');
  const total = (b[2]! << 8) | b[3]!;
  if (total < ihl || total > b.length) throw new HeaderError('ipv4: bad total length');
  if (verifyChecksum && checksum(b, 0, ihl) !== 0) throw new HeaderError('ipv4: bad header checksum');
  return ihl;
}

/** Checks the option TLVs in b[20, hl): every option fits its header (RFC 791). */
export function validateIpv4Options(b: Uint8Array, hl: number): void {
  for (let i = IPV4_MIN_HEADER; i < hl; ) {
    const t = b[i]!;
    if (t === 0) return; // end of option list
    if (t === 1) {
      i++;
      continue;
    }
    if (i + 2 > hl) throw new HeaderError('ipv4: truncated option');
    const len = b[i + 1]!;
    if (len < 2 || i + len > hl) throw new HeaderError('ipv4: bad option length');
    i += len;
  }
}

export function ipv4TotalLength(b: Uint8Array): number {
  return (b[2]! << 8) | b[3]!;
}
export function ipv4Protocol(b: Uint8Array): number {
  return b[9]!;
}
export function ipv4Src(b: Uint8Array): Uint8Array {
  return b.subarray(12, 16);
}
export function ipv4Dst(b: Uint8Array): Uint8Array {
  return b.subarray(16, 20);
}
export function ipv4FragmentField(b: Uint8Array): number {
  return (b[6]! << 8) | b[7]!;
}

export function parseIpv4(b: Uint8Array): Ipv4Header {
  const ihl = validateIpv4(b, false);
  const frag = ipv4FragmentField(b);
  if (frag & 0x8000) throw new HeaderError('ipv4: reserved flag set');
  return {
    tos: b[1]!,
    totalLength: ipv4TotalLength(b),
    id: (b[4]! << 8) | b[5]!,
    dontFragment: (frag & IPV4_FLAG_DF) !== 0,
    moreFragments: (frag & IPV4_FLAG_MF) !== 0,
    fragmentOffset: (frag & 0x1fff) * 8,
    ttl: b[8]!,
    protocol: b[9]!,
    checksum: (b[10]! << 8) | b[11]!,
    src: b.subarray(12, 16),
    dst: b.subarray(16, 20),
    options: b.subarray(20, ihl),
  };
}

export interface Ipv4BuildFields {
  tos?: number;
  id?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  fragmentOffset?: number;
  ttl: number;
  protocol: number;
  src: Uint8Array;
  dst: Uint8Array;
  options?: Uint8Array;
}

export function ipv4HeaderLengthFor(options?: Uint8Array): number {
  const n = options ? options.length : 0;
  if (n % 4 !== 0 || n > 40) throw new HeaderError('ipv4: options length must be a multiple of 4 and at most 40');
  return IPV4_MIN_HEADER + n;
}

/** Writes an IPv4 header at out[at..] for a packet of `totalLength` bytes and fills in the checksum. Returns the header length. */
export function writeIpv4Header(out: Uint8Array, at: number, f: Ipv4BuildFields, totalLength: number): number {
  const hl = ipv4HeaderLengthFor(f.options);
  if (totalLength > 0xffff || totalLength < hl) throw new HeaderError('ipv4: bad total length');
  const fo = f.fragmentOffset ?? 0;
  if (fo % 8 !== 0 || fo / 8 > 0x1fff) throw new HeaderError('ipv4: bad fragment offset');
  out[at] = 0x40 | (hl / 4);
  out[at + 1] = (f.tos ?? 0) & 0xff;
  out[at + 2] = totalLength >> 8;
  out[at + 3] = totalLength & 0xff;
  const id = f.id ?? 0;
  out[at + 4] = (id >> 8) & 0xff;
  out[at + 5] = id & 0xff;
  const frag = (f.dontFragment ? IPV4_FLAG_DF : 0) | (f.moreFragments ? IPV4_FLAG_MF : 0) | (fo / 8);
  out[at + 6] = frag >> 8;
  out[at + 7] = frag & 0xff;
  out[at + 8] = f.ttl & 0xff;
  out[at + 9] = f.protocol & 0xff;
  out[at + 10] = 0;
  out[at + 11] = 0;
  out.set(f.src, at + 12);
  out.set(f.dst, at + 16);
  if (f.options && f.options.length) out.set(f.options, at + 20);
  const c = checksum(out, at, at + hl);
  out[at + 10] = c >> 8;
  out[at + 11] = c & 0xff;
  return hl;
}

/** Builds a whole IPv4 packet (header + payload) in a new buffer. */
export function buildIpv4(f: Ipv4BuildFields, payload: Uint8Array): Uint8Array {
  const hl = ipv4HeaderLengthFor(f.options);
  const out = new Uint8Array(hl + payload.length);
  writeIpv4Header(out, 0, f, out.length);
  out.set(payload, hl);
  return out;
}

/** Decrements TTL in place with an incremental checksum update (RFC 1624). */
export function decrementIpv4Ttl(b: Uint8Array): void {
  b[8] = b[8]! - 1;
  // TTL is the high byte of word 4: the sum drops by 0x0100, so the checksum rises by 0x0100.
  let c = ((b[10]! << 8) | b[11]!) + 0x0100;
  c = (c & 0xffff) + (c >> 16);
  b[10] = c >> 8;
  b[11] = c & 0xff;
}
