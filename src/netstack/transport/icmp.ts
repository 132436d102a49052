/**
 * ICMPv4/ICMPv6 transport: echo ownership per shared/icmp.md (endpoints observe,
 * a consuming default handler owns, IPv4 temporary addresses get no built-in
 * reply), ping endpoints, raw observers, the one Echo Reply builder, ICMP
 * errors (rate limited) and control messages (errors quoting our packets).
 */
import { checksum } from '../header/checksum.js';
import { HeaderError } from '../header/errors.js';
import {
  ICMPV4_CODE_FRAG_NEEDED,
  ICMPV4_CODE_PORT_UNREACHABLE,
  ICMPV4_CODE_PROTOCOL_UNREACHABLE,
  ICMPV4_DEST_UNREACHABLE,
  ICMPV4_ECHO_REPLY,
  ICMPV4_ECHO_REQUEST,
  ICMPV4_PARAMETER_PROBLEM,
  ICMPV4_TIME_EXCEEDED,
  writeIcmpv4,
} from '../header/icmpv4.js';
import {
  ICMPV6_CODE_PORT_UNREACHABLE,
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAMETER_PROBLEM,
  ICMPV6_TIME_EXCEEDED,
  icmpv6Checksum,
  writeIcmpv6,
} from '../header/icmpv6.js';
import { walkIpv6 } from '../header/ipv6.js';
import { isBroadcastOrUnspecified, isMulticast } from '../addr.js';
import { newIcmpStats } from '../stats.js';
import { allocTransport } from '../buffer.js';
import type { Stack } from '../stack.js';
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  TRANSPORT_HEADROOM,
  type ControlKind,
  type IpFamily,
  type NicId,
  type SendResult,
  type TransportPacket,
  type TransportProtocol,
  type TransportStack,
} from './protocol.js';

/** A message delivered to a ping endpoint. Views valid during the callback only. */
export interface IcmpEchoMessage {
  type: number;
  src: Uint8Array;
  dst: Uint8Array;
  ident: number;
  seq: number;
  payload: Uint8Array;
  ttl: number;
  nic: NicId;
}

/** A ping socket: sends echo requests with its identifier, receives messages with that identifier. */
export class IcmpEchoEndpoint {
  onMessage: ((m: IcmpEchoMessage) => void) | null = null;
  private closed = false;

  constructor(
    private readonly icmp: IcmpTransport,
    readonly ident: number,
  ) {}

  /** Sends an Echo Request to `dst` (route lookup; source chosen by the route unless given). */
  send(dst: Uint8Array, seq: number, payload: Uint8Array, opts: { src?: Uint8Array; ttl?: number } = {}): SendResult {
    if (this.closed) return 'invalid';
    return this.icmp.sendEchoRequest(dst, this.ident, seq, payload, opts.src ?? null, opts.ttl);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.icmp.unregister(this);
  }
}

export class IcmpTransport implements TransportProtocol {
  readonly protocol: number;
  readonly stats = newIcmpStats();
  private readonly endpoints = new Map<number, IcmpEchoEndpoint>();
  /** The echo request being delivered and whether it was answered (each packet is answered at most once). */
  private current: TransportPacket | null = null;
  private currentReplied = false;

  constructor(
    private readonly stack: Stack,
    readonly family: IpFamily,
  ) {
    this.protocol = family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
  }

  attach(_stack: TransportStack): void {}

  get echoRequestType(): number {
    return this.family === 4 ? ICMPV4_ECHO_REQUEST : ICMPV6_ECHO_REQUEST;
  }

  private get echoReplyType(): number {
    return this.family === 4 ? ICMPV4_ECHO_REPLY : ICMPV6_ECHO_REPLY;
  }

  /** Opens a ping endpoint; ident 0..65535 or a free one. Throws when the ident is taken. */
  openEcho(ident?: number): IcmpEchoEndpoint {
    let id = ident;
    if (id === undefined) {
      id = Math.floor(this.stack.random() * 0x10000);
      for (let n = 0; this.endpoints.has(id) && n < 0x10000; n++) id = (id + 1) & 0xffff;
    }
    if (this.endpoints.has(id) || id < 0 || id > 0xffff) throw new Error(`ICMP ident ${id} unavailable`);
    const ep = new IcmpEchoEndpoint(this, id);
    this.endpoints.set(id, ep);
    return ep;
  }

  /** @internal */
  unregister(ep: IcmpEchoEndpoint): void {
    if (this.endpoints.get(ep.ident) === ep) this.endpoints.delete(ep.ident);
  }

  /** Endpoint lookup: echo requests and replies whose identifier matches a ping endpoint. */
  deliver(tp: TransportPacket): boolean {
    const m = tp.payload;
    const t = m[0]!;
    if (t !== this.echoRequestType && t !== this.echoReplyType) return false;
    const ep = this.endpoints.get((m[4]! << 8) | m[5]!);
    if (!ep) return false;
    const cb = ep.onMessage;
    if (cb) {
      const msg: IcmpEchoMessage = {
        type: t,
        src: tp.src,
        dst: tp.dst,
        ident: ep.ident,
        seq: (m[6]! << 8) | m[7]!,
        payload: m.subarray(8),
        ttl: tp.ttl,
        nic: tp.nic,
      };
      this.stack.guard(() => cb(msg));
    }
    return true;
  }

  /** @internal Inbound ICMP after the network layer. */
  receive(tp: TransportPacket): void {
    const st = this.stats;
    st.received++;
    const m = tp.payload;
    if (m.length < 8) {
      st.malformed++;
      return;
    }
    const bad = this.family === 4 ? checksum(m) !== 0 : icmpv6Checksum(tp.src, tp.dst, m) !== 0;
    if (bad) {
      st.malformed++;
      return;
    }
    this.stack.observeRaw(tp);
    const type = m[0]!;
    if (type === this.echoRequestType) {
      this.receiveEchoRequest(tp);
      return;
    }
    if (type === this.echoReplyType) st.echoRepliesReceived++;
    else if (this.isError(type)) {
      st.errorsReceived++;
      this.handleError(tp);
    }
    this.stack.deliver(tp);
  }

  private receiveEchoRequest(tp: TransportPacket): void {
    const st = this.stats;
    st.echoRequestsReceived++;
    const prev = this.current;
    const prevReplied = this.currentReplied;
    this.current = tp;
    this.currentReplied = false;
    let consumed = false;
    let replied = false;
    try {
      consumed = this.stack.deliver(tp).defaultConsumed;
    } finally {
      replied = this.currentReplied;
      this.current = prev;
      this.currentReplied = prevReplied;
    }
    if (consumed) {
      st.consumedByHandler++;
      return;
    }
    if (replied) return;
    if (this.family === 4 && tp.temporary) {
      // IPv4 compatibility rule: a promiscuously accepted destination gets no built-in reply; only Reply() answers.
      st.suppressedTemporary++;
      return;
    }
    this.sendEchoReply(tp);
  }

  /**
   * @internal The Forwarder's reply(): answers the echo request being delivered,
   * once. False when `tp` is not the request under delivery (handler already
   * returned), already answered, or not an Echo Request.
   */
  replyTo(tp: TransportPacket): boolean {
    if (this.current !== tp || this.currentReplied) return false;
    if (tp.payload[0] !== this.echoRequestType) return false;
    this.currentReplied = true;
    this.sendEchoReply(tp);
    return true;
  }

  /** The one Echo Reply path, used by the built-in reply and by reply(). */
  private sendEchoReply(tp: TransportPacket): SendResult {
    const route = this.stack.routeForReply(tp);
    if (!route) return 'no-route';
    const buf = buildEchoReply(tp, TRANSPORT_HEADROOM);
    const r = this.stack.sendTransport(route, this.protocol, buf, TRANSPORT_HEADROOM, {
      tos: tp.tos,
      ipv4Options: this.family === 4 && tp.networkHeaderLength > 20 ? tp.network.subarray(20, tp.networkHeaderLength) : undefined,
    });
    if (r === 'ok') {
      this.stats.echoRepliesSent++;
      this.stats.sent++;
    }
    return r;
  }

  /** @internal */
  sendEchoRequest(dst: Uint8Array, ident: number, seq: number, payload: Uint8Array, src: Uint8Array | null, ttl?: number): SendResult {
    const route = this.stack.findRoute(this.family, dst, src);
    if (!route) {
      (this.family === 4 ? this.stack.ipv4Stats : this.stack.ipv6Stats).noRoute++;
      return 'no-route';
    }
    const buf = allocTransport(8 + payload.length);
    const rest = ((ident & 0xffff) << 16) | (seq & 0xffff);
    if (this.family === 4) writeIcmpv4(buf, TRANSPORT_HEADROOM, ICMPV4_ECHO_REQUEST, 0, rest >>> 0, payload);
    else writeIcmpv6(buf, TRANSPORT_HEADROOM, route.src, route.dst, ICMPV6_ECHO_REQUEST, 0, rest >>> 0, payload);
    const r = this.stack.sendTransport(route, this.protocol, buf, TRANSPORT_HEADROOM, ttl === undefined ? undefined : { ttl });
    if (r === 'ok') this.stats.sent++;
    return r;
  }

  private isError(type: number): boolean {
    return this.family === 4
      ? type === ICMPV4_DEST_UNREACHABLE || type === ICMPV4_TIME_EXCEEDED || type === ICMPV4_PARAMETER_PROBLEM
      : type < 128; // ICMPv6 error messages are types 0..127 (RFC 4443 §2.1)
  }

  /** An error quoting one of our packets: update the path MTU and tell the sending protocol. */
  private handleError(tp: TransportPacket): void {
    const m = tp.payload;
    const type = m[0]!;
    const code = m[1]!;
    const q = m.subarray(8);
    let protocol: number;
    let src: Uint8Array;
    let dst: Uint8Array;
    let transport: Uint8Array;
    try {
      if (this.family === 4) {
        if (q.length < 20 || q[0]! >> 4 !== 4) return;
        const ihl = (q[0]! & 0x0f) * 4;
        if (ihl < 20 || q.length < ihl) return;
        protocol = q[9]!;
        src = q.subarray(12, 16);
        dst = q.subarray(16, 20);
        transport = q.subarray(ihl);
      } else {
        if (q.length < 40 || q[0]! >> 4 !== 6) return;
        const w = walkIpv6(q);
        protocol = w.protocol;
        src = q.subarray(8, 24);
        dst = q.subarray(24, 40);
        transport = q.subarray(w.transportOffset);
      }
    } catch (e) {
      if (e instanceof HeaderError) return;
      throw e;
    }
    if (!this.stack.isLocalAddress(this.family, src)) return;
    let kind: ControlKind;
    let mtu = 0;
    if (this.family === 4) {
      if (type === ICMPV4_DEST_UNREACHABLE) {
        if (code === ICMPV4_CODE_PORT_UNREACHABLE) kind = 'port-unreachable';
        else if (code === ICMPV4_CODE_FRAG_NEEDED) {
          kind = 'packet-too-big';
          mtu = (m[6]! << 8) | m[7]!;
        } else kind = 'unreachable';
      } else kind = type === ICMPV4_TIME_EXCEEDED ? 'time-exceeded' : 'parameter-problem';
    } else {
      if (type === ICMPV6_DEST_UNREACHABLE) kind = code === ICMPV6_CODE_PORT_UNREACHABLE ? 'port-unreachable' : 'unreachable';
      else if (type === ICMPV6_PACKET_TOO_BIG) {
        kind = 'packet-too-big';
        mtu = ((m[4]! << 24) | (m[5]! << 16) | (m[6]! << 8) | m[7]!) >>> 0;
      } else if (type === ICMPV6_TIME_EXCEEDED) kind = 'time-exceeded';
      else if (type === ICMPV6_PARAMETER_PROBLEM) kind = 'parameter-problem';
      else return; // unassigned error types carry nothing a transport can act on
    }
    if (kind === 'packet-too-big' && mtu > 0) this.stack.updatePathMtu(dst, mtu);
    const proto = this.stack.transportProtocol(protocol);
    if (proto?.handleControl) {
      this.stats.controlDelivered++;
      const ctl = { nic: tp.nic, family: this.family, kind, icmpType: type, icmpCode: code, mtu, protocol, src, dst, transport, now: tp.now };
      this.stack.guard(() => proto.handleControl!(ctl));
    }
  }

  /** @internal Port/protocol unreachable about a received packet, rate limited. */
  sendError(tp: TransportPacket, kind: 'port-unreachable' | 'protocol-unreachable'): boolean {
    if (tp.temporary) return false;
    if (tp.protocol === this.protocol && tp.payload.length > 0 && this.isError(tp.payload[0]!)) return false;
    let type: number;
    let code: number;
    let rest = 0;
    if (this.family === 4) {
      type = ICMPV4_DEST_UNREACHABLE;
      code = kind === 'port-unreachable' ? ICMPV4_CODE_PORT_UNREACHABLE : ICMPV4_CODE_PROTOCOL_UNREACHABLE;
    } else if (kind === 'port-unreachable') {
      type = ICMPV6_DEST_UNREACHABLE;
      code = ICMPV6_CODE_PORT_UNREACHABLE;
    } else {
      // Parameter problem, "unrecognized next header", pointing at the IPv6 header's next-header byte.
      type = ICMPV6_PARAMETER_PROBLEM;
      code = 1;
      rest = 6;
    }
    return this.sendErrorMessage(tp.src, tp.dst, tp.nic, type, code, rest, tp.network);
  }

  /** @internal ICMPv6 Parameter Problem pointing at `pointer` in the received packet `pkt`. */
  sendParameterProblem(nic: NicId, pkt: Uint8Array, code: number, pointer: number): boolean {
    const src = pkt.subarray(8, 24);
    const dst = pkt.subarray(24, 40);
    return this.sendErrorMessage(src, dst, nic, ICMPV6_PARAMETER_PROBLEM, code, pointer >>> 0, pkt);
  }

  /** @internal ICMP time exceeded (fragment reassembly) for a datagram whose first fragment we held. */
  sendReassemblyTimeExceeded(header: Uint8Array, firstPiece: Uint8Array): boolean {
    const src = this.family === 4 ? header.subarray(12, 16) : header.subarray(8, 24);
    const dst = this.family === 4 ? header.subarray(16, 20) : header.subarray(24, 40);
    if (!this.stack.isLocalAddress(this.family, dst)) return false;
    const quoted = new Uint8Array(header.length + Math.min(firstPiece.length, 8));
    quoted.set(header, 0);
    quoted.set(firstPiece.subarray(0, 8), header.length);
    const type = this.family === 4 ? ICMPV4_TIME_EXCEEDED : ICMPV6_TIME_EXCEEDED;
    return this.sendErrorMessage(src, dst, undefined, type, 1, 0, quoted);
  }

  private sendErrorMessage(to: Uint8Array, from: Uint8Array, nic: NicId | undefined, type: number, code: number, rest: number, quote: Uint8Array): boolean {
    if (isMulticast(to) || isBroadcastOrUnspecified(to) || isMulticast(from)) return false;
    if (!this.stack.takeErrorToken()) {
      this.stats.errorsRateLimited++;
      return false;
    }
    const route =
      this.stack.findRoute(this.family, to, from, nic, true) ?? (nic !== undefined ? this.stack.routeVia(nic, this.family, to, from, true) : null);
    if (!route) return false;
    // RFC 1812 / 4443: quote as much as fits in 576 (IPv4) / 1280 (IPv6) bytes.
    const max = this.family === 4 ? 576 - 20 - 8 : 1280 - 40 - 8;
    const body = quote.subarray(0, Math.min(quote.length, max));
    const buf = allocTransport(8 + body.length);
    if (this.family === 4) writeIcmpv4(buf, TRANSPORT_HEADROOM, type, code, rest, body);
    else writeIcmpv6(buf, TRANSPORT_HEADROOM, route.src, route.dst, type, code, rest, body);
    const r = this.stack.sendTransport(route, this.protocol, buf, TRANSPORT_HEADROOM);
    if (r !== 'ok') return false;
    this.stats.errorsSent++;
    this.stats.sent++;
    return true;
  }
}

/**
 * Builds the ICMP part of an Echo Reply to the request `tp` into a new buffer
 * at `offset`: type changed, identifier, sequence and payload kept, fresh
 * checksum (ICMPv6 over the swapped pseudo-header).
 */
export function buildEchoReply(tp: TransportPacket, offset: number): Uint8Array {
  const req = tp.payload;
  const buf = new Uint8Array(offset + req.length);
  buf.set(req, offset);
  buf[offset] = tp.family === 4 ? ICMPV4_ECHO_REPLY : ICMPV6_ECHO_REPLY;
  buf[offset + 2] = 0;
  buf[offset + 3] = 0;
  const c = tp.family === 4 ? checksum(buf, offset) : icmpv6Checksum(tp.dst, tp.src, buf, offset);
  buf[offset + 2] = c >> 8;
  buf[offset + 3] = c & 0xff;
  return buf;
}

/** The request an IcmpForwarder handler receives. */
export interface IcmpForwarderRequest {
  readonly id: { readonly localAddress: Uint8Array; readonly remoteAddress: Uint8Array; readonly ident: number };
  /** The request's source (remote) and destination (our side; maybe temporary). */
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** ICMP type and code (8/128 = echo request); icmpType/icmpCode are aliases. */
  readonly type: number;
  readonly code: number;
  readonly icmpType: number;
  readonly icmpCode: number;
  /** The whole IP packet (read-only view, valid during the handler call). */
  readonly packet: Uint8Array;
  readonly nic: NicId;
  readonly family: IpFamily;
  /** The destination was accepted only because the NIC is promiscuous. */
  readonly temporary: boolean;
  /**
   * Send the standard Echo Reply. True the first time for an Echo Request
   * during the handler call; false when called again, after the handler
   * returned, or for anything that is not an Echo Request.
   */
  reply(): boolean;
}

export type IcmpForwarderHandler = (req: IcmpForwarderRequest) => boolean;

/**
 * Adapts a handler to the ICMP default handler slot:
 * `stack.setTransportProtocolHandler(1 or 58, forwarder.handlePacket)`.
 */
export class IcmpForwarder {
  readonly handlePacket: (tp: TransportPacket) => boolean;

  constructor(stack: Stack, handler: IcmpForwarderHandler) {
    this.handlePacket = (tp: TransportPacket): boolean => {
      const icmp = tp.family === 4 ? stack.icmp4 : stack.icmp6;
      const m = tp.payload;
      let active = true;
      const req: IcmpForwarderRequest = {
        id: { localAddress: tp.dst, remoteAddress: tp.src, ident: m.length >= 8 ? (m[4]! << 8) | m[5]! : 0 },
        src: tp.src,
        dst: tp.dst,
        type: m[0]!,
        code: m[1]!,
        icmpType: m[0]!,
        icmpCode: m[1]!,
        packet: tp.network,
        nic: tp.nic,
        family: tp.family,
        temporary: tp.temporary,
        reply: () => active && icmp.replyTo(tp),
      };
      try {
        return handler(req) === true;
      } finally {
        active = false;
      }
    };
  }
}
