/**
 * The netstack: NICs attached to link endpoints, addresses, routes,
 * promiscuous mode and spoofing, the network layers, transport dispatch with
 * per-protocol default handlers, ICMP errors with a rate limit. Sans-I/O:
 * packets and `now` come in; packets go out through links; `nextDeadline()`
 * and `tick(now)` drive timeouts.
 */
import { addrEqual, familyOf, isBroadcastOrUnspecified, isMulticast, parseAddress, parsePrefix, prefixMatch } from './addr.js';
import { HeaderError } from './header/errors.js';
import type { LinkDispatcher, LinkEndpoint } from './link/endpoint.js';
import { receiveIpv4, sendIpv4, type Ipv4Context } from './network/ipv4.js';
import { receiveIpv6, sendIpv6, type Ipv6Context } from './network/ipv6.js';
import { Reassembler } from './network/reassembly.js';
import { newIcmpStats, newIpStats, newTransportStats, newUdpStats, type TransportStats } from './stats.js';
import { IcmpTransport } from './transport/icmp.js';
import {
  DELIVERY_DEFAULT_CONSUMED,
  DELIVERY_ENDPOINT,
  DELIVERY_UNCLAIMED,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_UDP,
  type DeliveryResult,
  type IpFamily,
  type NicId,
  type Route,
  type SendOptions,
  type SendResult,
  type TransportHandler,
  type TransportPacket,
  type TransportProtocol,
  type TransportStack,
} from './transport/protocol.js';
import { UdpProtocol } from './transport/udp.js';
import { mulberry32 } from './link/fault.js';

export interface StackOptions {
  /** Default IPv4 TTL / IPv6 hop limit. */
  defaultTtl?: number;
  reassemblyTimeoutV4Ms?: number;
  reassemblyTimeoutV6Ms?: number;
  /** Bytes held by each family's reassembler. */
  reassemblyMaxBytes?: number;
  reassemblyMaxFragments?: number;
  reassemblyMaxDatagrams?: number;
  /** ICMP error token bucket: tokens per second and burst. */
  icmpErrorRate?: number;
  icmpErrorBurst?: number;
  /** Seed for ephemeral ports and IP ids (deterministic tests). */
  seed?: number;
  /** Bound UDP endpoints at most, forwarder flows included (default 16384). */
  maxUdpEndpoints?: number;
  /** How long a learned path MTU is kept (ms). */
  pathMtuTimeoutMs?: number;
}

interface NicAddress {
  addr: Uint8Array;
  bits: number;
}

interface Nic {
  id: NicId;
  link: LinkEndpoint;
  /** Bound once so the send path creates no closure per packet. */
  write: (pkt: Uint8Array) => boolean;
  addresses: NicAddress[];
  promiscuous: boolean;
  spoofing: boolean;
}

interface RouteEntry {
  addr: Uint8Array;
  bits: number;
  nic: NicId;
}

export type RawObserver = (pkt: Readonly<TransportPacket>) => void;

export class Stack implements TransportStack, Ipv4Context, Ipv6Context {
  readonly ipv4Stats = newIpStats();
  readonly ipv6Stats = newIpStats();
  readonly stats;
  readonly reassembler4: Reassembler;
  readonly reassembler6: Reassembler;
  readonly icmp4: IcmpTransport;
  readonly icmp6: IcmpTransport;
  readonly udp: UdpProtocol;
  readonly defaultTtl: number;
  readonly random: () => number;
  private clock = 0;
  private readonly nics = new Map<NicId, Nic>();
  private routes: RouteEntry[] = [];
  private readonly protocols = new Map<number, TransportProtocol>();
  private readonly handlers = new Map<number, TransportHandler>();
  private readonly transportStats = new Map<number, TransportStats>();
  private readonly rawObservers = new Map<number, RawObserver[]>();
  private readonly pathMtu = new Map<string, { mtu: number; expires: number }>();
  private readonly pathMtuTimeoutMs: number;
  private ipv4Id: number;
  private ipv6FragId: number;
  private errorTokens: number;
  private errorTokensAt = 0;
  private readonly errorRate: number;
  private readonly errorBurst: number;
  /** Errors thrown by user callbacks (handlers, observers), caught so one bad callback cannot break the stack. */
  callbackErrors = 0;
  lastCallbackError: unknown = null;

  constructor(opts: StackOptions = {}) {
    this.defaultTtl = opts.defaultTtl ?? 64;
    const maxBytes = opts.reassemblyMaxBytes ?? 4 * 1024 * 1024;
    const common = {
      maxBytes,
      maxFragments: opts.reassemblyMaxFragments ?? 64,
      maxDatagrams: opts.reassemblyMaxDatagrams ?? 256,
    };
    this.reassembler4 = new Reassembler({ ...common, timeoutMs: opts.reassemblyTimeoutV4Ms ?? 30_000, maxPayload: 0xffff - 20 });
    this.reassembler6 = new Reassembler({ ...common, timeoutMs: opts.reassemblyTimeoutV6Ms ?? 60_000, maxPayload: 0xffff });
    this.errorRate = opts.icmpErrorRate ?? 1000;
    this.errorBurst = opts.icmpErrorBurst ?? 50;
    this.errorTokens = this.errorBurst;
    this.pathMtuTimeoutMs = opts.pathMtuTimeoutMs ?? 10 * 60_000;
    this.random = mulberry32(opts.seed ?? 0x5eed);
    this.ipv4Id = Math.floor(this.random() * 0x10000);
    this.ipv6FragId = Math.floor(this.random() * 0x100000000);
    this.icmp4 = new IcmpTransport(this, 4);
    this.icmp6 = new IcmpTransport(this, 6);
    this.udp = new UdpProtocol(opts.maxUdpEndpoints);
    this.protocols.set(IPPROTO_ICMP, this.icmp4);
    this.protocols.set(IPPROTO_ICMPV6, this.icmp6);
    this.registerTransportProtocol(IPPROTO_UDP, this.udp);
    this.stats = {
      ipv4: this.ipv4Stats,
      ipv6: this.ipv6Stats,
      icmpv4: this.icmp4.stats,
      icmpv6: this.icmp6.stats,
      udp: this.udp.stats,
      reassemblyV4: this.reassembler4.stats,
      reassemblyV6: this.reassembler6.stats,
      /** Per IP protocol number: generic delivery counters. */
      transport: this.transportStats,
    };
  }

  // ---- NICs, addresses, routes ------------------------------------------------

  /** Attaches a link as NIC `id` (the link's inbound packets enter this stack). */
  createNic(id: NicId, link: LinkEndpoint): void {
    if (this.nics.has(id)) throw new Error(`NIC ${id} exists`);
    const nic: Nic = { id, link, write: (p) => link.writePacket(p), addresses: [], promiscuous: false, spoofing: false };
    this.nics.set(id, nic);
    const dispatcher: LinkDispatcher = {
      deliverNetworkPacket: (pkt, now) => this.deliverNetworkPacket(id, pkt, now),
    };
    link.attach(dispatcher);
  }

  removeNic(id: NicId): void {
    this.nics.delete(id);
    this.routes = this.routes.filter((r) => r.nic !== id);
  }

  /** Adds "10.0.0.1/24", "fd00::1/64", or bytes with a prefix length. */
  addAddress(nic: NicId, address: string | Uint8Array, bits?: number): void {
    const n = this.nic(nic);
    const p = typeof address === 'string' ? parsePrefix(address) : { addr: address.slice(), bits: bits ?? address.length * 8 };
    if (bits !== undefined) p.bits = bits;
    if (n.addresses.some((a) => addrEqual(a.addr, p.addr))) return;
    n.addresses.push(p);
  }

  removeAddress(nic: NicId, address: string | Uint8Array): boolean {
    const n = this.nic(nic);
    const a = typeof address === 'string' ? parseAddress(address) : address;
    const i = n.addresses.findIndex((x) => addrEqual(x.addr, a));
    if (i < 0) return false;
    n.addresses.splice(i, 1);
    return true;
  }

  addresses(nic: NicId, family?: IpFamily): Uint8Array[] {
    return this.nic(nic)
      .addresses.filter((a) => family === undefined || familyOf(a.addr) === family)
      .map((a) => a.addr);
  }

  /** Adds a route: "0.0.0.0/0" or "::/0" for defaults. */
  addRoute(prefix: string, nic: NicId): void {
    const p = parsePrefix(prefix);
    this.nic(nic);
    this.routes.push({ addr: p.addr, bits: p.bits, nic });
  }

  removeRoute(prefix: string, nic?: NicId): number {
    const p = parsePrefix(prefix);
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => !(r.bits === p.bits && addrEqual(r.addr, p.addr) && (nic === undefined || r.nic === nic)));
    return before - this.routes.length;
  }

  /** Accept packets for any unicast destination (the destination becomes a temporary address). */
  setPromiscuous(nic: NicId, on: boolean): void {
    this.nic(nic).promiscuous = on;
  }

  /** Allow sending from any source address. */
  setSpoofing(nic: NicId, on: boolean): void {
    this.nic(nic).spoofing = on;
  }

  // ---- transport registration ---------------------------------------------------

  registerTransportProtocol(protocol: number, proto: TransportProtocol): void {
    if (protocol === IPPROTO_ICMP || protocol === IPPROTO_ICMPV6) throw new Error('ICMP is built in');
    this.protocols.set(protocol, proto);
    proto.attach(this);
  }

  transportProtocol(protocol: number): TransportProtocol | undefined {
    return this.protocols.get(protocol);
  }

  /** The default handler for packets of `protocol` no endpoint claimed; null removes it. */
  setTransportProtocolHandler(protocol: number, handler: TransportHandler | null): void {
    if (handler) this.handlers.set(protocol, handler);
    else this.handlers.delete(protocol);
  }

  /** Raw observers see a copy of every valid inbound packet of `protocol` (observing only). Returns a remover. */
  addRawObserver(protocol: number, observer: RawObserver): () => void {
    let list = this.rawObservers.get(protocol);
    if (!list) this.rawObservers.set(protocol, (list = []));
    list.push(observer);
    return () => {
      const l = this.rawObservers.get(protocol);
      if (!l) return;
      const i = l.indexOf(observer);
      if (i >= 0) l.splice(i, 1);
      if (l.length === 0) this.rawObservers.delete(protocol);
    };
  }

  // ---- inbound --------------------------------------------------------------------

  /** Entry point from a link. Never throws for packet contents. */
  deliverNetworkPacket(nic: NicId, pkt: Uint8Array, now?: number): void {
    if (now !== undefined && now > this.clock) this.clock = now;
    if (!this.nics.has(nic)) return;
    const t = this.clock;
    try {
      const v = pkt.length > 0 ? pkt[0]! >> 4 : 0;
      if (v === 4) receiveIpv4(this, nic, pkt, t);
      else if (v === 6) receiveIpv6(this, nic, pkt, t);
      else this.ipv4Stats.malformed++;
    } catch (e) {
      if (e instanceof HeaderError) this.ipv4Stats.malformed++;
      else this.noteCallbackError(e);
    }
  }

  /** @internal 0: reject, 1: own address, 2: temporary. */
  classifyDestination(nicId: NicId, dst: Uint8Array): 0 | 1 | 2 {
    const nic = this.nics.get(nicId);
    if (!nic) return 0;
    const as = nic.addresses;
    for (let i = 0; i < as.length; i++) if (addrEqual(as[i]!.addr, dst)) return 1;
    if (!nic.promiscuous || isMulticast(dst) || isBroadcastOrUnspecified(dst)) return 0;
    if (dst.length === 4) {
      // A subnet's directed broadcast is not a host: never a temporary address.
      for (let i = 0; i < as.length; i++) if (isDirectedBroadcast(as[i]!, dst)) return 0;
    }
    return 2;
  }

  /** @internal Transport dispatch after the network layer accepted a packet. */
  dispatchTransport(tp: TransportPacket): void {
    const p = tp.protocol;
    if (p === IPPROTO_ICMP && tp.family === 4) return this.icmp4.receive(tp);
    if (p === IPPROTO_ICMPV6 && tp.family === 6) return this.icmp6.receive(tp);
    this.observeRaw(tp);
    const st = this.transportStatsFor(p);
    st.received++;
    const proto = this.protocols.get(p);
    if (!proto && !this.handlers.has(p)) {
      (tp.family === 4 ? this.ipv4Stats : this.ipv6Stats).unknownProtocol++;
      if (!tp.temporary) this.sendIcmpError(tp, 'protocol-unreachable');
      return;
    }
    const r = this.deliver(tp);
    if (r.handled) return;
    if (tp.temporary) {
      // Nothing claimed a packet to an address we only accepted promiscuously: answering would reveal a host.
      st.silentDrops++;
      return;
    }
    if (proto?.handleUnclaimed) this.guard(() => proto.handleUnclaimed!(tp));
  }

  /**
   * @internal Endpoint lookup, then the default handler. Reports the two facts
   * separately (see protocol.ts DeliveryResult).
   */
  deliver(tp: TransportPacket): DeliveryResult {
    const st = this.transportStatsFor(tp.protocol);
    const proto = this.protocols.get(tp.protocol);
    let taken = false;
    if (proto) {
      try {
        taken = proto.deliver(tp) === true;
      } catch (e) {
        this.noteCallbackError(e);
      }
    }
    if (taken) {
      st.endpointDelivered++;
      return DELIVERY_ENDPOINT;
    }
    const h = this.handlers.get(tp.protocol);
    let consumed = false;
    if (h) {
      try {
        consumed = h(tp) === true;
      } catch (e) {
        this.noteCallbackError(e);
      }
    }
    if (consumed) {
      st.consumedByHandler++;
      return DELIVERY_DEFAULT_CONSUMED;
    }
    st.unclaimed++;
    return DELIVERY_UNCLAIMED;
  }

  /** @internal Gives raw observers a copy. */
  observeRaw(tp: TransportPacket): void {
    const list = this.rawObservers.get(tp.protocol);
    if (!list) return;
    for (const obs of list.slice()) {
      const copy = tp.network.slice();
      const view: TransportPacket = {
        ...tp,
        network: copy,
        src: copy.subarray(tp.src.byteOffset - tp.network.byteOffset, tp.src.byteOffset - tp.network.byteOffset + tp.src.length),
        dst: copy.subarray(tp.dst.byteOffset - tp.network.byteOffset, tp.dst.byteOffset - tp.network.byteOffset + tp.dst.length),
        payload: copy.subarray(tp.networkHeaderLength),
      };
      this.guard(() => obs(view));
    }
  }

  transportStatsFor(protocol: number): TransportStats {
    let st = this.transportStats.get(protocol);
    if (!st) this.transportStats.set(protocol, (st = newTransportStats()));
    return st;
  }

  // ---- outbound ---------------------------------------------------------------------

  findRoute(family: IpFamily, dst: Uint8Array, src?: Uint8Array | null, nicId?: NicId, anySource?: boolean): Route | null {
    if (dst.length !== (family === 4 ? 4 : 16)) return null;
    let best: RouteEntry | null = null;
    for (const r of this.routes) {
      if (r.addr.length !== dst.length || (nicId !== undefined && r.nic !== nicId)) continue;
      if ((!best || r.bits > best.bits) && prefixMatch(r.addr, dst, r.bits)) best = r;
    }
    if (!best) return null;
    return this.routeVia(best.nic, family, dst, src, anySource);
  }

  /** @internal A route out of a given NIC (on-link), with the same source rules as findRoute. */
  routeVia(nicId: NicId, family: IpFamily, dst: Uint8Array, src?: Uint8Array | null, anySource?: boolean): Route | null {
    const nic = this.nics.get(nicId);
    if (!nic) return null;
    let source: Uint8Array | null = null;
    if (src) {
      if (src.length !== dst.length) return null;
      if (!anySource && !nic.spoofing && this.classifyDestination(nicId, src) !== 1) return null;
      source = src;
    } else {
      let fallback: Uint8Array | null = null;
      for (const a of nic.addresses) {
        if (a.addr.length !== dst.length) continue;
        if (prefixMatch(a.addr, dst, a.bits)) {
          source = a.addr;
          break;
        }
        fallback ??= a.addr;
      }
      source ??= fallback;
      if (!source) return null;
    }
    let mtu = nic.link.mtu;
    if (this.pathMtu.size) {
      const e = this.pathMtu.get(pmtuKey(dst));
      if (e) {
        if (e.expires <= this.clock) this.pathMtu.delete(pmtuKey(dst));
        else if (e.mtu < mtu) mtu = e.mtu;
      }
    }
    return { nic: nicId, family, src: source, dst, mtu };
  }

  /** Route for an answer to `tp`: from its destination, preferably by the route table on its NIC, else out of that NIC. */
  routeForReply(tp: TransportPacket): Route | null {
    return (
      this.findRoute(tp.family, tp.src, tp.dst, tp.nic, true) ?? this.routeVia(tp.nic, tp.family, tp.src, tp.dst, true)
    );
  }

  sendTransport(route: Route, protocol: number, buf: Uint8Array, offset: number, opts?: SendOptions): SendResult {
    const nic = this.nics.get(route.nic);
    const st = route.family === 4 ? this.ipv4Stats : this.ipv6Stats;
    if (!nic) {
      st.noRoute++;
      return 'no-route';
    }
    const write = nic.write;
    const ttl = opts?.ttl ?? this.defaultTtl;
    const r =
      route.family === 4
        ? sendIpv4(this, { src: route.src, dst: route.dst, protocol, mtu: route.mtu, ttl }, buf, offset, opts, write)
        : sendIpv6(this, { src: route.src, dst: route.dst, protocol, mtu: route.mtu, hopLimit: ttl }, buf, offset, opts, write);
    const ts = this.transportStatsFor(protocol);
    if (r === 'ok') ts.sent++;
    else ts.sendFailed++;
    if (r === 'too-big') this.notifyTooBig(route, protocol, buf, offset);
    return r;
  }

  /**
   * A local sender asked for a packet above the path MTU without
   * fragmentation: tell it like a Packet Too Big from the path would
   * (handleControl with the MTU), so it can shrink its segments.
   */
  private notifyTooBig(route: Route, protocol: number, buf: Uint8Array, offset: number): void {
    const proto = this.protocols.get(protocol);
    if (!proto?.handleControl) return;
    const ctl = {
      nic: route.nic,
      family: route.family,
      kind: 'packet-too-big' as const,
      icmpType: route.family === 4 ? 3 : 2,
      icmpCode: route.family === 4 ? 4 : 0,
      mtu: route.mtu,
      protocol,
      src: route.src,
      dst: route.dst,
      transport: buf.subarray(offset, Math.min(buf.length, offset + 8)),
      now: this.clock,
    };
    try {
      proto.handleControl(ctl);
    } catch (e) {
      this.noteCallbackError(e);
    }
  }

  /** Records a smaller path MTU toward dst (from ICMP "fragmentation needed" / "packet too big"). */
  updatePathMtu(dst: Uint8Array, mtu: number): void {
    const floor = dst.length === 4 ? 576 : 1280;
    const m = Math.max(floor, mtu);
    const key = pmtuKey(dst);
    const cur = this.pathMtu.get(key);
    if (cur && cur.mtu <= m && cur.expires > this.clock) return;
    if (this.pathMtu.size >= 4096 && !cur) {
      // Bounded: forget the oldest entry.
      const first = this.pathMtu.keys().next().value;
      if (first !== undefined) this.pathMtu.delete(first);
    }
    this.pathMtu.set(key, { mtu: m, expires: this.clock + this.pathMtuTimeoutMs });
  }

  isLocalAddress(family: IpFamily, addr: Uint8Array, nic?: NicId): boolean {
    if (addr.length !== (family === 4 ? 4 : 16)) return false;
    if (nic !== undefined) {
      const n = this.nics.get(nic);
      return n !== undefined && n.addresses.some((a) => addrEqual(a.addr, addr));
    }
    for (const n of this.nics.values()) for (const a of n.addresses) if (addrEqual(a.addr, addr)) return true;
    return false;
  }

  /** @internal ICMPv6 Parameter Problem about a received IPv6 packet. */
  sendParameterProblem(nic: NicId, pkt: Uint8Array, code: number, pointer: number, temporary: boolean): void {
    if (temporary) return;
    this.icmp6.sendParameterProblem(nic, pkt, code, pointer);
  }

  /** Rate-limited ICMP error about a received packet. Never for temporary destinations, multicast, or ICMP errors. */
  sendIcmpError(tp: TransportPacket, kind: 'port-unreachable' | 'protocol-unreachable'): boolean {
    return (tp.family === 4 ? this.icmp4 : this.icmp6).sendError(tp, kind);
  }

  /** @internal Token bucket on `now` shared by all ICMP errors. */
  takeErrorToken(): boolean {
    const now = this.clock;
    if (now > this.errorTokensAt) {
      this.errorTokens = Math.min(this.errorBurst, this.errorTokens + ((now - this.errorTokensAt) * this.errorRate) / 1000);
      this.errorTokensAt = now;
    }
    if (this.errorTokens < 1) return false;
    this.errorTokens -= 1;
    return true;
  }

  nextIpv4Id(): number {
    this.ipv4Id = (this.ipv4Id + 1) & 0xffff;
    return this.ipv4Id;
  }

  nextIpv6FragmentId(): number {
    this.ipv6FragId = (this.ipv6FragId + 1) >>> 0;
    return this.ipv6FragId;
  }

  now(): number {
    return this.clock;
  }

  // ---- time ---------------------------------------------------------------------------

  nextDeadline(): number | undefined {
    let min = minDefined(this.reassembler4.nextDeadline(), this.reassembler6.nextDeadline());
    for (const p of this.protocols.values()) if (p.nextDeadline) min = minDefined(min, p.nextDeadline());
    return min;
  }

  tick(now: number): void {
    if (now > this.clock) this.clock = now;
    this.reassembler4.tick(now, (h, first) => {
      this.ipv4Stats.reassemblyTimeouts++;
      this.icmp4.sendReassemblyTimeExceeded(h, first);
    });
    this.reassembler6.tick(now, (h, first) => {
      this.ipv6Stats.reassemblyTimeouts++;
      this.icmp6.sendReassemblyTimeExceeded(h.subarray(0, h.length - 1), first);
    });
    for (const p of this.protocols.values()) if (p.tick) this.guard(() => p.tick!(now));
  }

  // ---- helpers ----------------------------------------------------------------------------

  private nic(id: NicId): Nic {
    const n = this.nics.get(id);
    if (!n) throw new Error(`no NIC ${id}`);
    return n;
  }

  /** @internal Runs a user callback; a throw is counted, never propagated into packet processing. */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.noteCallbackError(e);
    }
  }

  guardBool(fn: () => boolean): boolean {
    try {
      return fn() === true;
    } catch (e) {
      this.noteCallbackError(e);
      return false;
    }
  }

  private noteCallbackError(e: unknown): void {
    this.callbackErrors++;
    this.lastCallbackError = e;
  }
}

function isDirectedBroadcast(a: NicAddress, dst: Uint8Array): boolean {
  if (a.addr.length !== 4 || a.bits >= 31 || !prefixMatch(a.addr, dst, a.bits)) return false;
  for (let bit = a.bits; bit < 32; bit++) if (!(dst[bit >> 3]! & (0x80 >> (bit & 7)))) return false;
  return true;
}

function pmtuKey(a: Uint8Array): string {
  let s = '';
  for (let i = 0; i < a.length; i++) s += String.fromCharCode(a[i]!);
  return s;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}
