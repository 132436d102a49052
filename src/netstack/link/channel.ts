/**
 * Channel endpoint (like gVisor's channel.Endpoint): inbound packets are
 * injected by the embedder, outbound packets wait in a bounded queue or go to
 * a callback. Pure L3: no link-layer addresses.
 */
import type { LinkDispatcher, LinkEndpoint } from './endpoint.js';

export interface ChannelOptions {
  mtu?: number;
  /** Outbound queue limit in packets (overflow is counted and dropped). */
  queueSize?: number;
}

export class ChannelEndpoint implements LinkEndpoint {
  readonly mtu: number;
  readonly queueSize: number;
  /** Called for every outbound packet instead of queueing it when set. */
  onOutbound: ((pkt: Uint8Array) => void) | null = null;
  /** Counters. */
  readonly stats = { injected: 0, written: 0, queueDropped: 0, notAttached: 0 };
  private dispatcher: LinkDispatcher | null = null;
  // Ring buffer so dequeuing costs nothing per packet.
  private readonly ring: (Uint8Array | undefined)[];
  private head = 0;
  private count = 0;
  private waiters: ((pkt: Uint8Array) => void)[] = [];

  constructor(opts: ChannelOptions = {}) {
    this.mtu = opts.mtu ?? 1420;
    this.queueSize = Math.max(1, opts.queueSize ?? 256);
    this.ring = new Array<Uint8Array | undefined>(this.queueSize);
  }

  attach(dispatcher: LinkDispatcher): void {
    this.dispatcher = dispatcher;
  }

  /** An inbound packet from the outside world; the stack owns it afterwards. */
  injectInbound(pkt: Uint8Array, now?: number): void {
    this.stats.injected++;
    if (!this.dispatcher) {
      this.stats.notAttached++;
      return;
    }
    this.dispatcher.deliverNetworkPacket(pkt, now);
  }

  writePacket(pkt: Uint8Array): boolean {
    this.stats.written++;
    if (this.onOutbound) {
      this.onOutbound(pkt);
      return true;
    }
    const w = this.waiters.shift();
    if (w) {
      w(pkt);
      return true;
    }
    if (this.count >= this.queueSize) {
      this.stats.queueDropped++;
      return false;
    }
    this.ring[(this.head + this.count) % this.queueSize] = pkt;
    this.count++;
    return true;
  }

  /** Next outbound packet or null. */
  read(): Uint8Array | null {
    if (this.count === 0) return null;
    const p = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.queueSize;
    this.count--;
    return p;
  }

  /** Resolves with the next outbound packet. */
  readAsync(): Promise<Uint8Array> {
    const p = this.read();
    if (p) return Promise.resolve(p);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** All queued outbound packets (drains the queue). */
  drain(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let p = this.read(); p; p = this.read()) out.push(p);
    return out;
  }

  get queued(): number {
    return this.count;
  }
}
