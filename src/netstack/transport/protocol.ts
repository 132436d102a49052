/**
 * The contract between the stack (network layer) and transport protocols
 * (ICMP, UDP, TCP). A protocol registers with `stack.registerTransportProtocol(n, proto)`;
 * the stack hands it inbound packets as `TransportPacket` views and offers it
 * `TransportStack` to route and send. Sans-I/O: time comes in as `now` (ms).
 */

export type IpFamily = 4 | 6;
export type NicId = number;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

/**
 * One inbound transport packet. All byte fields are views into the received
 * (possibly reassembled) packet and are valid only during the call that
 * receives them: copy what you keep.
 */
export interface TransportPacket {
  readonly nic: NicId;
  readonly family: IpFamily;
  /** IP protocol / IPv6 next header of the transport payload. */
  readonly protocol: number;
  /** Source address (4 or 16 bytes). */
  readonly src: Uint8Array;
  /** Destination address (4 or 16 bytes). */
  readonly dst: Uint8Array;
  /** The whole IP packet: header(s) + transport bytes. Read-only. */
  readonly network: Uint8Array;
  /** Length of the IP header including IPv4 options / IPv6 extension headers. */
  readonly networkHeaderLength: number;
  /** Transport header + data (network.subarray(networkHeaderLength)). */
  readonly payload: Uint8Array;
  /** True when the destination is not assigned to the NIC but was accepted because it is promiscuous. */
  readonly temporary: boolean;
  /** IPv4 TTL / IPv6 hop limit as received. */
  readonly ttl: number;
  /** IPv4 TOS / IPv6 traffic class as received. */
  readonly tos: number;
  readonly now: number;
}

/**
 * What transport delivery reports: two separate facts (see shared/icmp.md).
 * `handled`: some endpoint or handler took the packet.
 * `defaultConsumed`: the default handler returned true. Only this suppresses
 * built-in answers (echo reply, RST, port unreachable).
 */
export interface DeliveryResult {
  readonly handled: boolean;
  readonly defaultConsumed: boolean;
}

/** Nothing took it (no endpoint; the default handler was absent or returned false). */
export const DELIVERY_UNCLAIMED: DeliveryResult = Object.freeze({ handled: false, defaultConsumed: false });
/** A registered endpoint took it; the default handler was not called. */
export const DELIVERY_ENDPOINT: DeliveryResult = Object.freeze({ handled: true, defaultConsumed: false });
/** The default handler returned true: it owns the packet; built-in answers are suppressed. */
export const DELIVERY_DEFAULT_CONSUMED: DeliveryResult = Object.freeze({ handled: true, defaultConsumed: true });

/** Default handler for packets no endpoint claimed; returns true when it consumed the packet. */
export type TransportHandler = (pkt: TransportPacket) => boolean;

export type ControlKind = 'unreachable' | 'port-unreachable' | 'packet-too-big' | 'time-exceeded' | 'parameter-problem';

/** An ICMP error that quotes a packet this stack sent, handed to the protocol that sent it. */
export interface TransportControl {
  readonly nic: NicId;
  readonly family: IpFamily;
  readonly kind: ControlKind;
  readonly icmpType: number;
  readonly icmpCode: number;
  /** New path MTU for 'packet-too-big' (IPv4 fragmentation needed / IPv6 PTB), else 0. */
  readonly mtu: number;
  readonly protocol: number;
  /** Source (ours) and destination (remote) of the quoted original packet. */
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** The leading bytes of the quoted transport header (at least 8 when present). */
  readonly transport: Uint8Array;
  readonly now: number;
}

/** Where to send: the outcome of a route lookup. */
export interface Route {
  readonly nic: NicId;
  readonly family: IpFamily;
  /** Local source address to use (an own address, or any address when spoofing). */
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** Largest IP packet toward dst: min(NIC MTU, learned path MTU). */
  readonly mtu: number;
}

export interface SendOptions {
  /** TTL / hop limit; stack default when omitted. */
  ttl?: number;
  /** TOS / traffic class. */
  tos?: number;
  /** IPv4: set DF and never fragment (packets above the MTU fail with 'too-big'). */
  dontFragment?: boolean;
  /** IPv4 options to include (length a multiple of 4, at most 40). */
  ipv4Options?: Uint8Array;
}

export type SendResult = 'ok' | 'no-route' | 'too-big' | 'dropped' | 'invalid';

/** Bytes reserved before transport data so the stack can write the IP header in place. */
export const TRANSPORT_HEADROOM = 60;

/** What the stack offers a transport protocol. */
export interface TransportStack {
  /**
   * Route toward `dst`. With `src` given it must be an own address of the
   * chosen NIC unless the stack allows spoofing (or it is a temporary address
   * the NIC accepted in promiscuous mode). `nic` restricts to one NIC.
   * `anySource` skips the source check: for answers sent from a temporary
   * (promiscuous) address a forwarder accepted.
   */
  findRoute(family: IpFamily, dst: Uint8Array, src?: Uint8Array | null, nic?: NicId, anySource?: boolean): Route | null;
  /**
   * Send transport bytes `buf[offset..]` (header with checksum already filled
   * in) over `route`. When `offset` is at least the IP header length the
   * header is written in place (no copy) and the stack owns `buf` afterwards;
   * otherwise the bytes are copied. Fragments IPv4 above the route MTU unless DF.
   */
  sendTransport(route: Route, protocol: number, buf: Uint8Array, offset: number, opts?: SendOptions): SendResult;
  /** Whether `addr` is assigned to `nic` (or to any NIC when nic is omitted). */
  isLocalAddress(family: IpFamily, addr: Uint8Array, nic?: NicId): boolean;
  /**
   * Send an ICMP error (port unreachable etc.) about a received packet, rate
   * limited. Never for packets to temporary addresses.
   */
  sendIcmpError(pkt: TransportPacket, kind: 'port-unreachable' | 'protocol-unreachable'): boolean;
  /** Latest time the stack has seen (ms). */
  now(): number;
}

/** A transport protocol implementation plugged into the stack. */
export interface TransportProtocol {
  readonly protocol: number;
  /** Called once on registration. */
  attach(stack: TransportStack): void;
  /** Deliver to a matching endpoint; true when an endpoint took it. Never throws for bad input (count and return false). */
  deliver(pkt: TransportPacket): boolean;
  /**
   * Called when neither an endpoint nor the default handler took a packet to
   * an own (non-temporary) address: answer "closed" (RST, port unreachable).
   */
  handleUnclaimed?(pkt: TransportPacket): void;
  /** ICMP error quoting a packet this protocol sent. */
  handleControl?(ctl: TransportControl): void;
  /** Earliest time (ms) the protocol wants `tick`, or undefined. */
  nextDeadline?(): number | undefined;
  tick?(now: number): void;
}
