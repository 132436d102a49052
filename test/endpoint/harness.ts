/**
 * In-process netstack endpoints joined by a fake UDP network and a fake clock.
 * Each endpoint has a network address "10.255.0.N":51820; datagrams are
 * copied into a FIFO and delivered by `pump()`.
 */
import { nodeCrypto } from '../../src/crypto/index.js';
import { NetstackEndpoint, type NetstackEndpointOptions } from '../../src/endpoint/netstack-endpoint.js';
import { parseAddress, parsePrefix } from '../../src/netstack/addr.js';
import type { Peer } from '../../src/wireguard/peer.js';
import type { IcmpEchoEndpoint } from '../../src/netstack/transport/icmp.js';

export const T0 = 1_700_000_000_000;

interface Datagram {
  data: Uint8Array;
  from: { address: string; port: number };
  to: { address: string; port: number };
}

export class Node {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly handshakes: Peer[] = [];
  ep!: NetstackEndpoint;
  constructor(
    readonly net: FakeNet,
    readonly name: string,
    readonly udp: { address: string; port: number },
  ) {
    this.privateKey = nodeCrypto.generatePrivateKey();
    this.publicKey = nodeCrypto.publicKey(this.privateKey);
  }

  /** Adds `other` as a peer with these AllowedIPs. */
  addPeer(other: Node, allowed: string[]): Peer {
    const p = this.ep.device.addPeer(other.publicKey);
    for (const a of allowed) {
      const pre = parsePrefix(a);
      this.ep.device.allowedIPs.insert(pre.addr, pre.bits, p);
    }
    p.setEndpoint(other.udp);
    return p;
  }

  peerOf(other: Node): Peer {
    return this.ep.device.getPeer(other.publicKey)!;
  }
}

export class FakeNet {
  now = T0;
  readonly nodes = new Map<string, Node>();
  private queue: Datagram[] = [];
  delivered = 0;

  node(name: string, index: number, opts: Omit<NetstackEndpointOptions, 'sendDatagram'>): Node {
    const n = new Node(this, name, { address: `10.255.0.${index}`, port: 51820 });
    n.ep = new NetstackEndpoint({
      crypto: nodeCrypto,
      ...opts,
      sendDatagram: (data, to) => this.queue.push({ data: data.slice(), from: n.udp, to }),
      onHandshake: (peer) => n.handshakes.push(peer),
      stack: { seed: index },
    });
    n.ep.device.setPrivateKey(n.privateKey);
    n.ep.device.listenPort = 51820;
    n.ep.tick(this.now);
    this.nodes.set(n.udp.address, n);
    return n;
  }

  /** Delivers queued datagrams (and whatever they cause) until quiet. */
  pump(limit = 10_000): void {
    for (let i = 0; i < limit && this.queue.length > 0; i++) {
      const d = this.queue.shift()!;
      const n = this.nodes.get(d.to.address);
      if (!n) continue;
      this.delivered++;
      n.ep.receiveDatagram(d.data, d.from, this.now);
    }
  }

  /** Advances the clock, running every due deadline in order, pumping in between. */
  advance(ms: number, step = 1000): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + step);
      for (const n of this.nodes.values()) n.ep.tick(this.now);
      this.pump();
    }
  }

  drop(): void {
    this.queue = [];
  }
}

/** Pings `dst` from `from`'s stack; returns how many replies came back. */
export function ping(net: FakeNet, from: Node, echo: IcmpEchoEndpoint, dst: string, count = 1): number {
  let replies = 0;
  const d = parseAddress(dst);
  const prev = echo.onMessage;
  echo.onMessage = (m) => {
    if (m.type === 0 || m.type === 129) replies++;
  };
  for (let seq = 0; seq < count; seq++) {
    from.ep.advance(net.now);
    echo.send(d, seq, new TextEncoder().encode(`ping ${seq}`));
    net.pump();
  }
  // Handshakes triggered by the ping finish within a few round trips.
  net.advance(100, 10);
  echo.onMessage = prev;
  return replies;
}
