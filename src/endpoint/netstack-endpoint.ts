/**
 * The netstack-mode endpoint, sans-I/O: a WireGuard Device joined to a
 * netstack Stack through a channel link.
 *
 *   datagram ─▶ Device.receiveDatagram ─▶ deliverPacket(pkt, peer)
 *        ├─ Forward on and dst in another peer's AllowedIPs ─▶ Device.sendPacket (hub)
 *        └─ otherwise ─▶ channel.injectInbound ─▶ Stack (policy knows `peer`)
 *   Stack output ─▶ channel.onOutbound ─▶ Device.sendPacket (routed by AllowedIPs)
 *
 * Everything is synchronous: a datagram in runs to completion (decrypt,
 * stack, any answer encrypted and handed to `sendDatagram`) before the call
 * returns. The only queues are the Device's bounded per-peer staging queue
 * and the stack's own bounded buffers; what does not fit is dropped and
 * counted. Time comes in as `now` on every entry point.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { Device, type Endpoint } from '../wireguard/device.js';
import type { Peer } from '../wireguard/peer.js';
import { Stack, type StackOptions } from '../netstack/stack.js';
import { ChannelEndpoint } from '../netstack/link/channel.js';
import { parsePrefix } from '../netstack/addr.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6 } from '../netstack/transport/protocol.js';
import { IcmpForwarder, type IcmpForwarderRequest } from '../netstack/transport/icmp.js';
import { ReachabilityPolicy, type IcmpMode } from '../policy/reachability.js';

export const NIC_ID = 1;

export interface NetstackEndpointOptions {
  /** Encrypted datagrams out (valid only during the call). */
  sendDatagram(data: Uint8Array, to: Endpoint): void;
  /** A handshake completed with `peer`. */
  onHandshake?(peer: Peer): void;
  /** Interface addresses, "10.0.0.1/24" or "fd00::1/64" (bare address = host route). */
  addresses?: string[];
  mtu?: number;
  icmp?: IcmpMode;
  /** Accept packets for any destination a peer routed to us (default true). */
  promiscuous?: boolean;
  /** Encrypt packets for another peer's AllowedIPs on to that peer (default false). */
  forward?: boolean;
  crypto?: CryptoProvider;
  random?: (n: number) => Uint8Array;
  stack?: StackOptions;
}

export interface EndpointStats {
  /** Decrypted packets handed to the stack. */
  toStack: number;
  /** Stack packets handed to the device for encryption. */
  fromStack: number;
  /** Packets relayed between peers (Forward = true). */
  forwarded: number;
  /** Forwarding drops: TTL/hop limit exhausted. */
  forwardDropped: number;
  /** Packets that were neither IPv4 nor IPv6. */
  malformed: number;
}

export class NetstackEndpoint {
  readonly device: Device;
  readonly stack: Stack;
  readonly link: ChannelEndpoint;
  readonly policy: ReachabilityPolicy<Peer>;
  readonly icmp4: IcmpForwarder;
  readonly icmp6: IcmpForwarder;
  forward: boolean;
  readonly stats: EndpointStats = { toStack: 0, fromStack: 0, forwarded: 0, forwardDropped: 0, malformed: 0 };
  private clock = 0;
  private readonly onHandshake: ((peer: Peer) => void) | undefined;

  constructor(opts: NetstackEndpointOptions) {
    const mtu = opts.mtu ?? 1420;
    this.forward = opts.forward ?? false;
    this.onHandshake = opts.onHandshake;
    this.device = new Device({
      io: {
        sendDatagram: opts.sendDatagram,
        deliverPacket: (packet, peer) => this.fromTunnel(packet, peer),
        onHandshake: (peer) => this.onHandshake?.(peer),
      },
      crypto: opts.crypto,
      mtu,
      random: opts.random,
    });
    this.stack = new Stack(opts.stack);
    this.link = new ChannelEndpoint({ mtu });
    this.link.onOutbound = (pkt) => this.fromStack(pkt);
    this.stack.createNic(NIC_ID, this.link);
    for (const a of opts.addresses ?? []) this.addAddress(a);
    this.stack.addRoute('0.0.0.0/0', NIC_ID);
    this.stack.addRoute('::/0', NIC_ID);
    const promiscuous = opts.promiscuous ?? true;
    this.stack.setPromiscuous(NIC_ID, promiscuous);
    // Services accepting connections for temporary addresses answer from them.
    this.stack.setSpoofing(NIC_ID, promiscuous);

    this.policy = new ReachabilityPolicy<Peer>({
      mode: opts.icmp ?? 'reachable',
      routes: this.device.allowedIPs,
      isLocalAddress: (family, addr) => this.stack.isLocalAddress(family, addr),
    });
    const handler = (req: IcmpForwarderRequest): boolean => this.policy.handle(req, this.clock);
    this.icmp4 = new IcmpForwarder(this.stack, handler);
    this.icmp6 = new IcmpForwarder(this.stack, handler);
    this.stack.setTransportProtocolHandler(IPPROTO_ICMP, this.icmp4.handlePacket);
    this.stack.setTransportProtocolHandler(IPPROTO_ICMPV6, this.icmp6.handlePacket);
  }

  addAddress(prefix: string): void {
    const p = parsePrefix(prefix);
    this.stack.addAddress(NIC_ID, p.addr, p.bits);
  }

  /** Latest time seen (ms). */
  get now(): number {
    return this.clock;
  }

  /** Moves the clock forward (every entry point calls this). */
  advance(now: number): void {
    if (now > this.clock) this.clock = now;
  }

  /** An encrypted datagram from the network. */
  receiveDatagram(data: Uint8Array, from: Endpoint, now: number): void {
    this.advance(now);
    this.device.receiveDatagram(data, from, this.clock);
  }

  /** Runs due timers of the device and the stack. */
  tick(now: number): void {
    this.advance(now);
    this.device.tick(this.clock);
    this.stack.tick(this.clock);
  }

  /** Earliest time (ms) anything wants `tick`; Infinity when idle. */
  nextDeadline(): number {
    const d = this.device.nextDeadline();
    const s = this.stack.nextDeadline();
    return s === undefined ? d : Math.min(d, s);
  }

  /** Decrypted packet from `peer` (valid only during the call). */
  private fromTunnel(packet: Uint8Array, peer: Peer): void {
    const v = packet.length > 0 ? packet[0]! >> 4 : 0;
    if (v !== 4 && v !== 6) {
      this.stats.malformed++;
      return;
    }
    if (this.forward && this.tryForward(packet, peer, v)) return;
    // The stack keeps packets it queues (TCP reassembly, UDP receive queues), and
    // the device reuses its decryption buffer: one copy here.
    const own = packet.slice();
    this.stats.toStack++;
    this.policy.sourcePeer = peer;
    try {
      this.link.injectInbound(own, this.clock);
    } finally {
      this.policy.sourcePeer = null;
    }
  }

  /** Hub mode: relays a packet whose destination another peer covers. */
  private tryForward(packet: Uint8Array, from: Peer, v: 4 | 6): boolean {
    const family = v;
    const dstOff = family === 4 ? 16 : 24;
    if (packet.length < dstOff + (family === 4 ? 4 : 16)) return false;
    const dst = packet.subarray(dstOff, dstOff + (family === 4 ? 4 : 16));
    if (this.stack.isLocalAddress(family, dst)) return false;
    const to = this.device.allowedIPs.lookup(family, packet, dstOff);
    if (to === undefined) return false;
    // Back to its sender: not a hub case; the stack (and the ICMP policy's "self" rule) decides.
    if (to === from) return false;
    // In place: the packet is ours for this call, and sendPacket copies what it keeps.
    if (!decrementTtl(packet, family)) {
      this.stats.forwardDropped++;
      return true;
    }
    this.stats.forwarded++;
    this.device.sendPacket(packet, this.clock);
    return true;
  }

  /** A packet the stack sends; the device owns it from here. */
  private fromStack(pkt: Uint8Array): void {
    this.stats.fromStack++;
    this.device.sendPacket(pkt, this.clock);
  }
}

/**
 * Decrements the IPv4 TTL (fixing the header checksum incrementally, RFC 1624)
 * or the IPv6 hop limit. False when the packet must not be forwarded.
 */
export function decrementTtl(p: Uint8Array, family: 4 | 6): boolean {
  if (family === 6) {
    if (p.length < 40 || p[7]! <= 1) return false;
    p[7] = p[7]! - 1;
    return true;
  }
  if (p.length < 20 || p[8]! <= 1) return false;
  p[8] = p[8]! - 1;
  // The TTL is the high byte of the 16-bit word at offset 8: HC' = ~(~HC + ~m + m').
  let sum = (~((p[10]! << 8) | p[11]!) & 0xffff) + (~0x0100 & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  p[10] = c >> 8;
  p[11] = c & 0xff;
  return true;
}
