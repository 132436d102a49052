/** IPv6 network layer: receive (validate, extension headers, reassemble) and send (header, fragment header). */
import { HeaderError } from '../header/errors.js';
import { IPV6_HEADER, NH_FRAGMENT, NH_NO_NEXT, validateIpv6, walkIpv6, writeIpv6Header } from '../header/ipv6.js';
import { isMulticast } from '../addr.js';
import type { NicId, SendOptions, SendResult, TransportPacket } from '../transport/protocol.js';
import type { IpStats } from '../stats.js';
import type { Reassembler } from './reassembly.js';
import { countWrite, withHeaderRoom } from './send.js';

export interface Ipv6Context {
  readonly ipv6Stats: IpStats;
  readonly reassembler6: Reassembler;
  classifyDestination(nic: NicId, dst: Uint8Array): 0 | 1 | 2;
  dispatchTransport(tp: TransportPacket): void;
  nextIpv6FragmentId(): number;
  /** ICMPv6 Parameter Problem (code, pointer) about a received packet; never for temporary destinations. */
  sendParameterProblem(nic: NicId, pkt: Uint8Array, code: number, pointer: number, temporary: boolean): void;
}

function hexKey(a: Uint8Array): string {
  let s = '';
  for (let i = 0; i < a.length; i++) s += (a[i]! < 16 ? '0' : '') + a[i]!.toString(16);
  return s;
}

export function receiveIpv6(ctx: Ipv6Context, nic: NicId, pkt: Uint8Array, now: number): void {
  const st = ctx.ipv6Stats;
  st.received++;
  let walk;
  try {
    const len = validateIpv6(pkt);
    if (len < pkt.length) pkt = pkt.subarray(0, len);
    walk = walkIpv6(pkt);
  } catch (e) {
    if (!(e instanceof HeaderError)) throw e;
    st.malformed++;
    return;
  }
  const src = pkt.subarray(8, 24);
  const dst = pkt.subarray(24, 40);
  if (isMulticast(src)) {
    st.invalidSource++;
    return;
  }
  const cls = ctx.classifyDestination(nic, dst);
  if (cls === 0) {
    st.invalidDestination++;
    return;
  }
  if (walk.optionAction !== 0) {
    // An option we must not skip: discard, and for actions 2/3 tell the sender (RFC 8200 §4.2).
    st.unknownOption++;
    if (walk.optionAction === 2 || (walk.optionAction === 3 && !isMulticast(dst))) {
      ctx.sendParameterProblem(nic, pkt, 2, walk.optionPointer, cls === 2);
    }
    return;
  }
  if (walk.routingSegmentsLeft > 0) {
    // We are an end host, not a router: do not process source routes.
    st.routingHeaderDropped++;
    return;
  }
  if (walk.fragment) {
    const f = walk.fragment;
    st.fragmentsReceived++;
    const key = `6|${nic}|${hexKey(src)}|${hexKey(dst)}|${f.id}`;
    const dataStart = f.headerOffset + 8;
    // Kept from the first fragment: the unfragmentable part plus one byte, the
    // fragment header's next-header value (what the reassembled payload is).
    const r = ctx.reassembler6.add(key, f.offset, pkt.subarray(dataStart), f.more, pkt.subarray(0, f.headerOffset + 1), now);
    if (!r) {
      const v = ctx.reassembler6.lastVerdict;
      if (v !== 'pending' && v !== 'duplicate') st.reassemblyDropped++;
      return;
    }
    const hdr = r.header;
    const unfragLen = hdr.length - 1;
    if (unfragLen + r.payload.length - IPV6_HEADER > 0xffff) {
      st.reassemblyDropped++;
      return;
    }
    const whole = new Uint8Array(unfragLen + r.payload.length);
    whole.set(hdr.subarray(0, unfragLen), 0);
    whole.set(r.payload, unfragLen);
    // Relink: the byte that pointed at the fragment header now points at its next header.
    whole[lastNextHeaderOffset(whole, unfragLen)] = hdr[unfragLen]!;
    const pl = whole.length - IPV6_HEADER;
    whole[4] = pl >> 8;
    whole[5] = pl & 0xff;
    st.reassembled++;
    pkt = whole;
    try {
      walk = walkIpv6(pkt);
    } catch (e) {
      if (!(e instanceof HeaderError)) throw e;
      st.malformed++;
      return;
    }
    if (walk.fragment) {
      st.malformed++;
      return;
    }
  }
  if (walk.protocol === NH_NO_NEXT) {
    st.delivered++;
    return;
  }
  if (cls === 2) st.temporaryReceived++;
  st.delivered++;
  const tp: TransportPacket = {
    nic,
    family: 6,
    protocol: walk.protocol,
    src: pkt.subarray(8, 24),
    dst: pkt.subarray(24, 40),
    network: pkt,
    networkHeaderLength: walk.transportOffset,
    payload: pkt.subarray(walk.transportOffset),
    temporary: cls === 2,
    ttl: pkt[7]!,
    tos: ((pkt[0]! & 0x0f) << 4) | (pkt[1]! >> 4),
    now,
  };
  ctx.dispatchTransport(tp);
}

/** Offset of the next-header byte of the last header in b[0, end) (the unfragmentable part). */
function lastNextHeaderOffset(b: Uint8Array, end: number): number {
  let at = 6;
  let off = IPV6_HEADER;
  // Only hop-by-hop, routing and destination options precede a fragment header; lengths were validated by the walk.
  for (let n = 0; off < end && n < 16; n++) {
    at = off;
    off += (b[off + 1]! + 1) * 8;
  }
  return at;
}

export interface Ipv6Send {
  src: Uint8Array;
  dst: Uint8Array;
  protocol: number;
  mtu: number;
  hopLimit: number;
}

/** Builds IPv6 packet(s) for buf[offset..]; source-fragments above the MTU unless dontFragment. */
export function sendIpv6(
  ctx: Ipv6Context,
  s: Ipv6Send,
  buf: Uint8Array,
  offset: number,
  opts: SendOptions | undefined,
  write: (pkt: Uint8Array) => boolean,
): SendResult {
  const st = ctx.ipv6Stats;
  const payloadLen = buf.length - offset;
  if (payloadLen > 0xffff) return 'invalid';
  const fields = { trafficClass: opts?.tos ?? 0, nextHeader: s.protocol, hopLimit: s.hopLimit, src: s.src, dst: s.dst };
  const total = IPV6_HEADER + payloadLen;
  if (total <= s.mtu) {
    const out = withHeaderRoom(buf, offset, IPV6_HEADER);
    writeIpv6Header(out, 0, fields, payloadLen);
    return countWrite(st, write(out));
  }
  if (opts?.dontFragment) {
    st.tooBig++;
    return 'too-big';
  }
  const chunkMax = Math.floor((s.mtu - IPV6_HEADER - 8) / 8) * 8;
  if (chunkMax < 8) {
    st.tooBig++;
    return 'too-big';
  }
  const id = ctx.nextIpv6FragmentId();
  const data = buf.subarray(offset);
  let ok = true;
  for (let off = 0; off < payloadLen; ) {
    const chunk = Math.min(chunkMax, payloadLen - off);
    const more = off + chunk < payloadLen;
    const out = new Uint8Array(IPV6_HEADER + 8 + chunk);
    writeIpv6Header(out, 0, { ...fields, nextHeader: NH_FRAGMENT }, 8 + chunk);
    const h = IPV6_HEADER;
    out[h] = s.protocol;
    out[h + 1] = 0;
    const fo = off | (more ? 1 : 0);
    out[h + 2] = fo >> 8;
    out[h + 3] = fo & 0xff;
    out[h + 4] = (id >>> 24) & 0xff;
    out[h + 5] = (id >>> 16) & 0xff;
    out[h + 6] = (id >>> 8) & 0xff;
    out[h + 7] = id & 0xff;
    out.set(data.subarray(off, off + chunk), h + 8);
    st.fragmentsSent++;
    if (countWrite(st, write(out)) !== 'ok') ok = false;
    off += chunk;
  }
  return ok ? 'ok' : 'dropped';
}
