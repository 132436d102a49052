/** IPv4 network layer: receive (validate, accept, reassemble) and send (header, fragmentation). */
import { checksum } from '../header/checksum.js';
import {
  IPV4_FLAG_DF,
  IPV4_FLAG_MF,
  ipv4FragmentField,
  ipv4HeaderLengthFor,
  ipv4TotalLength,
  validateIpv4,
  validateIpv4Options,
  writeIpv4Header,
} from '../header/ipv4.js';
import { HeaderError } from '../header/errors.js';
import { isBroadcastOrUnspecified, isMulticast } from '../addr.js';
import type { NicId, SendOptions, SendResult, TransportPacket } from '../transport/protocol.js';
import type { IpStats } from '../stats.js';
import type { Reassembler } from './reassembly.js';
import { countWrite, withHeaderRoom } from './send.js';

/** What the IPv4 layer needs from the stack. */
export interface Ipv4Context {
  readonly ipv4Stats: IpStats;
  readonly reassembler4: Reassembler;
  /** 0: reject, 1: own address, 2: temporary (promiscuous). */
  classifyDestination(nic: NicId, dst: Uint8Array): 0 | 1 | 2;
  dispatchTransport(tp: TransportPacket): void;
  nextIpv4Id(): number;
}

export function receiveIpv4(ctx: Ipv4Context, nic: NicId, pkt: Uint8Array, now: number): void {
  const st = ctx.ipv4Stats;
  st.received++;
  let hl: number;
  try {
    hl = validateIpv4(pkt);
    if (hl > 20) validateIpv4Options(pkt, hl);
  } catch (e) {
    if (!(e instanceof HeaderError)) throw e;
    st.malformed++;
    return;
  }
  const total = ipv4TotalLength(pkt);
  if (total < pkt.length) pkt = pkt.subarray(0, total);
  const src = pkt.subarray(12, 16);
  const dst = pkt.subarray(16, 20);
  if (isMulticast(src) || (src[0] === 255 && src[1] === 255 && src[2] === 255 && src[3] === 255)) {
    st.invalidSource++;
    return;
  }
  const cls = ctx.classifyDestination(nic, dst);
  if (cls === 0) {
    st.invalidDestination++;
    return;
  }
  const frag = ipv4FragmentField(pkt);
  if (frag & 0x8000) {
    st.malformed++;
    return;
  }
  if (frag & (IPV4_FLAG_MF | 0x1fff)) {
    st.fragmentsReceived++;
    const key = `4|${nic}|${src[0]}.${src[1]}.${src[2]}.${src[3]}|${dst[0]}.${dst[1]}.${dst[2]}.${dst[3]}|${(pkt[4]! << 8) | pkt[5]!}|${pkt[9]}`;
    const r = ctx.reassembler4.add(key, (frag & 0x1fff) * 8, pkt.subarray(hl), (frag & IPV4_FLAG_MF) !== 0, pkt.subarray(0, hl), now);
    if (!r) {
      const v = ctx.reassembler4.lastVerdict;
      if (v !== 'pending' && v !== 'duplicate') st.reassemblyDropped++;
      return;
    }
    const whole = new Uint8Array(r.header.length + r.payload.length);
    whole.set(r.header, 0);
    whole.set(r.payload, r.header.length);
    const len = whole.length;
    whole[2] = len >> 8;
    whole[3] = len & 0xff;
    whole[6] = 0;
    whole[7] = 0;
    whole[10] = 0;
    whole[11] = 0;
    const c = checksum(whole, 0, hl);
    whole[10] = c >> 8;
    whole[11] = c & 0xff;
    st.reassembled++;
    pkt = whole;
  }
  if (cls === 2) st.temporaryReceived++;
  st.delivered++;
  const tp: TransportPacket = {
    nic,
    family: 4,
    protocol: pkt[9]!,
    src: pkt.subarray(12, 16),
    dst: pkt.subarray(16, 20),
    network: pkt,
    networkHeaderLength: hl,
    payload: pkt.subarray(hl),
    temporary: cls === 2,
    ttl: pkt[8]!,
    tos: pkt[1]!,
    now,
  };
  ctx.dispatchTransport(tp);
}

/** Options copied into every fragment (copy flag set), padded to 4 bytes. */
function copiedOptions(options: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < options.length; ) {
    const t = options[i]!;
    if (t === 0) break;
    if (t === 1) {
      i++;
      continue;
    }
    const len = options[i + 1] ?? 0;
    if (len < 2 || i + len > options.length) break;
    if (t & 0x80) for (let j = 0; j < len; j++) out.push(options[i + j]!);
    i += len;
  }
  while (out.length % 4) out.push(0);
  return Uint8Array.from(out);
}

export interface Ipv4Send {
  src: Uint8Array;
  dst: Uint8Array;
  protocol: number;
  mtu: number;
  ttl: number;
}

/**
 * Builds the IPv4 packet(s) for transport bytes buf[offset..] and passes each
 * to `write`. In place when there is headroom; fragments above the MTU unless DF.
 */
export function sendIpv4(
  ctx: Ipv4Context,
  s: Ipv4Send,
  buf: Uint8Array,
  offset: number,
  opts: SendOptions | undefined,
  write: (pkt: Uint8Array) => boolean,
): SendResult {
  const st = ctx.ipv4Stats;
  const options = opts?.ipv4Options;
  let hl: number;
  try {
    hl = ipv4HeaderLengthFor(options);
  } catch {
    return 'invalid';
  }
  const payloadLen = buf.length - offset;
  const total = hl + payloadLen;
  const df = opts?.dontFragment === true;
  const fields = {
    tos: opts?.tos ?? 0,
    id: ctx.nextIpv4Id(),
    dontFragment: df,
    ttl: s.ttl,
    protocol: s.protocol,
    src: s.src,
    dst: s.dst,
    options,
  };
  if (total <= s.mtu && total <= 0xffff) {
    const out = withHeaderRoom(buf, offset, hl);
    writeIpv4Header(out, 0, fields, total);
    return countWrite(st, write(out));
  }
  if (df) {
    st.tooBig++;
    return 'too-big';
  }
  if (payloadLen > 0xffff - hl) return 'invalid';
  // Fragment: first carries all options, the rest only the copied ones.
  const rest = options ? copiedOptions(options) : undefined;
  const hlRest = 20 + (rest ? rest.length : 0);
  const firstChunk = Math.floor((s.mtu - hl) / 8) * 8;
  const restChunk = Math.floor((s.mtu - hlRest) / 8) * 8;
  if (firstChunk < 8 || restChunk < 8) {
    st.tooBig++;
    return 'too-big';
  }
  const data = buf.subarray(offset);
  let off = 0;
  let ok = true;
  while (off < payloadLen) {
    const first = off === 0;
    const h = first ? hl : hlRest;
    const chunk = Math.min(first ? firstChunk : restChunk, payloadLen - off);
    const more = off + chunk < payloadLen;
    const out = new Uint8Array(h + chunk);
    writeIpv4Header(
      out,
      0,
      { ...fields, options: first ? options : rest, moreFragments: more, fragmentOffset: off },
      h + chunk,
    );
    out.set(data.subarray(off, off + chunk), h);
    st.fragmentsSent++;
    if (countWrite(st, write(out)) !== 'ok') ok = false;
    off += chunk;
  }
  return ok ? 'ok' : 'dropped';
}

export { IPV4_FLAG_DF };
