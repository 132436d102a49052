import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tai64n, tai64nAfter, writeTai64n } from '../../src/wireguard/tai64n.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('tai64n', () => {
  it('known encodings', () => {
    expect(hex(tai64n(0))).toBe('400000000000000a00000000');
    // 2024-01-01T00:00:00Z = 1704067200 s = 0x6592 0080
    expect(hex(tai64n(1704067200_000))).toBe('400000006592008a00000000');
    // 999 ms → 999000000 ns = 0x3B8B87C0, coarsened to a multiple of 2^24 → 0x3B000000
    expect(hex(tai64n(1704067200_999))).toBe('400000006592008a3b000000');
    // 16.777216 ms is exactly 2^24 ns
    expect(hex(tai64n(16.777216))).toBe('400000000000000a01000000');
    expect(hex(tai64n(16.7772))).toBe('400000000000000a00000000');
    // beyond 2^32 seconds
    expect(hex(tai64n(2 ** 32 * 1000))).toBe('400000010000000a00000000');
  });
  it('writes in place at an offset', () => {
    const out = new Uint8Array(20).fill(0xee);
    writeTai64n(1000.5, out, 4);
    expect(hex(out)).toBe('eeeeeeee400000000000000b00000000eeeeeeee');
  });
  it('strictly-newer comparison', () => {
    const a = tai64n(1_700_000_000_000);
    expect(tai64nAfter(a, a)).toBe(false);
    expect(tai64nAfter(tai64n(1_700_000_000_020), a)).toBe(true);
    expect(tai64nAfter(a, tai64n(1_700_000_000_020))).toBe(false);
    // within one coarsening step: equal, so not newer (replayed-looking)
    expect(tai64nAfter(tai64n(1_700_000_000_001), a)).toBe(false);
    expect(tai64nAfter(tai64n(1_700_000_001_000), tai64n(1_700_000_000_999))).toBe(true);
  });
  it('is monotonic in time and coarsened to 2^24 ns', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.integer({ min: 0, max: 100_000 }), (t, d) => {
        const a = tai64n(t);
        const b = tai64n(t + d);
        expect(tai64nAfter(a, b)).toBe(false);
        const nanos = new DataView(a.buffer).getUint32(8);
        expect(nanos % 2 ** 24).toBe(0);
        expect(nanos).toBeLessThan(1e9);
        if (d >= 17) expect(tai64nAfter(b, a)).toBe(true);
      }),
      { seed: 42, numRuns: 1000 },
    );
  });
});
