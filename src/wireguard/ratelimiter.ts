/**
 * Per-source token bucket for handshake messages under load (wireguard-go's
 * ratelimiter): 20 per second with a burst of 5 by default, IPv4 keyed by
 * address, IPv6 by /64. Sans-I/O: time comes in as `now` (ms); entries idle
 * for more than a second (a full bucket is then indistinguishable from a new
 * one) are swept lazily at most once a second. The table is bounded: when it
 * is full of live entries, new sources are denied rather than growing it.
 */

export interface RateLimiterOptions {
  /** Sustained rate per source, packets per second (default 20). */
  perSecond?: number;
  /** Bucket size, packets (default 5). */
  burst?: number;
  /** Maximum tracked sources (default 65536). */
  maxEntries?: number;
}

interface Bucket {
  /** Tokens scaled by 1000: one packet costs 1000, a ms adds `perSecond`. */
  tokens: number;
  last: number;
}

const PACKET_COST = 1000;
const STALE_MS = 1000;
const GC_INTERVAL_MS = 1000;

export class RateLimiter {
  private readonly perSecond: number;
  private readonly maxTokens: number;
  private readonly maxEntries: number;
  private readonly v4 = new Map<number, Bucket>();
  private readonly v6 = new Map<string, Bucket>();
  private lastGc = -Infinity;

  constructor(opts: RateLimiterOptions = {}) {
    this.perSecond = opts.perSecond ?? 20;
    this.maxTokens = PACKET_COST * (opts.burst ?? 5);
    this.maxEntries = opts.maxEntries ?? 65536;
    if (!(this.perSecond > 0) || !(this.maxTokens >= PACKET_COST) || !(this.maxEntries >= 1)) {
      throw new RangeError('RateLimiter: perSecond > 0, burst >= 1 and maxEntries >= 1 required');
    }
  }

  /** Number of tracked sources. */
  get size(): number {
    return this.v4.size + this.v6.size;
  }

  /** Whether a packet from `ip` (4 or 16 bytes) at time `now` (ms) may proceed. */
  allow(ip: Uint8Array, now: number): boolean {
    if (now - this.lastGc >= GC_INTERVAL_MS) this.gc(now);
    let bucket: Bucket | undefined;
    let key4 = 0;
    let key6 = '';
    if (ip.length === 4) {
      key4 = ((ip[0]! << 24) | (ip[1]! << 16) | (ip[2]! << 8) | ip[3]!) >>> 0;
      bucket = this.v4.get(key4);
    } else if (ip.length === 16) {
      const hi = ((ip[0]! << 24) | (ip[1]! << 16) | (ip[2]! << 8) | ip[3]!) >>> 0;
      const lo = ((ip[4]! << 24) | (ip[5]! << 16) | (ip[6]! << 8) | ip[7]!) >>> 0;
      key6 = `${hi}:${lo}`;
      bucket = this.v6.get(key6);
    } else {
      return false;
    }
    if (bucket === undefined) {
      if (this.size >= this.maxEntries) return false;
      bucket = { tokens: this.maxTokens - PACKET_COST, last: now };
      if (ip.length === 4) this.v4.set(key4, bucket);
      else this.v6.set(key6, bucket);
      return true;
    }
    const elapsed = now - bucket.last;
    if (elapsed > 0) {
      bucket.tokens = Math.min(this.maxTokens, bucket.tokens + elapsed * this.perSecond);
      bucket.last = now;
    }
    if (bucket.tokens >= PACKET_COST) {
      bucket.tokens -= PACKET_COST;
      return true;
    }
    return false;
  }

  /** Forgets every source. */
  clear(): void {
    this.v4.clear();
    this.v6.clear();
  }

  private gc(now: number): void {
    this.lastGc = now;
    for (const [k, b] of this.v4) if (now - b.last > STALE_MS) this.v4.delete(k);
    for (const [k, b] of this.v6) if (now - b.last > STALE_MS) this.v6.delete(k);
  }
}
