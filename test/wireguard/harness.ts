/**
 * Test harness: Devices on a simulated network under a fake clock. Datagrams
 * travel through a channel that can drop, duplicate, reorder and delay them
 * (seeded PRNG, so runs repeat exactly). Minutes of protocol time run in
 * milliseconds.
 */
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { Device, type Endpoint, type Peer } from '../../src/wireguard/device.js';
import { parseCidr } from '../../src/wireguard/allowedips.js';
import { mulberry32 } from '../../src/netstack/link/fault.js';

/** A start time on the Unix-epoch ms clock (TAI64N needs a realistic value). */
export const T0 = 1_764_000_000_000;

/** The seeded PRNG the fault-injecting link uses (mulberry32). */
export const prng = mulberry32;

export function randomBytesFrom(next: () => number): (n: number) => Uint8Array {
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
    return out;
  };
}

export interface ChannelOptions {
  loss?: number; // probability a datagram is dropped
  duplicate?: number; // probability it is delivered twice
  reorder?: number; // probability it gets extra delay (overtaken by later ones)
  delay?: number; // base one-way delay, ms
  jitter?: number; // extra uniform delay 0..jitter ms
}

export interface SentRecord {
  at: number;
  from: string;
  to: Endpoint;
  data: Uint8Array; // a copy
}

interface InFlight {
  at: number;
  seq: number;
  from: Endpoint;
  to: Endpoint;
  data: Uint8Array;
}

export class Node {
  readonly device: Device;
  readonly delivered: { at: number; packet: Uint8Array; peer: Peer }[] = [];
  readonly sent: SentRecord[] = [];
  readonly handshakes: { at: number; peer: Peer }[] = [];
  constructor(
    readonly sim: Sim,
    readonly name: string,
    public endpoint: Endpoint,
    crypto: CryptoProvider,
    seed: number,
    opts: { mtu?: number; underLoadThreshold?: number } = {},
  ) {
    this.device = new Device({
      crypto,
      mtu: opts.mtu,
      underLoadThreshold: opts.underLoadThreshold,
      random: randomBytesFrom(prng(seed)),
      io: {
        sendDatagram: (data, to) => sim.transmit(this, data, to),
        deliverPacket: (packet, peer) => this.delivered.push({ at: sim.now, packet: Uint8Array.from(packet), peer }),
        onHandshake: (peer) => this.handshakes.push({ at: sim.now, peer }),
      },
    });
  }

  /** Datagrams this node sent of a message type (1..4), optionally only keepalives. */
  sentOfType(type: number): SentRecord[] {
    return this.sent.filter((s) => s.data[0] === type);
  }
  keepalivesSent(): SentRecord[] {
    return this.sent.filter((s) => s.data[0] === 4 && s.data.length === 32);
  }
}

export class Sim {
  now = T0;
  readonly nodes: Node[] = [];
  private queue: InFlight[] = [];
  private seq = 0;
  private readonly rand: () => number;
  channel: ChannelOptions;
  /** Return false to drop a datagram (after it is recorded as sent). */
  filter: ((d: SentRecord) => boolean) | null = null;
  /** Datagrams delivered, in order. */
  readonly deliveredCount = { value: 0 };

  constructor(
    readonly crypto: CryptoProvider,
    opts: { seed?: number; channel?: ChannelOptions } = {},
  ) {
    this.rand = prng(opts.seed ?? 1);
    this.channel = opts.channel ?? { delay: 1 };
  }

  addNode(name: string, endpoint: Endpoint, seed: number, opts: { mtu?: number; underLoadThreshold?: number } = {}): Node {
    const n = new Node(this, name, endpoint, this.crypto, seed, opts);
    this.nodes.push(n);
    return n;
  }

  transmit(from: Node, data: Uint8Array, to: Endpoint): void {
    const rec: SentRecord = { at: this.now, from: from.name, to: { ...to }, data: Uint8Array.from(data) };
    from.sent.push(rec);
    if (this.filter && !this.filter(rec)) return;
    const c = this.channel;
    if (c.loss && this.rand() < c.loss) return;
    const copies = c.duplicate && this.rand() < c.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let delay = (c.delay ?? 0) + (c.jitter ? this.rand() * c.jitter : 0);
      if (c.reorder && this.rand() < c.reorder) delay += 5 + this.rand() * 20;
      this.inject(rec.data, { ...from.endpoint }, to, this.now + delay);
    }
  }

  /** Puts a datagram on the wire for delivery at `at` (default: now). */
  inject(data: Uint8Array, from: Endpoint, to: Endpoint, at = this.now): void {
    // Insert after everything due at or before `at` (stable for equal times).
    const item = { at, seq: this.seq++, from, to, data: Uint8Array.from(data) };
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.queue[mid]!.at <= at) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
  }

  private nodeAt(ep: Endpoint): Node | undefined {
    return this.nodes.find((n) => n.endpoint.address === ep.address && n.endpoint.port === ep.port);
  }

  /** Runs events (deliveries and timers) in time order up to now + ms. */
  advance(ms: number): void {
    this.runUntil(this.now + ms);
  }

  runUntil(target: number): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      let next = this.queue.length > 0 ? this.queue[0]!.at : Infinity;
      for (const n of this.nodes) next = Math.min(next, n.device.nextDeadline());
      if (next > target) {
        this.now = target;
        return;
      }
      this.now = Math.max(this.now, next);
      while (this.queue.length > 0 && this.queue[0]!.at <= this.now) {
        const d = this.queue.shift()!;
        const node = this.nodeAt(d.to);
        if (node) {
          this.deliveredCount.value++;
          node.device.receiveDatagram(d.data, d.from, this.now);
        }
      }
      for (const n of this.nodes) n.device.tick(this.now);
    }
    throw new Error('simulation did not settle');
  }
}

export function ipv4Packet(src: string, dst: string, payload: Uint8Array | number = 8, proto = 17): Uint8Array {
  const body = typeof payload === 'number' ? new Uint8Array(payload).map((_, i) => (i * 7 + 3) & 0xff) : payload;
  const p = new Uint8Array(20 + body.length);
  p[0] = 0x45;
  p[2] = p.length >> 8;
  p[3] = p.length & 0xff;
  p[8] = 64;
  p[9] = proto;
  p.set(parseCidr(src).ip, 12);
  p.set(parseCidr(dst).ip, 16);
  p.set(body, 20);
  return p;
}

export function ipv6Packet(src: string, dst: string, payload: Uint8Array | number = 8, nextHeader = 17): Uint8Array {
  const body = typeof payload === 'number' ? new Uint8Array(payload).map((_, i) => (i * 5 + 1) & 0xff) : payload;
  const p = new Uint8Array(40 + body.length);
  p[0] = 0x60;
  p[4] = body.length >> 8;
  p[5] = body.length & 0xff;
  p[6] = nextHeader;
  p[7] = 64;
  p.set(parseCidr(src).ip, 8);
  p.set(parseCidr(dst).ip, 24);
  p.set(body, 40);
  return p;
}

export function keyFrom(seed: number, crypto: CryptoProvider): { priv: Uint8Array; pub: Uint8Array } {
  const priv = randomBytesFrom(prng(seed))(32);
  priv[0]! &= 248;
  priv[31] = (priv[31]! & 127) | 64;
  return { priv, pub: crypto.publicKey(priv) };
}

export interface Pair {
  sim: Sim;
  a: Node;
  b: Node;
  peerB: Peer; // A's view of B
  peerA: Peer; // B's view of A
}

/**
 * A (10.0.0.1, 192.0.2.1:51820) and B (10.0.0.2 + fd00::2, 192.0.2.2:51820),
 * each the other's peer; A knows B's endpoint, B learns A's from the handshake
 * unless `bKnowsA`.
 */
export function makePair(
  crypto: CryptoProvider,
  opts: { seed?: number; channel?: ChannelOptions; bKnowsA?: boolean; underLoadThreshold?: number; psk?: Uint8Array; mtu?: number } = {},
): Pair {
  const sim = new Sim(crypto, { seed: opts.seed ?? 7, channel: opts.channel });
  const a = sim.addNode('A', { address: '192.0.2.1', port: 51820 }, 101, { mtu: opts.mtu });
  const b = sim.addNode('B', { address: '192.0.2.2', port: 51820 }, 202, { underLoadThreshold: opts.underLoadThreshold, mtu: opts.mtu });
  const ka = keyFrom(11, crypto);
  const kb = keyFrom(22, crypto);
  a.device.setPrivateKey(ka.priv);
  b.device.setPrivateKey(kb.priv);
  const peerB = a.device.addPeer(kb.pub);
  const peerA = b.device.addPeer(ka.pub);
  if (opts.psk) {
    peerA.setPresharedKey(opts.psk);
    peerB.setPresharedKey(opts.psk);
  }
  peerB.setEndpoint(b.endpoint);
  if (opts.bKnowsA) peerA.setEndpoint(a.endpoint);
  const c = (s: string) => parseCidr(s);
  a.device.allowedIPs.insert(c('10.0.0.2/32').ip, 32, peerB);
  a.device.allowedIPs.insert(c('fd00::2/128').ip, 128, peerB);
  b.device.allowedIPs.insert(c('10.0.0.1/32').ip, 32, peerA);
  b.device.allowedIPs.insert(c('fd00::1/128').ip, 128, peerA);
  return { sim, a, b, peerB, peerA };
}
