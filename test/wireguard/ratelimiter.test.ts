import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/wireguard/ratelimiter.js';

const v4 = (a: number, b: number, c: number, d: number): Uint8Array => new Uint8Array([a, b, c, d]);
function v6(last: number, sixtyFour = 0): Uint8Array {
  const ip = new Uint8Array(16);
  ip[0] = 0x20; ip[1] = 0x01; ip[7] = sixtyFour; ip[15] = last;
  return ip;
}

describe('RateLimiter', () => {
  it('burst of 5, then 20 per second', () => {
    const rl = new RateLimiter();
    const ip = v4(192, 0, 2, 1);
    const t0 = 1_000_000;
    for (let i = 0; i < 5; i++) expect(rl.allow(ip, t0)).toBe(true);
    expect(rl.allow(ip, t0)).toBe(false);
    expect(rl.allow(ip, t0 + 49)).toBe(false);
    expect(rl.allow(ip, t0 + 50)).toBe(true); // one token per 50 ms
    expect(rl.allow(ip, t0 + 50)).toBe(false);
    // over one steady second: exactly 20 more
    let allowed = 0;
    for (let ms = 51; ms <= 1050; ms++) if (rl.allow(ip, t0 + ms)) allowed++;
    expect(allowed).toBe(20);
    // a long pause refills only up to the burst
    let burst = 0;
    for (let i = 0; i < 10; i++) if (rl.allow(ip, t0 + 100_000)) burst++;
    expect(burst).toBe(5);
  });

  it('sources are independent; IPv6 grouped by /64', () => {
    const rl = new RateLimiter();
    for (let i = 0; i < 5; i++) expect(rl.allow(v4(10, 0, 0, 1), 0)).toBe(true);
    expect(rl.allow(v4(10, 0, 0, 1), 0)).toBe(false);
    expect(rl.allow(v4(10, 0, 0, 2), 0)).toBe(true);
    for (let i = 0; i < 5; i++) expect(rl.allow(v6(i), 0)).toBe(true); // five hosts, same /64
    expect(rl.allow(v6(99), 0)).toBe(false);
    expect(rl.allow(v6(1, 1), 0)).toBe(true); // another /64
    expect(rl.size).toBe(4);
    expect(rl.allow(new Uint8Array(5), 0)).toBe(false);
  });

  it('is bounded and forgets idle sources', () => {
    const rl = new RateLimiter({ maxEntries: 100 });
    for (let i = 0; i < 100; i++) expect(rl.allow(v4(10, 1, 0, i), 0)).toBe(true);
    expect(rl.allow(v4(10, 2, 0, 0), 10)).toBe(false); // full: deny new sources
    expect(rl.allow(v4(10, 1, 0, 7), 10)).toBe(true); // known sources still served
    expect(rl.size).toBe(100);
    // after a second of idleness the entries are swept
    expect(rl.allow(v4(10, 2, 0, 0), 1500)).toBe(true);
    expect(rl.size).toBe(1);
  });

  it('custom rates and a clock that steps back', () => {
    const rl = new RateLimiter({ perSecond: 2, burst: 1 });
    const ip = v4(1, 1, 1, 1);
    expect(rl.allow(ip, 5000)).toBe(true);
    expect(rl.allow(ip, 4000)).toBe(false);
    expect(rl.allow(ip, 5499)).toBe(false);
    expect(rl.allow(ip, 5500)).toBe(true);
    expect(() => new RateLimiter({ perSecond: 0 })).toThrow(RangeError);
  });
});
