/**
 * Plugs the TCP core (TcpStack) into the netstack as its IP protocol 6
 * transport: inbound packets from the network layer, outbound segments
 * through route lookup and `sendTransport` (the IP header is written into the
 * segment's headroom, no copy). Also the TCP Forwarder, installed like the
 * ICMP/UDP ones: `stack.setTransportProtocolHandler(IPPROTO_TCP, fwd.handlePacket)`.
 */
import {
  IPPROTO_TCP,
  type IpFamily,
  type Route,
  type TransportControl,
  type TransportPacket,
  type TransportProtocol,
  type TransportStack,
} from '../protocol.js';
import type { TcpConfig } from './config.js';
import type { TcpEndpoint } from './endpoint.js';
import {
  TcpStack,
  type ListenOptions,
  type TcpForwarderHandler,
  type TcpLink,
  type TcpListener,
  type TcpStackOptions,
} from './stack.js';

interface CachedRoute {
  route: Route;
}

export interface TcpProtocolStats {
  sendNoRoute: number;
  sendFailed: number;
  controlMessages: number;
}

export interface TcpConnectOptions {
  remoteAddress: Uint8Array;
  remotePort: number;
  /** Must be an own address; chosen by the route when omitted. */
  localAddress?: Uint8Array;
  localPort?: number;
  config?: Partial<TcpConfig>;
}

export class TcpProtocol implements TransportProtocol {
  readonly protocol = IPPROTO_TCP;
  readonly stats: TcpProtocolStats = { sendNoRoute: 0, sendFailed: 0, controlMessages: 0 };
  private net: TransportStack | null = null;
  private tcp: TcpStack | null = null;

  constructor(private readonly options: TcpStackOptions = {}) {}

  attach(stack: TransportStack): void {
    this.net = stack;
    const link: TcpLink = {
      send: (ep, src, dst, buf, offset) => this.send(ep, src, dst, buf, offset),
      mtuPayload: (local, remote) => this.mtuPayload(local, remote),
    };
    this.tcp = new TcpStack(link, { clock: () => stack.now(), ...this.options });
  }

  /** The TCP core (connection table, listeners, stats). */
  get core(): TcpStack {
    if (!this.tcp) throw new Error('TcpProtocol is not registered with a stack');
    return this.tcp;
  }

  deliver(pkt: TransportPacket): boolean {
    return this.core.deliver(pkt.src, pkt.dst, pkt.payload, pkt.now, pkt.temporary);
  }

  handleUnclaimed(pkt: TransportPacket): void {
    if (pkt.temporary) return; // never reveal a host we only accepted promiscuously
    this.core.replyReset(pkt.src, pkt.dst, pkt.payload);
  }

  handleControl(ctl: TransportControl): void {
    // Unreachable errors are soft errors for TCP (RFC 1122 §4.2.3.9): the
    // retransmission timer decides. A smaller path MTU shrinks the segments
    // of the connection the quoted segment belongs to.
    this.stats.controlMessages++;
    if (ctl.kind !== 'packet-too-big' || ctl.mtu <= 0 || ctl.transport.length < 4) return;
    const t = ctl.transport;
    const localPort = (t[0]! << 8) | t[1]!;
    const remotePort = (t[2]! << 8) | t[3]!;
    const ipHeader = ctl.family === 4 ? 20 : 40;
    const ep = this.core.lookup(ctl.src, localPort, ctl.dst, remotePort);
    if (ep) ep.linkData = null; // the cached route carries the old MTU
    this.core.pathMtuChanged(ctl.src, localPort, ctl.dst, remotePort, ctl.mtu - ipHeader);
  }

  nextDeadline(): number | undefined {
    return this.tcp?.nextDeadline();
  }

  tick(now: number): void {
    this.tcp?.tick(now);
  }

  /** Active open. The local address defaults to the route's source. */
  connect(opts: TcpConnectOptions): TcpEndpoint {
    const net = this.net;
    if (!net) throw new Error('TcpProtocol is not registered with a stack');
    const family: IpFamily = opts.remoteAddress.length === 4 ? 4 : 6;
    let local = opts.localAddress;
    if (local) {
      if (!net.isLocalAddress(family, local)) throw new Error('connect: local address is not assigned to this stack');
    } else {
      const r = net.findRoute(family, opts.remoteAddress);
      if (!r) throw new Error('connect: no route to host');
      local = r.src;
    }
    return this.core.connect({
      localAddress: local,
      localPort: opts.localPort,
      remoteAddress: opts.remoteAddress,
      remotePort: opts.remotePort,
      config: opts.config,
    });
  }

  listen(port: number, opts?: ListenOptions): TcpListener {
    return this.core.listen(port, opts);
  }

  private send(ep: TcpEndpoint | null, src: Uint8Array, dst: Uint8Array, buf: Uint8Array, offset: number): void {
    const net = this.net!;
    let route: Route | null = null;
    const cached = ep ? (ep.linkData as CachedRoute | null) : null;
    if (cached) route = cached.route;
    else {
      const family: IpFamily = dst.length === 4 ? 4 : 6;
      // Endpoints only ever have own addresses or addresses the NIC accepted
      // (promiscuous), so answering from the latter is allowed here.
      route = net.findRoute(family, dst, src) ?? net.findRoute(family, dst, src, undefined, true);
      if (!route) {
        this.stats.sendNoRoute++;
        return;
      }
      if (ep) ep.linkData = { route } satisfies CachedRoute;
    }
    const r = net.sendTransport(route, IPPROTO_TCP, buf, offset);
    if (r !== 'ok') {
      this.stats.sendFailed++;
      if (r === 'no-route' && ep) ep.linkData = null; // look the route up again next time
    }
  }

  private mtuPayload(local: Uint8Array, remote: Uint8Array): number {
    const family: IpFamily = remote.length === 4 ? 4 : 6;
    const ipHeader = family === 4 ? 20 : 40;
    const net = this.net;
    const r = net ? (net.findRoute(family, remote, local) ?? net.findRoute(family, remote, local, undefined, true)) : null;
    return (r ? r.mtu : family === 4 ? 576 : 1280) - ipHeader;
  }
}

/**
 * gVisor-style TCP Forwarder: install `handlePacket` as the stack's TCP
 * default handler; the handler sees each SYN no listener claimed and accepts
 * (gets an endpoint), rejects (RST) or drops it — now or later.
 */
export class TcpForwarder {
  constructor(
    private readonly tcp: TcpProtocol,
    private readonly handler: TcpForwarderHandler,
  ) {}

  readonly handlePacket = (pkt: TransportPacket): boolean =>
    this.tcp.core.forward(pkt.src, pkt.dst, pkt.payload, pkt.now, pkt.temporary, this.handler);
}
