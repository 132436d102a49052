/**
 * A faulty link for tests and demos: drops, duplicates, reorders and delays
 * packets with a seeded PRNG, on a fake clock. Deterministic for a given seed
 * and call sequence.
 */

export interface FaultOptions {
  seed: number;
  /** Probability [0,1] that a packet is dropped. */
  loss?: number;
  /** Probability that a packet is delivered twice. */
  duplicate?: number;
  /** Probability that a packet is held back and delivered after the next one. */
  reorder?: number;
  /** Base one-way delay in ms. */
  delayMs?: number;
  /** Extra uniformly random delay in [0, jitterMs). */
  jitterMs?: number;
  /** Bound on packets in flight; beyond it packets are dropped (counted). */
  maxInFlight?: number;
}

/** mulberry32: small, fast, good enough for test fault injection. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface InFlight {
  at: number;
  seq: number;
  pkt: Uint8Array;
}

export class FaultyLink {
  readonly stats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, overflow: 0 };
  private readonly rand: () => number;
  private readonly o: Required<FaultOptions>;
  private queue: InFlight[] = [];
  private held: Uint8Array | null = null;
  private seq = 0;

  constructor(opts: FaultOptions, private readonly deliver: (pkt: Uint8Array) => void) {
    this.o = {
      seed: opts.seed,
      loss: opts.loss ?? 0,
      duplicate: opts.duplicate ?? 0,
      reorder: opts.reorder ?? 0,
      delayMs: opts.delayMs ?? 0,
      jitterMs: opts.jitterMs ?? 0,
      maxInFlight: opts.maxInFlight ?? 10_000,
    };
    this.rand = mulberry32(opts.seed);
  }

  /** Offer a packet at time `now`. Zero-delay packets are delivered immediately. */
  send(pkt: Uint8Array, now: number): void {
    this.stats.sent++;
    if (this.rand() < this.o.loss) {
      this.stats.lost++;
      return;
    }
    if (this.held === null && this.rand() < this.o.reorder) {
      // Hold this one; it goes out right after the next packet.
      this.stats.reordered++;
      this.held = pkt;
      return;
    }
    this.enqueue(pkt, now);
    if (this.rand() < this.o.duplicate) {
      this.stats.duplicated++;
      this.enqueue(pkt.slice(), now);
    }
    if (this.held) {
      const h = this.held;
      this.held = null;
      this.enqueue(h, now);
    }
    this.tick(now);
  }

  /** Deliver everything due at or before `now`, in due-time order. */
  tick(now: number): void {
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const f = this.queue.shift()!;
      this.stats.delivered++;
      this.deliver(f.pkt);
    }
  }

  /** Release a packet held for reordering even if no later packet came. */
  flushHeld(now: number): void {
    if (this.held) {
      const h = this.held;
      this.held = null;
      this.enqueue(h, now);
      this.tick(now);
    }
  }

  /** Earliest due time of a queued packet, or undefined. */
  nextDeadline(): number | undefined {
    return this.queue.length ? this.queue[0]!.at : undefined;
  }

  get inFlight(): number {
    return this.queue.length + (this.held ? 1 : 0);
  }

  private enqueue(pkt: Uint8Array, now: number): void {
    if (this.queue.length >= this.o.maxInFlight) {
      this.stats.overflow++;
      return;
    }
    const at = now + this.o.delayMs + (this.o.jitterMs > 0 ? Math.floor(this.rand() * this.o.jitterMs) : 0);
    const item = { at, seq: this.seq++, pkt };
    // Insert keeping (at, seq) order; queues are short in tests.
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.at > at) i--;
    this.queue.splice(i, 0, item);
  }
}
