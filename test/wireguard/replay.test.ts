import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { REPLAY_WINDOW_SIZE, ReplayWindow } from '../../src/wireguard/replay.js';

/** The set-based reference: a counter passes unless more than 8128 behind the greatest passed one, or seen before. */
class ReferenceWindow {
  private readonly seen = new Set<number>();
  private max = 0;

  check(c: number): boolean {
    const ok = !(this.max - c > REPLAY_WINDOW_SIZE) && !this.seen.has(c);
    if (ok) {
      this.seen.add(c);
      if (c > this.max) this.max = c;
    }
    return ok;
  }
}

describe('ReplayWindow', () => {
  it('is 8128 wide', () => expect(REPLAY_WINDOW_SIZE).toBe(8128));

  it('accepts new counters once, in any order', () => {
    const w = new ReplayWindow();
    expect(w.check(0)).toBe(true);
    expect(w.check(0)).toBe(false);
    expect(w.check(2)).toBe(true);
    expect(w.check(1)).toBe(true);
    expect(w.check(1)).toBe(false);
    expect(w.check(2)).toBe(false);
    expect(w.check(3)).toBe(true);
  });

  it('window edges', () => {
    const w = new ReplayWindow();
    expect(w.check(10000)).toBe(true);
    expect(w.check(10000 - 8128)).toBe(true); // exactly at the edge
    expect(w.check(10000 - 8129)).toBe(false); // one past it
    expect(w.check(10000 - 8128)).toBe(false); // replay at the edge
    expect(w.check(10000 - 1)).toBe(true);
    expect(w.check(10001)).toBe(true);
    expect(w.check(10000 - 8128)).toBe(false); // now too old
  });

  it('far jumps clear the whole ring', () => {
    const w = new ReplayWindow();
    for (let i = 0; i < 9000; i++) expect(w.check(i)).toBe(true);
    const far = 1_000_000 * 64 + 5; // same ring slots as old counters
    expect(w.check(far)).toBe(true);
    for (let i = far - 8128; i < far; i++) expect(w.check(i)).toBe(true);
    for (let i = far - 8128; i <= far; i++) expect(w.check(i)).toBe(false);
  });

  it('handles counters beyond 2^32 and rejects non-integers', () => {
    const w = new ReplayWindow();
    const big = 2 ** 52 + 12345;
    expect(w.check(big)).toBe(true);
    expect(w.check(big - 64 * 128 * 3)).toBe(false);
    expect(w.check(big - 100)).toBe(true);
    expect(w.check(big - 100)).toBe(false);
    expect(w.check(big + 64)).toBe(true);
    expect(w.check(-1)).toBe(false);
    expect(w.check(1.5)).toBe(false);
    expect(w.check(Number.NaN)).toBe(false);
    expect(w.check(2 ** 53)).toBe(false);
  });

  it('reset forgets', () => {
    const w = new ReplayWindow();
    for (let i = 0; i < 300; i++) w.check(i * 37);
    w.reset();
    for (let i = 0; i < 300; i++) expect(w.check(i)).toBe(true);
  });

  it('agrees with a set-based reference model', () => {
    const counterArb = fc.oneof(
      fc.integer({ min: 0, max: 300 }),
      fc.integer({ min: 0, max: 40_000 }),
      fc.integer({ min: 0, max: 2 ** 40 }),
    );
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 30, arbitrary: counterArb }, { weight: 1, arbitrary: fc.constant(-1) }), { maxLength: 400 }), (seq) => {
        const w = new ReplayWindow();
        let ref = new ReferenceWindow();
        for (const c of seq) {
          if (c === -1) {
            w.reset();
            ref = new ReferenceWindow();
            continue;
          }
          expect(w.check(c)).toBe(ref.check(c));
        }
      }),
      { seed: 42, numRuns: 400 },
    );
  });

  it('agrees with the reference on dense reordered streams', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -9000, max: 200 }), { minLength: 100, maxLength: 2000 }), (deltas) => {
        const w = new ReplayWindow();
        const ref = new ReferenceWindow();
        let base = 0;
        for (const d of deltas) {
          base += 64;
          const c = Math.max(0, base + d);
          expect(w.check(c)).toBe(ref.check(c));
        }
      }),
      { seed: 42, numRuns: 100 },
    );
  });
});
