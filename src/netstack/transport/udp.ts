/**
 * UDP transport: bound/connected endpoints, ephemeral ports, checksum
 * verification, port unreachable for own addresses, and a Forwarder for
 * datagrams no endpoint claims (any address in promiscuous mode).
 */
import { HeaderError } from '../header/errors.js';
import { UDP_HEADER, validateUdp, writeUdpHeader } from '../header/udp.js';
import { addrEqual } from '../addr.js';
import { newUdpStats } from '../stats.js';
import { allocTransport } from '../buffer.js';
import {
  IPPROTO_UDP,
  TRANSPORT_HEADROOM,
  type IpFamily,
  type NicId,
  type SendResult,
  type TransportPacket,
  type TransportProtocol,
  type TransportStack,
} from './protocol.js';

export const EPHEMERAL_FIRST = 49152;
export const EPHEMERAL_LAST = 65535;

/** A received datagram. `payload` is a view valid during the callback (or a copy when queued). */
export interface UdpDatagram {
  src: Uint8Array;
  srcPort: number;
  dst: Uint8Array;
  dstPort: number;
  payload: Uint8Array;
  nic: NicId;
  temporary: boolean;
}

export interface UdpSendOptions {
  ttl?: number;
  tos?: number;
  dontFragment?: boolean;
}

export class UdpEndpoint {
  /** Called per datagram; when null, datagrams wait (copied) in a bounded queue read by `receive()`. */
  onMessage: ((d: UdpDatagram) => void) | null = null;
  localAddress: Uint8Array | null = null;
  localPort = 0;
  remoteAddress: Uint8Array | null = null;
  remotePort = 0;
  /** May send from a non-local source (set for endpoints a Forwarder created for a temporary address). */
  anySource = false;
  /**
   * A wildcard-bound endpoint also takes datagrams to temporary (promiscuous)
   * addresses. Off by default, like TCP listeners: answering for every address
   * a peer routes here would make them all look alive (shared/icmp.md).
   */
  acceptTemporary = false;
  private queue: UdpDatagram[] = [];
  private closed = false;

  constructor(
    private readonly udp: UdpProtocol,
    readonly family: IpFamily,
    readonly queueLimit = 256,
  ) {}

  /** Binds to `port` (0: ephemeral) and optionally a local address. */
  bind(port = 0, address?: Uint8Array | null): this {
    if (this.closed) throw new Error('udp: endpoint closed');
    if (this.localPort !== 0) throw new Error('udp: already bound');
    if (address && address.length !== (this.family === 4 ? 4 : 16)) throw new Error('udp: address family mismatch');
    this.udp.bindEndpoint(this, port, address ?? null);
    return this;
  }

  /** Sets the default destination and only accepts datagrams from it. Binds an ephemeral port if unbound. */
  connect(address: Uint8Array, port: number): this {
    if (address.length !== (this.family === 4 ? 4 : 16)) throw new Error('udp: address family mismatch');
    if (this.localPort === 0) this.bind(0);
    this.remoteAddress = address.slice();
    this.remotePort = port;
    return this;
  }

  send(payload: Uint8Array, address?: Uint8Array, port?: number, opts?: UdpSendOptions): SendResult {
    if (this.closed) return 'invalid';
    const dst = address ?? this.remoteAddress;
    const dport = port ?? this.remotePort;
    if (!dst || dport <= 0 || dport > 0xffff || dst.length !== (this.family === 4 ? 4 : 16)) return 'invalid';
    if (this.localPort === 0) this.bind(0);
    return this.udp.sendFrom(this, dst, dport, payload, opts);
  }

  /** Next queued datagram (when no onMessage callback is set). */
  receive(): UdpDatagram | null {
    return this.queue.shift() ?? null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.udp.unbind(this);
    this.queue = [];
  }

  /** @internal */
  deliver(d: UdpDatagram): void {
    if (this.onMessage) {
      this.onMessage(d);
      return;
    }
    if (this.queue.length >= this.queueLimit) {
      this.udp.stats.receiveQueueDropped++;
      return;
    }
    this.queue.push({ ...d, src: d.src.slice(), dst: d.dst.slice(), payload: d.payload.slice() });
  }
}

export class UdpProtocol implements TransportProtocol {
  readonly protocol = IPPROTO_UDP;
  readonly stats = newUdpStats();
  private stack: TransportStack | null = null;
  /** Endpoints by (family, port). */
  private readonly ports = new Map<number, UdpEndpoint[]>();
  private nextEphemeral = EPHEMERAL_FIRST;
  private bound = 0;

  /** Bound endpoints at most (forwarder flows included); binding beyond it throws. */
  constructor(readonly maxEndpoints = 16_384) {}

  /** Endpoints currently bound. */
  get endpointCount(): number {
    return this.bound;
  }

  private reserve(): void {
    if (this.bound >= this.maxEndpoints) throw new Error('udp: endpoint limit reached');
    this.bound++;
  }

  attach(stack: TransportStack): void {
    this.stack = stack;
    const r = (stack as { random?: () => number }).random;
    if (r) this.nextEphemeral = EPHEMERAL_FIRST + Math.floor(r() * (EPHEMERAL_LAST - EPHEMERAL_FIRST + 1));
  }

  /** A new unbound endpoint. */
  createEndpoint(family: IpFamily): UdpEndpoint {
    return new UdpEndpoint(this, family);
  }

  /** @internal */
  bindEndpoint(ep: UdpEndpoint, port: number, address: Uint8Array | null): void {
    if (this.bound >= this.maxEndpoints) throw new Error('udp: endpoint limit reached');
    if (port === 0) port = this.pickEphemeral(ep.family);
    if (port <= 0 || port > 0xffff) throw new Error(`udp: bad port ${port}`);
    const key = portKey(ep.family, port);
    const list = this.ports.get(key) ?? [];
    for (const o of list) {
      const overlap = !o.localAddress || !address || addrEqual(o.localAddress, address);
      if (overlap && !o.remoteAddress) throw new Error(`udp: port ${port} in use`);
    }
    this.reserve();
    ep.localPort = port;
    ep.localAddress = address ? address.slice() : null;
    list.push(ep);
    this.ports.set(key, list);
  }

  /** @internal Binds a connected endpoint for a flow (Forwarder), allowed to share the port with other flows. */
  bindFlow(ep: UdpEndpoint, local: Uint8Array, port: number, remote: Uint8Array, remotePort: number): void {
    const key = portKey(ep.family, port);
    const list = this.ports.get(key) ?? [];
    for (const o of list) {
      if (o.remoteAddress && o.remotePort === remotePort && addrEqual(o.remoteAddress, remote) && o.localAddress && addrEqual(o.localAddress, local)) {
        throw new Error('udp: flow exists');
      }
    }
    this.reserve();
    ep.localPort = port;
    ep.localAddress = local.slice();
    ep.remoteAddress = remote.slice();
    ep.remotePort = remotePort;
    list.push(ep);
    this.ports.set(key, list);
  }

  /** @internal */
  unbind(ep: UdpEndpoint): void {
    if (ep.localPort === 0) return;
    const key = portKey(ep.family, ep.localPort);
    const list = this.ports.get(key);
    if (!list) return;
    const i = list.indexOf(ep);
    if (i >= 0) {
      list.splice(i, 1);
      this.bound--;
    }
    if (list.length === 0) this.ports.delete(key);
  }

  private pickEphemeral(family: IpFamily): number {
    const span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
    for (let n = 0; n < span; n++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p >= EPHEMERAL_LAST ? EPHEMERAL_FIRST : p + 1;
      if (!this.ports.has(portKey(family, p))) return p;
    }
    throw new Error('udp: no free ephemeral port');
  }

  /** Validates, then hands the datagram to the best-matching endpoint. Malformed datagrams are counted and taken (dropped). */
  deliver(tp: TransportPacket): boolean {
    const st = this.stats;
    st.received++;
    const d = tp.payload;
    let len: number;
    try {
      len = validateUdp(d, tp.src, tp.dst);
    } catch (e) {
      if (!(e instanceof HeaderError)) throw e;
      if (e.message.includes('checksum')) st.checksumErrors++;
      else st.malformed++;
      // Taken as a counted drop: no handler or port unreachable for garbage.
      return true;
    }
    const srcPort = (d[0]! << 8) | d[1]!;
    const dstPort = (d[2]! << 8) | d[3]!;
    const ep = this.lookup(tp.family, tp.dst, dstPort, tp.src, srcPort, tp.temporary);
    if (!ep) return false;
    st.delivered++;
    try {
      ep.deliver({ src: tp.src, srcPort, dst: tp.dst, dstPort, payload: d.subarray(UDP_HEADER, len), nic: tp.nic, temporary: tp.temporary });
    } catch {
      // The datagram was delivered; a throwing callback must not turn it into "unclaimed".
      st.callbackErrors++;
    }
    return true;
  }

  /** Most specific match: connected flow > bound address > wildcard. */
  lookup(family: IpFamily, dst: Uint8Array, dstPort: number, src: Uint8Array, srcPort: number, temporary = false): UdpEndpoint | null {
    const list = this.ports.get(portKey(family, dstPort));
    if (!list) return null;
    let best: UdpEndpoint | null = null;
    let bestScore = -1;
    for (const ep of list) {
      let score = 0;
      if (ep.localAddress) {
        if (!addrEqual(ep.localAddress, dst)) continue;
        score += 1;
      } else if (temporary && !ep.acceptTemporary) continue;
      if (ep.remoteAddress) {
        if (ep.remotePort !== srcPort || !addrEqual(ep.remoteAddress, src)) continue;
        score += 2;
      }
      if (score > bestScore) {
        best = ep;
        bestScore = score;
      }
    }
    return best;
  }

  handleUnclaimed(tp: TransportPacket): void {
    if (this.stack?.sendIcmpError(tp, 'port-unreachable')) this.stats.portUnreachableSent++;
  }

  /** @internal */
  sendFrom(ep: UdpEndpoint, dst: Uint8Array, dstPort: number, payload: Uint8Array, opts?: UdpSendOptions): SendResult {
    const stack = this.stack;
    if (!stack) return 'no-route';
    const route = stack.findRoute(ep.family, dst, ep.localAddress, undefined, ep.anySource);
    if (!route) {
      this.stats.sendErrors++;
      return 'no-route';
    }
    if (payload.length + UDP_HEADER > 0xffff) {
      this.stats.sendErrors++;
      return 'invalid';
    }
    const buf = allocTransport(UDP_HEADER + payload.length);
    buf.set(payload, TRANSPORT_HEADROOM + UDP_HEADER);
    writeUdpHeader(buf, TRANSPORT_HEADROOM, route.src, route.dst, ep.localPort, dstPort, payload.length);
    const r = stack.sendTransport(route, IPPROTO_UDP, buf, TRANSPORT_HEADROOM, opts);
    if (r === 'ok') this.stats.sent++;
    else this.stats.sendErrors++;
    return r;
  }
}

function portKey(family: IpFamily, port: number): number {
  return family === 4 ? port : 0x10000 + port;
}

/** What a UdpForwarder handler receives for a datagram no endpoint claimed. */
export interface UdpForwarderRequest {
  readonly id: {
    readonly localAddress: Uint8Array;
    readonly localPort: number;
    readonly remoteAddress: Uint8Array;
    readonly remotePort: number;
  };
  readonly family: IpFamily;
  readonly nic: NicId;
  readonly temporary: boolean;
  /** The datagram's payload (view, valid during the handler call). */
  readonly payload: Uint8Array;
  /** The whole IP packet (read-only view). */
  readonly packet: Uint8Array;
  /**
   * Creates an endpoint for this flow (local = the datagram's destination,
   * connected to its source) that receives the flow's later datagrams and
   * can answer, also from a temporary address.
   */
  createEndpoint(): UdpEndpoint;
}

export type UdpForwarderHandler = (req: UdpForwarderRequest) => boolean;

/** Use with `stack.setTransportProtocolHandler(17, forwarder.handlePacket)`. */
export class UdpForwarder {
  readonly handlePacket: (tp: TransportPacket) => boolean;

  constructor(udp: UdpProtocol, handler: UdpForwarderHandler) {
    this.handlePacket = (tp: TransportPacket): boolean => {
      const d = tp.payload;
      // The UDP protocol validated the datagram before the stack fell back to this handler.
      const len = (d[4]! << 8) | d[5]!;
      const remotePort = (d[0]! << 8) | d[1]!;
      const localPort = (d[2]! << 8) | d[3]!;
      let created: UdpEndpoint | null = null;
      const req: UdpForwarderRequest = {
        id: { localAddress: tp.dst, localPort, remoteAddress: tp.src, remotePort },
        family: tp.family,
        nic: tp.nic,
        temporary: tp.temporary,
        payload: d.subarray(UDP_HEADER, len),
        packet: tp.network,
        createEndpoint: () => {
          if (created) return created;
          const ep = udp.createEndpoint(tp.family);
          ep.anySource = true;
          udp.bindFlow(ep, tp.dst, localPort, tp.src, remotePort);
          created = ep;
          return ep;
        },
      };
      return handler(req) === true;
    };
  }
}
