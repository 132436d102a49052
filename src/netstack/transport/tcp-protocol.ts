/**
 * Glue between the TCP layer (transport/tcp, H5) and the stack: implements
 * `TransportProtocol` over a `TcpStack`, routing its segments through
 * `TransportStack.sendTransport`. Register with
 * `stack.registerTransportProtocol(6, new TcpProtocol())`; a TCP Forwarder is
 * installed as the stack's default handler for protocol 6 with
 * `stack.setTransportProtocolHandler(6, tcp.forwarderHandler(handler))`.
 */
import { TcpStack, type TcpForwarderHandler, type TcpLink, type TcpStackOptions, type ListenOptions, type TcpListener } from './tcp/stack.js';
import type { TcpEndpoint } from './tcp/endpoint.js';
import type { TcpConfig } from './tcp/config.js';
import {
  IPPROTO_TCP,
  type IpFamily,
  type TransportControl,
  type TransportHandler,
  type TransportPacket,
  type TransportProtocol,
  type TransportStack,
} from './protocol.js';

export interface TcpConnectOptions {
  remoteAddress: Uint8Array;
  remotePort: number;
  /** Source address; chosen by the route when omitted. */
  localAddress?: Uint8Array;
  localPort?: number;
  config?: Partial<TcpConfig>;
}

export class TcpProtocol implements TransportProtocol {
  readonly protocol = IPPROTO_TCP;
  readonly tcp: TcpStack;
  readonly stats = { noRoute: 0, sendFailed: 0 };
  private stack: TransportStack | null = null;

  constructor(opts: TcpStackOptions = {}) {
    const link: TcpLink = {
      send: (_ep, src, dst, buf, offset) => this.send(src, dst, buf, offset),
      mtuPayload: (local, remote) => this.mtuPayload(local, remote),
    };
    this.tcp = new TcpStack(link, opts);
  }

  attach(stack: TransportStack): void {
    this.stack = stack;
  }

  deliver(tp: TransportPacket): boolean {
    return this.tcp.deliver(tp.src, tp.dst, tp.payload, tp.now, tp.temporary);
  }

  /** Nothing owns the segment and the destination is an own address: RST. */
  handleUnclaimed(tp: TransportPacket): void {
    this.tcp.replyReset(tp.src, tp.dst, tp.payload);
  }

  handleControl(_ctl: TransportControl): void {
    // The stack already lowered the path MTU; later segments follow route.mtu
    // through IPv4 fragmentation / IPv6 source fragmentation if needed.
  }

  nextDeadline(): number | undefined {
    return this.tcp.nextDeadline();
  }

  tick(now: number): void {
    this.tcp.tick(now);
  }

  /** A default handler that offers SYNs no listener took to `handler` (the TCP Forwarder). */
  forwarderHandler(handler: TcpForwarderHandler): TransportHandler {
    return (tp) => this.tcp.forward(tp.src, tp.dst, tp.payload, tp.now, tp.temporary, handler);
  }

  /** Active open; the source address comes from the route unless given. */
  connect(opts: TcpConnectOptions): TcpEndpoint {
    const stack = this.requireStack();
    const family: IpFamily = opts.remoteAddress.length === 4 ? 4 : 6;
    let local = opts.localAddress;
    if (!local) {
      const route = stack.findRoute(family, opts.remoteAddress);
      if (!route) throw new Error('no route to host');
      local = route.src;
    }
    return this.tcp.connect(
      { localAddress: local, localPort: opts.localPort, remoteAddress: opts.remoteAddress, remotePort: opts.remotePort, config: opts.config },
      stack.now(),
    );
  }

  listen(port: number, opts?: ListenOptions): TcpListener {
    return this.tcp.listen(port, opts);
  }

  private send(src: Uint8Array, dst: Uint8Array, buf: Uint8Array, offset: number): void {
    const stack = this.stack;
    if (!stack) return;
    const family: IpFamily = dst.length === 4 ? 4 : 6;
    // TCP answers from the address the peer used, which may be temporary (forwarder-accepted).
    const route = stack.findRoute(family, dst, src, undefined, true);
    if (!route) {
      this.stats.noRoute++;
      return;
    }
    if (stack.sendTransport(route, IPPROTO_TCP, buf, offset) !== 'ok') this.stats.sendFailed++;
  }

  private mtuPayload(local: Uint8Array, remote: Uint8Array): number {
    const family: IpFamily = remote.length === 4 ? 4 : 6;
    const route = this.stack?.findRoute(family, remote, local, undefined, true);
    const mtu = route ? route.mtu : family === 4 ? 576 : 1280;
    return mtu - (family === 4 ? 20 : 40);
  }

  private requireStack(): TransportStack {
    if (!this.stack) throw new Error('TcpProtocol is not registered with a stack');
    return this.stack;
  }
}
