import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { seqAdd, seqDiff, seqGE, seqGT, seqInRange, seqLE, seqLT, seqMax, seqMin } from '../../../src/netstack/transport/tcp/seq.js';

describe('sequence arithmetic', () => {
  it('compares across the 2^32 wrap', () => {
    const near = 0xfffffff0;
    const after = seqAdd(near, 0x20);
    expect(after).toBe(0x10);
    expect(seqLT(near, after)).toBe(true);
    expect(seqGT(after, near)).toBe(true);
    expect(seqLE(near, near)).toBe(true);
    expect(seqGE(after, after)).toBe(true);
    expect(seqDiff(after, near)).toBe(0x20);
    expect(seqDiff(near, after)).toBe(-0x20);
    expect(seqMax(near, after)).toBe(after);
    expect(seqMin(near, after)).toBe(near);
    expect(seqInRange(0xffffffff, near, after)).toBe(true);
    expect(seqInRange(0, near, after)).toBe(true);
    expect(seqInRange(after, near, after)).toBe(false);
    expect(seqAdd(0, -1)).toBe(0xffffffff);
  });

  it('property: order agrees with integer order for distances below 2^31', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 0x7fffffff }), (a, d) => {
        const b = seqAdd(a, d);
        expect(seqLT(a, b)).toBe(true);
        expect(seqGT(b, a)).toBe(true);
        expect(seqDiff(b, a)).toBe(d);
        expect(seqDiff(a, b)).toBe(-d);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
});
