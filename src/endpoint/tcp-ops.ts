/**
 * Plugs H5's sans-I/O TcpStack into the netstack Stack as transport protocol
 * 6, and offers the connect/listen operations the Node sockets use.
 *
 * NOTE: a thin adapter written while the TCP helper's own Stack adapter was
 * not there yet; if `src/netstack/transport/tcp/protocol.ts` appears, this
 * should delegate to it.
 */
import type { NetstackEndpoint } from './netstack-endpoint.js';
import { NIC_ID } from './netstack-endpoint.js';
import { TcpStack, type TcpLink, type TcpStackOptions } from '../netstack/transport/tcp/stack.js';
import type { TcpEndpoint } from '../netstack/transport/tcp/endpoint.js';
import { IPPROTO_TCP, type TransportPacket, type TransportProtocol, type TransportStack } from '../netstack/transport/protocol.js';
import type { TcpListenHandle, TcpOps } from '../node/net.js';

class TcpTransport implements TransportProtocol {
  readonly protocol = IPPROTO_TCP;
  readonly tcp: TcpStack;
  private stack: TransportStack | null = null;
  /** Segments the stack could not route or send. */
  sendFailures = 0;

  constructor(opts: TcpStackOptions) {
    const link: TcpLink = {
      send: (_ep, src, dst, buf, offset) => {
        const s = this.stack;
        if (!s) return;
        const family = dst.length === 4 ? 4 : 6;
        const route = s.findRoute(family, dst, src);
        if (!route || s.sendTransport(route, IPPROTO_TCP, buf, offset) !== 'ok') this.sendFailures++;
      },
      mtuPayload: (local, remote) => {
        const family = remote.length === 4 ? 4 : 6;
        const route = this.stack?.findRoute(family, remote, local);
        const mtu = route ? route.mtu : 1280;
        return mtu - (family === 4 ? 20 : 40);
      },
    };
    this.tcp = new TcpStack(link, opts);
  }

  attach(stack: TransportStack): void {
    this.stack = stack;
  }

  deliver(pkt: TransportPacket): boolean {
    return this.tcp.deliver(pkt.src, pkt.dst, pkt.payload, pkt.now, pkt.temporary);
  }

  handleUnclaimed(pkt: TransportPacket): void {
    // Only called for our own addresses: "closed port" is the honest answer there.
    this.tcp.replyReset(pkt.src, pkt.dst, pkt.payload);
  }

  nextDeadline(): number | undefined {
    return this.tcp.nextDeadline();
  }

  tick(now: number): void {
    this.tcp.tick(now);
  }
}

export interface TcpOpsWithStack extends TcpOps {
  readonly tcp: TcpStack;
}

/** Registers TCP on the endpoint's stack and returns the socket operations. */
export function createTcpOps(endpoint: NetstackEndpoint, opts: TcpStackOptions = {}): TcpOpsWithStack {
  const transport = new TcpTransport(opts);
  endpoint.stack.registerTransportProtocol(IPPROTO_TCP, transport);
  const tcp = transport.tcp;
  return {
    tcp,
    connect(family: 4 | 6, dst: Uint8Array, port: number): TcpEndpoint {
      const route = endpoint.stack.findRoute(family, dst, null, NIC_ID);
      if (!route) throw Object.assign(new Error(`connect ENETUNREACH: no route`), { code: 'ENETUNREACH' });
      return tcp.connect({ localAddress: route.src, remoteAddress: dst, remotePort: port }, Math.max(endpoint.stack.now(), endpoint.now));
    },
    listen(port: number, address: Uint8Array | null, onAccept: (ep: TcpEndpoint) => void): TcpListenHandle {
      let p = port;
      if (p === 0) {
        // An ephemeral port nobody listens on.
        for (let i = 0; i < 1000; i++) {
          const cand = 49152 + Math.floor(Math.random() * 16384);
          try {
            const l = tcp.listen(cand, { address });
            l.onConnection = onAccept;
            return { port: cand, close: () => l.close() };
          } catch {
            /* taken: try another */
          }
        }
        throw Object.assign(new Error('no free port'), { code: 'EADDRINUSE' });
      }
      let l;
      try {
        l = tcp.listen(p, { address });
      } catch (e) {
        throw Object.assign(new Error(`listen EADDRINUSE: ${(e as Error).message}`), { code: 'EADDRINUSE' });
      }
      l.onConnection = onAccept;
      p = l.port;
      return { port: p, close: () => l.close() };
    },
  };
}
