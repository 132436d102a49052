/**
 * TCP for a netstack endpoint: registers the TCP helper's TcpProtocol on the
 * endpoint's stack and offers the connect/listen operations the Node sockets
 * use (net.ts TcpOps).
 */
import type { NetstackEndpoint } from './netstack-endpoint.js';
import { TcpProtocol } from '../netstack/transport/tcp/protocol.js';
import type { TcpStack, TcpStackOptions } from '../netstack/transport/tcp/stack.js';
import type { TcpEndpoint } from '../netstack/transport/tcp/endpoint.js';
import { IPPROTO_TCP } from '../netstack/transport/protocol.js';
import type { TcpListenHandle, TcpOps } from '../node/net.js';

export interface TcpOpsWithStack extends TcpOps {
  readonly protocol: TcpProtocol;
  readonly tcp: TcpStack;
}

function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Registers TCP on the endpoint's stack and returns the socket operations. */
export function createTcpOps(endpoint: NetstackEndpoint, opts: TcpStackOptions = {}): TcpOpsWithStack {
  const protocol = new TcpProtocol(opts);
  endpoint.stack.registerTransportProtocol(IPPROTO_TCP, protocol);
  const listenOn = (port: number, address: Uint8Array | null, onAccept: (ep: TcpEndpoint) => void): TcpListenHandle => {
    // A listener on a specific address the interface does not own (a virtual
    // service address in promiscuous mode) takes SYNs to that temporary address.
    const fam = address ? (address.length === 4 ? 4 : 6) : 4;
    const acceptTemporary = address !== null && !endpoint.stack.isLocalAddress(fam, address);
    const l = protocol.listen(port, { address, acceptTemporary });
    l.onConnection = onAccept;
    return { port: l.port, close: () => l.close() };
  };
  return {
    protocol,
    get tcp() {
      return protocol.core;
    },
    connect(_family: 4 | 6, dst: Uint8Array, port: number): TcpEndpoint {
      try {
        return protocol.connect({ remoteAddress: dst, remotePort: port });
      } catch (e) {
        const m = (e as Error).message;
        throw coded(`connect ${/no route/.test(m) ? 'ENETUNREACH' : 'EADDRNOTAVAIL'}: ${m}`, /no route/.test(m) ? 'ENETUNREACH' : 'EADDRNOTAVAIL');
      }
    },
    listen(port: number, address: Uint8Array | null, onAccept: (ep: TcpEndpoint) => void): TcpListenHandle {
      if (port !== 0) {
        try {
          return listenOn(port, address, onAccept);
        } catch (e) {
          throw coded(`listen EADDRINUSE: ${(e as Error).message}`, 'EADDRINUSE');
        }
      }
      // Port 0: an ephemeral port nobody listens on.
      for (let i = 0; i < 1000; i++) {
        try {
          return listenOn(49152 + Math.floor(Math.random() * 16384), address, onAccept);
        } catch {
          /* taken: try another */
        }
      }
      throw coded('listen EADDRINUSE: no free port', 'EADDRINUSE');
    },
  };
}
