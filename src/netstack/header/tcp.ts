/**
 * TCP header (RFC 9293 §3.1) with the options we speak: MSS, window scale and
 * timestamps (RFC 7323), SACK-permitted and SACK blocks (RFC 2018), NOP/EOL.
 *
 * Parsing fills a caller-owned `TcpHeader` so the per-segment hot path allocates
 * nothing; building writes into a caller-owned buffer. Malformed input throws
 * only `TcpHeaderError`.
 */
import { finish, pseudoHeaderSum, sum16 } from './checksum.js';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const TCP_MIN_HEADER = 20;
export const TCP_MAX_HEADER = 60;
export const TCP_PROTOCOL_NUMBER = 6;
/** Most SACK blocks one header can carry (4 without timestamps, 3 with). */
export const TCP_MAX_SACK_BLOCKS = 4;

const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_WSCALE = 3;
const OPT_SACK_PERMITTED = 4;
const OPT_SACK = 5;
const OPT_TIMESTAMP = 8;

export type TcpHeaderErrorReason = 'truncated' | 'bad-offset' | 'bad-option';

export class TcpHeaderError extends Error {
  constructor(readonly reason: TcpHeaderErrorReason, message: string) {
    super(message);
    this.name = 'TcpHeaderError';
  }
}

/** A parsed (or to-be-built) TCP header. Absent options: mss/wscale -1, hasTimestamp false, sackCount 0. */
export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Header length in bytes including options (20..60). Set by parse; computed by build. */
  headerLength: number;
  flags: number;
  window: number;
  checksum: number;
  urgent: number;
  mss: number;
  wscale: number;
  sackPermitted: boolean;
  hasTimestamp: boolean;
  tsVal: number;
  tsEcr: number;
  sackCount: number;
  /** left0, right0, left1, right1, ... (sequence numbers, unsigned 32-bit). */
  sackBlocks: Uint32Array;
}

export function newTcpHeader(): TcpHeader {
  return {
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    headerLength: TCP_MIN_HEADER,
    flags: 0,
    window: 0,
    checksum: 0,
    urgent: 0,
    mss: -1,
    wscale: -1,
    sackPermitted: false,
    hasTimestamp: false,
    tsVal: 0,
    tsEcr: 0,
    sackCount: 0,
    sackBlocks: new Uint32Array(TCP_MAX_SACK_BLOCKS * 2),
  };
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = (v >>> 16) & 0xff;
  b[i + 2] = (v >>> 8) & 0xff;
  b[i + 3] = v & 0xff;
}

/**
 * Parses the TCP header at the start of `seg` into `out`. The payload is
 * `seg.subarray(out.headerLength)`. Does not verify the checksum.
 */
export function parseTcpHeader(seg: Uint8Array, out: TcpHeader = newTcpHeader()): TcpHeader {
  if (seg.length < TCP_MIN_HEADER) throw new TcpHeaderError('truncated', `TCP segment of ${seg.length} bytes`);
  const hl = (seg[12]! >>> 4) * 4;
  if (hl < TCP_MIN_HEADER) throw new TcpHeaderError('bad-offset', `TCP data offset ${hl} < 20`);
  if (hl > seg.length) throw new TcpHeaderError('truncated', `TCP header ${hl} > segment ${seg.length}`);
  out.srcPort = (seg[0]! << 8) | seg[1]!;
  out.dstPort = (seg[2]! << 8) | seg[3]!;
  out.seq = u32(seg, 4);
  out.ack = u32(seg, 8);
  out.headerLength = hl;
  out.flags = seg[13]!;
  out.window = (seg[14]! << 8) | seg[15]!;
  out.checksum = (seg[16]! << 8) | seg[17]!;
  out.urgent = (seg[18]! << 8) | seg[19]!;
  out.mss = -1;
  out.wscale = -1;
  out.sackPermitted = false;
  out.hasTimestamp = false;
  out.tsVal = 0;
  out.tsEcr = 0;
  out.sackCount = 0;
  let i = TCP_MIN_HEADER;
  while (i < hl) {
    const kind = seg[i]!;
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= hl) throw new TcpHeaderError('bad-option', `option ${kind} without length`);
    const len = seg[i + 1]!;
    if (len < 2 || i + len > hl) throw new TcpHeaderError('bad-option', `option ${kind} length ${len}`);
    switch (kind) {
      case OPT_MSS:
        if (len !== 4) throw new TcpHeaderError('bad-option', `MSS option length ${len}`);
        out.mss = (seg[i + 2]! << 8) | seg[i + 3]!;
        break;
      case OPT_WSCALE:
        if (len !== 3) throw new TcpHeaderError('bad-option', `window scale option length ${len}`);
        out.wscale = seg[i + 2]!;
        break;
      case OPT_SACK_PERMITTED:
        if (len !== 2) throw new TcpHeaderError('bad-option', `SACK-permitted option length ${len}`);
        out.sackPermitted = true;
        break;
      case OPT_SACK: {
        if (len < 10 || (len - 2) % 8 !== 0) throw new TcpHeaderError('bad-option', `SACK option length ${len}`);
        const n = (len - 2) / 8;
        for (let b = 0; b < n && out.sackCount < TCP_MAX_SACK_BLOCKS; b++) {
          out.sackBlocks[out.sackCount * 2] = u32(seg, i + 2 + b * 8);
          out.sackBlocks[out.sackCount * 2 + 1] = u32(seg, i + 6 + b * 8);
          out.sackCount++;
        }
        break;
      }
      case OPT_TIMESTAMP:
        if (len !== 10) throw new TcpHeaderError('bad-option', `timestamp option length ${len}`);
        out.hasTimestamp = true;
        out.tsVal = u32(seg, i + 2);
        out.tsEcr = u32(seg, i + 6);
        break;
      default:
        break; // unknown options are skipped (RFC 9293 §3.2)
    }
    i += len;
  }
  return out;
}

/** How many SACK blocks fit next to the other options of `h`. */
export function sackBlocksThatFit(h: TcpHeader): number {
  const room = TCP_MAX_HEADER - TCP_MIN_HEADER - optionsLengthWithoutSack(h) - 4;
  return Math.max(0, Math.min(TCP_MAX_SACK_BLOCKS, Math.floor(room / 8)));
}

function optionsLengthWithoutSack(h: TcpHeader): number {
  let n = 0;
  if (h.mss >= 0) n += 4;
  if (h.hasTimestamp) n += 12; // (SACK-permitted or NOP NOP) + timestamp
  else if (h.sackPermitted) n += 4; // NOP NOP SACK-permitted
  if (h.wscale >= 0) n += 4; // NOP + window scale
  return n;
}

/** Header length `writeTcpHeader` will produce for `h` (SACK blocks beyond what fits are left out). */
export function tcpHeaderLength(h: TcpHeader): number {
  let n = TCP_MIN_HEADER + optionsLengthWithoutSack(h);
  const blocks = Math.min(h.sackCount, sackBlocksThatFit(h));
  if (blocks > 0) n += 4 + blocks * 8;
  return n;
}

/**
 * Writes the header of `h` at `buf[offset]` with a zero checksum and returns its
 * length. Options come in the classic Linux layout (all 4-byte aligned with NOPs).
 */
export function writeTcpHeader(buf: Uint8Array, offset: number, h: TcpHeader): number {
  const hl = tcpHeaderLength(h);
  if (offset + hl > buf.length) throw new RangeError('TCP header does not fit the buffer');
  const b = buf;
  let o = offset;
  b[o] = h.srcPort >>> 8;
  b[o + 1] = h.srcPort & 0xff;
  b[o + 2] = h.dstPort >>> 8;
  b[o + 3] = h.dstPort & 0xff;
  put32(b, o + 4, h.seq);
  put32(b, o + 8, h.ack);
  b[o + 12] = (hl / 4) << 4;
  b[o + 13] = h.flags & 0xff;
  b[o + 14] = (h.window >>> 8) & 0xff;
  b[o + 15] = h.window & 0xff;
  b[o + 16] = 0;
  b[o + 17] = 0;
  b[o + 18] = (h.urgent >>> 8) & 0xff;
  b[o + 19] = h.urgent & 0xff;
  o += TCP_MIN_HEADER;
  if (h.mss >= 0) {
    b[o] = OPT_MSS;
    b[o + 1] = 4;
    b[o + 2] = (h.mss >>> 8) & 0xff;
    b[o + 3] = h.mss & 0xff;
    o += 4;
  }
  if (h.hasTimestamp) {
    if (h.sackPermitted) {
      b[o] = OPT_SACK_PERMITTED;
      b[o + 1] = 2;
    } else {
      b[o] = OPT_NOP;
      b[o + 1] = OPT_NOP;
    }
    b[o + 2] = OPT_TIMESTAMP;
    b[o + 3] = 10;
    put32(b, o + 4, h.tsVal);
    put32(b, o + 8, h.tsEcr);
    o += 12;
  } else if (h.sackPermitted) {
    b[o] = OPT_NOP;
    b[o + 1] = OPT_NOP;
    b[o + 2] = OPT_SACK_PERMITTED;
    b[o + 3] = 2;
    o += 4;
  }
  if (h.wscale >= 0) {
    b[o] = OPT_NOP;
    b[o + 1] = OPT_WSCALE;
    b[o + 2] = 3;
    b[o + 3] = h.wscale & 0xff;
    o += 4;
  }
  const blocks = Math.min(h.sackCount, sackBlocksThatFit(h));
  if (blocks > 0) {
    b[o] = OPT_NOP;
    b[o + 1] = OPT_NOP;
    b[o + 2] = OPT_SACK;
    b[o + 3] = 2 + blocks * 8;
    o += 4;
    for (let k = 0; k < blocks; k++) {
      put32(b, o, h.sackBlocks[k * 2]!);
      put32(b, o + 4, h.sackBlocks[k * 2 + 1]!);
      o += 8;
    }
  }
  return hl;
}

/**
 * One's-complement sum of `data` folded to 16 bits, 32 bits at a time when the
 * data is 4-byte aligned (the common case for our own and the stack's
 * buffers). Sums little-endian words and swaps at the end: the one's-
 * complement sum is byte-order independent (RFC 1071 §2(B)).
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function fastSum(data: Uint8Array): number {
  const len = data.length;
  if (!LITTLE_ENDIAN || (data.byteOffset & 3) !== 0 || len < 64) return fold(sum16(data, 0, len));
  const words = len >>> 2;
  const u32 = new Uint32Array(data.buffer, data.byteOffset, words);
  // Whole 32-bit words: 65536 ≡ 1 (mod 65535), so folding their plain sum
  // (exact in a double for any IP packet) gives the 16-bit word sum.
  let acc = 0;
  for (let i = 0; i < words; i++) acc += u32[i]!;
  // acc sums little-endian 16-bit words: swap to network order.
  const le = fold(acc);
  let sum = ((le & 0xff) << 8) | (le >>> 8);
  sum += sum16(data, words * 4, len);
  return fold(sum);
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Checksum over the pseudo-header (IPv4 or IPv6, by address length) and the whole segment. */
export function tcpChecksum(seg: Uint8Array, src: Uint8Array, dst: Uint8Array): number {
  return finish(fastSum(seg) + pseudoHeaderSum(src, dst, TCP_PROTOCOL_NUMBER, seg.length));
}

/** Computes and stores the checksum of a segment whose checksum field is zero. */
export function setTcpChecksum(seg: Uint8Array, src: Uint8Array, dst: Uint8Array): void {
  seg[16] = 0;
  seg[17] = 0;
  const c = tcpChecksum(seg, src, dst);
  seg[16] = c >>> 8;
  seg[17] = c & 0xff;
}

/** True when the checksum of a received segment is right. */
export function verifyTcpChecksum(seg: Uint8Array, src: Uint8Array, dst: Uint8Array): boolean {
  if (seg.length < TCP_MIN_HEADER) return false;
  return tcpChecksum(seg, src, dst) === 0;
}
